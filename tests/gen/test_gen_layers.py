import numpy as np
import pytest

from licfpga.gen.layers import AbsSpec, ConvSpec, GDNSpec, encoder_from_artefact, encoder_topology
from licfpga.model.artefact import Artefact, ConvLayer, GDNLayer, topology
from licfpga.model.hyperprior import macs_per_pixel
from licfpga.model.intops import quantize_gdn


def random_artefact(N, M, seed=0):
    """An artefact with random integers of the right shapes and ranges: gen reads shapes,
    types and biases only, so no training is needed."""
    rng = np.random.default_rng(seed)
    layers = []
    for spec in topology(N, M):
        if spec.kind in ("gdn", "igdn"):
            params = quantize_gdn(
                rng.uniform(0.5, 1.5, spec.c_in),
                rng.uniform(0, 0.1, (spec.c_in, spec.c_in)),
                0.05,
                0.05,
                inverse=spec.kind == "igdn",
            )
            layers.append(GDNLayer(spec, params))
            continue
        weight = rng.integers(-127, 128, spec.weight_shape)
        bias = rng.integers(-1000, 1001, spec.c_out)
        if spec.out_type is None:
            layers.append(ConvLayer(spec, weight, bias, thresholds=np.zeros((spec.c_out, 64), np.int64)))
        else:
            layers.append(ConvLayer(spec, weight, bias, np.full(spec.c_out, 1 << 16), np.full(spec.c_out, 20)))
    return Artefact("random", N, M, tuple(layers), (), ())


def test_encoder_order_and_kinds():
    enc = encoder_topology(64)
    assert [layer.name for layer in enc.layers] == [
        "g_a.0",
        "g_a.1",
        "g_a.2",
        "g_a.3",
        "g_a.4",
        "g_a.5",
        "g_a.6",
        "abs",
        "h_a.0",
        "h_a.2",
        "h_a.4",
        "h_s.0",
        "h_s.2",
        "h_s.4",
    ]
    assert [type(layer) for layer in enc.layers] == [ConvSpec, GDNSpec] * 3 + [ConvSpec, AbsSpec] + [ConvSpec] * 6
    first, y, absolute, h0 = enc.layers[0], enc.layers[6], enc.layers[7], enc.layers[8]
    assert (first.in_bits, first.in_signed, first.c_in) == (8, False, 3)  # pixels as uint8
    assert (y.out_bits, y.c_out) == (16, 192)  # ŷ int16
    assert (absolute.in_bits, absolute.out_bits, absolute.channels) == (16, 8, 192)
    assert (h0.kernel, h0.stride, h0.in_signed, h0.out_signed) == (3, 1, False, False)  # ReLU folded
    assert enc.layers[10].out_signed  # ẑ int8
    s0, s2, s4 = enc.layers[11:]
    assert s0.transposed and s2.transposed and not s4.transposed
    assert (s0.in_bits, s0.in_signed, s0.out_signed, s2.in_signed) == (8, True, False, False)  # ẑ in, ReLUs
    # h_s's last: the scale index of 64 levels (6 bits) of each of ŷ's 192 channels
    assert (s4.levels, s4.out_bits, s4.out_signed, s4.c_out) == (64, 6, False, 192)
    assert [layer.serial for layer in enc.layers] == [False] * 11 + [True] * 3


@pytest.mark.parametrize("N", [32, 64, 128])
def test_macs_match_the_model(N):
    """The engines do exactly the MACs the network has (padded frames: exact strides)."""
    m = macs_per_pixel(N, 192)
    enc = encoder_topology(N)
    assert enc.macs(1280, 768) == pytest.approx((m["g_a"] + m["h_a"] + m["h_s"]) * 1280 * 768, rel=1e-12)


def test_frame_sizes_halve_six_times():
    enc = encoder_topology(32)
    sizes = enc.frame_sizes(1920, 1088)
    assert sizes[0] == (1920, 1088) and sizes[10] == (60, 34)
    assert enc.layers[10].out_size(*sizes[10]) == (30, 17)  # ẑ
    # h_s upsamples ẑ twice, back to ŷ's 120×68
    assert sizes[11:] == [(30, 17), (60, 34), (120, 68)] and enc.layers[-1].out_size(*sizes[-1]) == (120, 68)


def test_artefact_and_topology_share_one_path():
    art = random_artefact(8, 16)
    from_art, from_topo = encoder_from_artefact(art), encoder_topology(8, 16)
    assert from_art.source == "random" and len(from_art.layers) == len(from_topo.layers)
    for a, t in zip(from_art.layers, from_topo.layers):
        if isinstance(a, ConvSpec):
            # The artefact's biases can only widen the reachable accumulator.
            assert a.acc_bound_bits >= t.acc_bound_bits
            a = ConvSpec(**{**a.__dict__, "acc_bound_bits": t.acc_bound_bits})
        assert a == t


def test_accumulator_bound_decides_requantizer_width():
    enc = {layer.name: layer for layer in encoder_topology(128).layers}
    # docs/number-formats.md: 23 bits for the pixel layer, 27 for int8 5×5×128, 28 for h_a's uint8 inputs.
    assert enc["g_a.0"].acc_bound_bits == 23
    assert enc["g_a.2"].acc_bound_bits == 27
    assert enc["h_a.2"].acc_bound_bits == 28


def test_layer_config_for_the_rtl():
    conv = encoder_topology(64).layers[2]
    cfg = conv.layer_config(pe=16, simd=64, max_width=960, max_height=544)
    assert (cfg.kernel, cfg.stride, cfg.c_in, cfg.c_out, cfg.pe, cfg.simd) == (5, 2, 64, 64, 16, 64)
    assert (cfg.in_bits, cfg.in_signed, cfg.acc_bits, cfg.max_width) == (8, True, 32, 960)
    with pytest.raises(ValueError, match="PE=3 does not divide C_out=64"):
        conv.layer_config(pe=3, simd=64, max_width=960, max_height=544)
