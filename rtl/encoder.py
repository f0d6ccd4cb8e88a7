"""The encoder top level: g_a, h_a and h_s as one dataflow pipeline of engines, and one
framed output stream of ŷ, ẑ and the scale index of every ŷ element.

`gen.encoder` builds the `EncoderConfig` from a trained artefact and a folding plan;
this module only composes the RTL library (it knows no torch and no artefact).
"""

import math
from dataclasses import dataclass

from amaranth import Module, Mux, Signal
from amaranth.hdl import signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..formats import OUT_BITS
from .config import LayerConfig
from .conv import ConvLayer, ConvParams
from .deconv import TransposedConvLayer
from .gdn import GDN, GDNConfig
from .glue import Abs, SkidBuffer, StreamFIFO, WidthConverter
from .stream import beat_layout, beat_signature

__all__ = [
    "ConvStage",
    "GDNStage",
    "EncoderConfig",
    "Encoder",
    "pipe_fifo_depth",
    "z_buffer_depth",
    "refold",
    "engine",
    "frame_signals",
    "chain",
    "chain_problems",
    "index_problems",
    "size_problems",
]


@dataclass(frozen=True, eq=False)
class ConvStage:
    """A convolution engine (`ConvLayer`) named after its layer."""

    name: str
    cfg: LayerConfig
    params: ConvParams

    def __post_init__(self):
        self.params.check(self.cfg)

    @property
    def in_shape(self):
        return self.cfg.in_shape

    @property
    def out_shape(self):
        return signed(self.params.out_bits) if self.params.out_signed else unsigned(self.params.out_bits)

    @property
    def c_in(self):
        return self.cfg.c_in

    @property
    def c_out(self):
        return self.cfg.c_out

    @property
    def pe(self):
        return self.cfg.pe

    @property
    def in_simd(self):
        """Elements per input beat: SIMD for `AddressedWindow`, a whole pixel for `SlidingWindow`."""
        return self.cfg.simd if self.cfg.addressed(self.cfg.simd) else self.cfg.c_in

    @property
    def shape(self):
        return self.cfg


@dataclass(frozen=True, eq=False)
class GDNStage:
    """A GDN unit named after its layer."""

    name: str
    cfg: GDNConfig

    @property
    def in_shape(self):
        return signed(self.cfg.in_bits)

    @property
    def out_shape(self):
        return signed(self.cfg.out_bits)

    @property
    def c_in(self):
        return self.cfg.channels

    c_out = c_in

    @property
    def pe(self):
        return self.cfg.pe

    @property
    def in_simd(self):
        return self.cfg.simd

    @property
    def shape(self):
        return self.cfg.shape


def size_problems(**sizes):
    """One message for each of ``sizes`` (name=value: a config's maximum frame) that is not
    a positive integer."""
    return [
        f"{name}={value!r} must be a positive integer"
        for name, value in sizes.items()
        if not isinstance(value, int) or isinstance(value, bool) or value < 1
    ]


def chain_problems(stages, sizes, frame, source=None):
    """One message for each way ``stages`` (engines in stream order) fail to make a chain:
    an engine that reads other channels or another element type than the one before it
    writes (``source``, where given, is the engine in front of the first one), or a
    convolution whose line buffers do not hold the frame that reaches it (``sizes``: every
    stage's input frame for the top's largest frame, which ``frame`` names: "a 64×64
    frame"). The encoder, the decoder and the hyper-decoder check their engines with it."""
    problems = []
    before = ((source,) if source is not None else ()) + tuple(stages)
    after = tuple(stages) if source is not None else tuple(stages[1:])
    for a, b in zip(before, after):
        if a.c_out != b.c_in:
            problems.append(f"{b.name} reads C_in={b.c_in}, {a.name} writes C_out={a.c_out}")
        if a.out_shape != b.in_shape:
            problems.append(f"{b.name} reads {b.in_shape}, {a.name} writes {a.out_shape}")
    for stage, (w, h) in zip(stages, sizes):
        if isinstance(stage, ConvStage) and (stage.cfg.max_width < w or stage.cfg.max_height < h):
            problems.append(
                f"{stage.name}: line buffers for {stage.cfg.max_width}×{stage.cfg.max_height}, "
                f"but {frame} reaches it as {w}×{h}"
            )
    return problems


def index_problems(synthesis):
    """One message for each way the engines of h_s (``synthesis``) fail to end in scale
    indexes: the last one has no thresholds, or one before it has."""
    problems = []
    if synthesis[-1].params.thresholds is None:
        problems.append(f"{synthesis[-1].name}: h_s's last engine must output scale indexes (thresholds)")
    for stage in synthesis[:-1]:
        if stage.params.thresholds is not None:
            problems.append(f"{stage.name}: only h_s's last engine outputs scale indexes")
    return problems


def pipe_fifo_depth(producer):
    """The FIFO behind an engine: two output pixels of it, 2·C_out/PE beats (at least 3:
    a `StreamFIFO` below 3 halves the rate).

    Why two pixels: a folded consumer (a GDN unit, or a convolution's MAC array) takes a
    pixel's beats back to back in its first pass and then replays them while its input
    waits, whereas the producer emits one beat per pass, evenly over its period. With
    one pixel buffered the consumer finds the whole pixel ready when it starts, and the
    producer finishes the next one meanwhile (double buffering at pixel granularity).
    Row-level burstiness of the strided layers is the window generators' business: their
    rings of K+s line buffers let the writer run s rows ahead. Measured on the tiny
    encoder (sim/encoder_bench.py), whose slowest engines share one frame interval: a FIFO
    of one input row before every convolution was no faster than two pixels, and
    back-to-back frames take `gen.cost`'s interval to the cycle at 50, 100 and 200 DSPs.
    """
    return max(3, 2 * producer.c_out // producer.pe)


def z_buffer_depth(z_size, channels, pe):
    """The ẑ buffer: beats of ``pe`` elements of the largest ẑ frame (``z_size`` =
    (width, height), ``channels`` per pixel), at least 3."""
    w, h = z_size
    return max(3, w * h * channels // pe)


@dataclass(frozen=True, eq=False)
class EncoderConfig:
    """The engines of g_a (``analysis``: convolutions and GDN units in stream order), h_a
    (``hyper``: convolutions on min(|ŷ|, 2**abs_bits − 1)) and h_s (``synthesis``: two
    transposed convolutions and the convolution whose output is a scale index), checked
    against each other: every engine reads what the one before writes (channels, element
    type), h_s reads ẑ and ends in an index per ŷ channel, and every line buffer holds the
    largest frame that reaches it from ``max_width``×``max_height``.

    ``y_buffer`` is the depth (in beats of g_a's last PE) of the FIFO on ŷ's way to the
    output. While the output sends frame n's ẑ and scale indexes, which h_a and h_s
    finish only after ŷ's last row, ŷ of frame n+1 waits there; a buffer that holds what
    g_a makes meanwhile keeps g_a from stalling on back-to-back frames (`gen.encoder`
    sizes it from the cost model).
    """

    analysis: tuple
    hyper: tuple
    synthesis: tuple
    max_width: int
    max_height: int
    y_buffer: int
    abs_bits: int = 8

    def __post_init__(self):
        if not self.analysis or not self.hyper or not self.synthesis:
            raise ValueError("EncoderConfig: analysis, hyper and synthesis need at least one engine each")
        problems = size_problems(max_width=self.max_width, max_height=self.max_height)
        if not isinstance(self.y_buffer, int) or self.y_buffer < 3:
            problems.append(
                f"y_buffer={self.y_buffer!r} must be an integer of at least 3 (a FIFO below 3 beats halves the rate)"
            )
        if problems:
            raise ValueError("EncoderConfig: " + "; ".join(problems))
        first = self.analysis[0]
        if not isinstance(first, ConvStage):
            problems.append(f"{first.name}: the first engine must be a convolution (it reads whole pixels)")
        y_shape = self.analysis[-1].out_shape
        if not y_shape.signed or y_shape.width > OUT_BITS:
            problems.append(f"{self.analysis[-1].name}: ŷ must be signed of at most {OUT_BITS} bits, not {y_shape}")
        z_shape = self.hyper[-1].out_shape
        if not z_shape.signed or z_shape.width > OUT_BITS:
            problems.append(f"{self.hyper[-1].name}: ẑ must be signed of at most {OUT_BITS} bits, not {z_shape}")
        for stage in self.hyper + self.synthesis:
            if not isinstance(stage, ConvStage):
                problems.append(f"{stage.name}: h_a and h_s hold convolutions only")
        if problems:
            raise ValueError("EncoderConfig: " + "; ".join(problems))
        h0 = self.hyper[0]
        if h0.in_shape != unsigned(self.abs_bits):
            problems.append(f"{h0.name} reads {h0.in_shape}, but |ŷ| is unsigned({self.abs_bits})")
        if h0.c_in != self.analysis[-1].c_out:
            problems.append(f"{h0.name} reads C_in={h0.c_in}, ŷ has {self.analysis[-1].c_out} channels")
        problems += index_problems(self.synthesis)
        index = self.synthesis[-1]
        if index.params.thresholds is not None and index.out_shape.width >= OUT_BITS:
            problems.append(f"{index.name}: a scale index of {index.out_shape.width} bits does not fit int{OUT_BITS}")
        if index.c_out != self.analysis[-1].c_out:
            problems.append(
                f"{index.name} writes {index.c_out} indexes per pixel, ŷ has {self.analysis[-1].c_out} channels"
            )
        sizes = self.frame_sizes(self.max_width, self.max_height)
        frame = f"a {self.max_width}×{self.max_height} frame"
        n_y, n_z = len(self.analysis), len(self.analysis) + len(self.hyper)
        problems += chain_problems(self.analysis, sizes[:n_y], frame)
        problems += chain_problems(self.hyper, sizes[n_y:n_z], frame)
        problems += chain_problems(self.synthesis, sizes[n_z:], frame, source=self.hyper[-1])
        if problems:
            raise ValueError("EncoderConfig: " + "; ".join(problems))

    @property
    def stages(self):
        """Every engine in stream order (|ŷ| is not one: it has no geometry)."""
        return tuple(self.analysis) + tuple(self.hyper) + tuple(self.synthesis)

    def frame_sizes(self, width, height):
        """The input frame of every engine of `stages` for an encoder input of width×height."""
        sizes = []
        for stage in self.stages:
            sizes.append((width, height))
            width, height = stage.shape.out_size(width, height)
        return sizes

    def latent_sizes(self, width, height):
        """(ŷ's width, height), (ẑ's width, height), (the index frame's width, height) for
        an input frame. The index frame is 4× ẑ's, so ŷ's own size (ŷ's element k has
        index k) for a frame padded to a multiple of 64, as the codec sends them; else it
        has whole extra rows and columns, which the host drops."""
        sizes = self.frame_sizes(width, height)
        n_y, n_z = len(self.analysis), len(self.analysis) + len(self.hyper)
        return sizes[n_y], sizes[n_z], self.synthesis[-1].shape.out_size(*sizes[-1])

    @property
    def z_buffer_depth(self):
        """Beats (of h_a's last PE) of the largest ẑ frame: the on-chip ẑ buffer, one on
        the way to the output and one in front of h_s."""
        _, z_size, _ = self.latent_sizes(self.max_width, self.max_height)
        return z_buffer_depth(z_size, self.hyper[-1].c_out, self.hyper[-1].pe)

    @property
    def fifo_depths(self):
        """The FIFO behind every engine but h_a's last, by name (`pipe_fifo_depth`; g_a's
        last one's sits behind |ŷ|, h_s's last one's holds scale indexes), then ŷ's branch
        to the output (``y``, ``y_buffer``) and the two ẑ buffers (``z`` to the output,
        ``zs`` to h_s)."""
        depths = {a.name: pipe_fifo_depth(a) for a in self.stages if a is not self.hyper[-1]}
        depths["y"] = self.y_buffer
        depths["z"] = depths["zs"] = self.z_buffer_depth
        return depths

    @property
    def fifo_bits(self):
        """The payload width (data and markers) of every FIFO of `fifo_depths`."""

        def bits(shape, pe):
            return beat_layout(shape, pe).size

        out = {a.name: bits(a.out_shape, a.pe) for a in self.stages if a is not self.hyper[-1]}
        last = self.analysis[-1]
        out[last.name] = bits(unsigned(self.abs_bits), last.pe)  # behind |ŷ|
        out["y"] = bits(last.out_shape, last.pe)
        out["z"] = out["zs"] = bits(self.hyper[-1].out_shape, self.hyper[-1].pe)
        return out


class _Fork(wiring.Component):
    """One stream to two: a beat moves when both outputs take it. Both consumers here
    (a FIFO and `Abs`) drive ready from registers, so the cross terms stay short."""

    def __init__(self, shape):
        super().__init__(
            {"i": In(beat_signature(*shape)), "a": Out(beat_signature(*shape)), "b": Out(beat_signature(*shape))}
        )

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [
            self.a.payload.eq(self.i.payload),
            self.b.payload.eq(self.i.payload),
            self.a.valid.eq(self.i.valid & self.b.ready),
            self.b.valid.eq(self.i.valid & self.a.ready),
            self.i.ready.eq(self.a.ready & self.b.ready),
        ]
        return m


def refold(m, name, port, shape, simd_from, simd_to):
    """``port`` (beats of ``simd_from`` elements) as beats of ``simd_to``: through the
    least common multiple, which divides the channels since both do (a gather, then a
    scatter), so no beat straddles two pixels and each side keeps its own rate."""
    if simd_from == simd_to:
        return port
    lcm = simd_from * simd_to // math.gcd(simd_from, simd_to)
    for n, (a, b) in enumerate(((simd_from, lcm), (lcm, simd_to))):
        if a != b:
            conv = WidthConverter(shape, a, b)
            m.submodules[f"{name}_refold{n}"] = conv
            wiring.connect(m, port, conv.i)
            port = conv.o
    return port


def _fifo(m, name, port, depth):
    fifo = StreamFIFO(port.payload.shape(), depth)
    m.submodules[f"{name}_fifo"] = fifo
    wiring.connect(m, port, fifo.i)
    return fifo.o


def engine(stage):
    """The engine of ``stage``: a `ConvLayer`, `TransposedConvLayer` or a `GDN` unit."""
    if isinstance(stage, GDNStage):
        return GDN(stage.cfg)
    return (TransposedConvLayer if stage.cfg.transposed else ConvLayer)(stage.cfg, stage.params)


def frame_signals(m, stages, width, height, bounds):
    """Every engine's input frame, by stage name, as signals driven from the top's
    ``width`` and ``height`` (`LayerShape.out_size` on signals); ``bounds`` gives each
    one's largest (width, height), its signals' range."""
    sizes = {}
    w, h = width, height
    for stage, (max_w, max_h) in zip(stages, bounds):
        sw = Signal(range(1, max_w + 1), name=f"{stage.name.replace('.', '_')}_width")
        sh = Signal(range(1, max_h + 1), name=f"{stage.name.replace('.', '_')}_height")
        m.d.comb += [sw.eq(w), sh.eq(h)]
        sizes[stage.name] = (sw, sh)
        if stage.shape.stride != 1:  # a stride-1 engine passes on the size it got
            w, h = stage.shape.out_size(sw, sh)
    return sizes


def chain(m, stages, port, simd, sizes, make=engine, depths=None):
    """Engines of ``stages`` (each made by ``make``) fed from ``port`` (beats of ``simd``
    elements), each but the last followed by its FIFO (of `pipe_fifo_depth` beats, or
    ``depths[name]``) and refolded to the next one's input where the folding differs; a
    convolution gets its frame from ``sizes`` (`frame_signals`). Returns the last
    engine's output port."""
    for n, stage in enumerate(stages):
        unit = make(stage)
        m.submodules[stage.name.replace(".", "_")] = unit
        if isinstance(stage, ConvStage):
            w, h = sizes[stage.name]
            m.d.comb += [unit.width.eq(w), unit.height.eq(h)]
        port = refold(m, stage.name.replace(".", "_"), port, stage.in_shape, simd, stage.in_simd)
        wiring.connect(m, port, unit.i)
        port, simd = unit.o, stage.pe
        if n + 1 < len(stages):
            depth = pipe_fifo_depth(stage) if depths is None else depths[stage.name]
            port = _fifo(m, stage.name.replace(".", "_"), port, depth)
    return port


class Encoder(wiring.Component):
    """g_a, h_a and h_s: uint8 pixels in; ŷ, ẑ and the scale indexes out on one framed
    stream.

    Ports
    -----
    ``i`` (in): pixels in raster order, one whole pixel (C_in = 3 elements of the first
    layer's input type) per beat; markers are not needed. ``width``, ``height`` (in):
    the input frame, 1…``max_width``/``max_height``; change them only while the encoder
    is empty (after the ``last`` beat of the previous frame's packet). ``o`` (out): per
    frame one packet of int16 elements, one per beat: ŷ (h_y·w_y pixels of M channels,
    raster order, channel fastest), then ẑ (h_z·w_z pixels of N channels, int8
    sign-extended), then the scale indexes (4h_z·4w_z pixels of M, zero-extended: ŷ's
    grid for a frame padded to a multiple of 64, `EncoderConfig.latent_sizes`).
    ``first`` on the packet's first beat, ``last`` on its last, ``eol`` and ``eop`` on
    the last element of a line and pixel of each of the three.

    Structure
    ---------
    One engine per layer (`ConvLayer`, `GDN`, `TransposedConvLayer`), each followed by a
    `StreamFIFO` of `pipe_fifo_depth` beats and, where the producer's PE differs from
    the consumer's input folding, `WidthConverter`\\ s through their least common
    multiple. ŷ forks into a branch to the output (a FIFO of ``y_buffer`` beats, then one
    element per beat) and `Abs` → FIFO → h_a. h_a's ẑ forks into two FIFOs that each hold
    a whole ẑ frame of the built-in maximum: one to the output, one to h_s, whose
    indexes queue in the FIFO behind its last engine.

    Why it cannot deadlock: the output sends a frame's ŷ, its ẑ, its indexes, then the
    next frame's ŷ. While ŷ of frame n flows, h_a makes ẑ of frame n only (frame n+1's
    needs ŷ of n+1, which waits behind this packet), and both ẑ buffers hold all of it,
    so the ẑ fork never blocks h_a, and h_a never blocks ŷ; h_s may stall on its full
    index FIFO meanwhile, which only the ẑ buffer in front of it feels. When ŷ's last
    beat has left, h_a holds all of frame n's input and flushes without more (the window
    generators need no look-ahead past a frame's last row), so ẑ's last beat arrives;
    then h_s has all of frame n's ẑ in its buffer and flushes the indexes the same way,
    ahead of anything of frame n+1 (whose ẑ, if h_a gets that far, only waits behind
    frame n's in the buffers). The consumer drains one stream in order, whatever its
    pace.

    Throughput and latency
    ----------------------
    Back to back, the slowest engine's frame interval (`gen.cost`), as long as the ŷ
    buffer holds what g_a makes while the output sends the previous frame's ẑ and
    indexes (h_a's flush, then h_s's frame, which the balancer keeps to a share of the
    interval). A frame's latency: the engines' fill latencies (a few input rows each),
    h_a's flush, the ẑ packet and h_s's frame. ``i.ready`` depends on registers only (the
    first window generator's, through a width converter where it folds the pixel), ``o``
    is a skid buffer's.
    """

    def __init__(self, cfg: EncoderConfig):
        self.cfg = cfg
        first = cfg.analysis[0]
        super().__init__(
            {
                "i": In(beat_signature(first.in_shape, first.c_in)),
                "o": Out(beat_signature(signed(OUT_BITS), 1)),
                "width": In(range(1, cfg.max_width + 1)),
                "height": In(range(1, cfg.max_height + 1)),
            }
        )

    #: The engine of a stage (`engine`); `gen.synth` overrides it with black boxes of the
    #: same signature to synthesize the glue on its own.
    engine = staticmethod(engine)

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg

        # Every engine's frame size, from the encoder's; none exceeds the input frame.
        bounds = [(cfg.max_width, cfg.max_height)] * len(cfg.stages)
        sizes = frame_signals(m, cfg.stages, self.width, self.height, bounds)

        first = cfg.analysis[0]
        y = chain(m, cfg.analysis, wiring.flipped(self.i), first.c_in, sizes, self.engine)

        last = cfg.analysis[-1]
        y_shape = last.out_shape
        m.submodules.fork = fork = _Fork((y_shape, last.pe))
        wiring.connect(m, y, fork.i)
        y_out = _fifo(m, "y", fork.a, cfg.y_buffer)
        y_out = refold(m, "y", y_out, y_shape, last.pe, 1)

        m.submodules.abs = absolute = Abs(y_shape.width, cfg.abs_bits, last.pe)
        wiring.connect(m, fork.b, absolute.i)
        ya = _fifo(m, "abs", absolute.o, pipe_fifo_depth(last))
        z = chain(m, cfg.hyper, ya, last.pe, sizes, self.engine)

        z_last = cfg.hyper[-1]
        m.submodules.z_fork = z_fork = _Fork((z_last.out_shape, z_last.pe))
        wiring.connect(m, z, z_fork.i)
        z_out = _fifo(m, "z", z_fork.a, cfg.z_buffer_depth)
        z_out = refold(m, "z", z_out, z_last.out_shape, z_last.pe, 1)
        zs = _fifo(m, "zs", z_fork.b, cfg.z_buffer_depth)
        s = chain(m, cfg.synthesis, zs, z_last.pe, sizes, self.engine)
        s_last = cfg.synthesis[-1]
        s = _fifo(m, s_last.name.replace(".", "_"), s, pipe_fifo_depth(s_last))
        s_out = refold(m, "s", s, s_last.out_shape, s_last.pe, 1)

        # The packet: ŷ until its last beat, then ẑ until its last, then the indexes.
        m.submodules.out = out = SkidBuffer(self.o.payload.shape())
        wiring.connect(m, out.o, wiring.flipped(self.o))
        phase = Signal(range(3))
        src = [y_out, z_out, s_out]
        for n, port in enumerate(src):
            m.d.comb += port.ready.eq(out.i.ready & (phase == n))

        # Muxes rather than a Switch: Icarus runs no ``always @*`` block whose inputs keep
        # their time-0 values (`rtl.deconv.SubpixelRows`).
        def pick(field):
            y_v, z_v, s_v = (field(port) for port in src)
            return Mux(phase == 0, y_v, Mux(phase == 1, z_v, s_v))

        m.d.comb += [
            out.i.valid.eq(pick(lambda p: p.valid)),
            out.i.payload.data[0].eq(pick(lambda p: p.payload.data[0])),
            out.i.payload.first.eq((phase == 0) & y_out.payload.first),
            out.i.payload.last.eq((phase == 2) & s_out.payload.last),
            out.i.payload.eol.eq(pick(lambda p: p.payload.eol)),
            out.i.payload.eop.eq(pick(lambda p: p.payload.eop)),
        ]
        with m.If(out.i.valid & out.i.ready & pick(lambda p: p.payload.last)):
            m.d.sync += phase.eq(Mux(phase == 2, 0, phase + 1))
        return m
