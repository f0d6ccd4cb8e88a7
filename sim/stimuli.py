"""Random parameters and frames for the engine tests and benches, and their expected
outputs from the golden primitives of `model.intops`."""

import numpy as np

from ..formats import index_bits
from ..model.intops import (
    RSQRT_TABLE,
    conv2d_int,
    conv_transpose2d_int,
    gdn32,
    gdn_square_shift,
    igdn32,
    quantize_gdn,
    requantize,
    scale_index,
)
from ..rtl.config import LayerConfig
from ..rtl.conv import ConvParams
from ..rtl.gdn import GDNConfig

__all__ = [
    "conv_params",
    "index_params",
    "conv_frame",
    "conv_expected",
    "gdn_params",
    "gdn_config",
    "gdn_frame",
    "gdn_expected",
    "deconv_params",
    "deconv_expected",
]


def conv_params(cfg: LayerConfig, rng, out_bits=8, out_signed=True, frames=()):
    """Random int8 weights and biases; per-channel multipliers and shifts that put the
    outputs of ``frames`` (or, without frames, of random ones) around the output range,
    so that some saturate; about one channel in five has shift 0 (no rounding)."""
    w = rng.integers(-127, 128, (cfg.c_out, cfg.c_in, cfg.kernel, cfg.kernel))
    bias = rng.integers(-3000, 3001, cfg.c_out)
    mult = rng.integers(1 << 16, 1 << 17, cfg.c_out)
    peak = np.ones(cfg.c_out, dtype=np.int64)
    for f in frames or [conv_frame(cfg, rng, 8, 8)]:
        acc = conv2d_int(f.transpose(2, 0, 1)[None], w, bias, cfg.stride, cfg.pad, cfg.acc_bits)
        peak = np.maximum(peak, np.abs(np.asarray(acc)).max(axis=(0, 2, 3)))
    shift = np.array([max(0, int(p * m).bit_length() - out_bits + 1) for p, m in zip(peak, mult)])
    shift = np.where(rng.random(cfg.c_out) < 0.2, 0, shift)
    return ConvParams(w, bias, mult, shift, out_bits, out_signed)


def index_params(cfg: LayerConfig, rng, levels, frames):
    """Random int8 weights and biases and sorted int32 thresholds (C_out, ``levels``) of a
    scale-index layer, so that over ``frames`` every index 0…L−1 occurs.

    Channel c's row: ``lead`` thresholds from −2**31 up to below its smallest accumulator
    (always counted; the first −2**31), then thresholds between its accumulators (each
    in [a_s, a_(s+1) − 1] for distinct splits s of its distinct accumulator values, at
    either end of that range; sometimes one repeated), then from its largest accumulator
    up to 2**31 − 1 (never counted; the last 2**31 − 1). ``lead`` steps by ⌈L/C_out⌉ per
    channel and a channel spans up to twice that, so the channels' index ranges overlap
    and together cover 0…L−1; the last channel's runs to the end where its accumulators
    allow, with no never-counted threshold, so the cap at L − 1 applies.
    """
    w = rng.integers(-127, 128, (cfg.c_out, cfg.c_in, cfg.kernel, cfg.kernel))
    bias = rng.integers(-3000, 3001, cfg.c_out)
    accs = [conv2d_int(f.transpose(2, 0, 1)[None], w, bias, cfg.stride, cfg.pad, cfg.acc_bits) for f in frames]
    accs = np.concatenate([np.asarray(acc[0]).reshape(cfg.c_out, -1) for acc in accs], axis=1)
    lo, hi = -(1 << 31), (1 << 31) - 1
    step = -(-levels // cfg.c_out)
    rows = []
    for c in range(cfg.c_out):
        a = np.unique(accs[c])
        lead = min(c * step, levels - 1)
        dup = int(rng.random() < 0.5 and levels - lead >= 2)
        last = c == cfg.c_out - 1
        count = min(len(a) - 1, levels - lead - dup if last else min(2 * step, levels - lead - dup - 1))
        splits = np.sort(rng.choice(len(a) - 1, count, replace=False))
        mid = np.where(rng.random(count) < 0.5, a[splits], a[splits + 1] - 1)
        if dup and count:
            mid = np.sort(np.append(mid, rng.choice(mid)))
        below = np.sort(rng.integers(lo, a[0], lead))
        above = np.sort(rng.integers(a[-1], hi, levels - lead - len(mid), endpoint=True))
        if lead:
            below[0] = lo
        if above.size:
            above[-1] = hi
        rows.append(np.concatenate([below, mid, above]))
    ones, zeros = np.ones(cfg.c_out, dtype=np.int64), np.zeros(cfg.c_out, dtype=np.int64)
    return ConvParams(w, bias, ones, zeros, index_bits(levels), False, np.array(rows))


def conv_frame(cfg: LayerConfig, rng, width, height):
    """An (H, W, C_in) frame of the layer's input type (symmetric if signed)."""
    lo, hi = (-(1 << (cfg.in_bits - 1)) + 1, 1 << (cfg.in_bits - 1)) if cfg.in_signed else (0, 1 << cfg.in_bits)
    return rng.integers(lo, hi, (height, width, cfg.c_in))


def conv_expected(cfg: LayerConfig, params: ConvParams, frame):
    """``requantize(conv2d_int(frame) + bias)`` (or its ``scale_index`` where the params
    hold thresholds), (H_out, W_out, C_out)."""
    acc = conv2d_int(frame.transpose(2, 0, 1)[None], params.weight, params.bias, cfg.stride, cfg.pad, cfg.acc_bits)
    if params.thresholds is not None:
        out = scale_index(acc, params.thresholds)
    else:
        out = requantize(acc, params.multiplier, params.shift, params.out_bits, params.out_signed)
    return np.asarray(out[0]).transpose(1, 2, 0)


def gdn_params(rng, channels, inverse, in_bits, tiny_beta=False):
    """`intops.quantize_gdn` of random float parameters: γ spread over four decades, β
    near 1 (or tiny, so that a zero pixel's normaliser lies below 2**24 and the mantissa
    shifts left), scales that put the outputs around the int8 range."""
    beta = rng.uniform(1e-6, 1e-5, channels) if tiny_beta else rng.uniform(0.2, 2.0, channels)
    gamma = rng.uniform(0, 1, (channels, channels)) * 10.0 ** rng.uniform(-4, 0, (channels, channels))
    in_scale = rng.uniform(1, 4) / (1 << (in_bits - 1))
    out_scale = in_scale * (rng.uniform(1.5, 3) if inverse else rng.uniform(0.3, 0.6))
    return quantize_gdn(beta, gamma, in_scale, out_scale, inverse=inverse, in_bits=in_bits)


def gdn_config(params, pe, simd):
    """The RTL unit's `GDNConfig` of an `intops.GDNParams` at a folding."""
    return GDNConfig.from_params(
        params, pe=pe, simd=simd, rsqrt_table=RSQRT_TABLE, square_shift=gdn_square_shift(params.in_bits)
    )


def gdn_frame(rng, width, height, channels, in_bits):
    """Random symmetric ``in_bits`` pixels; the first is zero (the normaliser is β alone),
    the last at full scale."""
    top = (1 << (in_bits - 1)) - 1
    x = rng.integers(-top, top + 1, (height, width, channels))
    x[0, 0] = 0
    x[-1, -1] = rng.choice([-top, top], channels)
    return x


def gdn_expected(params, frame):
    """``gdn32`` (or ``igdn32``) of an (H, W, C) frame."""
    out = (igdn32 if params.inverse else gdn32)(frame.transpose(2, 0, 1)[None], params)
    return np.asarray(out[0]).transpose(1, 2, 0)


def deconv_params(cfg, rng, out_signed=True, frames=()):
    """Random parameters of a transposed `rtl.config.LayerConfig` layer, weight as (C_out, C_in,
    K, K) (``ConvTranspose2d.weight`` with its first two axes swapped), scaled like
    `conv_params`."""
    w = rng.integers(-127, 128, (cfg.c_out, cfg.c_in, cfg.kernel, cfg.kernel))
    bias = rng.integers(-3000, 3001, cfg.c_out)
    mult = rng.integers(1 << 16, 1 << 17, cfg.c_out)
    peak = np.ones(cfg.c_out, dtype=np.int64)
    for f in frames or [rng.integers(-127, 128, (4, 4, cfg.c_in))]:
        acc = conv_transpose2d_int(
            f.transpose(2, 0, 1)[None], w.transpose(1, 0, 2, 3), bias, 2, cfg.kernel // 2, 1, cfg.acc_bits
        )
        peak = np.maximum(peak, np.abs(np.asarray(acc)).max(axis=(0, 2, 3)))
    shift = np.array([max(0, int(p * m).bit_length() - 7) for p, m in zip(peak, mult)])
    return ConvParams(w, bias, mult, shift, 8, out_signed)


def deconv_expected(cfg, params, frame):
    """``requantize(conv_transpose2d_int(frame, stride 2, padding K//2, output_padding 1))``,
    (2H, 2W, C_out)."""
    acc = conv_transpose2d_int(
        frame.transpose(2, 0, 1)[None],
        params.weight.transpose(1, 0, 2, 3),
        params.bias,
        2,
        cfg.kernel // 2,
        1,
        cfg.acc_bits,
    )
    out = requantize(acc, params.multiplier, params.shift, params.out_bits, params.out_signed)
    return np.asarray(out[0]).transpose(1, 2, 0)
