"""Image quality and rate-distortion comparison: PSNR, MS-SSIM, Bjøntegaard deltas.

MS-SSIM follows Wang, Simoncelli & Bovik 2003 as pytorch-msssim (and so CompressAI)
computes it: 11-tap Gaussian window with σ = 1.5 applied without padding, K1 = 0.01,
K2 = 0.03, 2×2 average pooling between scales (zero-padded on odd sizes), negative
terms clipped to zero, one value per channel, then the mean over channels.

The Bjøntegaard deltas interpolate log10(rate) over PSNR (BD-rate) or PSNR over
log10(rate) (BD-PSNR) with a piecewise cubic Hermite polynomial (PCHIP, as in the
JCT-VC common-test-conditions sheet and the ``bjontegaard`` package), or with the
single least-squares cubic of VCEG-M33 (``method="cubic"``), and average the
difference over the interval both curves cover.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import correlate1d

from ..errors import UserError

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW_SIZE = 11
WINDOW_SIGMA = 1.5
BD_METHODS = {"pchip": 2, "cubic": 4}  # method → fewest points per curve


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all pixels and channels of two same-shaped arrays."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """10·log10(peak²/MSE) in dB; ``inf`` for identical images."""
    error = mse(a, b)
    return math.inf if error == 0.0 else 10.0 * math.log10(peak * peak / error)


def ms_ssim_scales(height: int, width: int, window: int = WINDOW_SIZE) -> int:
    """How many MS-SSIM scales (at most 5) an image of this size supports: the
    coarsest scale must still be larger than the window."""
    scales = 0
    while scales < len(MS_SSIM_WEIGHTS) and min(height, width) > (window - 1) * 2**scales:
        scales += 1
    return scales


def _gaussian_window(size: int, sigma: float) -> np.ndarray:
    taps = np.arange(size, dtype=np.float64) - size // 2
    window = np.exp(-(taps**2) / (2.0 * sigma**2))
    return window / window.sum()


def _filter_valid(x: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable filtering of (H, W, C) over H and W, keeping only positions where the
    window lies fully inside the image (pytorch-msssim pads nothing)."""
    half = len(window) // 2
    out = correlate1d(x, window, axis=0, mode="constant")[half : x.shape[0] - half]
    return correlate1d(out, window, axis=1, mode="constant")[:, half : x.shape[1] - half]


def _ssim_terms(x: np.ndarray, y: np.ndarray, window: np.ndarray, peak: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean SSIM and mean contrast-structure term."""
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    mu_x, mu_y = _filter_valid(x, window), _filter_valid(y, window)
    var_x = _filter_valid(x * x, window) - mu_x * mu_x
    var_y = _filter_valid(y * y, window) - mu_y * mu_y
    cov = _filter_valid(x * y, window) - mu_x * mu_y
    cs_map = (2.0 * cov + c2) / (var_x + var_y + c2)
    ssim_map = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1) * cs_map
    return ssim_map.mean(axis=(0, 1)), cs_map.mean(axis=(0, 1))


def _average_pool2(x: np.ndarray) -> np.ndarray:
    """2×2 average pooling of (H, W, C) with stride 2; an odd side gets one zero on each
    end first and always divides by 4, as ``avg_pool2d(padding=side % 2)`` does."""
    for axis in (0, 1):
        if x.shape[axis] % 2:
            pad = [(0, 0)] * x.ndim
            pad[axis] = (1, 1)
            x = np.pad(x, pad)
        pairs = x.shape[axis] // 2
        even = np.take(x, np.arange(0, 2 * pairs, 2), axis=axis)
        odd = np.take(x, np.arange(1, 2 * pairs, 2), axis=axis)
        x = (even + odd) / 2.0
    return x


def ms_ssim(a: np.ndarray, b: np.ndarray, peak: float = 255.0, scales: int | None = None) -> float:
    """Multi-scale SSIM of two (H, W) or (H, W, C) images, averaged over channels.

    ``scales`` defaults to the most the image supports (5 from 161 px on the short
    side); with fewer than 5 the first weights are used, renormalised to sum to 1.
    """
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    x = a.astype(np.float64).reshape(a.shape[0], a.shape[1], -1)
    y = b.astype(np.float64).reshape(b.shape[0], b.shape[1], -1)
    supported = ms_ssim_scales(x.shape[0], x.shape[1])
    scales = supported if scales is None else scales
    if not 1 <= scales <= supported:
        raise ValueError(
            f"a {x.shape[0]}×{x.shape[1]} image supports 1..{supported} MS-SSIM scales "
            f"(the short side must exceed {WINDOW_SIZE - 1}·2^(scales-1)), asked for {scales}"
        )
    weights = np.asarray(MS_SSIM_WEIGHTS[:scales])
    if scales < len(MS_SSIM_WEIGHTS):
        # The published five weights sum to 1.0001 and are used as they are; a prefix is renormalised.
        weights = weights / weights.sum()
    window = _gaussian_window(WINDOW_SIZE, WINDOW_SIGMA)
    terms = []
    for level in range(scales):
        ssim, cs = _ssim_terms(x, y, window, peak)
        if level < scales - 1:
            terms.append(cs)
            x, y = _average_pool2(x), _average_pool2(y)
        else:
            terms.append(ssim)
    # Clipping at zero keeps the fractional powers real (pytorch-msssim does the same).
    per_channel = np.prod(np.maximum(np.stack(terms), 0.0) ** weights[:, None], axis=0)
    return float(per_channel.mean())


class BDError(UserError, ValueError):
    """Two RD curves that cannot be compared with a Bjøntegaard delta."""


def _curve(rate, quality, name: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    rate = np.asarray(rate, dtype=np.float64).ravel()
    quality = np.asarray(quality, dtype=np.float64).ravel()
    if method not in BD_METHODS:
        raise BDError(f"unknown BD method {method!r} (known: {', '.join(BD_METHODS)})")
    if rate.size != quality.size:
        raise BDError(f"{name} curve: {rate.size} rates but {quality.size} PSNR values")
    if rate.size < BD_METHODS[method]:
        raise BDError(f"{name} curve has {rate.size} point(s); {method} needs at least {BD_METHODS[method]}")
    if not (np.all(np.isfinite(rate)) and np.all(np.isfinite(quality)) and np.all(rate > 0)):
        raise BDError(f"{name} curve: rates must be positive and finite, PSNR finite")
    return np.log10(rate), quality


def _mean_gap(x_anchor, y_anchor, x_test, y_test, method: str, axis: str) -> float:
    """Mean of test(x) − anchor(x) over the x interval both curves cover."""
    low = max(x_anchor.min(), x_test.min())
    high = min(x_anchor.max(), x_test.max())
    if not high > low:
        raise BDError(
            f"curves do not overlap in {axis}: anchor {x_anchor.min():.3f}..{x_anchor.max():.3f}, "
            f"test {x_test.min():.3f}..{x_test.max():.3f}"
        )
    integrals = []
    for x, y, name in ((x_anchor, y_anchor, "anchor"), (x_test, y_test, "test")):
        order = np.argsort(x)
        x, y = x[order], y[order]
        if np.any(np.diff(x) == 0):
            raise BDError(f"{name} curve has repeated {axis} values {x.tolist()}")
        if method == "pchip":
            integrals.append(PchipInterpolator(x, y).integrate(low, high))
        else:
            antiderivative = np.polyint(np.polyfit(x, y, 3))
            integrals.append(np.polyval(antiderivative, high) - np.polyval(antiderivative, low))
    return float((integrals[1] - integrals[0]) / (high - low))


def bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr, method: str = "pchip") -> float:
    """Bjøntegaard delta rate in percent: the test curve's average rate change at equal
    PSNR relative to the anchor (negative = fewer bits)."""
    log_a, psnr_a = _curve(anchor_rate, anchor_psnr, "anchor", method)
    log_t, psnr_t = _curve(test_rate, test_psnr, "test", method)
    return (10.0 ** _mean_gap(psnr_a, log_a, psnr_t, log_t, method, "PSNR") - 1.0) * 100.0


def bd_psnr(anchor_rate, anchor_psnr, test_rate, test_psnr, method: str = "pchip") -> float:
    """Bjøntegaard delta PSNR in dB: the test curve's average PSNR gain at equal rate."""
    log_a, psnr_a = _curve(anchor_rate, anchor_psnr, "anchor", method)
    log_t, psnr_t = _curve(test_rate, test_psnr, "test", method)
    return _mean_gap(log_a, psnr_a, log_t, psnr_t, method, "log10 rate")
