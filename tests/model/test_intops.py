"""The integer primitives against exact rational arithmetic, float64 references and
each other (numpy vs torch, one thread vs two)."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from licfpga.model import intops as I
from licfpga.model.entropy import GaussianConditional
from licfpga.model.layers import GDN

# Measured exhaustively over every mantissa (test_rsqrt_exhaustive_over_mantissas),
# plus 2**-25 for the truncation of inputs ≥ 2**26; docs/number-formats.md.
RSQRT_BOUND = 1.5e-6
SQRT_BOUND = 1.55e-6
# GDN32 output vs float64 GDN of the same integer input, in output LSBs: 1/2 for the
# final rounding, the rest from the 17-bit multiplier, the coefficients and the rsqrt.
GDN_TOLERANCE = 0.5 + 1e-3


def exact_round_shift(v: int, shift: int) -> int:
    return math.floor(Fraction(v, 1 << shift) + Fraction(1, 2))


# ------------------------------------------------------------ rounding & saturation


@pytest.mark.parametrize(
    "bits,signed,lo,hi",
    [(8, True, -127, 127), (8, False, 0, 255), (16, True, -32767, 32767), (32, True, -(2**31 - 1), 2**31 - 1)],
)
def test_saturate_both_extremes(bits, signed, lo, hi):
    assert I.int_range(bits, signed) == (lo, hi)
    x = np.array([lo - 10**6, lo - 1, lo, lo + 1, 0, hi - 1, hi, hi + 1, hi + 10**6])
    assert I.saturate(x, bits, signed).tolist() == [lo, lo, lo, lo + 1, max(lo, 0), hi - 1, hi, hi, hi]


@given(st.integers(-(2**40), 2**40), st.sampled_from([(8, True), (8, False), (16, True)]))
def test_saturate_is_a_clamp(v, fmt):
    lo, hi = I.int_range(*fmt)
    assert int(I.saturate(v, *fmt)) == min(max(v, lo), hi)


@pytest.mark.parametrize(
    "v,shift,expected",
    [
        (5, 1, 3),
        (-5, 1, -2),
        (7, 1, 4),
        (-7, 1, -3),
        (3, 1, 2),
        (-3, 1, -1),  # ties go towards +inf
        (6, 2, 2),
        (-6, 2, -1),
        (-10, 2, -2),
        (-9, 2, -2),
        (-11, 2, -3),  # -2.5 → -2, -2.25 → -2, -2.75 → -3
        (9, 0, 9),
        (-9, 0, -9),
        (0, 7, 0),
        (-1, 62, 0),
        (2**61, 62, 1),
    ],
)
def test_round_shift_ties(v, shift, expected):
    assert int(I.round_shift(v, shift)) == expected == exact_round_shift(v, shift)


@given(st.integers(-(2**62) + 1, 2**62 - 1), st.integers(0, I.MAX_SHIFT))
def test_round_shift_is_round_half_up(v, shift):
    assert int(I.round_shift(v, shift)) == exact_round_shift(v, shift)


def test_round_shift_refuses_out_of_domain():
    with pytest.raises(ValueError, match="shift"):
        I.round_shift(1, 63)
    with pytest.raises(ValueError, match="shift"):
        I.round_shift(1, -1)
    with pytest.raises(ValueError, match="round_shift input"):
        I.round_shift(2**62, 3)
    with pytest.raises(TypeError, match="integer"):
        I.round_shift(np.array([1.0]), 1)


@given(
    st.integers(-(2**31) + 1, 2**31 - 1),
    st.integers(1 << 16, (1 << 17) - 1),
    st.integers(0, I.MAX_SHIFT),
    st.sampled_from([(8, True), (8, False), (16, True), (32, True)]),
)
def test_requantize_matches_exact_rationals(acc, multiplier, shift, fmt):
    lo, hi = I.int_range(*fmt)
    exact = math.floor(Fraction(acc * multiplier, 1 << shift) + Fraction(1, 2))
    assert int(I.requantize(acc, multiplier, shift, *fmt)) == min(max(exact, lo), hi)


def test_requantize_per_channel_and_relu_folding(rng):
    acc = rng.integers(-(2**26), 2**26, (2, 3, 4, 5))
    multiplier, shift = I.quantize_multiplier(np.array([1e-3, 2e-4, 5e-5]))
    out = I.requantize(acc, multiplier, shift, 8)
    for c in range(3):
        assert np.array_equal(out[:, c], I.requantize(acc[:, c], int(multiplier[c]), int(shift[c]), 8))
    # ReLU then requantize == requantize to an unsigned type (the ReLU of h_a and h_s).
    assert np.array_equal(
        I.requantize(I.relu(acc), multiplier, shift, 8, signed=False),
        I.requantize(acc, multiplier, shift, 8, signed=False),
    )
    with pytest.raises(ValueError, match="62 bits"):
        I.requantize(np.array([2**46]), 1 << 16, 20, 8)


@given(st.floats(2**-45, 2**16, allow_nan=False, allow_infinity=False))
def test_quantize_multiplier_precision(scale):
    multiplier, shift = I.quantize_multiplier(scale)
    assert 1 << 16 <= multiplier < 1 << 17 and 0 <= shift <= I.MAX_SHIFT
    assert abs(Fraction(multiplier, 1 << shift) / Fraction(scale) - 1) <= Fraction(1, 1 << 17)


def test_quantize_multiplier_carry_and_range():
    # A fraction that rounds up to 1 renormalises instead of overflowing 17 bits.
    assert I.quantize_multiplier(1 - 2**-30) == (1 << 16, 16)
    assert I.quantize_multiplier(0.75) == (3 << 15, 17)
    for bad in (0.0, -1.0, float("inf"), 2.0**17, 2.0**-50):
        with pytest.raises(ValueError):
            I.quantize_multiplier(bad)


def test_relu_and_absolute():
    x = np.array([-127, -1, 0, 1, 127])
    assert I.relu(x).tolist() == [0, 0, 0, 1, 127]
    assert I.absolute(x).tolist() == [127, 1, 0, 1, 127]
    assert I.saturate(I.absolute(np.array([-32767, -300, 200])), 8, signed=False).tolist() == [255, 255, 200]


@given(st.integers(0, 2**63 - 1))
def test_bit_length_is_the_leading_zero_count(v):
    assert int(I.bit_length(np.array(v))) == v.bit_length()


@pytest.mark.parametrize("lib", [np.array, torch.tensor])
def test_bit_length_at_every_power_of_two(lib):
    # Above 2**53 the float64 exponent of 2**k - 1 rounds up to k + 1: the correction.
    values = [0] + [2**k + d for k in range(63) for d in (-1, 0, 1) if 0 <= 2**k + d < 2**63]
    got = I.bit_length(lib(values, dtype=np.int64) if lib is np.array else lib(values, dtype=torch.int64))
    assert [int(n) for n in got] == [v.bit_length() for v in values]


# ---------------------------------------------------------------------- convolutions


@pytest.mark.parametrize(
    "cin,cout,k,stride,lo,hi", [(3, 4, 5, 2, 0, 256), (5, 3, 5, 2, -127, 128), (4, 6, 3, 1, 0, 256)]
)
def test_conv2d_int_is_exact(rng, cin, cout, k, stride, lo, hi):
    x = rng.integers(lo, hi, (2, cin, 9, 7))
    w = rng.integers(-127, 128, (cout, cin, k, k))
    bias = rng.integers(-(2**20), 2**20, cout)
    reference = F.conv2d(
        torch.from_numpy(x).double(),
        torch.from_numpy(w).double(),
        torch.from_numpy(bias).double(),
        stride=stride,
        padding=k // 2,
    )
    out_torch = I.conv2d_int(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias), stride, k // 2)
    out_numpy = I.conv2d_int(x, w, bias, stride, k // 2)
    assert out_torch.dtype == torch.int64 and out_numpy.dtype == np.int64
    assert torch.equal(out_torch, reference.long())
    assert np.array_equal(out_numpy, out_torch.numpy())


@pytest.mark.parametrize("cin,cout,k,stride", [(4, 3, 5, 2), (3, 5, 3, 1)])
def test_conv_transpose2d_int_is_exact(rng, cin, cout, k, stride):
    x = rng.integers(-127, 128, (2, cin, 4, 5))
    w = rng.integers(-127, 128, (cin, cout, k, k))
    bias = rng.integers(-1000, 1000, cout)
    kwargs = dict(stride=stride, padding=k // 2, output_padding=stride - 1)
    reference = F.conv_transpose2d(
        torch.from_numpy(x).double(), torch.from_numpy(w).double(), torch.from_numpy(bias).double(), **kwargs
    )
    out_torch = I.conv_transpose2d_int(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias), **kwargs)
    out_numpy = I.conv_transpose2d_int(x, w, bias, **kwargs)
    assert out_torch.shape == (2, cout, 4 * stride, 5 * stride)
    assert torch.equal(out_torch, reference.long())
    assert np.array_equal(out_numpy, out_torch.numpy())


def test_accumulator_bounds():
    # The widths of docs/number-formats.md.
    assert I.accumulator_bits(5 * 5 * 128, 127, 127) == 27  # g_a conv2..4, int8 in
    assert I.accumulator_bits(5 * 5 * 3, 255, 127) == 23  # g_a conv1, uint8 pixels
    assert I.accumulator_bits(5 * 5 * 128, 255, 127) == 28  # h_a conv2/3, uint8 after ReLU
    assert I.accumulator_bits(3 * 3 * 192, 32767, 127) == 34  # g_s deconv1: int16 y_hat, ceil(5/2)² taps
    x = np.full((1, 128, 5, 5), 127)
    w = np.full((1, 128, 5, 5), 127)
    assert int(I.conv2d_int(x, w, padding=0)[0, 0, 0, 0]) == 3200 * 127 * 127
    with pytest.raises(ValueError, match="27-bit accumulator, more than 26"):
        I.conv2d_int(x, w, acc_bits=26)
    with pytest.raises(TypeError):
        I.conv2d_int(x.astype(np.float32), w)


# ------------------------------------------------------ reciprocal square root, sqrt


def relative_errors(v: np.ndarray):
    exact = np.sqrt(v.astype(np.float64))  # v < 2**53 here: exact input, correctly rounded root
    r, e = I.rsqrt_fixed(v)
    s, e2 = I.sqrt_fixed(v)
    return np.ldexp(r.astype(np.float64), -(37 + e)) * exact - 1, np.ldexp(s.astype(np.float64), e2 - 11) / exact - 1


def test_rsqrt_exhaustive_over_mantissas():
    # Every 26-bit mantissa [2**24, 2**26), i.e. every input the table and the Newton
    # step can see (e = 0 there; other inputs differ by an exact power of four).
    worst_r = worst_s = 0.0
    r_range, s_range = [1 << 30, 0], [1 << 30, 0]
    chunk = 1 << 21
    for start in range((1 << 24), 1 << 26, chunk):
        m = np.arange(start, start + chunk, dtype=np.int64)
        err_r, err_s = relative_errors(m)
        worst_r = max(worst_r, float(np.abs(err_r).max()))
        worst_s = max(worst_s, float(np.abs(err_s).max()))
        r, s = I.rsqrt_fixed(m)[0], I.sqrt_fixed(m)[0]
        r_range = [min(r_range[0], int(r.min())), max(r_range[1], int(r.max()))]
        s_range = [min(s_range[0], int(s.min())), max(s_range[1], int(s.max()))]
    assert worst_r < RSQRT_BOUND - 2**-25 and worst_s < SQRT_BOUND - 2**-25
    assert worst_r > 1.4e-6  # the bound is tight: one Newton step from a 10-bit seed
    # The result widths the RTL is built for (docstrings of rsqrt_fixed and sqrt_fixed).
    assert r_range == [2**24 - 1, 2**25 - 48] and s_range == [2**23 - 12, 2**24 - 1]


@settings(max_examples=300)
@given(st.lists(st.integers(1, 2**52), min_size=1, max_size=64))
def test_rsqrt_and_sqrt_over_the_whole_range(values):
    v = np.array(values, dtype=np.int64)
    err_r, err_s = relative_errors(v)
    assert np.abs(err_r).max() < RSQRT_BOUND and np.abs(err_s).max() < SQRT_BOUND
    r, e = I.rsqrt_fixed(v)
    s, _ = I.sqrt_fixed(v)
    assert (r >= (1 << 24) - 1).all() and (r < 1 << 25).all() and (s >= (1 << 23) - 12).all() and (s < 1 << 24).all()
    assert torch.equal(I.rsqrt_fixed(torch.from_numpy(v))[0], torch.from_numpy(r))


def test_rsqrt_extremes_and_table():
    v = np.array([1, 2, 3, 2**24, 2**26 - 1, 2**48 - 1, 2**62 - 1])
    r, e = I.rsqrt_fixed(v)
    assert e.tolist() == [-12, -12, -12, 0, 0, 11, 18]
    assert np.abs(np.ldexp(r.astype(float), -(37 + e)) * np.sqrt(v.astype(float)) - 1).max() < RSQRT_BOUND
    table = I.RSQRT_TABLE
    assert len(table) == 1024 and (table[:256] == 0).all() and table[256:].max() < 1 << 17
    assert (np.diff(table[256:]) <= 0).all()
    with pytest.raises(ValueError, match="rsqrt/sqrt input"):
        I.rsqrt_fixed(np.array([0]))


# ---------------------------------------------------------------------------- GDN32


def random_gdn(rng, channels: int, inverse: bool) -> GDN:
    """A GDN layer with trained-looking parameters: beta around 0.05..2, a strong
    diagonal and off-diagonal terms spread over four decades."""
    layer = GDN(channels, inverse=inverse).double()
    beta = rng.uniform(0.05, 2.0, channels)
    gamma = np.abs(rng.normal(0, 0.1, (channels, channels))) * 10.0 ** rng.uniform(
        -4, 0, (channels, channels)
    ) + np.diag(rng.uniform(0.05, 1.0, channels))
    with torch.no_grad():
        layer.beta.copy_(layer.beta_reparam.init(torch.from_numpy(beta)))
        layer.gamma.copy_(layer.gamma_reparam.init(torch.from_numpy(gamma)))
    return layer


@pytest.mark.parametrize("in_bits", [8, 16])
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("channels", [6, 48])
def test_gdn32_against_float_gdn(rng, in_bits, inverse, channels):
    layer = random_gdn(rng, channels, inverse)
    x_max = I.int_range(in_bits)[1]
    x = np.clip(np.round(rng.normal(0, 0.35, (2, channels, 4, 5)) * x_max), -x_max, x_max).astype(np.int64)
    in_scale = rng.uniform(1.0, 8.0) / x_max
    with torch.no_grad():
        reference = layer(torch.from_numpy(x * in_scale)).numpy()
    out_scale = np.abs(reference).max() / 127
    params = I.quantize_gdn(*layer.effective_parameters(), in_scale, out_scale, inverse=inverse, in_bits=in_bits)
    op = I.igdn32 if inverse else I.gdn32
    out = op(x, params)
    assert np.abs(out - reference / out_scale).max() <= GDN_TOLERANCE
    assert params.gamma.max() < 1 << 26 and params.gamma.max() >= 1 << 25  # the A port is used in full
    assert torch.equal(op(torch.from_numpy(x), params), torch.from_numpy(out))


def test_gdn32_saturates_and_checks(rng):
    layer = random_gdn(rng, 4, inverse=False)
    x = np.array([[127, -127, 3, 0]]).reshape(1, 4, 1, 1)
    params = I.quantize_gdn(*layer.effective_parameters(), 0.05, 1e-4)
    assert I.gdn32(x, params).ravel().tolist()[:2] == [127, -127]
    assert int(I.gdn32(x, params).ravel()[3]) == 0
    with pytest.raises(ValueError, match="GDN input"):
        I.gdn32(x * 2, params)
    with pytest.raises(ValueError, match="use gdn32"):
        I.igdn32(x, params)


def test_gdn_params_reject_bad_values(rng):
    layer = random_gdn(rng, 4, inverse=False)
    p = I.quantize_gdn(*layer.effective_parameters(), 0.05, 0.01)
    fields = dict(vars(p))
    with pytest.raises(ValueError, match="gamma has shape"):
        I.GDNParams(**{**fields, "gamma": p.gamma[:3]})
    with pytest.raises(ValueError, match="coefficients out of range"):
        I.GDNParams(**{**fields, "gamma": p.gamma + (1 << 26)})
    with pytest.raises(ValueError, match="accumulator"):
        I.GDNParams(**{**fields, "beta": p.beta + (1 << 48)})
    with pytest.raises(ValueError, match="output shift"):
        I.GDNParams(**{**fields, "shift": p.shift + 40})


# --------------------------------------------------------------- scale-table indexes


@pytest.mark.parametrize("scale_bound", [0.11, 0.5])
def test_scale_index_matches_the_float_search(rng, scale_bound):
    conditional = GaussianConditional(scale_bound=scale_bound).double()
    acc_scale = rng.uniform(1e-4, 1e-2, 5)
    acc = rng.integers(-(2**17), 2**17, (2, 5, 6, 7))
    thresholds = I.scale_thresholds(conditional.scale_table, acc_scale, float(conditional.scale_bound))
    ours = I.scale_index(acc, thresholds)
    sigma = torch.from_numpy(acc * acc_scale[None, :, None, None])
    expected = conditional.scale_indexes(torch.relu(sigma)).numpy()
    assert np.array_equal(ours, expected)
    assert torch.equal(I.scale_index(torch.from_numpy(acc), thresholds), torch.from_numpy(ours))
    assert thresholds.dtype == np.int64 and thresholds.max() <= 2**31 - 1 and thresholds.min() >= -(2**31)


# ----------------------------------------------------------------------- determinism


def test_results_do_not_depend_on_thread_count(rng):
    x = torch.from_numpy(rng.integers(0, 256, (1, 3, 32, 32)))
    w1 = torch.from_numpy(rng.integers(-127, 128, (16, 3, 5, 5)))
    w2 = torch.from_numpy(rng.integers(-127, 128, (16, 16, 5, 5)))
    layer = random_gdn(rng, 16, inverse=False)
    params = I.quantize_gdn(*layer.effective_parameters(), 1 / 127, 1 / 127)
    multiplier, shift = I.quantize_multiplier(np.full(16, 1e-4))

    def run():
        a = I.requantize(I.conv2d_int(x, w1, stride=2, padding=2), multiplier, shift, 8)
        a = I.gdn32(a, params)
        return I.conv2d_int(a, w2, stride=2, padding=2)

    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = run()
        torch.set_num_threads(2)
        double = run()
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(single, double)
