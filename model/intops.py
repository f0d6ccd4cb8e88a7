"""Integer primitives of the golden model: the one definition of every rounding, shift
and saturation in the quantized network. The RTL mirrors these functions bit for bit;
The formats themselves (widths, fraction bits, the rsqrt seed table) are
:mod:`licfpga.formats`; docs/number-formats.md explains them and why they were chosen.

Every function takes numpy arrays or torch tensors of integers and returns the same
kind, as int64 (the storage type; the *value* ranges are the hardware widths stated in
each docstring). The numpy and torch paths share this code, except the two
convolutions, which have one implementation per library; all of it is exact integer
arithmetic, so the results are identical whatever library, machine or thread count.

Conventions used throughout:

* signed b-bit values are *symmetric*: ``[-(2**(b-1) - 1), 2**(b-1) - 1]``; the code
  ``-2**(b-1)`` is never produced, so ``-x`` and ``|x|`` never overflow and product
  bounds are symmetric. Unsigned b-bit values are ``[0, 2**b - 1]``.
* per-channel parameters are 1-D and apply along axis 1 (NCHW or NC layouts).
* a-priori bounds are checked and break loudly (ValueError), because an int64 that
  wraps would be silently wrong.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from ..formats import (
    ACC_BITS,
    GDN_ACC_BITS,
    GDN_COEF_BITS,
    MAX_SHIFT,
    MULTIPLIER_BITS,
    RSQRT_FRAC,
    RSQRT_MANTISSA_BITS,
    RSQRT_SEED_FRAC,
    RSQRT_TABLE,
    RSQRT_TABLE_BITS,
    accumulator_bits,
    gdn_square_shift,
    int_range,
)

# --------------------------------------------------------------------------- helpers


def _is_torch(x) -> bool:
    # A tensor exists only once torch is imported: the numpy path never imports it.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _torch():
    import torch  # the reference's torch path only; the integer codec runs on numpy alone

    return torch


def _int64(x):
    """``x`` as int64 in its own library (Python ints become numpy); floats are refused
    because a float that looks integral is exactly the bug this module exists to avoid."""
    if _is_torch(x):
        if x.is_floating_point() or x.is_complex():
            raise TypeError(f"integer tensor expected, got {x.dtype}")
        return x.to(_torch().int64)
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(f"integer array expected, got {x.dtype}")
    return x.astype(np.int64, copy=False)


def _like(x, values):
    """``values`` (int or integer array) in the library and on the device of ``x``."""
    if isinstance(values, (int, np.integer)):
        return int(values)
    if _is_torch(x):
        torch = _torch()
        if _is_torch(values):
            return values.to(dtype=torch.int64, device=x.device)
        return torch.tensor(np.asarray(values), dtype=torch.int64, device=x.device)
    return _int64(values.cpu().numpy() if _is_torch(values) else values)


def _channel(x, values):
    """``values`` ready to broadcast against ``x``: a 1-D array runs along axis 1."""
    values = _like(x, values)
    if not isinstance(values, int) and values.ndim == 1 and x.ndim > 1:
        values = values.reshape((-1,) + (1,) * (x.ndim - 2))
    return values


def _extremes(x) -> tuple[int, int]:
    if isinstance(x, int):
        return x, x
    if (x.numel() if _is_torch(x) else x.size) == 0:
        return 0, 0
    return int(x.min()), int(x.max())


def _check_range(x, lo: int, hi: int, what: str) -> None:
    xmin, xmax = _extremes(x)
    if xmin < lo or xmax > hi:
        raise ValueError(f"{what} spans [{xmin}, {xmax}], outside [{lo}, {hi}]")


def _absmax(x) -> int:
    xmin, xmax = _extremes(x)
    return max(-xmin, xmax)


# ------------------------------------------------------------- rounding & saturation


def saturate(x, bits: int, signed: bool = True):
    """Clamp to :func:`int_range` (``bits``, ``signed``). Hardware: two comparators and a
    mux on the requantizer's output; no wrap-around anywhere in the network."""
    lo, hi = int_range(bits, signed)
    return _int64(x).clip(lo, hi)


def round_shift(v, shift):
    """``floor(v / 2**shift + 1/2)``: arithmetic right shift with round-half-up.

    Computed as ``(v + 2**(shift-1)) >> shift`` (nothing added when ``shift == 0``).
    Ties go towards +∞ for either sign: 2.5 → 3, -2.5 → -2, -3.5 → -3; so
    ``round_shift(-v) == -round_shift(v)`` except on ties. ``shift`` is an int or an
    integer array broadcast against ``v`` (per-element shifts: the GDN's exponent), in
    ``[0, MAX_SHIFT]``; ``|v| < 2**62``. Hardware: one adder and a shifter (a barrel
    shifter where the shift varies).
    """
    v = _int64(v)
    shift = _like(v, shift)
    _check_range(shift, 0, MAX_SHIFT, "shift")
    _check_range(v, -(1 << 62) + 1, (1 << 62) - 1, "round_shift input")
    return (v + ((1 << shift) >> 1)) >> shift


def requantize(acc, multiplier, shift, bits: int, signed: bool = True):
    """``saturate(round_shift(acc * multiplier, shift), bits, signed)``.

    ``multiplier`` and ``shift`` are ints or per-channel 1-D arrays (axis 1) or arrays
    shaped like ``acc``. The product is exact (≤ accumulator width + 17 bits: 44 bits
    for a 27-bit accumulator, one DSP48E2 with the rounding constant on its C port);
    the shift and saturation are wiring and LUTs. An unsigned output with ``signed=False``
    saturates negatives to 0, which is how the ReLU of h_a and h_s is done.
    """
    acc = _int64(acc)
    multiplier = _channel(acc, multiplier)
    if _absmax(acc) * _absmax(multiplier) >= 1 << 62:
        raise ValueError(
            f"requantize: |acc| ≤ {_absmax(acc)} times multiplier ≤ {_absmax(multiplier)} does not fit 62 bits"
        )
    return saturate(round_shift(acc * multiplier, _channel(acc, shift)), bits, signed)


def quantize_multiplier(real_scale):
    """``(multiplier, shift)`` with ``multiplier * 2**-shift ≈ real_scale``.

    ``multiplier`` is in ``[2**16, 2**17)`` (17-bit unsigned), ``shift`` in
    ``[0, MAX_SHIFT]``, so the relative error is at most ``2**-17``. Takes a positive
    float or an array of them (per channel) and returns ints or int64 arrays. Only
    correctly rounded IEEE operations (frexp, ldexp, rint) are used, so every machine
    derives the same integers from the same float scale.
    """
    scale = np.asarray(real_scale, dtype=np.float64)
    if not (np.isfinite(scale).all() and (scale > 0).all()):
        raise ValueError(f"requantization scales must be positive and finite, got {real_scale!r}")
    fraction, exponent = np.frexp(scale)  # scale = fraction · 2**exponent, fraction in [1/2, 1)
    multiplier = np.rint(np.ldexp(fraction, MULTIPLIER_BITS)).astype(np.int64)
    shift = (MULTIPLIER_BITS - exponent).astype(np.int64)
    carry = multiplier == 1 << MULTIPLIER_BITS  # fraction rounded up to 1
    multiplier = np.where(carry, multiplier >> 1, multiplier)
    shift = np.where(carry, shift - 1, shift)
    if shift.min() < 0 or shift.max() > MAX_SHIFT:
        raise ValueError(f"requantization scale {real_scale!r} needs a shift outside [0, {MAX_SHIFT}]")
    if scale.ndim == 0:
        return int(multiplier), int(shift)
    return multiplier, shift


# ----------------------------------------------------------------------- elementwise


def relu(x):
    """``max(x, 0)``. In the network the ReLU is folded into an unsigned requantization
    (:func:`requantize` with ``signed=False``); this is the same function for tests and
    for the float↔integer comparison."""
    return _int64(x).clip(min=0)


def absolute(x):
    """``|x|``; never overflows because signed values are symmetric. h_a's input is
    ``saturate(absolute(y_hat), 8, signed=False)``."""
    return abs(_int64(x))


# ---------------------------------------------------------------------- convolutions


def _check_accumulator(taps: int, x, w, bias, acc_bits: int, what: str) -> None:
    if not 2 <= acc_bits <= 63:
        raise ValueError(f"{what}: acc_bits must be in [2, 63], got {acc_bits}")
    need = accumulator_bits(taps, _absmax(x), _absmax(w), 0 if bias is None else _absmax(bias))
    if need > acc_bits:
        raise ValueError(
            f"{what}: {taps} taps of |x| ≤ {_absmax(x)}, |w| ≤ {_absmax(w)} "
            f"need a {need}-bit accumulator, more than {acc_bits}"
        )


def _add_bias(acc, bias):
    return acc if bias is None else acc + _channel(acc, bias)


def conv2d_int(x, w, bias=None, stride: int = 1, padding: int = 0, acc_bits: int = ACC_BITS):
    """Exact integer 2-D convolution (cross-correlation, as ``torch.nn.Conv2d``).

    ``x`` (N, C_in, H, W) and ``w`` (C_out, C_in, K, K) are integers (int8/uint8/int16
    values), ``bias`` (C_out,) on the accumulator's scale. Zero padding. Returns the
    accumulators (N, C_out, H_out, W_out) as int64 after checking that
    ``K·K·C_in·max|x|·max|w| + max|bias|`` fits a signed ``acc_bits``-bit accumulator,
    which makes the result independent of the summation order (int32 in g_a and h_a).
    """
    x, w = _int64(x), _int64(w)
    bias = None if bias is None else _int64(bias)
    _check_accumulator(w.shape[1] * w.shape[2] * w.shape[3], x, w, bias, acc_bits, "conv2d_int")
    if _is_torch(x):
        acc = _exact_float64(_torch().nn.functional.conv2d, x, _like(x, w), acc_bits, stride=stride, padding=padding)
    else:
        acc = _conv2d_numpy(x, w, stride, padding)
    return _add_bias(acc, bias)


def conv_transpose2d_int(
    x, w, bias=None, stride: int = 1, padding: int = 0, output_padding: int = 0, acc_bits: int = ACC_BITS
):
    """Exact integer transposed convolution (as ``torch.nn.ConvTranspose2d``).

    ``x`` (N, C_in, H, W), ``w`` (C_in, C_out, K, K), ``bias`` (C_out,). An output pixel
    meets at most ``ceil(K/stride)²·C_in`` products (9·C_in for K=5, stride 2); that
    bound plus ``max|bias|`` must fit ``acc_bits`` signed bits.
    """
    x, w = _int64(x), _int64(w)
    bias = None if bias is None else _int64(bias)
    taps = w.shape[0] * -(-w.shape[2] // stride) * -(-w.shape[3] // stride)
    _check_accumulator(taps, x, w, bias, acc_bits, "conv_transpose2d_int")
    if _is_torch(x):
        acc = _exact_float64(
            _torch().nn.functional.conv_transpose2d,
            x,
            _like(x, w),
            acc_bits,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
        )
    else:
        acc = _conv_transpose2d_numpy(x, w, stride, padding, output_padding)
    return _add_bias(acc, bias)


def _exact_float64(conv, x, w, acc_bits: int, **kwargs):
    # Every partial sum of an accumulator checked to ``acc_bits`` ≤ 53 bits is an integer
    # below 2**53, which float64 holds exactly whatever the summation order: the BLAS
    # path is exact and about twice as fast as torch's int64 convolution.
    if acc_bits > 53:
        return conv(x, w, **kwargs)
    torch = _torch()
    return conv(x.to(torch.float64), w.to(torch.float64), **kwargs).to(torch.int64)


def _conv2d_numpy(x, w, stride, padding):
    # One (C_out × C_in) product per kernel tap: memory stays at the size of the output.
    n, _, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    acc = np.zeros((n, c_out, h_out, w_out), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i : i + stride * (h_out - 1) + 1 : stride, j : j + stride * (w_out - 1) + 1 : stride]
            acc += np.einsum("oc,nchw->nohw", w[:, :, i, j], patch)
    return acc


def _conv_transpose2d_numpy(x, w, stride, padding, output_padding):
    # Scatter every input pixel through each tap into an uncropped output, then crop
    # ``padding`` on each side (output_padding extends the bottom/right edge).
    n, _, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    h_out = (h - 1) * stride - 2 * padding + kh + output_padding
    w_out = (wd - 1) * stride - 2 * padding + kw + output_padding
    full = np.zeros(
        (n, c_out, (h - 1) * stride + kh + output_padding, (wd - 1) * stride + kw + output_padding), dtype=np.int64
    )
    for i in range(kh):
        for j in range(kw):
            full[:, :, i : i + stride * (h - 1) + 1 : stride, j : j + stride * (wd - 1) + 1 : stride] += np.einsum(
                "co,nchw->nohw", w[:, :, i, j], x
            )
    return full[:, :, padding : padding + h_out, padding : padding + w_out]


# ------------------------------------------------------ reciprocal square root, sqrt


def bit_length(v):
    """Position of the highest set bit plus one (0 for 0), for ``0 ≤ v < 2**63``: the
    hardware's leading-zero counter. Computed as the float64 exponent (``frexp``), which
    is exact below 2**53; above, rounding to 53 bits can carry into the next power of
    two, which the shift test takes back."""
    v = _int64(v)
    if _is_torch(v):
        torch = _torch()
        n = torch.frexp(v.to(torch.float64))[1].to(torch.int64)
    else:
        n = np.frexp(v.astype(np.float64))[1].astype(np.int64)
    return n - ((v >> (n - 1).clip(min=0)) == 0) * (n > 0) * 1


def normalise(v):
    """``(m, e)`` with ``v = m·4**e`` up to truncation, ``m`` in ``[2**24, 2**26)``.

    The exponent is even so that square roots stay exact powers of two. ``v`` in
    ``[1, 2**62)``; small ``v`` shift left (exact), large ``v`` shift right and drop
    bits (truncation, relative error < 2**-24).
    """
    v = _int64(v)
    _check_range(v, 1, (1 << 62) - 1, "rsqrt/sqrt input")
    e = (bit_length(v) - (RSQRT_MANTISSA_BITS - 1)) >> 1
    m = (v << (-2 * e).clip(min=0)) >> (2 * e).clip(min=0)
    return m, e


def _rsqrt_mantissa(m):
    # One Newton–Raphson step y1 = y0·(3 - m·y0²)/2 from the table seed. Each product
    # fits one DSP48E2 (27×18): m·y0 (26×17), w·y0 (26×17), y0·d (17×27).
    y0 = _like(m, RSQRT_TABLE)[m >> (RSQRT_MANTISSA_BITS - RSQRT_TABLE_BITS)]  # Q.16
    w = round_shift(m * y0, 17)  # m·y0 ≈ sqrt(m), Q.25, < 2**26
    p = w * y0  # m·y0² ≈ 1, Q.41
    d = round_shift((1 << 41) - p, 7)  # 1 - m·y0², Q.34, |d| < 2**25
    return (y0 << (RSQRT_FRAC - RSQRT_SEED_FRAC)) + round_shift(y0 * d, 27)  # y0 + y0·d/2, Q.24


def rsqrt_fixed(v):
    """Reciprocal square root: ``(r, e)`` with ``1/sqrt(v) ≈ r · 2**-(37 + e)``.

    ``v`` integer in ``[1, 2**62)`` (the GDN normaliser, ≤ 48 bits). Steps: normalise to
    a 26-bit mantissa with an even exponent (leading-zero count), seed from a 1024-entry
    table indexed by the top 10 mantissa bits, one Newton–Raphson step in fixed point.
    ``r`` is Q.24 in ``[2**24 - 1, 2**25)`` (25 bits unsigned), ``e`` in [-12, 18].
    Relative error: below 1.5e-6 for every mantissa (exhaustively checked) plus at most
    2**-25 from the truncation of ``v ≥ 2**26`` — see docs/number-formats.md.
    """
    m, e = normalise(v)
    return _rsqrt_mantissa(m), e


def sqrt_fixed(v):
    """Square root: ``(s, e)`` with ``sqrt(v) ≈ s · 2**(e - 11)``.

    ``sqrt(m) = m · rsqrt(m)`` on the normalised mantissa, rounded to Q.24:
    ``s`` in ``[2**23 - 12, 2**24)`` (24 bits unsigned). Same input domain and error
    as :func:`rsqrt_fixed` (plus one rounding of at most 2**-24 relative).
    """
    m, e = normalise(v)
    return round_shift(m * _rsqrt_mantissa(m), RSQRT_MANTISSA_BITS), e


# ---------------------------------------------------------------------------- GDN32


def gdn_square_max(in_bits: int) -> int:
    """The largest GDN square ``u`` for ``in_bits`` inputs: 16129 (int8), 131065 (int16)."""
    x_max = int_range(in_bits)[1]
    return int(round_shift(x_max * x_max, gdn_square_shift(in_bits)))


@dataclass(frozen=True, eq=False)
class GDNParams:
    """One GDN (or inverse GDN) layer in integers.

    Row ``i`` of the normaliser is ``N_i = beta[i] + Σ_j gamma[i, j]·u_j`` with
    ``u_j = round_shift(x_j², gdn_square_shift(in_bits))``; ``beta`` and ``gamma`` are
    unsigned fixed point with ``frac_bits[i]`` fraction bits (``N_i ≈ norm_i·2**frac_bits[i]``).
    ``gamma < 2**coef_bits`` (one DSP48E2 A port for 26), ``1 ≤ beta`` and the worst-case
    ``N_i`` for inputs of ``in_bits`` is below ``2**acc_bits`` (the 48-bit P register).
    ``multiplier``/``shift`` requantize ``x·rsqrt`` (or ``x·sqrt``) to ``out_bits``,
    with the exponent of the (r)sqrt added to (subtracted from) ``shift``.
    """

    inverse: bool
    in_bits: int
    out_bits: int
    coef_bits: int
    acc_bits: int
    frac_bits: np.ndarray  # (C,) int64
    beta: np.ndarray  # (C,) int64
    gamma: np.ndarray  # (C, C) int64
    multiplier: np.ndarray  # (C,) int64
    shift: np.ndarray  # (C,) int64

    @property
    def channels(self) -> int:
        return len(self.beta)

    def worst_normaliser(self) -> list[int]:
        """Per channel, the greatest possible ``N_i`` (every input at full scale), as
        Python ints so that the check itself cannot overflow."""
        square_max = gdn_square_max(self.in_bits)
        return [int(b) + square_max * sum(int(g) for g in row) for b, row in zip(self.beta, self.gamma)]

    def __post_init__(self):
        # Arrays may come from a file as any integer type: hold them as int64.
        for name in ("frac_bits", "beta", "gamma", "multiplier", "shift"):
            object.__setattr__(self, name, _int64(getattr(self, name)))
        c = len(self.beta)
        shapes = {"frac_bits": (c,), "gamma": (c, c), "multiplier": (c,), "shift": (c,)}
        for name, shape in shapes.items():
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"GDNParams.{name} has shape {np.shape(getattr(self, name))}, expected {shape}")
        if self.in_bits not in range(2, 17) or self.out_bits not in range(2, 17):
            raise ValueError(f"GDN in_bits/out_bits must be in [2, 16], got {self.in_bits}/{self.out_bits}")
        if not 1 <= self.coef_bits <= 32 or not self.coef_bits < self.acc_bits <= 62:
            raise ValueError(f"GDN needs 1 ≤ coef_bits ≤ 32 < acc_bits ≤ 62, got {self.coef_bits}, {self.acc_bits}")
        if self.beta.min() < 1 or self.gamma.min() < 0 or self.gamma.max() >= 1 << self.coef_bits:
            raise ValueError(f"GDN coefficients out of range: beta must be ≥ 1, gamma in [0, 2**{self.coef_bits})")
        worst = self.worst_normaliser()
        if max(worst) >= 1 << self.acc_bits:
            raise ValueError(f"GDN normaliser can reach {max(worst)}, beyond a {self.acc_bits}-bit accumulator")
        _, e_low = normalise(self.beta)
        _, e_high = normalise(np.array(worst, dtype=np.int64))
        # The output shift is shift ± e; it must stay in [0, MAX_SHIFT] for every normaliser.
        span = (self.shift - e_high, self.shift - e_low) if self.inverse else (self.shift + e_low, self.shift + e_high)
        if span[0].min() < 0 or span[1].max() > MAX_SHIFT:
            raise ValueError(
                f"GDN output shift spans [{span[0].min()}, {span[1].max()}], outside [0, {MAX_SHIFT}]: "
                "the input/output scales are far from the normaliser's range"
            )


def quantize_gdn(
    beta,
    gamma,
    in_scale: float,
    out_scale: float,
    *,
    inverse: bool = False,
    in_bits: int = 8,
    out_bits: int = 8,
    coef_bits: int = GDN_COEF_BITS,
    acc_bits: int = GDN_ACC_BITS,
) -> GDNParams:
    """Integer parameters of a GDN whose input is ``in_bits`` integers of scale
    ``in_scale`` and whose output is ``out_bits`` integers of scale ``out_scale``.

    ``beta`` (C,) and ``gamma`` (C, C) are the effective float parameters
    (``GDN.effective_parameters()``). Each row gets the largest ``frac_bits`` for which
    its integer ``gamma`` fits ``coef_bits`` and its worst-case normaliser fits
    ``acc_bits``; rounding is half-to-even; ``beta`` rounds to at least 1 so the
    normaliser is never 0. The folded output scale is
    ``in_scale/out_scale · 2**(±frac_bits/2)`` times the (r)sqrt's fixed-point scale.
    """
    beta = np.asarray(beta.detach().cpu() if _is_torch(beta) else beta, dtype=np.float64)
    gamma = np.asarray(gamma.detach().cpu() if _is_torch(gamma) else gamma, dtype=np.float64)
    c = len(beta)
    if beta.shape != (c,) or gamma.shape != (c, c):
        raise ValueError(f"GDN beta must be (C,) and gamma (C, C), got {beta.shape} and {gamma.shape}")
    if not (beta > 0).all() or not (gamma >= 0).all() or not np.isfinite(gamma).all():
        raise ValueError("GDN needs beta > 0 and finite gamma ≥ 0")
    square_max = gdn_square_max(in_bits)
    # gamma per unit of the integer square u = x_int² / 2**gdn_square_shift(in_bits).
    weights = gamma * (float(in_scale) ** 2) * 2.0 ** gdn_square_shift(in_bits)

    def row_at(i, f):
        g = np.rint(np.ldexp(weights[i], f)).astype(np.int64)
        b = max(1, int(np.rint(np.ldexp(beta[i], f))))
        fits = int(g.max()) < 1 << coef_bits and b + square_max * int(g.sum()) < 1 << acc_bits
        return fits, g, b

    frac_bits, gammas, betas = [], [], []
    for i in range(c):
        # Start from the float estimate and settle on the exact largest fitting value.
        f = int(math.floor(math.log2((1 << acc_bits) / (beta[i] + square_max * weights[i].sum()))))
        if weights[i].max() > 0:
            f = min(f, int(math.floor(math.log2((1 << coef_bits) / weights[i].max()))))
        while row_at(i, f + 1)[0]:
            f += 1
        while not row_at(i, f)[0]:
            f -= 1
        _, g, b = row_at(i, f)
        frac_bits.append(f)
        gammas.append(g)
        betas.append(b)
    frac_bits = np.array(frac_bits, dtype=np.int64)
    # 2**(±f/2) from correctly rounded operations only (sqrt, ldexp): deterministic.
    half_powers = np.array([math.ldexp(math.sqrt(2.0) if f % 2 else 1.0, int(f) // 2) for f in frac_bits])
    ratio = float(in_scale) / float(out_scale)
    if inverse:
        # x·sqrt(N·2**-f): sqrt(N) ≈ s·2**(e-11)
        scales = ratio / half_powers / 2.0**11
    else:
        # x/sqrt(N·2**-f): 1/sqrt(N) ≈ r·2**-(37+e)
        scales = ratio * half_powers / 2.0**37
    multiplier, shift = quantize_multiplier(scales)
    return GDNParams(
        bool(inverse),
        int(in_bits),
        int(out_bits),
        int(coef_bits),
        int(acc_bits),
        frac_bits,
        np.array(betas, dtype=np.int64),
        np.stack(gammas),
        multiplier,
        shift,
    )


def gdn_normaliser(x, params: GDNParams):
    """``N_i = beta_i + Σ_j gamma_ij · round_shift(x_j², s)`` for every pixel, exact.

    ``x`` (N, C, ...) holds ``in_bits`` signed integers. Squares are ≤ 17 bits unsigned
    (exact for int8 inputs), each product ≤ coef_bits + 17 bits, the sum below
    ``2**acc_bits`` by construction of the parameters (48 bits: the DSP48E2 P register,
    beta as the accumulator's initial value on the C port).
    """
    x = _int64(x)
    _check_range(x, *int_range(params.in_bits), f"GDN input (int{params.in_bits})")
    if x.ndim < 2 or x.shape[1] != params.channels:
        raise ValueError(f"GDN of {params.channels} channels got input of shape {tuple(x.shape)}")
    u = round_shift(x * x, gdn_square_shift(params.in_bits))
    flat = u.reshape(x.shape[0], x.shape[1], -1)
    return (_like(x, params.gamma) @ flat).reshape(x.shape) + _channel(x, params.beta)


def gdn32(x, params: GDNParams):
    """GDN in integers: ``saturate(round_shift(x · r · M_i, shift_i + e), out_bits)``
    where ``(r, e) = rsqrt_fixed(N_i)``.

    ``x`` int``in_bits`` (8 or 16) on the input scale; output int``out_bits`` on the
    output scale. ``x·r`` is ≤ 16 + 25 bits (one DSP48E2: x on B, r on A), times the
    17-bit multiplier ≤ 57 bits, rounded half-up, saturated symmetric.
    """
    if params.inverse:
        raise ValueError("gdn32 got inverse-GDN parameters; use igdn32")
    x = _int64(x)
    r, e = rsqrt_fixed(gdn_normaliser(x, params))
    return requantize(x * r, params.multiplier, _channel(x, params.shift) + e, params.out_bits)


def igdn32(x, params: GDNParams):
    """Inverse GDN in integers: ``saturate(round_shift(x · s · M_i, shift_i - e), out_bits)``
    where ``(s, e) = sqrt_fixed(N_i)``. Widths as :func:`gdn32` (``s`` is 24 bits)."""
    if not params.inverse:
        raise ValueError("igdn32 got forward-GDN parameters; use gdn32")
    x = _int64(x)
    s, e = sqrt_fixed(gdn_normaliser(x, params))
    return requantize(x * s, params.multiplier, _channel(x, params.shift) - e, params.out_bits)


# --------------------------------------------------------------- scale-table indexes


def scale_thresholds(scale_table, acc_scale, scale_bound: float = 0.0) -> np.ndarray:
    """Integer thresholds (C, L) that turn h_s's last accumulator into scale indexes.

    ``acc_scale`` (C,) is the real value of one accumulator unit of each channel. A
    scale ``σ = acc·acc_scale`` satisfies ``σ ≤ table[k]`` exactly when
    ``acc ≤ floor(table[k]/acc_scale)`` (acc is an integer), so
    ``T[c, k] = floor(table[k]/acc_scale[c])``, saturated to ``2**31 - 1`` (the
    accumulator cannot pass it, so saturation never changes a comparison). Entries
    below ``scale_bound`` become ``-2**31``, below every symmetric int32 accumulator,
    so they always count: that reproduces the lower bound on σ. Computed once at
    export; decoding then uses only integers.
    """
    table = np.asarray(scale_table.detach().cpu() if _is_torch(scale_table) else scale_table, dtype=np.float64)
    acc_scale = np.asarray(acc_scale, dtype=np.float64).reshape(-1)
    if not (np.diff(table) >= 0).all() or not (table > 0).all() or not (acc_scale > 0).all():
        raise ValueError("scale_table must be positive and sorted, acc_scale positive")
    hi = int_range(32)[1]
    thresholds = np.floor(np.minimum(table[None, :] / acc_scale[:, None], hi)).astype(np.int64)
    thresholds[:, table < scale_bound] = -hi - 1
    return thresholds


def scale_index(acc, thresholds):
    """Scale-table index of every element: the number of the channel's thresholds
    below ``acc``, capped at ``L - 1`` — equal to ``GaussianConditional.scale_indexes``
    of ``acc·acc_scale`` (ReLU and lower bound included). ``acc`` (N, C, ...) int32
    accumulators of h_s's last convolution (bias included), ``thresholds`` (C, L).
    Hardware: a ROM of L thresholds per channel and a 6-step binary search for L = 64."""
    acc = _int64(acc)
    t = _like(acc, thresholds)
    t = t.reshape(t.shape[:1] + (1,) * (acc.ndim - 2) + t.shape[1:])
    return ((acc[..., None] > t).sum(-1)).clip(max=t.shape[-1] - 1)
