"""licfpga.formats: two int8 products per DSP48E2, exhaustively for one product and by
property for packed sums up to their bound."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licfpga.formats import DSP_P_BITS, DUAL_SHIFT, check_dual, dual_pack, dual_split, dual_terms

INT8, SYM8, UINT8 = (-128, 127), (-127, 127), (0, 255)


def hardware_split(p):
    """The RTL's reading of P's 48-bit pattern: lo = P[17:0] sign-extended, hi =
    P[47:18] sign-extended + P[17]."""
    bits = p & ((1 << DSP_P_BITS) - 1)
    lo = bits & ((1 << DUAL_SHIFT) - 1)
    lo = lo - ((lo >> (DUAL_SHIFT - 1)) << DUAL_SHIFT)
    top = bits >> DUAL_SHIFT
    top = top - ((top >> (DSP_P_BITS - DUAL_SHIFT - 1)) << (DSP_P_BITS - DUAL_SHIFT))
    return top + ((bits >> (DUAL_SHIFT - 1)) & 1), lo


@pytest.mark.parametrize("pair, shared", [(INT8, INT8), (INT8, UINT8), (UINT8, INT8)], ids=["s8xs8", "s8xu8", "u8xs8"])
def test_one_product_exhaustive(pair, shared):
    """Every (hi, lo, s) of the ranges, 2**24 cases: both products come back exactly."""
    hi, lo = np.meshgrid(np.arange(pair[0], pair[1] + 1), np.arange(pair[0], pair[1] + 1), indexing="ij")
    hi, lo = hi.ravel().astype(np.int64), lo.ravel().astype(np.int64)
    packed = dual_pack(hi, lo)
    assert packed.min() >= -(1 << 26) and packed.max() < 1 << 26  # the 27-bit A side
    for s in range(shared[0], shared[1] + 1):
        p = packed * s
        got_hi, got_lo = dual_split(p)
        np.testing.assert_array_equal(got_hi, hi * s)
        np.testing.assert_array_equal(got_lo, lo * s)
        bits_hi, bits_lo = hardware_split(p)
        np.testing.assert_array_equal(bits_hi, hi * s)
        np.testing.assert_array_equal(bits_lo, lo * s)


def test_terms_bound():
    assert dual_terms(INT8, INT8) == 7  # 7·2**14 < 2**17 ≤ 8·2**14
    assert dual_terms(INT8, UINT8) == dual_terms(UINT8, INT8) == 4  # 4·32640 ≤ 2**17 < 5·32385
    assert dual_terms(SYM8, SYM8) == 8  # symmetric int8: 8·16129 < 2**17


@pytest.mark.parametrize(
    "pair, shared",
    [(INT8, INT8), (SYM8, SYM8), (INT8, UINT8), (UINT8, INT8)],
    ids=["s8xs8", "sym8xsym8", "s8xu8", "u8xs8"],
)
def test_bound_is_tight(pair, shared):
    """One product more than the bound, at the worst corner, breaks the lower lane."""
    n = dual_terms(pair, shared)
    corners = [(lo, s) for lo in pair for s in shared]
    lo, s = max(corners, key=lambda c: c[0] * c[1])
    if n * lo * s + lo * s < 1 << (DUAL_SHIFT - 1):  # the positive corner holds one more: the negative one breaks
        lo, s = min(corners, key=lambda c: c[0] * c[1])
    p = (n + 1) * dual_pack(0, lo) * s
    assert dual_split(p) != (0, (n + 1) * lo * s)
    assert dual_split(n * dual_pack(0, lo) * s) == (0, n * lo * s)


def chains(pair, shared):
    n = dual_terms(pair, shared)
    term = st.tuples(st.integers(*pair), st.integers(*pair), st.integers(*shared))
    extreme = st.tuples(st.sampled_from(pair), st.sampled_from(pair), st.sampled_from(shared))
    return st.lists(st.one_of(term, extreme), min_size=1, max_size=n)


@pytest.mark.parametrize(
    "pair, shared",
    [(INT8, INT8), (SYM8, SYM8), (INT8, UINT8), (UINT8, INT8)],
    ids=["s8xs8", "sym8xsym8", "s8xu8", "u8xs8"],
)
def test_accumulated_sums(pair, shared):
    """Any sum of up to dual_terms packed products splits into the two exact sums."""

    @settings(max_examples=2000, deadline=None)
    @given(chains(pair, shared))
    def check(terms):
        p = sum(dual_pack(hi, lo) * s for hi, lo, s in terms)
        assert -(1 << (DSP_P_BITS - 1)) <= p < 1 << (DSP_P_BITS - 1)
        want = (sum(hi * s for hi, _, s in terms), sum(lo * s for _, lo, s in terms))
        assert dual_split(p) == want
        assert hardware_split(p) == want

    check()


def test_check_dual_rejects():
    check_dual(INT8, INT8, INT8, 7)
    check_dual(UINT8, UINT8, INT8, 4)
    with pytest.raises(ValueError, match="terms=8"):
        check_dual(INT8, INT8, INT8, 8)
    with pytest.raises(ValueError, match="terms=0"):
        check_dual(INT8, INT8, INT8, 0)
    with pytest.raises(ValueError, match="27-bit A port"):
        check_dual((0, 511), INT8, INT8, 1)
    with pytest.raises(ValueError, match="18-bit B port"):
        check_dual(INT8, INT8, (0, 1 << 17), 1)
