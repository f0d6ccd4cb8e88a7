import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view

from licfpga.model.metrics import MS_SSIM_WEIGHTS, BDError, bd_psnr, bd_rate, ms_ssim, ms_ssim_scales, mse, psnr


def smooth_image(rng, height, width):
    """A gradient with some texture, so SSIM sees structure at every scale."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 200 / width, yy * 200 / height, (xx + yy) * 100 / (width + height)], axis=-1)
    return np.clip(base + 20 * np.sin(xx / 3.0)[..., None] + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def noisy(rng, image, sigma):
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


# --- PSNR ---------------------------------------------------------------------------------


def test_psnr_identical_is_inf():
    image = np.full((4, 5, 3), 77, np.uint8)
    assert psnr(image, image) == math.inf


def test_psnr_known_mse():
    a = np.zeros((4, 4, 3), np.uint8)
    assert psnr(a, a + 5) == pytest.approx(10 * math.log10(255**2 / 25))


def test_mse_averages_over_all_channels():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[..., 1] = 3  # one channel off by 3: 9 over a third of the values
    assert mse(a, b) == pytest.approx(3.0)


def test_uint8_difference_does_not_wrap():
    assert mse(np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 255, np.uint8)) == 255**2


# --- MS-SSIM -----------------------------------------------------------------------------


def test_ms_ssim_identical_is_one(rng):
    image = smooth_image(rng, 170, 180)
    assert ms_ssim(image, image) == pytest.approx(1.0, abs=1e-12)


def test_ms_ssim_decreases_with_noise(rng):
    image = smooth_image(rng, 170, 180)
    values = [ms_ssim(image, noisy(np.random.default_rng(1), image, sigma)) for sigma in (2, 5, 10, 20, 40)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert 0.0 < values[-1] < values[0] < 1.0


def pytorch_msssim_reference(a: np.ndarray, b: np.ndarray) -> float:
    """pytorch-msssim's ms_ssim (data_range=255, size_average) written out in torch."""
    x = torch.from_numpy(a).permute(2, 0, 1)[None].double()
    y = torch.from_numpy(b).permute(2, 0, 1)[None].double()
    coords = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-(coords**2) / (2 * 1.5**2))
    g = g / g.sum()
    win_h, win_w = g.view(1, 1, 11, 1).repeat(3, 1, 1, 1), g.view(1, 1, 1, 11).repeat(3, 1, 1, 1)

    def blur(t):
        return F.conv2d(F.conv2d(t, win_h, groups=3), win_w, groups=3)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=torch.float64)
    mcs = []
    for level in range(5):
        mu1, mu2 = blur(x), blur(y)
        s1, s2, s12 = blur(x * x) - mu1**2, blur(y * y) - mu2**2, blur(x * y) - mu1 * mu2
        cs_map = (2 * s12 + c2) / (s1 + s2 + c2)
        ssim_map = (2 * mu1 * mu2 + c1) / (mu1**2 + mu2**2 + c1) * cs_map
        ssim, cs = ssim_map.flatten(2).mean(-1), cs_map.flatten(2).mean(-1)
        if level < 4:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in x.shape[2:]]
            x, y = F.avg_pool2d(x, 2, padding=padding), F.avg_pool2d(y, 2, padding=padding)
    stacked = torch.stack(mcs + [torch.relu(ssim)], dim=0)
    return float(torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean())


def test_ms_ssim_matches_pytorch_msssim_formulation(rng):
    # 171×165 gives odd sides at several scales, which exercises the zero-padded pooling.
    image = smooth_image(rng, 171, 165)
    for sigma in (3, 15):
        distorted = noisy(rng, image, sigma)
        assert ms_ssim(image, distorted) == pytest.approx(pytorch_msssim_reference(image, distorted), abs=1e-10)


def test_single_scale_is_plain_ssim(rng):
    """One scale is SSIM: compare with a direct sliding-window computation."""
    image = smooth_image(rng, 24, 21)
    distorted = noisy(rng, image, 10)
    coords = np.arange(11) - 5
    g = np.exp(-(coords**2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    values = []
    for c in range(3):
        x = sliding_window_view(image[..., c].astype(float), (11, 11))
        y = sliding_window_view(distorted[..., c].astype(float), (11, 11))
        mx, my = (x * window).sum((-1, -2)), (y * window).sum((-1, -2))
        vx = (x * x * window).sum((-1, -2)) - mx**2
        vy = (y * y * window).sum((-1, -2)) - my**2
        cov = (x * y * window).sum((-1, -2)) - mx * my
        c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
        values.append(np.mean((2 * mx * my + c1) * (2 * cov + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))))
    assert ms_ssim(image, distorted, scales=1) == pytest.approx(np.mean(values), abs=1e-12)


def test_ms_ssim_scales_for_small_images(rng):
    assert ms_ssim_scales(512, 768) == 5
    assert ms_ssim_scales(161, 161) == 5
    assert ms_ssim_scales(160, 400) == 4
    assert ms_ssim_scales(48, 64) == 3
    image = smooth_image(rng, 48, 64)
    value = ms_ssim(image, noisy(rng, image, 5))
    assert 0.5 < value < 1.0
    with pytest.raises(ValueError, match="supports 1..3"):
        ms_ssim(image, image, scales=5)
    with pytest.raises(ValueError, match="supports"):
        ms_ssim(np.zeros((10, 30, 3), np.uint8), np.zeros((10, 30, 3), np.uint8))


# --- Bjøntegaard deltas --------------------------------------------------------------------

RATE = np.array([0.12, 0.25, 0.48, 0.9, 1.6])
PSNR = np.array([27.1, 29.8, 32.4, 35.0, 37.9])


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_bd_of_a_curve_against_itself_is_zero(method):
    assert bd_rate(RATE, PSNR, RATE, PSNR, method=method) == pytest.approx(0.0, abs=1e-12)
    assert bd_psnr(RATE, PSNR, RATE, PSNR, method=method) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_rates_scaled_by_0_9_is_minus_ten_percent(method):
    assert bd_rate(RATE, PSNR, 0.9 * RATE, PSNR, method=method) == pytest.approx(-10.0, abs=1e-9)
    assert bd_rate(0.9 * RATE, PSNR, RATE, PSNR, method=method) == pytest.approx(100 / 9, abs=1e-9)
    assert bd_psnr(RATE, PSNR, 0.9 * RATE, PSNR, method=method) > 0


def test_bd_hand_checked_two_point_curves():
    # Two points make PCHIP a straight line in (PSNR, log10 rate).
    # Anchor: log10 rate 0 → 1 over 30 → 40 dB; test: the same shifted 5 dB up.
    # On the overlap [35, 40] the test needs log10 rate 0.5 less: 10^-0.5 − 1.
    anchor_rate, anchor_psnr = [1.0, 10.0], [30.0, 40.0]
    test_rate, test_psnr = [1.0, 10.0], [35.0, 45.0]
    assert bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr) == pytest.approx((10**-0.5 - 1) * 100)
    assert bd_rate(anchor_rate, anchor_psnr, test_rate, test_psnr) == pytest.approx(-68.377, abs=1e-3)
    assert bd_psnr(anchor_rate, anchor_psnr, test_rate, test_psnr) == pytest.approx(5.0)
    # Steeper test line log10 rate 0 → 2 over the same PSNR: mean gap 0.5 → +216.2%.
    assert bd_rate(anchor_rate, anchor_psnr, [1.0, 100.0], [30.0, 40.0]) == pytest.approx((10**0.5 - 1) * 100)


def test_bd_ignores_point_order():
    shuffled = [3, 0, 4, 1, 2]
    assert bd_rate(RATE, PSNR, 0.8 * RATE[shuffled], PSNR[shuffled] + 0.3) == pytest.approx(
        bd_rate(RATE, PSNR, 0.8 * RATE, PSNR + 0.3)
    )


def test_bd_errors():
    with pytest.raises(BDError, match="do not overlap"):
        bd_rate([0.1, 0.2], [20, 25], [0.5, 0.9], [30, 35])
    with pytest.raises(BDError, match="1 point"):
        bd_rate(RATE, PSNR, [0.3], [30.0])
    with pytest.raises(BDError, match="cubic needs at least 4"):
        bd_rate(RATE, PSNR, RATE[:3], PSNR[:3], method="cubic")
    with pytest.raises(BDError, match="repeated"):
        bd_rate(RATE, PSNR, [0.2, 0.3, 0.4], [30.0, 30.0, 33.0])
    with pytest.raises(BDError, match="positive"):
        bd_rate(RATE, PSNR, [0.0, 0.3], [30.0, 33.0])
    with pytest.raises(BDError, match="unknown BD method"):
        bd_rate(RATE, PSNR, RATE, PSNR, method="akima")
