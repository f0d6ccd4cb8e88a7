# amaranth: UnusedElaboratable=no
"""The convolution engine against `model.intops` (conv2d_int + requantize), bit for bit,
with random weights, data, idle source and back-pressured sink; throughput against
`gen.cost`."""

import numpy as np
import pytest
from streamsim import run_stream

from licfpga.gen.cost import Folding, layer_cost
from licfpga.gen.layers import ConvSpec
from licfpga.rtl.config import LayerConfig
from licfpga.rtl.conv import Conv, ConvLayer, ConvParams
from licfpga.sim.reference import pixel_beats, window_beats
from licfpga.sim.stimuli import conv_expected, conv_frame, conv_params


def random_params(cfg, rng, out_signed=True, frames=()):
    return conv_params(cfg, rng, out_signed=out_signed, frames=frames)


def expected(cfg, params, frame):
    return pixel_beats(conv_expected(cfg, params, frame), cfg.pe)


def check(got, want):
    for n, (g, e) in enumerate(zip(got, want)):
        assert g == e, f"beat {n} of {len(want)}: got {g}, expected {e}"


CONFIGS = [  # kernel, stride, c_in, c_out, pe, simd, in_signed, out_signed
    (3, 1, 2, 4, 2, 6, True, True),  # NF=2, SF=3
    (5, 2, 3, 4, 4, 15, False, True),  # g_a's first layer: uint8 input, SIMD across pixels
    (3, 2, 4, 6, 3, 2, True, False),  # ReLU (unsigned output), NF=2, SF=18, one lane
    (1, 1, 4, 4, 4, 4, True, True),  # SF=1, NF=1: four requantizer lanes
    (3, 1, 1, 2, 1, 9, True, False),  # SF=1, NF=2
    (3, 2, 2, 6, 6, 3, True, True),  # drain steps = SF = 6
    (1, 1, 2, 5, 5, 1, True, True),  # 3 lanes, 2 steps, the last step part-empty
]
IDS = [
    f"k{k}s{s}c{ci}to{co}pe{pe}simd{si}{'' if sg else 'u'}{'' if os else 'relu'}"
    for k, s, ci, co, pe, si, sg, os in CONFIGS
]


def config(kernel, stride, c_in, c_out, pe, simd, in_signed, max_width=12, max_height=9):
    return LayerConfig(
        kernel=kernel,
        stride=stride,
        c_in=c_in,
        c_out=c_out,
        pe=pe,
        simd=simd,
        max_width=max_width,
        max_height=max_height,
        in_signed=in_signed,
    )


@pytest.mark.parametrize("kernel,stride,c_in,c_out,pe,simd,in_signed,out_signed", CONFIGS, ids=IDS)
def test_conv_engine_random_handshake(kernel, stride, c_in, c_out, pe, simd, in_signed, out_signed, rng):
    """Windows straight into `Conv` for several frame sizes in one stream."""
    cfg = config(kernel, stride, c_in, c_out, pe, simd, in_signed)
    frames = [conv_frame(cfg, rng, w, h) for w, h in [(9, 7), (1, 1), (2, 3), (6, 1)]]
    params = random_params(cfg, rng, out_signed=out_signed, frames=frames)
    beats = [b for f in frames for b in window_beats(f, kernel, stride, simd)]
    want = [b for f in frames for b in expected(cfg, params, f)]
    got, _ = run_stream(Conv(cfg, params), beats, len(want), rng, 0.3, 0.3)
    check(got, want)


@pytest.mark.parametrize("kernel,stride,c_in,c_out,pe,simd,in_signed,out_signed", CONFIGS, ids=IDS)
def test_conv_engine_throughput(kernel, stride, c_in, c_out, pe, simd, in_signed, out_signed, rng):
    """Stall-free: NF·SF cycles per window plus the pipeline latency, once."""
    cfg = config(kernel, stride, c_in, c_out, pe, simd, in_signed)
    frame = conv_frame(cfg, rng, 9, 7)
    params = random_params(cfg, rng, out_signed=out_signed, frames=[frame])
    beats = window_beats(frame, kernel, stride, simd)
    dut = Conv(cfg, params)
    got, cycles = run_stream(dut, beats, len(expected(cfg, params, frame)), rng, 0, 0)
    windows = len(beats) // cfg.window_beats
    assert cycles[-1] <= windows * (c_out // pe) * cfg.window_beats + dut.latency


LAYERS = [CONFIGS[0], CONFIGS[1], CONFIGS[2], CONFIGS[5]]


@pytest.mark.parametrize(
    "kernel,stride,c_in,c_out,pe,simd,in_signed,out_signed", LAYERS, ids=[IDS[CONFIGS.index(c)] for c in LAYERS]
)
@pytest.mark.parametrize("width,height", [(9, 7), (1, 1), (2, 3)])
def test_conv_layer_random_handshake(kernel, stride, c_in, c_out, pe, simd, in_signed, out_signed, width, height, rng):
    """Window generator and engine: pixels in, output pixels out, two frames."""
    cfg = config(kernel, stride, c_in, c_out, pe, simd, in_signed)
    frames = [conv_frame(cfg, rng, width, height) for _ in range(2)]
    params = random_params(cfg, rng, out_signed=out_signed, frames=frames)
    dut = ConvLayer(cfg, params)
    beats = [b for f in frames for b in pixel_beats(f, simd if dut.addressed else c_in)]
    want = [b for f in frames for b in expected(cfg, params, f)]

    def setup(ctx):
        ctx.set(dut.width, width)
        ctx.set(dut.height, height)

    got, _ = run_stream(dut, beats, len(want), rng, 0.3, 0.3, setup)
    check(got, want)


def layer_interval(cfg, params, rng, width, height):
    """Cycles between the last beats of two frames streamed back to back, stall-free."""
    frames = [conv_frame(cfg, rng, width, height) for _ in range(2)]
    dut = ConvLayer(cfg, params)
    beats = [b for f in frames for b in pixel_beats(f, cfg.simd if dut.addressed else cfg.c_in)]
    want = [b for f in frames for b in expected(cfg, params, f)]

    def setup(ctx):
        ctx.set(dut.width, width)
        ctx.set(dut.height, height)

    got, cycles = run_stream(dut, beats, len(want), rng, 0, 0, setup)
    check(got, want)
    return cycles[-1] - cycles[len(want) // 2 - 1]


# Measured: the interval equals the model's on every config here; a couple of cycles of
# phase difference between two frames' pipelines would be no regression.
INTERVAL_SLACK = 2


@pytest.mark.parametrize("kernel,stride,c_in,c_out,pe,simd,in_signed,out_signed", CONFIGS, ids=IDS)
def test_conv_layer_frame_interval(kernel, stride, c_in, c_out, pe, simd, in_signed, out_signed, rng):
    """Back-to-back frames arrive at `gen.cost.layer_cost`'s frame interval."""
    cfg = config(kernel, stride, c_in, c_out, pe, simd, in_signed, max_width=16)
    width, height = 13, 9
    params = random_params(cfg, rng, out_signed=out_signed)
    spec = ConvSpec(
        name="conv",
        kernel=kernel,
        stride=stride,
        c_in=c_in,
        c_out=c_out,
        in_bits=8,
        in_signed=in_signed,
        out_bits=8,
        out_signed=out_signed,
        acc_bits=32,
        acc_bound_bits=24,
    )
    ideal = layer_cost(spec, Folding(pe, simd), width, height, cfg.max_width).cycles
    interval = layer_interval(cfg, params, rng, width, height)
    assert interval <= ideal + INTERVAL_SLACK, f"{interval} cycles per frame, model {ideal}"


def test_odd_frame_first_layer(rng):
    """g_a's first layer shape on a 37×23 frame, PE·SIMD = 4·15."""
    cfg = LayerConfig(kernel=5, stride=2, c_in=3, c_out=8, pe=4, simd=15, max_width=40, max_height=24, in_signed=False)
    frame = conv_frame(cfg, rng, 37, 23)
    params = random_params(cfg, rng, frames=[frame])
    dut = ConvLayer(cfg, params)
    want = expected(cfg, params, frame)

    def setup(ctx):
        ctx.set(dut.width, 37)
        ctx.set(dut.height, 23)

    got, _ = run_stream(dut, pixel_beats(frame, 3), len(want), rng, 0.2, 0.2, setup)
    check(got, want)


def test_params_rejected_with_names():
    cfg = config(3, 1, 2, 4, 2, 6, True)
    w = np.zeros((4, 2, 3, 3), dtype=np.int64)
    ok = dict(bias=np.zeros(4, dtype=np.int64), multiplier=np.full(4, 1 << 16), shift=np.full(4, 8))
    with pytest.raises(ValueError, match=r"weights \[-128\] outside the symmetric int8 range ±127"):
        Conv(cfg, ConvParams(np.where(np.arange(72).reshape(4, 2, 3, 3) == 5, -128, w), **ok))
    with pytest.raises(ValueError, match=r"weight has shape \(4, 2, 5, 5\), the layer needs \(4, 2, 3, 3\)"):
        Conv(cfg, ConvParams(np.zeros((4, 2, 5, 5), dtype=np.int64), **ok))
    with pytest.raises(ValueError, match=r"multiplier \[131072\] outside \[1, 2\*\*17\)"):
        ConvParams(w, ok["bias"], np.array([1, 2, 3, 1 << 17]), ok["shift"])
    with pytest.raises(ValueError, match=r"shift \[63\] outside \[0, 62\]"):
        ConvParams(w, ok["bias"], ok["multiplier"], np.array([0, 1, 63, 2]))
    with pytest.raises(ValueError, match=r"bias has shape \(3,\), expected \(4,\)"):
        ConvParams(w, np.zeros(3, dtype=np.int64), ok["multiplier"], ok["shift"])
    with pytest.raises(ValueError, match=r"beyond acc_bits=32"):
        Conv(cfg, ConvParams(w, np.full(4, 1 << 31), ok["multiplier"], ok["shift"]))
    with pytest.raises(ValueError, match=r"must hold integers"):
        ConvParams(w.astype(float), **ok)


def divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


@pytest.mark.parametrize("seed", range(8))
def test_conv_layer_random_configs(seed):
    """Random kernel (1, 3, 5), stride, C_in, C_out, PE, SIMD, input and output types,
    frame size and handshake densities, through the whole layer."""
    rng = np.random.default_rng(seed)
    kernel = int(rng.choice([1, 3, 5]))
    stride = int(rng.choice([1, 2])) if kernel > 1 else 1
    c_in, c_out = int(rng.integers(1, 5)), int(rng.integers(1, 7))
    cfg = LayerConfig(
        kernel=kernel,
        stride=stride,
        c_in=c_in,
        c_out=c_out,
        pe=int(rng.choice(divisors(c_out))),
        simd=int(rng.choice(divisors(kernel * kernel * c_in))),
        max_width=int(rng.integers(1, 10)),
        max_height=int(rng.integers(1, 8)),
        in_signed=bool(rng.integers(2)),
    )
    width, height = int(rng.integers(1, cfg.max_width + 1)), int(rng.integers(1, cfg.max_height + 1))
    frames = [conv_frame(cfg, rng, width, height) for _ in range(2)]
    params = random_params(cfg, rng, out_signed=bool(rng.integers(2)), frames=frames)
    dut = ConvLayer(cfg, params)
    beats = [b for f in frames for b in pixel_beats(f, cfg.simd if dut.addressed else c_in)]
    want = [b for f in frames for b in expected(cfg, params, f)]

    def setup(ctx):
        ctx.set(dut.width, width)
        ctx.set(dut.height, height)

    got, _ = run_stream(
        dut, beats, len(want), rng, float(rng.choice([0, 0.3, 0.7])), float(rng.choice([0, 0.3, 0.7])), setup
    )
    check(got, want)
