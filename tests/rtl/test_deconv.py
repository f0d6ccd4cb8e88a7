# amaranth: UnusedElaboratable=no
"""The stride-2 transposed convolution against `model.intops.conv_transpose2d_int` +
`requantize`, bit for bit, with random weights, data and handshakes."""

import pytest
from streamsim import run_stream

from licfpga.gen.cost import Folding, layer_cost
from licfpga.gen.layers import ConvSpec
from licfpga.rtl.config import LayerConfig
from licfpga.rtl.deconv import TransposedConvLayer
from licfpga.sim.reference import pixel_beats
from licfpga.sim.stimuli import deconv_expected, deconv_params


def random_params(cfg, rng, out_signed, frames):
    return deconv_params(cfg, rng, out_signed, frames)


def expected(cfg, params, frame):
    return pixel_beats(deconv_expected(cfg, params, frame), cfg.pe)


CONFIGS = [  # kernel, c_in, c_out, pe, simd, out_signed
    (5, 2, 2, 1, 6, True),  # G=2 beats per output pixel
    (5, 3, 4, 4, 27, False),  # one beat per output pixel, ReLU
    (3, 2, 3, 3, 2, True),  # word-addressed windows
]


@pytest.mark.parametrize(
    "kernel,c_in,c_out,pe,simd,out_signed",
    CONFIGS,
    ids=[f"k{k}c{ci}to{co}pe{pe}simd{si}" for k, ci, co, pe, si, _ in CONFIGS],
)
@pytest.mark.parametrize("width,height", [(5, 4), (1, 1), (3, 1), (1, 3)])
def test_transposed_random_handshake(kernel, c_in, c_out, pe, simd, out_signed, width, height, rng):
    cfg = LayerConfig(
        stride=2, transposed=True, kernel=kernel, c_in=c_in, c_out=c_out, pe=pe, simd=simd, max_width=8, max_height=6
    )
    frames = [rng.integers(-127, 128, (height, width, c_in)) for _ in range(2)]
    params = random_params(cfg, rng, out_signed, frames)
    dut = TransposedConvLayer(cfg, params)
    addressed = c_in % simd == 0
    beats = [b for f in frames for b in pixel_beats(f, simd if addressed else c_in)]
    want = [b for f in frames for b in expected(cfg, params, f)]

    def setup(ctx):
        ctx.set(dut.width, width)
        ctx.set(dut.height, height)

    got, _ = run_stream(dut, beats, len(want), rng, 0.3, 0.3, setup)
    for n, (g, e) in enumerate(zip(got, want)):
        assert g == e, f"beat {n} of {len(want)}: got {g}, expected {e}"


def test_transposed_rejects():
    with pytest.raises(ValueError, match=r"PE=4 does not divide C_out=6 \(a beat would mix phases\)"):
        LayerConfig(stride=2, transposed=True, kernel=5, c_in=2, c_out=6, pe=4, simd=6, max_width=8, max_height=8)
    with pytest.raises(ValueError, match=r"kernel=7"):
        LayerConfig(stride=2, transposed=True, kernel=7, c_in=2, c_out=6, pe=3, simd=6, max_width=8, max_height=8)
    with pytest.raises(ValueError, match=r"SIMD=5 does not divide the window vector"):
        LayerConfig(stride=2, transposed=True, kernel=5, c_in=2, c_out=6, pe=3, simd=5, max_width=8, max_height=8)
    with pytest.raises(ValueError, match=r"stride=1: a transposed layer upsamples by 2"):
        LayerConfig(stride=1, transposed=True, kernel=5, c_in=2, c_out=6, pe=3, simd=6, max_width=8, max_height=8)
    with pytest.raises(ValueError, match=r"needs a transposed LayerConfig"):
        TransposedConvLayer(
            LayerConfig(stride=2, kernel=5, c_in=2, c_out=6, pe=3, simd=5, max_width=8, max_height=8), None
        )


def test_transposed_throughput(rng):
    """Stall-free: the phase convolution's frame (`gen.cost`) plus 2·G cycles per input
    pixel for the buffered odd rows, the first two input rows and the latency."""
    cfg = LayerConfig(stride=2, transposed=True, kernel=5, c_in=2, c_out=4, pe=2, simd=9, max_width=8, max_height=6)
    width, height = 7, 5
    frame = rng.integers(-127, 128, (height, width, 2))
    params = random_params(cfg, rng, True, [frame])
    dut = TransposedConvLayer(cfg, params)
    want = expected(cfg, params, frame)

    def setup(ctx):
        ctx.set(dut.width, width)
        ctx.set(dut.height, height)

    got, cycles = run_stream(dut, pixel_beats(frame, 2), len(want), rng, 0, 0, setup)
    assert got == want
    spec = ConvSpec(
        name="phases",
        kernel=3,
        stride=1,
        c_in=2,
        c_out=16,
        in_bits=8,
        in_signed=True,
        out_bits=8,
        out_signed=True,
        acc_bits=32,
        acc_bound_bits=24,
    )
    phases = layer_cost(spec, Folding(cfg.pe, cfg.simd), width, height, cfg.max_width).cycles
    groups = cfg.c_out // cfg.pe
    bound = phases + 2 * groups * width * height + 2 * width + dut.latency + 4
    assert cycles[-1] <= bound, f"{cycles[-1]} cycles > {bound}"


def transposed_interval(cfg, params, rng, width, height):
    """Cycles between the last beats of two frames streamed back to back, stall-free."""
    frames = [rng.integers(-127, 128, (height, width, cfg.c_in)) for _ in range(2)]
    dut = TransposedConvLayer(cfg, params)
    beats = [b for f in frames for b in pixel_beats(f, cfg.simd if cfg.addressed(cfg.simd) else cfg.c_in)]
    want = [b for f in frames for b in expected(cfg, params, f)]

    def setup(ctx):
        ctx.set(dut.width, width)
        ctx.set(dut.height, height)

    got, cycles = run_stream(dut, beats, len(want), rng, 0, 0, setup)
    assert got == want
    return cycles[-1] - cycles[len(want) // 2 - 1]


# As tests/rtl/test_conv.py's: a couple of cycles of phase difference between two frames.
INTERVAL_SLACK = 2
INTERVALS = [  # kernel, c_in, c_out, pe, simd: G = C_out/PE, SF = 9·C_in/SIMD
    (5, 2, 4, 4, 18),  # SF=1: the row shuffle paces, every replay cycle counts
    (5, 2, 4, 2, 9),  # G=2, SF=2: the FIFO absorbs 4 cycles of each replay (model: 2)
    (5, 2, 2, 1, 6),  # G=2, SF=3, sliding windows: absorbs 7 (model: 4)
    (3, 2, 3, 3, 2),  # SF=9, word-addressed: the FIFO absorbs these rows' whole replays
]


@pytest.mark.parametrize(
    "kernel,c_in,c_out,pe,simd",
    INTERVALS,
    ids=[f"k{k}c{ci}to{co}pe{pe}simd{si}" for k, ci, co, pe, si in INTERVALS],
)
@pytest.mark.parametrize("width,height", [(6, 3), (2, 2)])
def test_transposed_frame_interval(kernel, c_in, c_out, pe, simd, width, height, rng):
    """Back-to-back frames arrive at `gen.cost.layer_cost`'s frame interval of the
    transposed spec: the phase convolution's plus the row shuffle's replay stall, an upper
    bound that is at most SF cycles per input row above (the output FIFO absorbs more of
    a replay than the model counts)."""
    cfg = LayerConfig(
        stride=2, transposed=True, kernel=kernel, c_in=c_in, c_out=c_out, pe=pe, simd=simd, max_width=8, max_height=4
    )
    params = random_params(cfg, rng, False, ())
    spec = ConvSpec(
        name="deconv",
        kernel=kernel,
        stride=2,
        c_in=c_in,
        c_out=c_out,
        transposed=True,
        in_bits=8,
        in_signed=True,
        out_bits=8,
        out_signed=False,
        acc_bits=32,
        acc_bound_bits=24,
    )
    model = layer_cost(spec, Folding(pe, simd), width, height, cfg.max_width).cycles
    interval = transposed_interval(cfg, params, rng, width, height)
    sf = 9 * c_in // simd
    assert model - height * sf <= interval <= model + INTERVAL_SLACK, f"{interval} cycles per frame, model {model}"
