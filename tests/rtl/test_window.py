# amaranth: UnusedElaboratable=no
import numpy as np
import pytest
from streamsim import run_stream

from licfpga.rtl.config import LayerConfig
from licfpga.rtl.window import AddressedWindow, SlidingWindow
from licfpga.sim.reference import pixel_beats, window_beats, window_cycles


def frame_for(cfg, rng, width, height):
    lo, hi = (-128, 128) if cfg.in_signed else (0, 256)
    return rng.integers(lo, hi, (height, width, cfg.c_in))


def run_window(cfg, frames, rng, idle, stall, generator=SlidingWindow):
    """Streams frames back to back (all of one size) and checks every output beat."""
    height, width, _ = frames[0].shape
    simd_in = cfg.simd if generator is AddressedWindow else cfg.c_in
    beats = [b for f in frames for b in pixel_beats(f, simd_in)]
    expected = [b for f in frames for b in window_beats(f, cfg.kernel, cfg.stride, cfg.simd)]

    def setup(ctx):
        ctx.set(dut.width, width)
        ctx.set(dut.height, height)

    dut = generator(cfg)
    got, cycles = run_stream(dut, beats, len(expected), rng, idle, stall, setup)
    for n, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"beat {n} of {len(expected)}: got {g}, expected {e}"
    return cycles


def random_config(rng, generator):
    kernel = int(rng.choice([1, 3, 5]))
    stride = int(rng.choice([1, 2])) if kernel > 1 else 1
    c_in = int(rng.integers(1, 5))
    vector = c_in if generator is AddressedWindow else kernel * kernel * c_in
    simd = int(rng.choice([d for d in range(1, vector + 1) if vector % d == 0]))
    return LayerConfig(
        kernel=kernel,
        stride=stride,
        c_in=c_in,
        c_out=1,
        pe=1,
        simd=simd,
        max_width=int(rng.integers(1, 12)),
        max_height=int(rng.integers(1, 10)),
        in_signed=bool(rng.integers(2)),
    )


CONFIGS = [  # kernel, stride, c_in, simd
    (3, 1, 2, 2),
    (3, 2, 2, 6),
    (5, 2, 3, 15),  # the first layer of g_a: SIMD does not divide C_in
    (5, 1, 1, 25),
    (5, 2, 2, 1),
]


@pytest.mark.parametrize("kernel,stride,c_in,simd", CONFIGS)
@pytest.mark.parametrize("width,height", [(9, 7), (1, 1), (1, 6), (6, 1), (2, 3)])
def test_window_random_handshake(kernel, stride, c_in, simd, width, height, rng):
    cfg = LayerConfig(kernel=kernel, stride=stride, c_in=c_in, c_out=4, pe=1, simd=simd, max_width=12, max_height=9)
    run_window(cfg, [frame_for(cfg, rng, width, height) for _ in range(2)], rng, 0.3, 0.3)


@pytest.mark.parametrize("generator", [SlidingWindow, AddressedWindow])
@pytest.mark.parametrize("seed", range(12))
def test_window_random_configs(seed, generator):
    """Random kernel (1, 3, 5), stride, C_in, SIMD, maximum and actual frame sizes and
    handshake densities."""
    rng = np.random.default_rng(seed)
    cfg = random_config(rng, generator)
    width, height = int(rng.integers(1, cfg.max_width + 1)), int(rng.integers(1, cfg.max_height + 1))
    run_window(
        cfg,
        [frame_for(cfg, rng, width, height) for _ in range(2)],
        rng,
        float(rng.choice([0, 0.3, 0.7])),
        float(rng.choice([0, 0.3, 0.7])),
        generator,
    )


ADDRESSED = [  # kernel, stride, c_in, simd
    (3, 1, 4, 2),
    (5, 2, 4, 4),
    (3, 2, 2, 1),
]


@pytest.mark.parametrize("kernel,stride,c_in,simd", ADDRESSED)
@pytest.mark.parametrize("width,height", [(9, 7), (1, 1), (1, 6), (6, 1)])
def test_addressed_random_handshake(kernel, stride, c_in, simd, width, height, rng):
    cfg = LayerConfig(kernel=kernel, stride=stride, c_in=c_in, c_out=4, pe=1, simd=simd, max_width=12, max_height=9)
    run_window(cfg, [frame_for(cfg, rng, width, height) for _ in range(2)], rng, 0.3, 0.3, AddressedWindow)


@pytest.mark.parametrize("kernel,stride,c_in,simd", ADDRESSED)
def test_addressed_throughput(kernel, stride, c_in, simd, rng):
    """Stall-free: a beat every cycle once the rows are in, no gap at line starts."""
    cfg = LayerConfig(kernel=kernel, stride=stride, c_in=c_in, c_out=4, pe=1, simd=simd, max_width=16, max_height=12)
    width, height = 13, 11
    cycles = run_window(cfg, [frame_for(cfg, rng, width, height)], rng, 0, 0, AddressedWindow)
    assert cycles[-1] <= window_cycles(cfg, width, height, c_in // simd) + 4


def test_addressed_rejects_simd_across_pixels():
    with pytest.raises(ValueError, match=r"SIMD=15 does not divide C_in=3"):
        AddressedWindow(LayerConfig(kernel=5, stride=2, c_in=3, c_out=4, pe=1, simd=15, max_width=8, max_height=8))


def test_window_odd_frame_unsigned(rng):
    cfg = LayerConfig(kernel=5, stride=2, c_in=3, c_out=4, pe=1, simd=75, max_width=40, max_height=24, in_signed=False)
    run_window(cfg, [frame_for(cfg, rng, 37, 23)], rng, 0.2, 0.2)


@pytest.mark.parametrize("kernel,stride,c_in,simd", CONFIGS + [(3, 2, 1, 9), (5, 2, 3, 75)])
def test_window_throughput(kernel, stride, c_in, simd, rng):
    """Stall-free, a frame takes the reference cycle count plus the pipeline latency."""
    cfg = LayerConfig(kernel=kernel, stride=stride, c_in=c_in, c_out=4, pe=1, simd=simd, max_width=16, max_height=12)
    width, height = 13, 11
    cycles = run_window(cfg, [frame_for(cfg, rng, width, height)], rng, 0, 0)
    assert cycles[-1] <= window_cycles(cfg, width, height) + 6


def test_window_rejects_bad_simd():
    with pytest.raises(ValueError, match=r"SIMD=7 does not divide the window vector K·K·C_in=5·5·3=75"):
        LayerConfig(kernel=5, stride=2, c_in=3, c_out=4, pe=1, simd=7, max_width=8, max_height=8)
