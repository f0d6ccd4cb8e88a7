# amaranth: UnusedElaboratable=no
"""The convolution engine against `model.intops` (conv2d_int + requantize, or + scale_index),
bit for bit, with random weights, data, idle source and back-pressured sink; throughput
against `gen.cost`."""

import numpy as np
import pytest
from amaranth.hdl import unsigned
from streamsim import run_stream

from licfpga.formats import index_bits
from licfpga.gen.cost import Folding, layer_cost
from licfpga.gen.layers import ConvSpec
from licfpga.model.intops import scale_index
from licfpga.rtl.config import LayerConfig
from licfpga.rtl.conv import Conv, ConvLayer, ConvParams, scale_indexer
from licfpga.rtl.mvau import tree_stages
from licfpga.sim.reference import pixel_beats, window_beats
from licfpga.sim.stimuli import conv_expected, conv_frame, conv_params, index_params


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


# --- the scale-index tail (h_s's last layer) ----------------------------------------------

INDEX_CONFIGS = [  # kernel, stride, c_in, c_out, pe, simd, in_signed, levels
    (3, 1, 2, 4, 2, 6, False, 64),  # h_s's: uint8 input, L = 64; NF=2, SF=3, one lane, 2 steps
    (3, 2, 3, 6, 6, 3, True, 5),  # L = 5 (b = 3, 4 thresholds padded to 7); SF=9, 6 steps
    (1, 1, 4, 4, 4, 4, True, 3),  # SF=1, NF=1: four lanes of one word each
    (1, 1, 2, 5, 5, 1, False, 2),  # L = 2 (b = 1); 3 lanes, 2 steps, the last step part-empty
    (3, 1, 1, 6, 2, 3, True, 64),  # NF=3, SF=3, one lane, 2 steps
]
INDEX_IDS = [
    f"k{k}s{s}c{ci}to{co}pe{pe}simd{si}{'' if sg else 'u'}L{lv}" for k, s, ci, co, pe, si, sg, lv in INDEX_CONFIGS
]


def index_case(rng, kernel, stride, c_in, c_out, pe, simd, in_signed, levels, sizes):
    """A layer, frames of ``sizes`` and thresholds under which every index 0…L−1 occurs."""
    cfg = config(kernel, stride, c_in, c_out, pe, simd, in_signed)
    frames = [conv_frame(cfg, rng, w, h) for w, h in sizes]
    params = index_params(cfg, rng, levels, frames)
    indexes = np.concatenate([conv_expected(cfg, params, f).ravel() for f in frames])
    assert set(indexes.tolist()) == set(range(levels)), "not every index occurs: the test would prove little"
    t = params.thresholds
    assert (t[:, 0] == -(1 << 31)).any() and (t[:, -1] == (1 << 31) - 1).any()
    assert levels == 2 or (np.diff(t) == 0).any(), "no repeated threshold"
    return cfg, frames, params


@pytest.mark.parametrize("kernel,stride,c_in,c_out,pe,simd,in_signed,levels", INDEX_CONFIGS, ids=INDEX_IDS)
def test_scale_index_engine_random_handshake(kernel, stride, c_in, c_out, pe, simd, in_signed, levels, rng):
    """Windows into `Conv` with thresholds: ``scale_index(conv2d_int + bias)`` bit for bit."""
    cfg, frames, params = index_case(
        rng, kernel, stride, c_in, c_out, pe, simd, in_signed, levels, [(12, 9), (1, 1), (7, 5)]
    )
    dut = Conv(cfg, params)
    assert dut.o.payload.data.shape().elem_shape == unsigned(index_bits(levels))
    beats = [b for f in frames for b in window_beats(f, kernel, stride, simd)]
    want = [b for f in frames for b in expected(cfg, params, f)]
    got, _ = run_stream(dut, beats, len(want), rng, 0.3, 0.3)
    check(got, want)


@pytest.mark.parametrize(
    "kernel,stride,c_in,c_out,pe,simd,in_signed,levels",
    [INDEX_CONFIGS[0], INDEX_CONFIGS[1]],
    ids=[INDEX_IDS[0], INDEX_IDS[1]],
)
def test_scale_index_layer_random_handshake(kernel, stride, c_in, c_out, pe, simd, in_signed, levels, rng):
    """Window generator and index engine: pixels in, indexes out, two frames."""
    cfg, frames, params = index_case(rng, kernel, stride, c_in, c_out, pe, simd, in_signed, levels, [(12, 9)] * 2)
    dut = ConvLayer(cfg, params)
    beats = [b for f in frames for b in pixel_beats(f, simd if dut.addressed else c_in)]
    want = [b for f in frames for b in expected(cfg, params, f)]

    def setup(ctx):
        ctx.set(dut.width, 12)
        ctx.set(dut.height, 9)

    got, _ = run_stream(dut, beats, len(want), rng, 0.3, 0.3, setup)
    check(got, want)


def test_scale_index_extremes(rng):
    """acc + bias at both ends of its ``signed(v_bits)`` range, thresholds around them
    and beyond (clamped in the ROMs): 1×1 uint8 × ±127 + ∓382 reaches ±32767 = ±(2**15−1),
    v_bits = 16, thresholds clamp to [−2**15 − 1, 2**15 − 1]."""
    cfg = LayerConfig(kernel=1, stride=1, c_in=1, c_out=2, pe=2, simd=1, max_width=8, max_height=8, in_signed=False)
    weight = np.array([127, -127]).reshape(2, 1, 1, 1)
    top = (1 << 15) - 1
    rows = [  # v ∈ {382, 509, 32640, 32767} and {−382, −509, −32640, −32767}: indexes 2…5
        [-(1 << 31), 381, 382, 509, top - 1, top, top + 1, (1 << 31) - 1],
        [-top - 2, -top - 1, -top, -32640, -509, -382, top, (1 << 31) - 1],
    ]
    ones, zeros = np.ones(2, dtype=np.int64), np.zeros(2, dtype=np.int64)
    params = ConvParams(weight, np.array([382, -382]), ones, zeros, 3, False, np.array(rows))
    frame = rng.choice([0, 1, 254, 255], (4, 8, 1))
    frame[0, :4, 0] = [0, 1, 254, 255]
    want_idx = conv_expected(cfg, params, frame)
    acc = frame[..., 0, None] * np.array([127, -127]) + np.array([382, -382])
    assert (acc.max(axis=(0, 1)) == [top, -382]).all() and (acc.min(axis=(0, 1)) == [382, -top]).all()
    assert set(want_idx[..., 0].ravel()) == set(want_idx[..., 1].ravel()) == {2, 3, 4, 5}
    got, _ = run_stream(Conv(cfg, params), window_beats(frame, 1, 1, 1), 32, rng, 0.3, 0.3)
    check(got, pixel_beats(want_idx, 2))


def padded_search(row, v, v_bits):
    """The tail's search: the first L − 1 thresholds clamped to [−2**(v_bits−1) − 1,
    2**(v_bits−1) − 1], padded with the top to 2**b − 1, b probes from the top bit."""
    b = index_bits(len(row))
    lo, top = -(1 << (v_bits - 1)) - 1, (1 << (v_bits - 1)) - 1
    table = [min(max(int(t), lo), top) for t in row[:-1]] + [top] * ((1 << b) - len(row))
    prefix = 0
    for j in range(b):
        prefix = 2 * prefix + int(v > table[(prefix << (b - j)) + (1 << (b - j - 1)) - 1])
    return prefix


def test_padded_binary_search_is_scale_index():
    """The padded, clamped binary search over L − 1 thresholds equals
    ``min(#{k < L : T[k] < v}, L − 1)`` (`intops.scale_index`) for random sorted rows,
    duplicates and ±2**31 ends included, and every v of the range."""
    rng = np.random.default_rng(7)
    cases = 0
    for _ in range(300):
        levels, v_bits = int(rng.integers(2, 70)), int(rng.integers(2, 9))
        span = 1 << v_bits
        pool = np.concatenate([rng.integers(-span, span, levels), [-(1 << 31), (1 << 31) - 1]])
        row = np.sort(rng.choice(pool, levels))
        vs = np.arange(-(span >> 1), span >> 1)
        want = scale_index(vs[None, None, :], row[None, :])[0, 0]
        got = [padded_search(row, int(v), v_bits) for v in vs]
        assert got == want.tolist(), f"L={levels}, v_bits={v_bits}, row {row.tolist()}"
        cases += len(vs)
    assert cases > 10_000


@pytest.mark.parametrize("levels,bits", [(2, 1), (3, 2), (4, 2), (5, 3), (64, 6), (65, 7)])
def test_scale_indexer_latency(levels, bits):
    """``acc + bias``, then a ROM read and a compare per index bit: 1 + 2b."""
    assert index_bits(levels) == bits
    pipeline = scale_indexer(levels)
    assert pipeline.latency == 1 + 2 * bits
    assert list(pipeline.stages)[:3] == ["acc + bias", "bit 0: threshold read", "bit 0: compare"]


@pytest.mark.parametrize("kernel,stride,c_in,c_out,pe,simd,in_signed,levels", INDEX_CONFIGS, ids=INDEX_IDS)
def test_scale_index_engine_latency(kernel, stride, c_in, c_out, pe, simd, in_signed, levels, rng):
    """`Conv.latency` as its docstring counts it (`MVAU`'s 7 + tree + 1 + 2b + drain
    steps), and exact: stall-free, one window's last beat leaves NF·SF + ``latency``
    cycles after its first is offered (as it does with the requantizer)."""
    cfg = config(kernel, stride, c_in, c_out, pe, simd, in_signed)
    frame = conv_frame(cfg, rng, 1, 1)
    params = index_params(cfg, rng, levels, [frame])
    dut = Conv(cfg, params)
    lanes = -(-pe // cfg.window_beats)
    assert dut.latency == 7 + tree_stages(simd) + 1 + 2 * index_bits(levels) + -(-pe // lanes)
    want = expected(cfg, params, frame)
    got, cycles = run_stream(dut, window_beats(frame, kernel, stride, simd), len(want), rng, 0, 0)
    check(got, want)
    assert cycles[-1] == (c_out // pe) * cfg.window_beats + dut.latency


def test_index_params_rejected_with_names():
    w = np.zeros((2, 1, 1, 1), dtype=np.int64)
    bias, ones, zeros = np.zeros(2, dtype=np.int64), np.ones(2, dtype=np.int64), np.zeros(2, dtype=np.int64)
    row = [-(1 << 31), -5, 0, 0, 7]
    with pytest.raises(ValueError, match=r"thresholds rows \[1\] not sorted \(non-decreasing\)"):
        ConvParams(w, bias, ones, zeros, 3, False, np.array([row, [0, 1, 3, 2, 4]]))
    with pytest.raises(ValueError, match=r"thresholds has 1 level\(s\), a scale index needs at least 2"):
        ConvParams(w, bias, ones, zeros, 1, False, np.zeros((2, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"out_bits=8, out_signed=False: an index over 5 thresholds needs out_bits=3"):
        ConvParams(w, bias, ones, zeros, 8, False, np.array([row, row]))
    with pytest.raises(ValueError, match=r"out_bits=3, out_signed=True: .* needs out_bits=3, out_signed=False"):
        ConvParams(w, bias, ones, zeros, 3, True, np.array([row, row]))
    with pytest.raises(ValueError, match=r"thresholds \[2147483648\] outside the int32 range"):
        ConvParams(w, bias, ones, zeros, 3, False, np.array([row, row[:-1] + [1 << 31]]))
    with pytest.raises(ValueError, match=r"thresholds has shape \(3, 5\), expected \(2, levels\)"):
        ConvParams(w, bias, ones, zeros, 3, False, np.array([row] * 3))
    with pytest.raises(ValueError, match=r"multiplier \[0\] outside"):
        ConvParams(w, bias, np.array([1, 0]), zeros, 3, False, np.array([row, row]))
    with pytest.raises(ValueError, match=r"must hold integers"):
        ConvParams(w, bias, ones, zeros, 3, False, np.array([row, row], dtype=float))
