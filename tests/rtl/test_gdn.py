# amaranth: UnusedElaboratable=no
"""The GDN32 / inverse-GDN32 unit against `model.intops.gdn32` / `igdn32`, bit for bit,
with random parameters and data, an idle source and a back-pressured sink; throughput
against `gen.cost`."""

import numpy as np
import pytest
from streamsim import run_stream

from licfpga.gen.cost import Folding, layer_cost
from licfpga.gen.layers import GDNSpec
from licfpga.model import intops
from licfpga.rtl.gdn import GDN, GDNConfig
from licfpga.sim.reference import pixel_beats
from licfpga.sim.stimuli import gdn_config, gdn_expected, gdn_frame, gdn_params


def expected(params, x, pe):
    return pixel_beats(gdn_expected(params, x), pe)


def check(got, want):
    for n, (g, e) in enumerate(zip(got, want)):
        assert g == e, f"beat {n} of {len(want)}: got {g}, expected {e}"


CONFIGS = [  # channels, pe, simd, in_bits
    (4, 2, 2, 8),
    (6, 3, 1, 8),  # NF=2, SF=6: one tail lane, 3 steps
    (6, 6, 6, 8),  # SF=1, NF=1: six tail lanes
    (8, 4, 8, 16),  # int16 input (rounded squares), SF=1, NF=2
    (5, 5, 1, 16),  # SF=5 = drain steps
]


@pytest.mark.parametrize("inverse", [False, True], ids=["gdn", "igdn"])
@pytest.mark.parametrize("channels,pe,simd,in_bits", CONFIGS, ids=[f"c{c}pe{p}simd{s}in{b}" for c, p, s, b in CONFIGS])
def test_gdn_random_handshake(channels, pe, simd, in_bits, inverse, rng):
    params = gdn_params(rng, channels, inverse, in_bits)
    frames = [gdn_frame(rng, w, h, channels, in_bits) for w, h in [(9, 7), (1, 1), (2, 3)]]
    beats = [b for f in frames for b in pixel_beats(f, simd)]
    want = [b for f in frames for b in expected(params, f, pe)]
    got, _ = run_stream(GDN(gdn_config(params, pe, simd)), beats, len(want), rng, 0.3, 0.3)
    check(got, want)


@pytest.mark.parametrize("inverse", [False, True], ids=["gdn", "igdn"])
def test_gdn_small_normaliser(inverse, rng):
    """Tiny β: zero pixels give normalisers below 2**24 (left-shifted mantissas)."""
    params = gdn_params(rng, 4, inverse, 8, tiny_beta=True)
    x = gdn_frame(rng, 5, 4, 4, 8)
    x[1] = 0
    x[2] = rng.integers(-2, 3, x[2].shape)
    assert int(intops.gdn_normaliser(x.transpose(2, 0, 1)[None], params).min()) < 1 << 24
    want = expected(params, x, 2)
    got, _ = run_stream(GDN(gdn_config(params, 2, 4)), pixel_beats(x, 4), len(want), rng, 0.2, 0.2)
    check(got, want)


@pytest.mark.parametrize("inverse", [False, True], ids=["gdn", "igdn"])
@pytest.mark.parametrize("channels,pe,simd,in_bits", CONFIGS, ids=[f"c{c}pe{p}simd{s}in{b}" for c, p, s, b in CONFIGS])
def test_gdn_throughput(channels, pe, simd, in_bits, inverse, rng):
    """Stall-free: `gen.cost`'s C/PE·C/SIMD cycles per pixel plus the latency, once."""
    params = gdn_params(rng, channels, inverse, in_bits)
    width, height = 9, 7
    x = gdn_frame(rng, width, height, channels, in_bits)
    dut = GDN(gdn_config(params, pe, simd))
    want = expected(params, x, pe)
    got, cycles = run_stream(dut, pixel_beats(x, simd), len(want), rng, 0, 0)
    check(got, want)
    spec = GDNSpec("gdn", channels, in_bits, 8, params.coef_bits, params.acc_bits)
    ideal = layer_cost(spec, Folding(pe, simd), width, height, width).cycles
    assert cycles[-1] <= ideal + dut.latency, f"{cycles[-1]} cycles, model {ideal} + latency {dut.latency}"


def test_config_rejected_with_names(rng):
    params = gdn_params(rng, 4, False, 8)
    with pytest.raises(ValueError, match=r"PE=3 does not divide C=4"):
        gdn_config(params, 3, 2)
    with pytest.raises(ValueError, match=r"rsqrt_table has shape \(512,\), expected \(1024,\)"):
        GDNConfig.from_params(params, pe=2, simd=2, rsqrt_table=intops.RSQRT_TABLE[:512], square_shift=0)
    gamma = params.gamma.copy()
    gamma[1, 2] = 1 << 26
    with pytest.raises(ValueError, match=r"gamma \[67108864\] outside \[0, 67108864\)"):
        GDNConfig(2, 2, False, 8, 8, 26, 48, params.beta, gamma, params.multiplier, params.shift, intops.RSQRT_TABLE, 0)
    with pytest.raises(ValueError, match=r"normaliser can reach 4329595405309, beyond acc_bits=40"):
        GDNConfig(
            2,
            2,
            False,
            8,
            8,
            26,
            40,
            np.ones(4, dtype=np.int64),
            np.full((4, 4), (1 << 26) - 1),
            params.multiplier,
            params.shift,
            intops.RSQRT_TABLE,
            0,
        )


@pytest.mark.parametrize("seed", range(8))
def test_gdn_random_configs(seed):
    """Random C (1…8), PE, SIMD, input width, direction, frame size and handshake."""
    rng = np.random.default_rng(seed)
    channels = int(rng.integers(1, 9))
    divisors = [d for d in range(1, channels + 1) if channels % d == 0]
    pe, simd = int(rng.choice(divisors)), int(rng.choice(divisors))
    in_bits, inverse = int(rng.choice([8, 16])), bool(rng.integers(2))
    params = gdn_params(rng, channels, inverse, in_bits, tiny_beta=bool(rng.integers(2)))
    x = gdn_frame(rng, int(rng.integers(1, 7)), int(rng.integers(1, 5)), channels, in_bits)
    want = expected(params, x, pe)
    got, _ = run_stream(
        GDN(gdn_config(params, pe, simd)),
        pixel_beats(x, simd),
        len(want),
        rng,
        float(rng.choice([0, 0.3, 0.7])),
        float(rng.choice([0, 0.3, 0.7])),
    )
    check(got, want)
