"""Fast exact integer layers on numpy alone: the same integers as :mod:`.intops`, the
reference, which the tests compare against bit for bit.

The integer codec runs on these (the hardware's golden model stays :mod:`.intops`):

* convolutions are float32 GEMMs (BLAS, all cores) over ranges of the reduction in which
  every partial sum is an integer below 2**24 (the largest ``|x|`` times the row's
  ``Σ|w|`` bounds it), which float32 holds exactly whatever the summation order or FMA;
  for real weights that is one range, else ranges add up in int64;
* the GDN works in float64 wherever every intermediate is an integer below 2**53 (the
  normaliser is a sum of non-negative terms below 2**48, the Newton step's products
  stay below 2**52), in int64 where it is not (the final ``x·r·M``), over blocks of
  pixels that stay in the per-core cache (one thread: measured here, a second thread
  on these blocks made it slower, 0.17 s against 0.125 s for N=64 at 768×512);
* requantization is the reference's formula, in place.

Functions take and return numpy int64 arrays with the signatures of their
:mod:`.intops` namesakes, so :class:`golden.GoldenModel` runs on either module. Their
inputs are what the artefact guarantees (its checked widths); the bounds the reference
checks on every call are checked here only where they decide exactness.
"""

from __future__ import annotations

import numpy as np

from ..formats import (
    ACC_BITS,
    RSQRT_FRAC,
    RSQRT_MANTISSA_BITS,
    RSQRT_SEED_FRAC,
    RSQRT_TABLE,
    RSQRT_TABLE_BITS,
    gdn_square_shift,
    int_range,
)
from .intops import GDNParams, absolute, saturate, scale_index

__all__ = ["absolute", "saturate", "scale_index", "conv2d_int", "conv_transpose2d_int", "requantize", "gdn32", "igdn32"]

#: Every float32 partial sum stays below this, so it is an exact integer.
_EXACT_F32 = 1 << 24
#: Bytes of one im2col strip (keeps the GEMM operands near the caches).
_STRIP_BYTES = 8 << 20
#: Bytes of one float64 array of a GDN block (C channels × pixels): within a core's L2.
_GDN_BLOCK_BYTES = 256 << 10


def _absmax(x: np.ndarray) -> int:
    return 0 if x.size == 0 else int(max(-int(x.min()), int(x.max())))


def _ranges(x: np.ndarray, w: np.ndarray) -> list[tuple[int, int]]:
    """Ranges of the reduction (``w``'s columns) over which every row's partial sums stay
    below 2**24 whatever the order: ``|x|`` at most its largest times the row's ``Σ|w|``
    over the range. Usually one range: real weights are far from all at their bound."""
    bound = np.abs(w).astype(np.int64) * max(1, _absmax(x))
    if bound.size and int(bound.max()) >= _EXACT_F32:
        raise ValueError(f"|x| ≤ {_absmax(x)} times |w| ≤ {_absmax(w)} does not fit float32 exactly")
    reach = np.cumsum(bound, axis=1)
    ranges, start = [], 0
    while start < w.shape[1]:
        base = reach[:, start - 1 : start] if start else 0
        # the row-wise largest sum from ``start`` is non-decreasing: the first that does not fit ends the range
        end = start + int(np.searchsorted((reach[:, start:] - base).max(axis=0), _EXACT_F32))
        ranges.append((start, end))
        start = end
    return ranges


def _exact_gemm(w: np.ndarray, cols: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """``w @ cols`` (float32 operands holding integers) as exact int64: one float32 GEMM
    per range of :func:`_ranges`, the ranges added in int64."""
    if len(ranges) == 1:
        return (w @ cols).astype(np.int64)
    acc = np.zeros((w.shape[0], cols.shape[1]), dtype=np.int64)
    for start, end in ranges:
        acc += (w[:, start:end] @ cols[start:end]).astype(np.int64)
    return acc


def _with_bias(acc: np.ndarray, bias) -> np.ndarray:
    if bias is not None:
        acc += np.asarray(bias, dtype=np.int64).reshape(1, -1, *([1] * (acc.ndim - 2)))
    return acc


def conv2d_int(x, w, bias=None, stride: int = 1, padding: int = 0, acc_bits: int = ACC_BITS) -> np.ndarray:
    """:func:`intops.conv2d_int`: im2col strips of output rows times the weights, as
    exact float32 GEMMs. ``acc_bits`` is the reference's bound, unchecked here."""
    x, w = np.asarray(x), np.asarray(w)
    n, c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    xp = np.pad(x.astype(np.float32), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # Reduction order: tap-major, channel-minor (cols rows below follow it).
    wf = np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(c_out, kh * kw * c_in), dtype=np.float32)
    ranges = _ranges(x, wf)
    rows = max(1, _STRIP_BYTES // (4 * kh * kw * c_in * max(w_out, 1)))
    out = np.empty((n, c_out, h_out, w_out), dtype=np.int64)
    for b in range(n):
        for r0 in range(0, h_out, rows):
            r1 = min(h_out, r0 + rows)
            cols = np.empty((kh * kw, c_in, r1 - r0, w_out), dtype=np.float32)
            for i in range(kh):
                for j in range(kw):
                    cols[i * kw + j] = xp[
                        b,
                        :,
                        i + stride * r0 : i + stride * (r1 - 1) + 1 : stride,
                        j : j + stride * (w_out - 1) + 1 : stride,
                    ]
            out[b, :, r0:r1] = _exact_gemm(wf, cols.reshape(kh * kw * c_in, -1), ranges).reshape(c_out, r1 - r0, w_out)
    return _with_bias(out, bias)


def conv_transpose2d_int(
    x, w, bias=None, stride: int = 1, padding: int = 0, output_padding: int = 0, acc_bits: int = ACC_BITS
) -> np.ndarray:
    """:func:`intops.conv_transpose2d_int`: every tap's contribution of a strip of input
    rows as one exact float32 GEMM, scattered into the uncropped output."""
    x, w = np.asarray(x), np.asarray(w)
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    h_out = (h - 1) * stride - 2 * padding + kh + output_padding
    w_out = (wd - 1) * stride - 2 * padding + kw + output_padding
    # (taps·C_out, C_in): one GEMM gives every tap's output for a strip of input pixels.
    wf = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(kh * kw * c_out, c_in), dtype=np.float32)
    ranges = _ranges(x, wf)
    # Where every output channel's products over all taps and inputs stay below 2**24
    # together, so do those one output pixel meets: the scatter adds up in float32 too
    # (half the memory traffic); else in int64.
    exact32 = len(ranges) == 1 and len(_ranges(x, w.transpose(1, 0, 2, 3).reshape(c_out, -1))) == 1
    xf = x.astype(np.float32)
    full = np.zeros(
        (n, c_out, (h - 1) * stride + kh + output_padding, (wd - 1) * stride + kw + output_padding),
        dtype=np.float32 if exact32 else np.int64,
    )
    rows = max(1, _STRIP_BYTES // (4 * kh * kw * c_out * max(wd, 1)))
    for b in range(n):
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            cols = xf[b, :, r0:r1].reshape(c_in, -1)
            taps = (wf @ cols if exact32 else _exact_gemm(wf, cols, ranges)).reshape(kh, kw, c_out, r1 - r0, wd)
            for i in range(kh):
                for j in range(kw):
                    full[
                        b,
                        :,
                        i + stride * r0 : i + stride * (r1 - 1) + 1 : stride,
                        j : j + stride * (wd - 1) + 1 : stride,
                    ] += taps[i, j]
    out = full[:, :, padding : padding + h_out, padding : padding + w_out].astype(np.int64)
    return _with_bias(out, bias)


def requantize(acc, multiplier, shift, bits: int, signed: bool = True) -> np.ndarray:
    """:func:`intops.requantize` (per-channel or scalar multiplier and shift), in place
    on ``acc·M``, which the artefact's widths keep below 2**62."""
    acc = np.asarray(acc, dtype=np.int64)
    per_channel = (1, -1) + (1,) * (acc.ndim - 2)
    m = np.asarray(multiplier, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    if m.ndim == 1:
        m = m.reshape(per_channel)
    if s.ndim == 1:
        s = s.reshape(per_channel)
    v = acc * m
    v += (np.int64(1) << s) >> 1
    v >>= s
    lo, hi = int_range(bits, signed)
    return np.clip(v, lo, hi, out=v)


def _floor_shift(v: np.ndarray, s: int) -> np.ndarray:
    """``round_shift`` of float64 integers by a constant ``s ≥ 1``, in place: exact below
    2**53 (scaling by a power of two is exact, and so is adding the half)."""
    v *= 1.0 / (1 << s)
    v += 0.5
    return np.floor(v, out=v)


_TABLE = RSQRT_TABLE.astype(np.float64)


def _gdn_block(x: np.ndarray, params: GDNParams, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """GDN32 / inverse GDN32 of ``x`` (C, P) int64: the reference's arithmetic, step by
    step, in place wherever a value is not needed again."""
    xf = x.astype(np.float64)
    u = np.square(xf)
    square_shift = gdn_square_shift(params.in_bits)
    if square_shift:
        u = _floor_shift(u, square_shift)
    norm = gamma @ u
    norm += beta  # exact: non-negative terms summing below 2**48
    # normalise: the leading-zero count is the float64 exponent (norm < 2**53 is exact).
    _, e = np.frexp(norm)
    e -= RSQRT_MANTISSA_BITS - 1
    e >>= 1
    m = np.ldexp(norm, -2 * e)
    np.floor(m, out=m)
    # The Newton step of intops._rsqrt_mantissa; every product below 2**52.
    index = m.astype(np.int64)
    index >>= RSQRT_MANTISSA_BITS - RSQRT_TABLE_BITS
    y0 = _TABLE[index]
    w = _floor_shift(m * y0, 17)
    w *= y0
    d = _floor_shift(np.subtract(float(1 << 41), w, out=w), 7)
    d *= y0
    r = _floor_shift(d, 27)
    y0 *= float(1 << (RSQRT_FRAC - RSQRT_SEED_FRAC))
    r += y0
    if params.inverse:
        r *= m
        r = _floor_shift(r, RSQRT_MANTISSA_BITS)  # sqrt = m·rsqrt(m)
        shift = params.shift[:, None] - e
    else:
        shift = params.shift[:, None] + e
    # x·r·M reaches 57 bits: int64 from here.
    v = x * r.astype(np.int64)
    v *= params.multiplier[:, None]
    v += (np.int64(1) << shift) >> 1
    v >>= shift
    lo, hi = int_range(params.out_bits)
    return np.clip(v, lo, hi, out=v)


def _gdn(x, params: GDNParams, inverse: bool) -> np.ndarray:
    if params.inverse != inverse:
        raise ValueError(f"{'igdn32' if inverse else 'gdn32'} got {'forward' if inverse else 'inverse'}-GDN parameters")
    x = np.asarray(x, dtype=np.int64)
    lo, hi = int_range(params.in_bits)
    if x.size and (int(x.min()) < lo or int(x.max()) > hi):
        raise ValueError(
            f"GDN input (int{params.in_bits}) spans [{int(x.min())}, {int(x.max())}], outside [{lo}, {hi}]"
        )
    if x.ndim < 2 or x.shape[1] != params.channels:
        raise ValueError(f"GDN of {params.channels} channels got input of shape {tuple(x.shape)}")
    gamma = params.gamma.astype(np.float64)
    beta = params.beta.astype(np.float64)[:, None]
    out = np.empty_like(x)
    flat_in = x.reshape(x.shape[0], x.shape[1], -1)
    flat_out = out.reshape(flat_in.shape)
    block = max(64, _GDN_BLOCK_BYTES // (8 * x.shape[1]))
    for b in range(flat_in.shape[0]):
        for p0 in range(0, flat_in.shape[2], block):
            flat_out[b, :, p0 : p0 + block] = _gdn_block(flat_in[b, :, p0 : p0 + block], params, gamma, beta)
    return out


def gdn32(x, params: GDNParams) -> np.ndarray:
    """:func:`intops.gdn32`."""
    return _gdn(x, params, inverse=False)


def igdn32(x, params: GDNParams) -> np.ndarray:
    """:func:`intops.igdn32`."""
    return _gdn(x, params, inverse=True)
