"""The decoder's two top levels, each one dataflow pipeline of engines: g_s (`Decoder`:
ŷ in, decoded RGB pixels out) and h_s (`HyperDecoder`: ẑ in, the scale index of every ŷ
element out).

Why two cores, not h_s as a pass inside the g_s pipeline: the decoder's order is fixed
by the entropy code. The host rANS-decodes ẑ, the hyper-decoder turns it into the scale
index of every ŷ element, and only with all of them can the host rANS-decode ŷ (each
element's table is its index's), which g_s then reads. h_s's output goes back to the
host, and g_s cannot start on a frame until the host has decoded all of that frame's ŷ:
inside one pipeline, g_s's engines would sit idle for that whole frame-sized wait. As a
core of its own, h_s runs on ẑ's frame, a 64th of the image on each side (and ŷ's
index frame, a 16th), with a few DSPs of its own, and the g_s core streams back to back.

`gen.decoder` and `gen.hyper` build the configs from a trained artefact and a folding
plan; this module only composes the RTL library (it knows no torch and no artefact),
with the engines, FIFOs, refolds and chain checks of `rtl.encoder`.
"""

from dataclasses import dataclass

from amaranth import Module
from amaranth.hdl import unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..formats import OUT_BITS
from .encoder import (
    ConvStage,
    GDNStage,
    chain,
    chain_problems,
    engine,
    frame_signals,
    index_problems,
    pipe_fifo_depth,
    refold,
    size_problems,
)
from .stream import beat_layout, beat_signature

__all__ = ["DecoderConfig", "Decoder", "HyperConfig", "HyperDecoder", "PIXEL_CHANNELS", "decoder_fifo_depth"]

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
    h_s's deconvolutions feed convolutions, whose line buffers would absorb the replay;
    the hyper-decoder keeps the one rule (the plan counts it, `gen.buffers`), which costs
    little at ẑ's frame.
    """
    depth = pipe_fifo_depth(producer)
    if producer.shape.transposed:
        out_width, _ = producer.shape.out_size(max_width, 1)
        depth += out_width * producer.c_out // producer.pe
    return depth


@dataclass(frozen=True, eq=False)
class _Chain:
    """What the decoder's configs share: engines in stream order (``synthesis``) for input
    frames up to ``max_width``×``max_height``, every one reading what the one before writes
    (`rtl.encoder.chain_problems`) with line buffers for the largest frame that reaches
    it; the subclass adds its ends' checks (`_problems`)."""

    synthesis: tuple
    max_width: int
    max_height: int

    #: What the messages call the config and its input frame.
    what = ""
    frame = ""

    def __post_init__(self):
        if not self.synthesis:
            raise ValueError(f"{self.what}: synthesis needs at least one engine")
        problems = size_problems(max_width=self.max_width, max_height=self.max_height)
        if problems:
            raise ValueError(f"{self.what}: " + "; ".join(problems))
        problems = self._problems()
        problems += chain_problems(
            self.stages,
            self.frame_sizes(self.max_width, self.max_height),
            f"a {self.max_width}×{self.max_height} {self.frame}",
        )
        if problems:
            raise ValueError(f"{self.what}: " + "; ".join(problems))

    def _problems(self):
        raise NotImplementedError

    @property
    def stages(self):
        """Every engine in stream order."""
        return tuple(self.synthesis)

    def frame_sizes(self, width, height):
        """The input frame of every engine of `stages` for an input frame of width×height."""
        sizes = []
        for stage in self.stages:
            sizes.append((width, height))
            width, height = stage.shape.out_size(width, height)
        return sizes

    def out_size(self, width, height):
        """The output frame (width, height) of an input frame of width×height."""
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


@dataclass(frozen=True, eq=False)
class DecoderConfig(_Chain):
    """The engines of g_s (``synthesis``: transposed convolutions and inverse GDN units
    in stream order) for ŷ frames up to ``max_width``×``max_height``, checked against
    each other: the first reads ŷ (signed, at most `formats.OUT_BITS` bits, as the
    encoder sends it), every engine reads what the one before writes (channels, element
    type), the last writes pixels of 3 uint8 channels, and every line buffer holds the
    largest frame that reaches it.
    """

    what = "DecoderConfig"
    frame = "ŷ frame"

    def _problems(self):
        problems = []
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
        return problems


@dataclass(frozen=True, eq=False)
class HyperConfig(_Chain):
    """The engines of h_s (``synthesis``: convolutions in stream order, the encoder's own,
    `rtl.encoder.EncoderConfig.synthesis`) for ẑ frames up to ``max_width``×``max_height``,
    checked against each other: the first reads ẑ (signed, at most 8 bits: h_a's int8),
    every engine reads what the one before writes, only the last outputs scale indexes
    (thresholds), and every line buffer holds the largest frame that reaches it.
    """

    what = "HyperConfig"
    frame = "ẑ frame"

    def _problems(self):
        problems = [f"{s.name}: h_s holds convolutions only" for s in self.synthesis if not isinstance(s, ConvStage)]
        if problems:
            return problems
        first = self.synthesis[0]
        if not first.in_shape.signed or first.in_shape.width > 8:
            problems.append(f"{first.name} reads {first.in_shape}, but ẑ is signed of at most 8 bits")
        return problems + index_problems(self.synthesis)


class _ChainCore(wiring.Component):
    """A `_Chain` config (``cfg``) as a top level: one element per input beat, ``out_simd``
    elements of the last engine's type per output beat (`Decoder` and `HyperDecoder`
    document their ports)."""

    out_simd = 1

    #: The engine of a stage (`rtl.encoder.engine`); `gen.synth` overrides it with black
    #: boxes of the same signature to synthesize the glue on its own.
    engine = staticmethod(engine)

    def __init__(self, cfg):
        self.cfg = cfg
        first, last = cfg.stages[0], cfg.stages[-1]
        super().__init__(
            {
                "i": In(beat_signature(first.in_shape, 1)),
                "o": Out(beat_signature(last.out_shape, self.out_simd)),
                "width": In(range(1, cfg.max_width + 1)),
                "height": In(range(1, cfg.max_height + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        bounds = cfg.frame_sizes(cfg.max_width, cfg.max_height)  # the frame grows along the chain
        sizes = frame_signals(m, cfg.stages, self.width, self.height, bounds)
        x = chain(m, cfg.stages, wiring.flipped(self.i), 1, sizes, self.engine, cfg.fifo_depths)
        last = cfg.stages[-1]
        x = refold(m, "o", x, last.out_shape, last.pe, self.out_simd)
        wiring.connect(m, x, wiring.flipped(self.o))
        return m


class Decoder(_ChainCore):
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

    out_simd = PIXEL_CHANNELS


class HyperDecoder(_ChainCore):
    """h_s: ẑ in, the scale index of every ŷ element out (the tables with which the host
    rANS-decodes ŷ; the module docstring says why this is a core of its own).

    Ports
    -----
    ``i`` (in): ẑ of a frame, one signed element per beat (the first engine's input type,
    int8), pixels in raster order, channel fastest (N per pixel); markers are not needed.
    ``width``, ``height`` (in): the ẑ frame, 1…``max_width``/``max_height``; change them
    only while the core is empty (after the ``last`` beat of the previous frame's
    output). ``o`` (out): the index frame (4·width × 4·height for h_s's two stride-2
    deconvolutions, `HyperConfig.out_size`: ŷ's grid of a frame padded to a multiple of
    64), one unsigned index per beat, pixels in raster order, channel fastest (M per
    pixel), ``first`` on the first, ``last`` on the last, ``eop`` on each pixel's last
    and ``eol`` on each row's last element: what the encoder's packet sends after ẑ.

    Structure
    ---------
    The encoder's h_s engines (two `TransposedConvLayer`\\ s and a `ConvLayer` whose
    tail compares the accumulator with per-channel thresholds), chained as `Decoder`'s
    are (FIFOs of `decoder_fifo_depth`, refolds; no deadlock for the same reason), a
    gather from ``i`` and a scatter of the last PE into one index per beat.

    Throughput and latency
    ----------------------
    Back to back, the slowest engine's frame interval, or ``i``'s one ẑ element per
    cycle, or ``o``'s one index per cycle, whichever is slowest (`gen.hyper`'s model). A
    frame's latency: the engines' fills (each deconvolution two input rows, the 3×3
    convolution one) and one cycle per FIFO and converter. ``i.ready`` depends on
    registers only (through the gather); ``o`` comes from the last engine's skid buffer,
    through the scatter where its PE is above 1.
    """
