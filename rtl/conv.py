"""The convolution engine: a PE×SIMD MAC array behind a window generator, then bias and
requantization exactly as `model.intops.requantize`."""

from dataclasses import dataclass

import numpy as np
from amaranth import Module, Signal
from amaranth.hdl import signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..formats import MULTIPLIER_BITS, SHIFT_BITS
from .config import LayerConfig, freeze_integer_arrays
from .mvau import MVAU, ROUND_SATURATE_STAGES, delay, product, product_stages, round_saturate
from .pipeline import Pipeline
from .stream import beat_signature
from .window import AddressedWindow, SlidingWindow

__all__ = ["ConvParams", "Conv", "ConvLayer"]


def requantizer(v_bits: int) -> Pipeline:
    """The requantizer's register stages (`_requantize`'s tail) for a ``signed(v_bits)``
    ``acc + bias``: ``·M`` takes two where it needs two DSP48E2s."""
    return (
        Pipeline("requantizer")
        .stage("acc + bias")
        .stage("·M", product_stages(signed(v_bits), unsigned(MULTIPLIER_BITS)))
        .stage("round and saturate", ROUND_SATURATE_STAGES)
    )


@dataclass(frozen=True, eq=False)
class ConvParams:
    """The integers of one convolution layer (the artefact's ``ConvLayer``).

    ``weight`` (C_out, C_in, K, K), ``bias`` (C_out,) on the accumulator's scale,
    ``multiplier`` (C_out,) in [1, 2**17), ``shift`` (C_out,) in [0, 62]: the output is
    ``requantize(conv + bias, multiplier, shift, out_bits, out_signed)``; an unsigned
    output folds a ReLU. `check` compares them with a `LayerConfig`.
    """

    weight: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    out_bits: int = 8
    out_signed: bool = True

    def __post_init__(self):
        freeze_integer_arrays(self, ("weight", "bias", "multiplier", "shift"))
        problems = []
        if self.weight.ndim != 4 or self.weight.shape[2] != self.weight.shape[3]:
            problems.append(f"weight has shape {self.weight.shape}, expected (C_out, C_in, K, K)")
        c_out = self.weight.shape[0] if self.weight.ndim else 0
        for name in ("bias", "multiplier", "shift"):
            if getattr(self, name).shape != (c_out,):
                problems.append(f"{name} has shape {getattr(self, name).shape}, expected ({c_out},)")
        if problems:
            raise ValueError("ConvParams: " + "; ".join(problems))
        bad = self.multiplier[(self.multiplier < 1) | (self.multiplier >= 1 << MULTIPLIER_BITS)]
        if bad.size:
            problems.append(f"multiplier {bad[:4].tolist()} outside [1, 2**{MULTIPLIER_BITS})")
        bad = self.shift[(self.shift < 0) | (self.shift > 62)]
        if bad.size:
            problems.append(f"shift {bad[:4].tolist()} outside [0, 62]")
        if not 2 <= self.out_bits <= 32:
            problems.append(f"out_bits={self.out_bits} outside [2, 32]")
        if problems:
            raise ValueError("ConvParams: " + "; ".join(problems))

    def check(self, cfg: LayerConfig):
        """Raises ValueError naming every value ``cfg``'s engine cannot hold."""
        problems = []
        want = (cfg.c_out, cfg.c_in, cfg.kernel, cfg.kernel)
        if self.weight.shape != want:
            problems.append(f"weight has shape {self.weight.shape}, the layer needs {want}")
        w_max = (1 << (cfg.weight_bits - 1)) - 1
        bad = self.weight[np.abs(self.weight) > w_max]
        if bad.size:
            problems.append(f"weights {bad[:4].tolist()} outside the symmetric int{cfg.weight_bits} range ±{w_max}")
        x_max = (1 << (cfg.in_bits - 1)) - 1 if cfg.in_signed else (1 << cfg.in_bits) - 1
        bound = cfg.window_len * x_max * int(np.abs(self.weight).max(initial=0)) + int(np.abs(self.bias).max(initial=0))
        if bound.bit_length() + 1 > cfg.acc_bits:
            problems.append(
                f"|bias| + {cfg.window_len} taps of |x| ≤ {x_max} and these weights reach "
                f"{bound}, beyond acc_bits={cfg.acc_bits}"
            )
        if problems:
            raise ValueError("; ".join(problems))


def _requantize(cfg, params):
    """The tail: ``saturate(round_shift((acc + bias)·M, s))`` in the stages of
    `requantizer`: bias on the accumulator, the multiply, the shift, rounding and
    saturation."""
    lo, hi = (
        (-(1 << (params.out_bits - 1)) + 1, (1 << (params.out_bits - 1)) - 1)
        if params.out_signed
        else (0, (1 << params.out_bits) - 1)
    )

    # acc + bias as wide as the layer can reach (weights at the int8 extreme), the
    # bound `gen.cost` counts DSPs by: ≤ 27 bits fits the DSP48E2's A port, one DSP.
    x_max = (1 << (cfg.in_bits - 1)) - 1 if cfg.in_signed else (1 << cfg.in_bits) - 1
    w_max = (1 << (cfg.weight_bits - 1)) - 1
    reach = (cfg.window_len * x_max * w_max + int(np.abs(params.bias).max(initial=0))).bit_length() + 1
    v_bits = min(reach, cfg.acc_bits + 1)

    def tail(m, lane, acc, x, p):
        v = Signal(signed(v_bits), name=f"rq{lane}_v")
        mult = Signal(MULTIPLIER_BITS, name=f"rq{lane}_m")
        shift1 = Signal(SHIFT_BITS, name=f"rq{lane}_s1")
        m.d.sync += [v.eq(acc + p.bias), mult.eq(p.multiplier), shift1.eq(p.shift)]
        prod = product(m, v, mult, f"rq{lane}")
        shift2 = delay(m, shift1, pipeline.cycles("·M"), f"rq{lane}_s")
        shape = signed(params.out_bits) if params.out_signed else unsigned(params.out_bits)
        return round_saturate(m, prod, shift2, lo, hi, shape, f"rq{lane}")

    pipeline = requantizer(v_bits)
    return tail, pipeline.latency


class Conv(wiring.Component):
    """The MAC array and requantizer of a convolution layer (FINN's MVAU), fed by a
    window generator.

    Built from a `LayerConfig` (K, C_in, C_out, PE, SIMD, input and accumulator widths)
    and `ConvParams` (weights, bias, multiplier, shift, output type), checked against
    each other.

    Ports
    -----
    ``i`` (in): window vectors as a window generator emits them, K·K·C_in elements in
    (ky, kx, c) order in SF = K·K·C_in/SIMD beats of SIMD ``cfg.in_shape`` elements,
    with the frame/line markers. ``o`` (out): per window, the C_out outputs in
    NF = C_out/PE beats of PE elements (``signed(out_bits)``, or unsigned with the ReLU),
    channel order, markers of the output pixel.

    Arithmetic
    ----------
    PE·SIMD products of ``in_shape`` × ``signed(weight_bits)`` (uint8×int8 on the first
    layer), summed by an adder tree per PE into a ``signed(acc_bits)`` accumulator; then
    ``requantize(acc + bias, M, s, out_bits, out_signed)`` of `model.intops` in
    ⌈PE/SF⌉ requantizer lanes: bias, ``·M`` (17 bits), round half up by a variable
    shift, saturation.

    Schedule, latency and throughput
    --------------------------------
    NF·SF cycles per output pixel; each window is read once from ``i`` (pass 0) and
    replayed from a window buffer of SF words for the NF−1 other passes (see `MVAU`).
    From the issue of a pass's last beat to its output beat on ``o``: ``latency`` =
    `MVAU`'s 7 + its adder tree's `tree_stages` (SIMD) + `requantizer`'s 5 (6 where
    ``acc + bias`` exceeds 27 bits) + ⌈PE/lanes⌉ drain steps. Stall-free, a stream of n
    windows ends within n·NF·SF + ``latency`` cycles. ``o`` comes from a FIFO's output register and ``i.ready`` from registers only.
    """

    def __init__(self, cfg: LayerConfig, params: ConvParams):
        params.check(cfg)
        self.cfg, self.params = cfg, params
        matrix = params.weight.transpose(0, 2, 3, 1).reshape(cfg.c_out, cfg.window_len)
        param_layout = data.StructLayout(
            {"bias": signed(cfg.acc_bits), "multiplier": unsigned(MULTIPLIER_BITS), "shift": unsigned(SHIFT_BITS)}
        )
        per_channel = [
            {"bias": int(b), "multiplier": int(mm), "shift": int(s)}
            for b, mm, s in zip(params.bias, params.multiplier, params.shift)
        ]
        out_shape = signed(params.out_bits) if params.out_signed else unsigned(params.out_bits)
        self._mvau = MVAU(
            matrix=matrix.tolist(),
            pe=cfg.pe,
            simd=cfg.simd,
            in_shape=cfg.in_shape,
            weight_shape=signed(cfg.weight_bits),
            acc_shape=signed(cfg.acc_bits),
            out_shape=out_shape,
            param_layout=param_layout,
            params=per_channel,
            transform=(lambda m, x: x, 0),
            tail=_requantize(cfg, params),
        )
        self.latency = self._mvau.latency
        super().__init__(
            {
                "i": In(beat_signature(cfg.in_shape, cfg.simd)),
                "o": Out(beat_signature(out_shape, cfg.pe)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.mvau = self._mvau
        wiring.connect(m, wiring.flipped(self.i), self._mvau.i)
        wiring.connect(m, self._mvau.o, wiring.flipped(self.o))
        return m


class ConvLayer(wiring.Component):
    """A whole convolution layer: `AddressedWindow` where SIMD divides C_in, else
    `SlidingWindow`, then `Conv`.

    Ports
    -----
    ``i`` (in): input pixels in raster order, C_in elements per beat (`SlidingWindow`)
    or C_in/SIMD beats of SIMD (`AddressedWindow`); ``width``, ``height`` (in): the input
    frame size, changed only while the layer is empty; ``o`` (out): as `Conv`.

    Throughput: ``gen.cost.layer_cost``'s frame interval, ``max(H_o·row, W·H·beats)``
    with a row of ``max(NF·SF, p+1) + (W_o−1)·max(NF·SF, s)`` cycles (``W_o·NF·SF``
    addressed). Latency: the window generator's (an output row starts once its last input
    row is in) plus `Conv`'s.
    """

    def __init__(self, cfg: LayerConfig, params: ConvParams):
        self.cfg = cfg
        self.addressed = cfg.addressed(cfg.simd)
        self._window = (AddressedWindow if self.addressed else SlidingWindow)(cfg)
        self._conv = Conv(cfg, params)
        self.latency = self._conv.latency  # the engine's, behind the window generator's
        super().__init__(
            {
                "i": In(beat_signature(cfg.in_shape, cfg.simd if self.addressed else cfg.c_in)),
                "o": Out(self._conv.o.signature),
                "width": In(range(1, cfg.max_width + 1)),
                "height": In(range(1, cfg.max_height + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.window = self._window
        m.submodules.conv = self._conv
        m.d.comb += [self._window.width.eq(self.width), self._window.height.eq(self.height)]
        wiring.connect(m, wiring.flipped(self.i), self._window.i)
        wiring.connect(m, self._window.o, self._conv.i)
        wiring.connect(m, self._conv.o, wiring.flipped(self.o))
        return m
