"""The convolution engine: a PE×SIMD MAC array behind a window generator, then bias and
requantization exactly as `model.intops.requantize`, or (h_s's last layer) a scale-table
index exactly as `model.intops.scale_index`."""

import math
from dataclasses import dataclass

import numpy as np
from amaranth import Cat, Module, Signal
from amaranth.hdl import signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..formats import MULTIPLIER_BITS, SHIFT_BITS, index_bits
from .config import LayerConfig, freeze_integer_arrays
from .mvau import MVAU, ROUND_SATURATE_STAGES, delay, product, product_stages, round_saturate
from .pipeline import Pipeline, Stages
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


def scale_indexer(levels: int) -> Pipeline:
    """The scale-index tail's register stages (`_scale_index`) over ``levels`` thresholds:
    ``acc + bias``, then per index bit a threshold ROM read and a compare."""
    pipeline = Pipeline("scale indexer").stage("acc + bias")
    for j in range(index_bits(levels)):
        pipeline.stage(f"bit {j}: threshold read").stage(f"bit {j}: compare")
    return pipeline


@dataclass(frozen=True, eq=False)
class ConvParams:
    """The integers of one convolution layer (the artefact's ``ConvLayer``).

    ``weight`` (C_out, C_in, K, K), ``bias`` (C_out,) on the accumulator's scale,
    ``multiplier`` (C_out,) in [1, 2**17), ``shift`` (C_out,) in [0, 62]: the output is
    ``requantize(conv + bias, multiplier, shift, out_bits, out_signed)``; an unsigned
    output folds a ReLU. With ``thresholds`` (C_out, L), L ≥ 2, rows non-decreasing in
    the int32 range, it is ``scale_index(conv + bias, thresholds)`` instead, unsigned
    `index_bits` (L) bits (``out_bits`` must say so); multiplier and shift go unused.
    `check` compares them with a `LayerConfig`.
    """

    weight: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    out_bits: int = 8
    out_signed: bool = True
    thresholds: np.ndarray | None = None

    def __post_init__(self):
        freeze_integer_arrays(self, ("weight", "bias", "multiplier", "shift"))
        if self.thresholds is not None:
            freeze_integer_arrays(self, ("thresholds",))
        problems = []
        if self.weight.ndim != 4 or self.weight.shape[2] != self.weight.shape[3]:
            problems.append(f"weight has shape {self.weight.shape}, expected (C_out, C_in, K, K)")
        c_out = self.weight.shape[0] if self.weight.ndim else 0
        for name in ("bias", "multiplier", "shift"):
            if getattr(self, name).shape != (c_out,):
                problems.append(f"{name} has shape {getattr(self, name).shape}, expected ({c_out},)")
        t = self.thresholds
        if t is not None and (t.ndim != 2 or t.shape[0] != c_out):
            problems.append(f"thresholds has shape {t.shape}, expected ({c_out}, levels)")
        if problems:
            raise ValueError("ConvParams: " + "; ".join(problems))
        bad = self.multiplier[(self.multiplier < 1) | (self.multiplier >= 1 << MULTIPLIER_BITS)]
        if bad.size:
            problems.append(f"multiplier {bad[:4].tolist()} outside [1, 2**{MULTIPLIER_BITS})")
        bad = self.shift[(self.shift < 0) | (self.shift > 62)]
        if bad.size:
            problems.append(f"shift {bad[:4].tolist()} outside [0, 62]")
        if t is None:
            if not 2 <= self.out_bits <= 32:
                problems.append(f"out_bits={self.out_bits} outside [2, 32]")
        else:
            levels = t.shape[1]
            if levels < 2:
                problems.append(f"thresholds has {levels} level(s), a scale index needs at least 2")
            bad = t[(t < -(1 << 31)) | (t >= 1 << 31)]
            if bad.size:
                problems.append(f"thresholds {bad[:4].tolist()} outside the int32 range")
            unsorted = np.flatnonzero((np.diff(t, axis=1) < 0).any(axis=1))
            if unsorted.size:
                problems.append(f"thresholds rows {unsorted[:4].tolist()} not sorted (non-decreasing)")
            if (self.out_bits, self.out_signed) != (index_bits(levels), False):
                problems.append(
                    f"out_bits={self.out_bits}, out_signed={self.out_signed}: an index over {levels} "
                    f"thresholds needs out_bits={index_bits(levels)}, out_signed=False"
                )
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


def _v_bits(cfg, params) -> int:
    """The width of ``acc + bias``: as wide as the layer can reach (weights at the int8
    extreme), the bound `gen.cost` counts DSPs by: ≤ 27 bits fits the DSP48E2's A port,
    one DSP."""
    x_max = (1 << (cfg.in_bits - 1)) - 1 if cfg.in_signed else (1 << cfg.in_bits) - 1
    w_max = (1 << (cfg.weight_bits - 1)) - 1
    reach = (cfg.window_len * x_max * w_max + int(np.abs(params.bias).max(initial=0))).bit_length() + 1
    return min(reach, cfg.acc_bits + 1)


def _drain_slots(cfg):
    """Where `MVAU` drains each channel: its lanes (⌈PE/SF⌉), the words of a lane's
    constants ROM (NF·S, S = ⌈PE/lanes⌉ drain steps), and per channel
    nf·PE + k·lanes + lane its ``(lane, word nf·S + k)``."""
    lanes = math.ceil(cfg.pe / cfg.window_beats)
    steps = math.ceil(cfg.pe / lanes)
    slots = [(c % cfg.pe % lanes, c // cfg.pe * steps + c % cfg.pe // lanes) for c in range(cfg.c_out)]
    return lanes, cfg.c_out // cfg.pe * steps, slots


def _requantize(cfg, params):
    """The tail: ``saturate(round_shift((acc + bias)·M, s))`` in the stages of
    `requantizer`: bias on the accumulator, the multiply, the shift, rounding and
    saturation."""
    lo, hi = (
        (-(1 << (params.out_bits - 1)) + 1, (1 << (params.out_bits - 1)) - 1)
        if params.out_signed
        else (0, (1 << params.out_bits) - 1)
    )
    v_bits = _v_bits(cfg, params)

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


def _scale_index(cfg, params):
    """The tail: ``scale_index(acc + bias, thresholds)`` in the stages of
    `scale_indexer`: bias on the accumulator, then a binary search of b = `index_bits`
    steps over the channel's first L − 1 thresholds padded with +∞ to 2**b − 1 entries.
    The count of those below v equals ``min(#{k < L : T[k] < v}, L − 1)``: the rows are
    sorted, so the count over all L exceeds the count over the first L − 1 only when all
    L count. Step j knows the prefix p of the index's top j bits and compares v with
    ``T[(p << (b − j)) + 2**(b − j − 1) − 1]``: a ROM per lane and step, word·2**j + p
    (word: the channel's word in the lane's constants ROM, ``p.word``)."""
    levels = params.thresholds.shape[1]
    b = index_bits(levels)
    v_bits = _v_bits(cfg, params)
    # A threshold below every signed(v_bits) v always counts and one at or above the
    # largest v never does, so clamping to [lo, top] keeps every comparison and lets the
    # ROMs hold signed(v_bits + 1); top also pads the table as +∞.
    lo, top = -(1 << (v_bits - 1)) - 1, (1 << (v_bits - 1)) - 1
    table = np.full((cfg.c_out, (1 << b) - 1), top, dtype=np.int64)
    table[:, : levels - 1] = params.thresholds[:, : levels - 1].clip(lo, top)
    _, words, slots = _drain_slots(cfg)
    pipeline = scale_indexer(levels)

    def tail(m, lane, acc, x, p):
        channel = {word: c for c, (ln, word) in enumerate(slots) if ln == lane}
        st = Stages(m, f"si{lane}")
        k = pipeline.cycles("acc + bias")
        st.reg("v", acc + p.bias, k, signed(v_bits))
        st.reg("word", p.word, k)
        for j in range(b):
            probes = [(q << (b - j)) + (1 << (b - j - 1)) - 1 for q in range(1 << j)]
            init = [int(table[channel[w], i]) if w in channel else top for w in range(words) for i in probes]
            m.submodules[f"thresholds{lane}_{j}"] = rom = Memory(shape=signed(v_bits + 1), depth=words << j, init=init)
            port = rom.read_port()
            # The prefix p{j} (j bits, none at j = 0) and word → address word·2**j + p.
            m.d.comb += port.addr.eq(Cat(st.at(f"p{j}", k), st.at("word", k)) if j else st.at("word", k))
            k += pipeline.cycles(f"bit {j}: threshold read")
            bit = st.at("v", k) > port.data
            prefix = Cat(bit, st.at(f"p{j}", k)) if j else bit  # 2p + bit
            k += pipeline.cycles(f"bit {j}: compare")
            st.reg(f"p{j + 1}", prefix, k, unsigned(j + 1))
        assert k == pipeline.latency
        return st.at(f"p{b}", k)

    return tail, pipeline.latency


class Conv(wiring.Component):
    """The MAC array and requantizer (or scale indexer) of a convolution layer (FINN's
    MVAU), fed by a window generator.

    Built from a `LayerConfig` (K, C_in, C_out, PE, SIMD, input and accumulator widths)
    and `ConvParams` (weights, bias, multiplier, shift or thresholds, output type),
    checked against each other.

    Ports
    -----
    ``i`` (in): window vectors as a window generator emits them, K·K·C_in elements in
    (ky, kx, c) order in SF = K·K·C_in/SIMD beats of SIMD ``cfg.in_shape`` elements,
    with the frame/line markers. ``o`` (out): per window, the C_out outputs in
    NF = C_out/PE beats of PE elements (``signed(out_bits)``, unsigned with the ReLU or
    for a scale index), channel order, markers of the output pixel.

    Arithmetic
    ----------
    PE·SIMD products of ``in_shape`` × ``signed(weight_bits)`` (uint8×int8 on the first
    layer), summed by an adder tree per PE into a ``signed(acc_bits)`` accumulator; then
    ``requantize(acc + bias, M, s, out_bits, out_signed)`` of `model.intops` in
    ⌈PE/SF⌉ requantizer lanes: bias, ``·M`` (17 bits), round half up by a variable
    shift, saturation. With thresholds, ``scale_index(acc + bias, thresholds)`` instead
    in as many lanes: a binary search of b = `index_bits` (L) compares, each against a
    per-lane ROM of the thresholds it may probe (`_scale_index`).

    Schedule, latency and throughput
    --------------------------------
    NF·SF cycles per output pixel; each window is read once from ``i`` (pass 0) and
    replayed from a window buffer of SF words for the NF−1 other passes (see `MVAU`).
    From the issue of a pass's last beat to its output beat on ``o``: ``latency`` =
    `MVAU`'s 7 + its adder tree's `tree_stages` (SIMD) + `requantizer`'s 5 (6 where
    ``acc + bias`` exceeds 27 bits; `scale_indexer`'s 1 + 2b with thresholds) +
    ⌈PE/lanes⌉ drain steps. Stall-free, a stream of n windows ends within
    n·NF·SF + ``latency`` cycles. ``o`` comes from a FIFO's output register and
    ``i.ready`` from registers only.
    """

    def __init__(self, cfg: LayerConfig, params: ConvParams):
        params.check(cfg)
        self.cfg, self.params = cfg, params
        matrix = params.weight.transpose(0, 2, 3, 1).reshape(cfg.c_out, cfg.window_len)
        lanes, words, slots = _drain_slots(cfg)
        if params.thresholds is None:
            param_layout = data.StructLayout(
                {"bias": signed(cfg.acc_bits), "multiplier": unsigned(MULTIPLIER_BITS), "shift": unsigned(SHIFT_BITS)}
            )
            per_channel = [
                {"bias": int(b), "multiplier": int(mm), "shift": int(s)}
                for b, mm, s in zip(params.bias, params.multiplier, params.shift)
            ]
            tail = _requantize(cfg, params)
        else:
            param_layout = data.StructLayout({"bias": signed(cfg.acc_bits), "word": range(words)})
            per_channel = [{"bias": int(b), "word": word} for b, (_, word) in zip(params.bias, slots)]
            tail = _scale_index(cfg, params)
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
            tail=tail,
        )
        assert (lanes, words) == (self._mvau.lanes, self._mvau.nf * self._mvau.steps)
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
