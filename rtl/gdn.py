"""The GDN32 and inverse-GDN32 units: bit for bit `model.intops.gdn32` / `igdn32`
(docs/number-formats.md §3)."""

from dataclasses import dataclass

import numpy as np
from amaranth import Module, Mux, Signal
from amaranth.hdl import signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..formats import MULTIPLIER_BITS, RSQRT_FRAC, SHIFT_BITS
from ..formats import RSQRT_MANTISSA_BITS as MANTISSA_BITS
from ..formats import RSQRT_SEED_BITS as SEED_BITS
from ..formats import RSQRT_SEED_FRAC as SEED_FRAC
from ..formats import RSQRT_TABLE_BITS as TABLE_BITS
from ..shape import LayerShape
from .config import freeze_integer_arrays
from .mvau import MVAU, delay, round_shift
from .pipeline import Pipeline
from .stream import beat_signature

__all__ = ["GDNConfig", "GDN"]


@dataclass(frozen=True, eq=False)
class GDNConfig:
    """One GDN (or inverse GDN) unit: the integers of an `intops.GDNParams`, its folding
    and the two constants of the integer definition the hardware must match.

    ``pe`` folds the output channels i of ``N_i = beta_i + Σ_j gamma_ij·u_j``, ``simd``
    the inputs j; both divide C. ``rsqrt_table`` is `intops.RSQRT_TABLE` (the seed ROM)
    and ``square_shift`` is `intops.gdn_square_shift(in_bits)`; `from_params` takes them
    from the caller, since `rtl/` does not import the golden model.
    """

    pe: int
    simd: int
    inverse: bool
    in_bits: int
    out_bits: int
    coef_bits: int
    acc_bits: int
    beta: np.ndarray
    gamma: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    rsqrt_table: np.ndarray
    square_shift: int

    @classmethod
    def from_params(cls, params, *, pe, simd, rsqrt_table, square_shift):
        """From an `intops.GDNParams` (already checked there: the output shift span)."""
        return cls(
            pe,
            simd,
            bool(params.inverse),
            params.in_bits,
            params.out_bits,
            params.coef_bits,
            params.acc_bits,
            params.beta,
            params.gamma,
            params.multiplier,
            params.shift,
            rsqrt_table,
            square_shift,
        )

    @property
    def channels(self):
        return len(self.beta)

    @property
    def shape(self):
        """A GDN unit's geometry: a 1×1 layer over its channels."""
        return LayerShape(1, 1, self.channels, self.channels)

    @property
    def square_max(self):
        """The largest square ``u`` of a symmetric ``in_bits`` input."""
        x_max = (1 << (self.in_bits - 1)) - 1
        return (x_max * x_max + ((1 << self.square_shift) >> 1)) >> self.square_shift

    def __post_init__(self):
        freeze_integer_arrays(self, ("beta", "gamma", "multiplier", "shift", "rsqrt_table"))
        c = len(self.beta)
        problems = []
        for name, shape in {
            "gamma": (c, c),
            "multiplier": (c,),
            "shift": (c,),
            "rsqrt_table": (1 << TABLE_BITS,),
        }.items():
            if getattr(self, name).shape != shape:
                problems.append(f"{name} has shape {getattr(self, name).shape}, expected {shape}")
        if problems:
            raise ValueError("GDNConfig: " + "; ".join(problems))
        for name in ("pe", "simd"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1 or c % value:
                problems.append(f"{name.upper()}={value!r} does not divide C={c}")
        if not 2 <= self.in_bits <= 16 or not 2 <= self.out_bits <= 16:
            problems.append(f"in_bits={self.in_bits}/out_bits={self.out_bits} outside [2, 16]")
        if not 0 <= self.square_shift < 2 * self.in_bits:
            problems.append(f"square_shift={self.square_shift} outside [0, {2 * self.in_bits})")
        if not 1 <= self.coef_bits < self.acc_bits <= 62:
            problems.append(f"coef_bits={self.coef_bits}, acc_bits={self.acc_bits}: need 1 ≤ coef < acc ≤ 62")
        ranges = [
            ("gamma", 0, 1 << self.coef_bits),
            ("beta", 1, 1 << self.acc_bits),
            ("multiplier", 1, 1 << MULTIPLIER_BITS),
            ("shift", 0, 63),
            ("rsqrt_table", 0, 1 << SEED_BITS),
        ]
        for name, lo, hi in ranges:
            value = getattr(self, name)
            bad = value[(value < lo) | (value >= hi)]
            if bad.size:
                problems.append(f"{name} {bad[:4].tolist()} outside [{lo}, {hi})")
        if problems:
            raise ValueError("GDNConfig: " + "; ".join(problems))
        worst = max(int(b) + self.square_max * sum(int(g) for g in row) for b, row in zip(self.beta, self.gamma))
        if worst >= 1 << self.acc_bits:
            raise ValueError(f"GDNConfig: the normaliser can reach {worst}, beyond acc_bits={self.acc_bits}")


#: The squarer in front of the γ-sum's multipliers.
SQUARE = Pipeline("square").stage("x²")


def gdn_tail(inverse: bool) -> Pipeline:
    """The register stages of a tail lane (`GDN._tail`, numbered as there)."""
    tail = Pipeline("inverse GDN tail" if inverse else "GDN tail")
    for name in ("normaliser", "leading zeros", "mantissa", "seed ROM", "w = m·y0", "p = w·y0", "d", "r"):
        tail.stage(name)
    if inverse:
        tail.stage("sqrt = m·r")
    return tail.stage("x·r").stage("·M").stage("round and saturate")


class GDN(wiring.Component):
    """GDN32 (``inverse=False``) or inverse GDN32 over C channels of a pixel.

    Ports
    -----
    ``i`` (in): a pixel's C channels in C/SIMD beats of SIMD ``signed(in_bits)`` elements,
    with frame/line markers (a conv engine's output, re-folded by a `WidthConverter`
    where its PE differs). ``o`` (out): the C outputs in C/PE beats of PE
    ``signed(out_bits)`` elements, channel order, with the pixel's markers.

    Arithmetic (each line one or more register stages)
    --------------------------------------------------
    - squares ``u_j = round_shift(x_j², square_shift)`` (SIMD squarers), recomputed from
      the replayed x in every pass: the replay buffer holds in_bits rather than up to 17
      bits per element, for the same squarers;
    - ``Σ_j gamma_ij·u_j``: PE·SIMD ``coef_bits``×17-bit products in an ``acc_bits``
      unsigned accumulator (`MVAU`: NF = C/PE passes of SF = C/SIMD beats);
    - per tail lane (⌈PE/SF⌉ of them): ``N = acc + beta_i``; the leading-zero count
      and the even exponent e; the mantissa m (left or right shift); the seed from a
      1024×17 ROM; Newton's step ``w = rs(m·y0, 17)``, ``p = w·y0``,
      ``d = rs(2**41 − p, 7)``, ``r = (y0 << 8) + rs(y0·d, 27)``; for the inverse
      ``s = rs(m·r, 26)``; then ``x_i·r`` (or ``x_i·s``), ``·M_i`` and
      ``saturate(rs(·, shift_i ± e), out_bits)``.

    Latency and throughput
    ----------------------
    C/PE · C/SIMD cycles per pixel (`gen.cost`'s GDN model). From the issue of a pass's
    last beat to its output beat: ``latency`` = 18 + ⌈PE/lanes⌉ cycles (19 + … for the
    inverse): `MVAU`'s 6, the square's 1, the tail's 11 (12) stages and the drain steps.
    ``o`` is a FIFO's output register, ``i.ready`` comes from registers only.

    Where this differs from `gen.cost`'s memory estimate: the replay buffer holds x
    (``in_bits`` per element) rather than squares, and the pixel's x values sit in C
    registers (plus PE held per pass) rather than a two-pixel RAM per tail lane; the
    inverse tail has one multiplier more than the forward one (``m·r``).
    """

    def __init__(self, cfg: GDNConfig):
        self.cfg = cfg
        self.tail_pipeline = gdn_tail(cfg.inverse)
        c = cfg.channels
        q = cfg.square_shift
        u_shape = unsigned(max(1, 2 * cfg.in_bits - q))

        def square(m, x):
            u = Signal(u_shape)
            m.d.sync += u.eq(round_shift(x * x, q))
            return u

        param_layout = data.StructLayout(
            {"beta": unsigned(cfg.acc_bits), "multiplier": unsigned(MULTIPLIER_BITS), "shift": unsigned(SHIFT_BITS)}
        )
        per_channel = [
            {"beta": int(b), "multiplier": int(mm), "shift": int(s)}
            for b, mm, s in zip(cfg.beta, cfg.multiplier, cfg.shift)
        ]
        self._mvau = MVAU(
            matrix=cfg.gamma.tolist(),
            pe=cfg.pe,
            simd=cfg.simd,
            in_shape=signed(cfg.in_bits),
            weight_shape=unsigned(cfg.coef_bits),
            acc_shape=unsigned(cfg.acc_bits),
            out_shape=signed(cfg.out_bits),
            param_layout=param_layout,
            params=per_channel,
            transform=(square, SQUARE.latency),
            tail=(self._tail, self.tail_pipeline.latency),
            keep_input=True,
        )
        self.latency = self._mvau.latency
        super().__init__(
            {
                "i": In(beat_signature(signed(cfg.in_bits), cfg.simd)),
                "o": Out(beat_signature(signed(cfg.out_bits), cfg.pe)),
            }
        )
        assert c == self._mvau.nf * cfg.pe

    def _tail(self, m, lane, acc, x, p):
        cfg = self.cfg

        def reg(value, name, shape=None):
            r = Signal(shape if shape is not None else value.shape(), name=f"gdn{lane}_{name}")
            m.d.sync += r.eq(value)
            return r

        # 1: the normaliser.
        n = reg(acc + p.beta, "n", unsigned(cfg.acc_bits + 1))
        x1, mult1, shift1 = reg(x, "x1"), reg(p.multiplier, "mult1"), reg(p.shift, "shift1")
        # 2: leading-zero count (a priority encoder) → e = floor((bit_length − 25)/2).
        length = 0
        for b in range(len(n)):
            length = Mux(n[b], b + 1, length)
        e = reg((length - (MANTISSA_BITS - 1)) >> 1, "e", signed(SHIFT_BITS + 1))
        n2 = reg(n, "n2")
        # 3: the mantissa in [2**24, 2**26): left shift (exact) or right shift (truncating).
        left = (-2 * e).as_unsigned()[:SHIFT_BITS]
        right = (2 * e).as_unsigned()[:SHIFT_BITS]
        mant = reg(Mux(e < 0, n2 << left, n2 >> right), "m", unsigned(MANTISSA_BITS))
        # 4: the seed (ROM read); 5: w = rs(m·y0, 17).
        m.submodules[f"rsqrt_seed{lane}"] = rom = Memory(
            shape=unsigned(SEED_BITS), depth=1 << TABLE_BITS, init=[int(v) for v in cfg.rsqrt_table]
        )
        seed = rom.read_port()
        m.d.comb += seed.addr.eq(mant >> (MANTISSA_BITS - TABLE_BITS))
        y0 = seed.data
        mant4 = reg(mant, "m4")
        w = reg(round_shift(mant4 * y0, 17), "w", unsigned(MANTISSA_BITS + 1))
        y0_5 = reg(y0, "y0_5")
        # 6: p = w·y0 ≈ 2**41.
        prod_p = reg(w * y0_5, "p", unsigned(MANTISSA_BITS + 1 + SEED_BITS))
        y0_6 = reg(y0_5, "y0_6")
        # 7: d = rs(2**41 − p, 7), |d| < 2**25.
        d = reg(round_shift((1 << 41) - prod_p, 7), "d", signed(MANTISSA_BITS + 2))
        y0_7 = reg(y0_6, "y0_7")
        # 8: r = y0 in Q.24 plus the correction y0·d/2, in [2**24 − 1, 2**25).
        r = reg((y0_7 << (RSQRT_FRAC - SEED_FRAC)) + round_shift(y0_7 * d, 27), "r", unsigned(RSQRT_FRAC + 2))
        e_r = delay(m, e, 6, f"gdn{lane}_e")
        x_r = delay(m, x1, 7, f"gdn{lane}_x")
        mult_r = delay(m, mult1, 7, f"gdn{lane}_mult")
        shift_r = delay(m, shift1, 7, f"gdn{lane}_shift")
        if cfg.inverse:
            # 9: sqrt(m) = rs(m·r, 26).
            mant_r = delay(m, mant4, 4, f"gdn{lane}_m")
            root = reg(round_shift(mant_r * r, MANTISSA_BITS), "s", unsigned(RSQRT_FRAC + 1))
            e_r, x_r, mult_r, shift_r = (
                delay(m, v, 1, f"gdn{lane}_{k}")
                for v, k in ((e_r, "e9"), (x_r, "x9"), (mult_r, "mult9"), (shift_r, "shift9"))
            )
            total_shift = shift_r - e_r
        else:
            root = r
            total_shift = shift_r + e_r
        # 9 (10): x·r (one DSP) and the output shift shift ± e, in [0, 62] by GDNParams.
        xr = reg(x_r * root, "xr", signed(cfg.in_bits + RSQRT_FRAC + 2))
        sh = reg(total_shift.as_unsigned()[:SHIFT_BITS], "sh", unsigned(SHIFT_BITS))
        mult_xr = reg(mult_r, "mult_xr")
        # 10 (11): ·M, then 11 (12): round half up, saturate to the symmetric out_bits range.
        full = reg(xr * mult_xr, "full", signed(cfg.in_bits + RSQRT_FRAC + 2 + MULTIPLIER_BITS))
        sh_full = reg(sh, "sh_full")
        hi = (1 << (cfg.out_bits - 1)) - 1
        rounded = round_shift(full, sh_full)
        return reg(Mux(rounded > hi, hi, Mux(rounded < -hi, -hi, rounded)), "out", signed(cfg.out_bits))

    def elaborate(self, platform):
        m = Module()
        m.submodules.mvau = self._mvau
        wiring.connect(m, wiring.flipped(self.i), self._mvau.i)
        wiring.connect(m, self._mvau.o, wiring.flipped(self.o))
        return m
