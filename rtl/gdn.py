"""The GDN32 and inverse-GDN32 units: bit for bit `model.intops.gdn32` / `igdn32`
(docs/number-formats.md §3)."""

from dataclasses import dataclass

import numpy as np
from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.hdl import signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..formats import MULTIPLIER_BITS, RSQRT_FRAC, SHIFT_BITS
from ..formats import RSQRT_MANTISSA_BITS as MANTISSA_BITS
from ..formats import RSQRT_SEED_BITS as SEED_BITS
from ..formats import RSQRT_TABLE_BITS as TABLE_BITS
from ..shape import LayerShape
from .config import freeze_integer_arrays
from .mvau import MVAU, ROUND_SATURATE_STAGES, product, product_stages, round_saturate, round_shift
from .pipeline import Pipeline, Stages
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
#: The squarer in front of the γ-sum's multipliers: the product (the squarer DSP48E2's P
#: register), then a register of its own in front of the PE multipliers it feeds, so
#: that no product goes from one DSP48E2's P straight into another's multiplier.
SQUARE = Pipeline("square").stage("x²").stage("γ operand register")

#: Bits per group of the leading-zero count (a group's count is a function of 8 bits,
#: a table; the groups' priority select takes two more stages, by halves).
LZ_GROUP = 8


def _or(values):
    """The OR of ``values``, as a balanced tree."""
    values = list(values)
    while len(values) > 1:
        values = [values[i] | values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)]
    return values[0]


#: Operand shapes of the tail's products (`GDN._tail`); x is signed(in_bits).
MANTISSA = unsigned(MANTISSA_BITS)
SEED = unsigned(SEED_BITS)
W = unsigned(MANTISSA_BITS + 1)
D = signed(MANTISSA_BITS + 2)
R = unsigned(RSQRT_FRAC + 2)
ROOT = unsigned(RSQRT_FRAC + 1)
MULT = unsigned(MULTIPLIER_BITS)


def xr_shape(in_bits: int):
    return signed(in_bits + RSQRT_FRAC + 2)


def gdn_tail(inverse: bool, in_bits: int) -> Pipeline:
    """The register stages of a tail lane (`GDN._tail`): one carry chain, DSP product
    or barrel shifter each at most (a product wider than one DSP48E2 takes two)."""
    tail = Pipeline("inverse GDN tail" if inverse else "GDN tail")
    for name in (
        "normaliser",
        "leading zeros by group",
        "exponent, by halves",
        "exponent",
        "mantissa, by 8s",
        "mantissa",
        "seed ROM",
        "seed register",
    ):
        tail.stage(name)
    tail.stage("m·y0", product_stages(MANTISSA, SEED)).stage("w = rs(m·y0, 17)")
    tail.stage("p = w·y0", product_stages(W, SEED)).stage("d")
    tail.stage("y0·d", product_stages(SEED, D)).stage("r")
    if inverse:
        tail.stage("m·r", product_stages(MANTISSA, R)).stage("sqrt = rs(m·r, 26)")
    tail.stage("x·r", product_stages(signed(in_bits), ROOT if inverse else R))
    tail.stage("·M", product_stages(xr_shape(in_bits), MULT))
    return tail.stage("round and saturate", ROUND_SATURATE_STAGES)


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
      and the even exponent e (by groups of `LZ_GROUP` bits, then the highest non-zero
      group's, within each half of the groups and then between the halves); the mantissa m (a left or right shift, done as one right shift of n·2**26
      in two stages of an 8-way multiplexer); the seed from a
      1024×17 ROM; Newton's step ``w = rs(m·y0, 17)``, ``p = w·y0``,
      ``d = rs(2**41 − p, 7)``, ``r = (y0 << 8) + rs(y0·d, 27)``; for the inverse
      ``s = rs(m·r, 26)``; then ``x_i·r`` (or ``x_i·s``), ``·M_i`` and
      ``saturate(rs(·, shift_i ± e), out_bits)``.

    Latency and throughput
    ----------------------
    C/PE · C/SIMD cycles per pixel (`gen.cost`'s GDN model). From the issue of a pass's
    last beat to its output beat: ``latency`` = `MVAU`'s 7 + its adder tree's
    `tree_stages` (SIMD) + the square's 2 + the tail's `gdn_tail` stages (22 for int8,
    25 inverse) + ⌈PE/lanes⌉ drain steps.
    ``o`` is a FIFO's output register, ``i.ready`` comes from registers only.

    Where this differs from `gen.cost`'s memory estimate: the replay buffer holds x
    (``in_bits`` per element) rather than squares, and the pixel's x values sit in C
    registers (plus PE held per pass) rather than a two-pixel RAM per tail lane; the
    inverse tail has one multiplier more than the forward one (``m·r``).
    """

    def __init__(self, cfg: GDNConfig):
        self.cfg = cfg
        self.tail_pipeline = gdn_tail(cfg.inverse, cfg.in_bits)
        c = cfg.channels
        q = cfg.square_shift
        u_shape = unsigned(max(1, 2 * cfg.in_bits - q))

        def square(m, x):
            u = Signal(u_shape)
            u_op = Signal(u_shape)
            m.d.sync += [u.eq(round_shift(x * x, q)), u_op.eq(u)]
            return u_op

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
        st = Stages(m, f"gdn{lane}")
        k = 0  # the stage built so far: its registers are valid at stage k

        def stage(name):
            """Moves past the named stage; returns the stage its inputs are taken at."""
            nonlocal k
            k += self.tail_pipeline.cycles(name)
            return k - self.tail_pipeline.cycles(name)

        def mul(name, a, b, stage_name):
            start = stage(stage_name)
            return st.put(name, product(m, st.at(a, start), st.at(b, start), f"gdn{lane}_{name}"), k)

        stage("normaliser")
        n = st.reg("n", acc + p.beta, k, unsigned(cfg.acc_bits + 1))
        st.reg("x", x, k), st.reg("mult", p.multiplier, k), st.reg("shift", p.shift, k)

        # The exponent e = floor((bit_length(n) − 25)/2) and the mantissa's shift |2e|:
        # per group of LZ_GROUP bits, what they are if the group holds n's leading one;
        # then the highest non-zero group's (n = 0: bit_length 0).
        stage("leading zeros by group")
        e_shape = signed(SHIFT_BITS + 1)

        def exponent(length):
            return (length - (MANTISSA_BITS - 1)) >> 1

        # The mantissa is n << −2e (exact) or n >> 2e (truncating): one right shift of
        # n·2**lift by t = lift + 2e ≥ 0, lift = −2·exponent(0), in two stages of an
        # 8-way multiplexer each (by t's upper bits, then its lower three).
        lift = max(0, -2 * exponent(0))
        t_shape = unsigned(max(1, (lift + 2 * max(exponent(len(n)), 0)).bit_length()))
        groups = []
        for g in range(0, len(n), LZ_GROUP):
            bits = n[g : g + LZ_GROUP]
            # t of the group's bit length, as a table of its bits (LUTs and wide
            # multiplexers rather than a priority chain).
            # (A constant indexed by a continuous assignment, not a ``case`` block, which
            # Icarus would not run while n keeps its time-0 value.)
            t_g = Signal(t_shape, name=f"gdn{lane}_tg{g}")
            table = 0
            for v in range(1 << len(bits)):
                table |= (lift + 2 * exponent(g + v.bit_length() if v else 0)) << (v * t_shape.width)
            m.d.comb += t_g.eq(Const(table, t_shape.width << len(bits)).word_select(bits, t_shape.width))
            groups.append((st.reg(f"nz{g}", bits.any(), k), st.reg(f"t{g}", t_g, k, t_shape)))

        # The highest non-zero group's t (n = 0: exponent(0)'s), in two stages: within
        # each half of the groups, then between the halves.
        stage("exponent, by halves")
        halves = []
        for h, half in enumerate((groups[: len(groups) // 2], groups[len(groups) // 2 :])):
            above, terms = Const(0, 1), []
            for nz, t_g in reversed(half):
                terms.append(Mux(nz & ~above, t_g, 0))
                above = above | nz
            halves.append((st.reg(f"nz_h{h}", above, k), st.reg(f"t_h{h}", _or(terms), k, t_shape)))
        stage("exponent")
        (nz_lo, t_lo), (nz_hi, t_hi) = halves
        st.reg("t", Mux(nz_hi, t_hi, Mux(nz_lo, t_lo, lift + 2 * exponent(0))), k, t_shape)

        # The mantissa in [2**24, 2**26).
        at = stage("mantissa, by 8s")
        lifted = Cat(Const(0, lift), st.at("n", at))
        coarse = (lifted >> Cat(Const(0, 3), st.at("t", at)[3:]))[: MANTISSA_BITS + 7]
        st.reg("mc", coarse, k, unsigned(MANTISSA_BITS + 7))
        st.reg("e", (st.at("t", at) - lift) >> 1, k, e_shape)  # t = lift + 2e
        at = stage("mantissa")
        mant = st.reg("m", (st.at("mc", at) >> st.at("t", at)[:3])[:MANTISSA_BITS], k, MANTISSA)
        stage("seed ROM")
        m.submodules[f"rsqrt_seed{lane}"] = rom = Memory(
            shape=SEED, depth=1 << TABLE_BITS, init=[int(v) for v in cfg.rsqrt_table]
        )
        seed = rom.read_port()
        m.d.comb += seed.addr.eq(mant >> (MANTISSA_BITS - TABLE_BITS))
        stage("seed register")  # the block RAM's output register
        st.reg("y0", seed.data, k)

        # Newton's step: w = rs(m·y0, 17), p = w·y0 ≈ 2**41, d = rs(2**41 − p, 7)
        # (|d| < 2**25), r = (y0 << 8) + rs(y0·d, 27) in [2**24 − 1, 2**25).
        prod_w = mul("mw", "m", "y0", "m·y0")
        stage("w = rs(m·y0, 17)")
        st.reg("w", round_shift(prod_w, 17), k, W)
        prod_p = mul("p", "w", "y0", "p = w·y0")
        stage("d")
        st.reg("d", ((1 << 41) + (1 << 6) - prod_p) >> 7, k, D)
        prod_r = mul("y0d", "y0", "d", "y0·d")
        y0 = st.at("y0", stage("r"))
        # (y0 << 35) + 2**26 carries nothing into y0's bits: one adder, then the shift.
        r = st.reg("r", (Cat(Const(1 << 26, 35), y0) + prod_r) >> 27, k, R)
        if cfg.inverse:
            prod_s = mul("mr", "m", "r", "m·r")
            stage("sqrt = rs(m·r, 26)")
            st.reg("root", round_shift(prod_s, MANTISSA_BITS), k, ROOT)
            total_shift = st.at("shift", k) - st.at("e", k)
        else:
            st.put("root", r, k)
            total_shift = st.at("shift", k) + st.at("e", k)
        # The output shift shift ± e, in [0, 62] by GDNParams, beside x·r.
        st.reg("sh", total_shift.as_unsigned()[:SHIFT_BITS], k + 1, unsigned(SHIFT_BITS))
        mul("xr", "x", "root", "x·r")
        full = mul("full", "xr", "mult", "·M")
        # Round half up, saturate to the symmetric out_bits range.
        sh = st.at("sh", stage("round and saturate"))
        hi = (1 << (cfg.out_bits - 1)) - 1
        out = round_saturate(m, full, sh, -hi, hi, signed(cfg.out_bits), f"gdn{lane}")
        assert k == self.tail_pipeline.latency
        return out

    def elaborate(self, platform):
        m = Module()
        m.submodules.mvau = self._mvau
        wiring.connect(m, wiring.flipped(self.i), self._mvau.i)
        wiring.connect(m, self._mvau.o, wiring.flipped(self.o))
        return m
