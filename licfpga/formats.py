"""The number formats of the integer network and its hardware, in one place: the widths,
fraction bits and seed table that the golden model (`model.intops`), the engines
(`rtl/`) and the generator (`gen/`) share. docs/number-formats.md explains them.

numpy and the standard library only, so that `rtl` and `gen` read the formats without
the golden model's dependencies. Signed b-bit values are symmetric:
``[-(2**(b-1) - 1), 2**(b-1) - 1]`` (:func:`int_range`).
"""

import math

import numpy as np

__all__ = [
    "WEIGHT_BITS",
    "ACC_BITS",
    "OUT_BITS",
    "SCALE_LEVELS",
    "index_bits",
    "MULTIPLIER_BITS",
    "MAX_SHIFT",
    "SHIFT_BITS",
    "RSQRT_MANTISSA_BITS",
    "RSQRT_TABLE_BITS",
    "RSQRT_SEED_FRAC",
    "RSQRT_SEED_BITS",
    "RSQRT_FRAC",
    "RSQRT_TABLE",
    "GDN_SQUARE_BITS",
    "GDN_COEF_BITS",
    "GDN_ACC_BITS",
    "DSP_A_BITS",
    "DSP_B_BITS",
    "DSP_P_BITS",
    "DUAL_SHIFT",
    "int_range",
    "accumulator_bits",
    "gdn_square_shift",
    "dual_pack",
    "dual_split",
    "dual_terms",
    "check_dual",
]

#: Convolution weights: int8, symmetric.
WEIGHT_BITS = 8
#: A convolution's accumulator register and its bias (int32); a layer that can pass it
#: (g_s's first, on int16 ŷ) declares a wider one in the artefact.
ACC_BITS = 32
#: The encoder's output elements, ŷ, ẑ then the scale indexes: one int16 per stream beat.
OUT_BITS = 16
#: Levels of the entropy model's scale table (CompressAI's 64): h_s's last layer maps
#: each ŷ element to an index 0…L−1 of it.
SCALE_LEVELS = 64

#: Requantization multipliers are unsigned 17-bit, normalised to ``[2**16, 2**17)``:
#: positive values of the DSP48E2's 18-bit signed B port.
MULTIPLIER_BITS = 17
#: Largest right shift; keeps ``v + 2**(shift-1)`` inside int64 for ``|v| < 2**62``.
MAX_SHIFT = 62
#: Width of a shift (and of a GDN row's fraction bits), ``[0, MAX_SHIFT]``.
SHIFT_BITS = MAX_SHIFT.bit_length()

#: The reciprocal square root normalises its input to a 26-bit mantissa in
#: ``[2**24, 2**26)`` (the DSP48E2's 27-bit signed A port, sign bit clear).
RSQRT_MANTISSA_BITS = 26
#: Seed table: indexed by the top 10 mantissa bits (1024 words of 17 bits: one RAMB18).
RSQRT_TABLE_BITS = 10
#: Fraction bits of the seed; its values lie in (1, 2), so 17 bits unsigned.
RSQRT_SEED_FRAC = 16
RSQRT_SEED_BITS = RSQRT_SEED_FRAC + 1
#: Fraction bits of the reciprocal square root and square root results (Q.24).
RSQRT_FRAC = 24

#: GDN squares are rounded to at most this many bits (the B port, sign bit clear).
GDN_SQUARE_BITS = 17
#: GDN32: coefficients γ of at most 26 bits (the A port) and the normaliser
#: ``β + Σ γ·u`` in a 48-bit accumulator (the P register).
GDN_COEF_BITS = 26
GDN_ACC_BITS = 48

#: DSP48E2 (UG579): the multiplier's signed ports, A (or the pre-adder's output) 27 bits
#: and B 18 bits, and the 48-bit P register the post-adder accumulates in.
DSP_A_BITS, DSP_B_BITS, DSP_P_BITS = 27, 18, 48
#: Two products per DSP48E2 (:func:`dual_pack`): the lower product's field in P.
DUAL_SHIFT = 18


def int_range(bits: int, signed: bool = True) -> tuple[int, int]:
    """The value range of a ``bits``-wide type: symmetric if signed."""
    if signed:
        return -(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def accumulator_bits(taps: int, x_max: int, w_max: int, bias_max: int = 0) -> int:
    """Signed width of an accumulator that holds ``bias + Σ x·w`` over ``taps`` products
    for ``|x| ≤ x_max``, ``|w| ≤ w_max``, ``|bias| ≤ bias_max``, in any summation order.
    For a 5×5×128 int8 layer: 3200·127·127 = 51.6M < 2**26, so 27 bits."""
    return (taps * x_max * w_max + bias_max).bit_length() + 1


def index_bits(levels: int) -> int:
    """Width of a scale index 0…levels−1 (unsigned, at least 1 bit)."""
    return max(1, (levels - 1).bit_length())


def gdn_square_shift(in_bits: int) -> int:
    """Right shift that rounds a squared ``in_bits`` input to ≤ 17 bits: 0 for int8
    (127² < 2**14 is exact), 13 for int16."""
    return max(0, 2 * (in_bits - 1) - GDN_SQUARE_BITS)


def _rsqrt_seed_table() -> np.ndarray:
    # Entry i serves mantissas m/2**26 in [i, i+1)/2**10 and holds
    # 2/(sqrt(a) + sqrt(b)) in Q.16: the seed that puts y0·sqrt(m) as far below 1 at
    # one end as above 1 at the other, which balances the Newton step's error at the
    # two ends. Entries below 2**8 are never read (the mantissa is ≥ 1/4) and are 0.
    # sqrt, division and round are correctly rounded IEEE operations: the same table
    # on every machine.
    size = 1 << RSQRT_TABLE_BITS
    table = np.zeros(size, dtype=np.int64)
    for i in range(size >> 2, size):
        table[i] = round((2 << RSQRT_SEED_FRAC) / (math.sqrt(i / size) + math.sqrt((i + 1) / size)))
    table.setflags(write=False)
    return table


#: The seed ROM of the reciprocal square root (`model.intops.rsqrt_fixed`, `rtl.gdn`):
#: int64 view of 17-bit unsigned words.
RSQRT_TABLE = _rsqrt_seed_table()


# --- two products per DSP48E2 --------------------------------------------------------
# Xilinx WP486/WP487, FINN's mvu_8sx8u_dsp48: two 8-bit operands hi and lo that share
# a third, s, are packed as hi·2**18 + lo on the multiplier's 27-bit side, s on its
# 18-bit side. The product, and any sum of such products in P, is
#     P = Σ (hi·2**18 + lo)·s = H·2**18 + L,   H = Σ hi·s,  L = Σ lo·s,
# exactly (P has 48 bits). While L fits the 18-bit signed field, −2**17 ≤ L < 2**17, the
# field holds it: L = P[17:0] read as signed; and H = (P − L)/2**18 = P[47:18] + P[17]:
# P[47:18] is floor(P/2**18), and a negative L borrowed 1 from it, which is P[17], L's
# sign. The correction is the same for one product and for a sum, applied once to the
# sum; only the final L must fit, not the partial sums (P is exact throughout). A sum of
# n products fits whenever n·max(lo·s) < 2**17 and n·min(lo·s) ≥ −2**17 (:func:`dual_terms`):
# 7 for int8 × int8 (−128·−128 = 2**14, so 8 can reach 2**17), 4 for int8 × uint8.


def dual_pack(hi, lo):
    """The packed operand ``hi·2**18 + lo`` (Python or numpy integers)."""
    return hi * (1 << DUAL_SHIFT) + lo


def dual_split(p):
    """``(H, L)`` from a P register value ``p = H·2**18 + L`` (signed; Python or numpy
    integers), exact while ``−2**17 ≤ L < 2**17``: ``L`` the sign-extended P[17:0], ``H``
    = P[47:18] + P[17], the borrow correction."""
    half = 1 << (DUAL_SHIFT - 1)
    lo = ((p + half) & ((1 << DUAL_SHIFT) - 1)) - half
    hi = (p >> DUAL_SHIFT) + ((p >> (DUAL_SHIFT - 1)) & 1)
    return hi, lo


def _product_range(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    corners = [x * y for x in a for y in b]
    return min(corners), max(corners)


def dual_terms(lo_range: tuple[int, int], shared_range: tuple[int, int]) -> int:
    """The most products ``lo·s`` (``lo`` in ``lo_range``, ``s`` in ``shared_range``, each
    an inclusive ``(min, max)``) that one packed sum can hold, any values and order: the
    largest n with n·min(lo·s) ≥ −2**17 and n·max(lo·s) ≤ 2**17 − 1 (2**30, P's upper
    field, when every product is 0)."""
    low, high = _product_range(lo_range, shared_range)
    half = 1 << (DUAL_SHIFT - 1)
    bounds = [(half - 1) // high] if high > 0 else []
    bounds += [half // -low] if low < 0 else []
    return min(bounds, default=(1 << (DSP_P_BITS - DUAL_SHIFT)))


def check_dual(hi_range: tuple[int, int], lo_range: tuple[int, int], shared_range: tuple[int, int], terms: int) -> None:
    """Raises ``ValueError``, naming the value, unless sums of ``terms`` packed products
    with these operand ranges are exact on a DSP48E2: the packed operand fits the
    27-bit side, the shared one the 18-bit B port, L its field (:func:`dual_terms`) and
    H the rest of P."""
    a_min, a_max = -(1 << (DSP_A_BITS - 1)), (1 << (DSP_A_BITS - 1)) - 1
    if dual_pack(hi_range[0], lo_range[0]) < a_min or dual_pack(hi_range[1], lo_range[1]) > a_max:
        raise ValueError(f"packed operands {hi_range}·2**{DUAL_SHIFT} + {lo_range} exceed the {DSP_A_BITS}-bit A port")
    if shared_range[0] < -(1 << (DSP_B_BITS - 1)) or shared_range[1] >= 1 << (DSP_B_BITS - 1):
        raise ValueError(f"shared operand range {shared_range} exceeds the {DSP_B_BITS}-bit B port")
    most = dual_terms(lo_range, shared_range)
    if not 1 <= terms <= most:
        raise ValueError(
            f"terms={terms}: a packed sum of lo {lo_range} × shared {shared_range} holds 1…{most} products"
        )
    h_low, h_high = _product_range(hi_range, shared_range)
    if terms * max(-h_low, h_high) >= 1 << (DSP_P_BITS - DUAL_SHIFT - 1):
        raise ValueError(f"terms={terms}: the upper sum exceeds P's {DSP_P_BITS - DUAL_SHIFT} upper bits")
