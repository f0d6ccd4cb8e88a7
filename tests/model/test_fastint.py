"""The fast numpy layers give exactly the reference's integers (:mod:`intops`, torch
path): random shapes, the extremes of every input type, real photos through the shipped
integer model, any thread count."""

import os
import subprocess
import sys
from importlib.resources import files

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.model import fastint, intops
from licfpga.model.golden import GoldenModel
from licfpga.model.registry import load_integer_model

T = torch.from_numpy


def _ints(rng, shape, lo, hi, extreme):
    x = rng.integers(lo, hi + 1, shape)
    if extreme:  # every element at a bound of its type: the largest products and sums
        x = np.where(rng.random(shape) < 0.5, lo, hi)
    return x.astype(np.int64)


@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize(
    "k, stride, c_in, c_out, bits, signed",
    [
        (5, 2, 3, 8, 8, False),
        (5, 2, 64, 16, 8, True),
        (3, 1, 192, 8, 8, False),
        (5, 2, 200, 4, 16, True),
        (1, 1, 5, 3, 8, True),
    ],
)
def test_conv2d_matches_the_reference(rng, extreme, k, stride, c_in, c_out, bits, signed):
    lo, hi = intops.int_range(bits, signed)
    for h, w in [(7, 9), (16, 16), (1, 5)]:
        x = _ints(rng, (2, c_in, h, w), lo, hi, extreme)
        weight = _ints(rng, (c_out, c_in, k, k), -127, 127, extreme)
        bias = rng.integers(-1000, 1000, c_out)
        acc_bits = 48
        ref = intops.conv2d_int(T(x), T(weight), T(bias), stride, k // 2, acc_bits=acc_bits).numpy()
        got = fastint.conv2d_int(x, weight, bias, stride, k // 2, acc_bits=acc_bits)
        assert got.dtype == np.int64 and np.array_equal(got, ref)


@pytest.mark.parametrize("x_max, w_max, k", [(127, 127, 1600), (255, 127, 75), (32767, 127, 4800), (127, 3, 4800)])
def test_reduction_ranges_cover_it_and_keep_every_partial_sum_exact(rng, x_max, w_max, k):
    w = rng.integers(-w_max, w_max + 1, (16, k))
    x = np.array([x_max])
    ranges = fastint._ranges(x, w)
    assert ranges[0][0] == 0 and ranges[-1][1] == k and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    sums = [x_max * int(np.abs(w[:, a:b]).sum(axis=1).max()) for a, b in ranges]
    assert max(sums) < 1 << 24
    # maximal: each range but the last would overflow with the next column
    assert all(x_max * int(np.abs(w[:, a : b + 1]).sum(axis=1).max()) >= 1 << 24 for a, b in ranges[:-1])


def test_a_product_beyond_float32_is_refused():
    with pytest.raises(ValueError, match="does not fit float32 exactly"):
        fastint._ranges(np.array([1 << 16]), np.array([[1 << 8]]))


@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("k, stride, c_in, c_out, bits", [(5, 2, 8, 3, 8), (5, 2, 192, 16, 16), (3, 1, 16, 24, 8)])
def test_conv_transpose2d_matches_the_reference(rng, extreme, k, stride, c_in, c_out, bits):
    lo, hi = intops.int_range(bits)
    x = _ints(rng, (1, c_in, 5, 6), lo, hi, extreme)
    weight = _ints(rng, (c_in, c_out, k, k), -127, 127, extreme)
    bias = rng.integers(-1000, 1000, c_out)
    ref = intops.conv_transpose2d_int(T(x), T(weight), T(bias), stride, k // 2, stride - 1, acc_bits=48).numpy()
    got = fastint.conv_transpose2d_int(x, weight, bias, stride, k // 2, stride - 1, acc_bits=48)
    assert np.array_equal(got, ref)


def test_requantize_matches_the_reference(rng):
    acc = rng.integers(-(1 << 31) + 1, 1 << 31, (2, 5, 3, 4))
    multiplier = rng.integers(1 << 16, 1 << 17, 5)
    shift = rng.integers(0, 40, 5)
    for bits, signed in [(8, True), (8, False), (16, True)]:
        ref = intops.requantize(T(acc), T(multiplier), T(shift), bits, signed).numpy()
        assert np.array_equal(fastint.requantize(acc, multiplier, shift, bits, signed), ref)
    assert np.array_equal(fastint.requantize(acc, 70000, 0, 16), intops.requantize(acc, 70000, 0, 16))


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("in_bits", [8, 16])
def test_gdn_matches_the_reference_over_the_whole_input_range(rng, inverse, in_bits):
    c = 24
    beta = rng.uniform(0.5, 2.0, c)
    gamma = np.abs(rng.normal(0, 0.1, (c, c))) * (rng.random((c, c)) < 0.5) + np.eye(c) * 0.1
    params = intops.quantize_gdn(beta, gamma, 0.02, 0.03, inverse=inverse, in_bits=in_bits, out_bits=in_bits)
    lo, hi = intops.int_range(in_bits)
    # A ramp through the whole range (every normaliser exponent), random values, the bounds.
    ramp = np.linspace(lo, hi, 3000).round().astype(np.int64)
    x = np.stack([np.roll(ramp, i * 97) for i in range(c)])[None, :, :, None]
    for sample in (
        x,
        _ints(rng, (2, c, 33, 35), lo, hi, False),
        _ints(rng, (1, c, 8, 8), lo, hi, True),
        np.zeros((1, c, 3, 3), np.int64),
    ):
        op = "igdn32" if inverse else "gdn32"
        ref = getattr(intops, op)(T(sample), params).numpy()
        assert np.array_equal(getattr(fastint, op)(sample, params), ref)
    with pytest.raises(ValueError, match="outside"):
        getattr(fastint, "igdn32" if inverse else "gdn32")(np.full((1, c, 1, 1), hi + 1), params)


def _photo(size=(160, 224)):
    with Image.open(files("licfpga") / "data" / "kodim23-crop.png") as image:
        pixels = np.asarray(image.convert("RGB"))[: size[0], : size[1]]
    return pixels.transpose(2, 0, 1)[None].astype(np.int64)


def test_shipped_model_on_a_real_photo_is_bit_exact_through_all_four_transforms():
    artefact, _ = load_integer_model("student-n64-q2-int8")
    ref, fast = GoldenModel(artefact), GoldenModel(artefact, fastint)
    x = _photo()
    trace_ref, trace_fast = {}, {}
    y_ref = ref.g_a(T(x), trace_ref)
    y_fast = fast.g_a(x, trace_fast)
    for name in trace_ref:
        assert np.array_equal(trace_fast[name], trace_ref[name].numpy()), name
    z = fast.h_a(y_fast)
    assert np.array_equal(z, ref.h_a(y_ref).numpy())
    assert np.array_equal(fast.h_s(z), ref.h_s(T(z)).numpy())
    assert np.array_equal(fast.g_s(y_fast), ref.g_s(y_ref).numpy())


def test_compressed_files_are_identical_for_any_blas_thread_count(tmp_path):
    """The whole CLI in fresh processes, BLAS and the GDN on 1 and 2 threads."""
    src = files("licfpga") / "data" / "kodim23-crop.png"
    outputs = []
    for count in ("1", "2"):
        out = tmp_path / f"t{count}.lic"
        env = {**os.environ, "OPENBLAS_NUM_THREADS": count, "OMP_NUM_THREADS": count}
        subprocess.run(
            [sys.executable, "-m", "licfpga.cli", "compress", str(src), str(out), "--threads", count],
            check=True,
            env=env,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
