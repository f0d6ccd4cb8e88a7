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
    "int_range",
    "accumulator_bits",
    "gdn_square_shift",
]

#: Convolution weights: int8, symmetric.
WEIGHT_BITS = 8
#: A convolution's accumulator register and its bias (int32); a layer that can pass it
#: (g_s's first, on int16 ŷ) declares a wider one in the artefact.
ACC_BITS = 32
#: The encoder's output elements, ŷ then ẑ: one int16 per stream beat.
OUT_BITS = 16

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
