"""The stride-2 transposed convolution (CompressAI's ``deconv``: ``ConvTranspose2d(K,
stride=2, padding=K//2, output_padding=1)``) as four sub-pixel phases of one stride-1
3×3 convolution, then a row shuffle."""

import numpy as np
from amaranth import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .config import LayerConfig
from .conv import ConvLayer, ConvParams
from .glue import SkidBuffer
from .pipeline import Pipeline
from .stream import beat_signature

__all__ = ["phase_params", "SubpixelRows", "TransposedConvLayer"]


def phase_params(cfg: LayerConfig, params: ConvParams) -> ConvParams:
    """The phase convolution's parameters from the transposed convolution's.

    ``params.weight`` is (C_out, C_in, K, K): ``ConvTranspose2d.weight`` with its first
    two axes swapped. Output pixel (2I+a, 2J+b) takes input row I+d with tap
    ``k = a + K//2 − 2d`` (d = −1, 0, 1; zero where k falls outside the kernel), and
    the same along columns; phase 2a+b becomes channels (2a+b)·C_out + c.
    """
    K, p = cfg.kernel, cfg.pad
    w = params.weight
    if w.shape != (cfg.c_out, cfg.c_in, K, K):
        raise ValueError(f"weight has shape {w.shape}, the layer needs {(cfg.c_out, cfg.c_in, K, K)}")
    phases = np.zeros((4, cfg.c_out, cfg.c_in, 3, 3), dtype=np.int64)
    for a in range(2):
        for b in range(2):
            for r in range(3):
                for q in range(3):
                    ky, kx = a + p - 2 * (r - 1), b + p - 2 * (q - 1)
                    if 0 <= ky < K and 0 <= kx < K:
                        phases[2 * a + b, :, :, r, q] = w[:, :, ky, kx]
    return ConvParams(
        phases.reshape(4 * cfg.c_out, cfg.c_in, 3, 3),
        np.tile(params.bias, 4),
        np.tile(params.multiplier, 4),
        np.tile(params.shift, 4),
        params.out_bits,
        params.out_signed,
    )


class SubpixelRows(wiring.Component):
    """Reorders the phase convolution's output into the 2W×2H raster.

    Ports
    -----
    ``i`` (in): per input pixel, 4·G beats of PE elements (G = C_out/PE): phases (0,0),
    (0,1), (1,0), (1,1), each one output pixel. ``width`` (in): the input width, read
    through registers (change it only while the block is empty).
    ``o`` (out): output pixels in raster order, G beats each, with the frame/line markers.

    Phases (0,·) of an input row are output row 2I and pass straight through; phases
    (1,·) go into a row buffer (``max_width``·2G words of PE elements) and follow as row
    2I+1 once the input row is complete, while ``i`` waits.

    Throughput and latency: a beat per cycle; an input row of W pixels costs its 4·G·W
    beats plus 2·G·W cycles in which ``i`` waits for the buffered row. Latency: 1 cycle
    (a skid buffer) through, 2 from the buffer. ``o`` and ``i.ready`` come from registers.
    """

    def __init__(self, shape, pe, groups, max_width):
        self._g = groups
        self._max_width = max_width
        super().__init__(
            {
                "i": In(beat_signature(shape, pe)),
                "o": Out(beat_signature(shape, pe)),
                "width": In(range(1, max_width + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        G = self._g
        words = self._max_width * 2 * G
        m.submodules.skid = skid = SkidBuffer(self.o.payload.shape())
        wiring.connect(m, skid.o, wiring.flipped(self.o))
        word = self.i.payload.data.shape()
        m.submodules.row = row = Memory(shape=word, depth=words, init=[])
        wp, rp = row.write_port(), row.read_port()

        # The frame width's constants in registers (``width`` changes only while the
        # block is empty): its last pixel, and the replay's last two words.
        x_end = Signal(range(self._max_width))
        r_end2 = Signal(range(-2, words))  # width·2G − 2
        m.d.sync += [x_end.eq(self.width - 1), r_end2.eq(self.width * 2 * G - 2)]

        beat = Signal(range(4 * G))  # beat of the input pixel
        x = Signal(range(self._max_width))  # input pixel in the row
        wptr = Signal(range(words))
        replay = Signal()
        row_last = Signal()  # the buffered row ends the frame
        to_row = beat >= 2 * G
        take = self.i.valid & self.i.ready
        m.d.comb += self.i.ready.eq(~replay & (to_row | skid.i.ready))
        m.d.comb += [wp.addr.eq(wptr), wp.data.eq(self.i.payload.data), wp.en.eq(take & to_row)]
        at_x_end = x == x_end
        with m.If(take):
            m.d.sync += beat.eq(Mux(beat == 4 * G - 1, 0, beat + 1))
            with m.If(to_row):
                m.d.sync += wptr.eq(wptr + 1)
            with m.If(beat == 4 * G - 1):
                m.d.sync += x.eq(x + 1)
                with m.If(at_x_end):
                    m.d.sync += [x.eq(0), wptr.eq(0), replay.eq(1), row_last.eq(self.i.payload.last)]

        # Replay: one word read per cycle into a register held while the skid is full.
        # ``r_last`` (raddr = width·2G − 1) and ``r_done`` (raddr = width·2G) are flags set
        # a word ahead.
        raddr = Signal(range(words + 1))
        r_last = Signal()
        r_done = Signal()
        s1_valid = Signal()
        s1_marks = Signal(data.StructLayout({"eop": 1, "eol": 1, "last": 1}))
        rgroup = Signal(range(G))
        advance = ~s1_valid | skid.i.ready
        issue = replay & ~r_done & advance
        m.d.comb += [rp.addr.eq(raddr), rp.en.eq(advance)]
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(issue),
                s1_marks.eop.eq(rgroup == G - 1),
                s1_marks.eol.eq(r_last),
                s1_marks.last.eq(r_last & row_last),
            ]
        with m.If(issue):
            m.d.sync += [
                raddr.eq(raddr + 1),
                rgroup.eq(Mux(rgroup == G - 1, 0, rgroup + 1)),
                r_last.eq(raddr == r_end2),
                r_done.eq(r_last),
            ]
        with m.If(replay & r_done & ~s1_valid):
            m.d.sync += [replay.eq(0), raddr.eq(0), r_last.eq(0), r_done.eq(0)]

        # Muxes rather than an If: Icarus runs no ``always @*`` block whose inputs keep
        # their time-0 values, which would leave these undefined after reset.
        direct = self.i.payload
        m.d.comb += [
            skid.i.valid.eq(Mux(replay, s1_valid, self.i.valid & ~to_row)),
            skid.i.payload.data.eq(Mux(replay, rp.data, direct.data)),
            skid.i.payload.first.eq(~replay & direct.first),
            skid.i.payload.eop.eq(Mux(replay, s1_marks.eop, (beat == G - 1) | (beat == 2 * G - 1))),
            skid.i.payload.eol.eq(Mux(replay, s1_marks.eol, (beat == 2 * G - 1) & at_x_end)),
            skid.i.payload.last.eq(replay & s1_marks.last),
        ]
        return m


class TransposedConvLayer(wiring.Component):
    """A stride-2 transposed convolution layer: `ConvLayer` of the 3×3 phase convolution
    (`phase_params`), then `SubpixelRows`.

    Ports
    -----
    ``i`` (in): input pixels as `ConvLayer` of ``cfg.phases`` takes them;
    ``width``, ``height`` (in): the input frame size; ``o`` (out): the 2W×2H output in
    raster order, C_out/PE beats of PE elements per pixel, requantized as `Conv`.

    Arithmetic: ``requantize(conv_transpose2d_int(x, w, bias, 2, K//2, 1), M, s)`` of
    `model.intops`. The phase kernels are 3×3 with zeros where a phase has fewer taps:
    for K=5 the phases use 9, 6, 6 and 4 taps (25 useful MACs of 36), for K=3 1, 2, 2
    and 4 (9 of 36): the price of one uniform MVAU.

    Throughput: the phase convolution's 4·C_out/PE · 9·C_in/SIMD cycles per input pixel
    (four output pixels), plus 2·(C_out/PE) cycles per input pixel while a buffered odd
    row leaves (`SubpixelRows`), less what the output FIFO absorbs. Latency: the window
    generator's, then ``latency`` (the phase engine's and 1).
    """

    def __init__(self, cfg: LayerConfig, params: ConvParams):
        if not cfg.transposed:
            raise ValueError("TransposedConvLayer needs a transposed LayerConfig (transposed=True, stride=2)")
        self.cfg = cfg
        self._conv = ConvLayer(cfg.phases, phase_params(cfg, params))
        self._rows = SubpixelRows(
            self._conv.o.payload.data.shape().elem_shape, cfg.pe, cfg.c_out // cfg.pe, cfg.max_width
        )
        self.pipeline = (
            Pipeline("transposed convolution")
            .stage("phase engine", self._conv.latency)
            .stage("row shuffle's skid buffer")
        )
        self.latency = self.pipeline.latency
        super().__init__(
            {
                "i": In(self._conv.i.signature.flip()),
                "o": Out(self._rows.o.signature),
                "width": In(range(1, cfg.max_width + 1)),
                "height": In(range(1, cfg.max_height + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.conv = self._conv
        m.submodules.rows = self._rows
        m.d.comb += [
            self._conv.width.eq(self.width),
            self._conv.height.eq(self.height),
            self._rows.width.eq(self.width),
        ]
        wiring.connect(m, wiring.flipped(self.i), self._conv.i)
        wiring.connect(m, self._conv.o, self._rows.i)
        wiring.connect(m, self._rows.o, wiring.flipped(self.o))
        return m
