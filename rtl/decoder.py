"""The decoder top level: g_s as one dataflow pipeline of engines, ŷ in, decoded RGB
pixels out.

`gen.decoder` builds the `DecoderConfig` from a trained artefact and a folding plan;
this module only composes the RTL library (it knows no torch and no artefact), with the
engines, FIFOs and refolds of `rtl.encoder` (`chain`).
"""

from dataclasses import dataclass

from amaranth import Module
from amaranth.hdl import unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..formats import OUT_BITS
from .encoder import ConvStage, GDNStage, chain, frame_signals, pipe_fifo_depth, refold
from .stream import beat_layout, beat_signature

__all__ = ["DecoderConfig", "Decoder", "PIXEL_CHANNELS", "decoder_fifo_depth"]

#: A decoded pixel: R, G, B.
PIXEL_CHANNELS = 3


def decoder_fifo_depth(producer, max_width):
    """The FIFO behind a decoder engine (``producer``: its ``shape``, ``c_out`` and ``pe``;
    ``max_width``: its largest input frame's width): two output pixels
    (`pipe_fifo_depth`), and behind a transposed convolution a whole output row more,
    2·max_width·C_out/PE beats.

    Why a row: `SubpixelRows` sends an input row's odd output row from its row buffer
    after the even one, its input waiting meanwhile, so the phase engine stops for as long
    as the consumer takes to drain that row. g_s's consumers are GDN units (no line
    buffers to absorb it), which take the odd row at their own pace: on the tiny decoder
    at 150 DSPs that made two frames back to back 28% slower than `gen.cost`'s interval,
    which counts the replay at a beat per cycle. With the row in the FIFO the replay runs
    at that rate and the phase engine goes on with the next row while the unit drains it;
    the unit's backlog peaks at one odd row, which the FIFO holds beside the two pixels.
    """
    depth = pipe_fifo_depth(producer)
    if producer.shape.transposed:
        out_width, _ = producer.shape.out_size(max_width, 1)
        depth += out_width * producer.c_out // producer.pe
    return depth


@dataclass(frozen=True, eq=False)
class DecoderConfig:
    """The engines of g_s (``synthesis``: transposed convolutions and inverse GDN units
    in stream order) for ŷ frames up to ``max_width``×``max_height``, checked against
    each other: the first reads ŷ (signed, at most `formats.OUT_BITS` bits, as the
    encoder sends it), every engine reads what the one before writes (channels, element
    type), the last writes pixels of 3 uint8 channels, and every line buffer holds the
    largest frame that reaches it.
    """

    synthesis: tuple
    max_width: int
    max_height: int

    def __post_init__(self):
        problems = []
        if not self.synthesis:
            raise ValueError("DecoderConfig: synthesis needs at least one engine")
        for name in ("max_width", "max_height"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name}={value!r} must be a positive integer")
        if problems:
            raise ValueError("DecoderConfig: " + "; ".join(problems))
        first, last = self.synthesis[0], self.synthesis[-1]
        if not first.in_shape.signed or first.in_shape.width > OUT_BITS:
            problems.append(f"{first.name} reads {first.in_shape}, but ŷ is signed of at most {OUT_BITS} bits")
        if last.out_shape != unsigned(8):
            problems.append(f"{last.name} writes {last.out_shape}, but a decoded pixel's channels are unsigned(8)")
        if last.c_out != PIXEL_CHANNELS:
            problems.append(f"{last.name} writes C_out={last.c_out}, but a decoded pixel has {PIXEL_CHANNELS} channels")
        for stage in self.synthesis:
            if isinstance(stage, ConvStage) and stage.params.thresholds is not None:
                problems.append(f"{stage.name}: g_s outputs no scale indexes (thresholds)")
            if isinstance(stage, GDNStage) and not stage.cfg.inverse:
                problems.append(f"{stage.name}: g_s's GDN units are inverse (inverse=True)")
        for a, b in zip(self.synthesis, self.synthesis[1:]):
            if a.c_out != b.c_in:
                problems.append(f"{b.name} reads C_in={b.c_in}, {a.name} writes C_out={a.c_out}")
            if a.out_shape != b.in_shape:
                problems.append(f"{b.name} reads {b.in_shape}, {a.name} writes {a.out_shape}")
        for stage, (w, h) in zip(self.stages, self.frame_sizes(self.max_width, self.max_height)):
            if isinstance(stage, ConvStage) and (stage.cfg.max_width < w or stage.cfg.max_height < h):
                problems.append(
                    f"{stage.name}: line buffers for {stage.cfg.max_width}×{stage.cfg.max_height}, "
                    f"but a {self.max_width}×{self.max_height} ŷ frame reaches it as {w}×{h}"
                )
        if problems:
            raise ValueError("DecoderConfig: " + "; ".join(problems))

    @property
    def stages(self):
        """Every engine in stream order."""
        return tuple(self.synthesis)

    def frame_sizes(self, width, height):
        """The input frame of every engine of `stages` for a ŷ frame of width×height."""
        sizes = []
        for stage in self.stages:
            sizes.append((width, height))
            width, height = stage.shape.out_size(width, height)
        return sizes

    def out_size(self, width, height):
        """The decoded frame (width, height) of a ŷ frame of width×height."""
        for stage in self.stages:
            width, height = stage.shape.out_size(width, height)
        return width, height

    @property
    def fifo_depths(self):
        """The FIFO behind every engine but the last, by name (`decoder_fifo_depth`)."""
        sizes = self.frame_sizes(self.max_width, self.max_height)
        return {a.name: decoder_fifo_depth(a, w) for a, (w, _) in zip(self.stages[:-1], sizes)}

    @property
    def fifo_bits(self):
        """The payload width (data and markers) of every FIFO of `fifo_depths`."""
        return {a.name: beat_layout(a.out_shape, a.pe).size for a in self.stages[:-1]}


class Decoder(wiring.Component):
    """g_s: ŷ in, decoded uint8 RGB pixels out.

    Ports
    -----
    ``i`` (in): ŷ of a frame, one signed element per beat (the first engine's input
    type, int16), pixels in raster order, channel fastest: the element stream of ŷ the
    encoder sends. Markers are not needed (the engines count pixels from the frame
    size). ``width``, ``height`` (in): the ŷ frame, 1…``max_width``/``max_height``;
    change them only while the decoder is empty (after the ``last`` beat of the previous
    frame's output). ``o`` (out): the decoded frame (16·width × 16·height for g_s's four
    deconvolutions, `DecoderConfig.out_size`), one whole pixel of 3 uint8 (R, G, B) per
    beat in raster order, ``first`` on its first pixel, ``last`` on its last, ``eol`` on
    every row's last and ``eop`` on every beat.

    Structure
    ---------
    One engine per layer (`TransposedConvLayer`, `GDN`; `rtl.encoder.chain`), each but
    the last followed by a `StreamFIFO` of `decoder_fifo_depth` beats (two of its output
    pixels, and behind a transposed convolution a whole output row, which lets its row
    shuffle send the odd row at full rate while the GDN unit behind drains it) and,
    where the producer's PE differs from the consumer's input folding,
    `WidthConverter`\\ s through their least common multiple. A gather folds ``i``'s
    elements into the first engine's input beats, another the last engine's PE into a
    whole pixel. A linear chain cannot deadlock: every engine waits only on the one after
    it, the last only on the sink, and each finishes a frame from that frame's input
    alone (the window generators need no look-ahead past a frame's last row).

    Throughput and latency
    ----------------------
    Back to back, the slowest engine's frame interval (`gen.cost`), or ``i``'s one ŷ
    element per cycle where that is slower. A frame's latency: every engine's fill
    (a transposed convolution's phase engine starts an output row after two input rows,
    and its row shuffle sends the odd row after the even one; a GDN unit a pixel's
    passes and its tail), one cycle per FIFO and converter. ``i.ready`` depends on
    registers only (the first window generator's, through the gather); ``o`` comes from
    the last engine's skid buffer, through the gather where its PE is below 3.
    """

    def __init__(self, cfg: DecoderConfig):
        self.cfg = cfg
        first, last = cfg.stages[0], cfg.stages[-1]
        super().__init__(
            {
                "i": In(beat_signature(first.in_shape, 1)),
                "o": Out(beat_signature(last.out_shape, PIXEL_CHANNELS)),
                "width": In(range(1, cfg.max_width + 1)),
                "height": In(range(1, cfg.max_height + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        bounds = cfg.frame_sizes(cfg.max_width, cfg.max_height)  # the frame grows along g_s
        sizes = frame_signals(m, cfg.stages, self.width, self.height, bounds)
        x = chain(m, cfg.stages, wiring.flipped(self.i), 1, sizes, depths=cfg.fifo_depths)
        last = cfg.stages[-1]
        x = refold(m, "o", x, last.out_shape, last.pe, PIXEL_CHANNELS)
        wiring.connect(m, x, wiring.flipped(self.o))
        return m
