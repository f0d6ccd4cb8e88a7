"""EncoderConfig: the engines must fit together; the FIFO rule."""

import re

import numpy as np
import pytest
from amaranth.hdl import Fragment

from licfpga.formats import index_bits
from licfpga.rtl.config import LayerConfig
from licfpga.rtl.conv import ConvParams
from licfpga.rtl.encoder import ConvStage, Encoder, EncoderConfig, GDNStage, pipe_fifo_depth
from licfpga.sim.stimuli import gdn_config, gdn_params


def conv(
    name,
    c_in,
    c_out,
    *,
    kernel=5,
    stride=2,
    pe=1,
    simd=1,
    in_bits=8,
    in_signed=True,
    out_bits=8,
    out_signed=True,
    max_size=(32, 32),
    transposed=False,
    levels=0,
):
    cfg = LayerConfig(
        kernel=kernel,
        stride=stride,
        c_in=c_in,
        c_out=c_out,
        transposed=transposed,
        pe=pe,
        simd=simd,
        max_width=max_size[0],
        max_height=max_size[1],
        in_bits=in_bits,
        in_signed=in_signed,
    )
    thresholds = np.tile(np.arange(levels) * 100, (c_out, 1)) if levels else None
    params = ConvParams(
        np.ones((c_out, c_in, kernel, kernel), dtype=np.int64),
        np.zeros(c_out, dtype=np.int64),
        np.full(c_out, 1 << 16),
        np.full(c_out, 20),
        index_bits(levels) if levels else out_bits,
        out_signed and not levels,
        thresholds,
    )
    return ConvStage(name, cfg, params)


def stages(y_bits=16, h_in_bits=8, h_c_in=4, max_size=(32, 32), s_c_out=4, s_levels=8):
    gdn = GDNStage("g_a.1", gdn_config(gdn_params(np.random.default_rng(0), 2, False, 8), 1, 1))
    analysis = (
        conv("g_a.0", 3, 2, in_signed=False, max_size=max_size),
        gdn,
        conv("g_a.2", 2, 4, out_bits=y_bits, max_size=(16, 16)),
    )
    hyper = (conv("h_a.0", h_c_in, 2, kernel=3, stride=1, in_bits=h_in_bits, in_signed=False, max_size=(8, 8)),)
    synthesis = (
        conv("h_s.0", 2, 2, transposed=True, out_signed=False, max_size=(8, 8)),
        conv("h_s.2", 2, s_c_out, kernel=3, stride=1, in_signed=False, levels=s_levels, max_size=(16, 16)),
    )
    return analysis, hyper, synthesis


def test_a_consistent_encoder_elaborates():
    analysis, hyper, synthesis = stages()
    cfg = EncoderConfig(analysis, hyper, synthesis, 32, 32, y_buffer=8)
    # ŷ, ẑ and the index frame (h_s upsamples ẑ by 2 here).
    assert cfg.latent_sizes(32, 32) == ((8, 8), (8, 8), (16, 16))
    assert cfg.latent_sizes(17, 9) == ((5, 3), (5, 3), (10, 6))
    enc = Encoder(cfg)
    assert enc.o.payload.shape().size == 16 + 4
    Fragment.get(enc, None)
    # Two output pixels behind every engine but h_a's last (at least 3 beats); both ẑ
    # buffers hold a whole ẑ frame.
    assert cfg.fifo_depths == {
        "g_a.0": 4,
        "g_a.1": 4,
        "g_a.2": 8,
        "h_s.0": 4,
        "h_s.2": 8,
        "y": 8,
        "z": 8 * 8 * 2,
        "zs": 8 * 8 * 2,
    }
    assert pipe_fifo_depth(hyper[0]) == 4
    # Payloads: PE elements and 4 markers; g_a's last FIFO holds |ŷ| (uint8), the ŷ
    # branch int16, h_s's last the 3-bit indexes of 8 levels.
    assert cfg.fifo_bits == {
        "g_a.0": 8 + 4,
        "g_a.1": 8 + 4,
        "g_a.2": 8 + 4,
        "h_s.0": 8 + 4,
        "h_s.2": 3 + 4,
        "y": 16 + 4,
        "z": 8 + 4,
        "zs": 8 + 4,
    }


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(h_c_in=5), "h_a.0 reads C_in=5, ŷ has 4 channels"),
        (dict(h_in_bits=7), "|ŷ| is unsigned(8)"),
        (dict(y_bits=17), "ŷ must be signed of at most 16 bits"),
        (dict(s_c_out=2), "h_s.2 writes 2 indexes per pixel, ŷ has 4 channels"),
        (dict(s_levels=0), "h_s.2: h_s's last engine must output scale indexes (thresholds)"),
    ],
)
def test_mismatches_are_named(change, message):
    analysis, hyper, synthesis = stages(**change)
    with pytest.raises(ValueError, match=re.escape(message)):
        EncoderConfig(analysis, hyper, synthesis, 32, 32, y_buffer=8)


def test_line_buffers_too_small_for_the_maximum_frame():
    analysis, hyper, synthesis = stages()
    with pytest.raises(ValueError, match=r"g_a.0: line buffers for 32×32, but a 64×32 frame reaches it as 64×32"):
        EncoderConfig(analysis, hyper, synthesis, 64, 32, y_buffer=8)


def test_y_buffer_below_three():
    analysis, hyper, synthesis = stages()
    with pytest.raises(ValueError, match="y_buffer=2"):
        EncoderConfig(analysis, hyper, synthesis, 32, 32, y_buffer=2)


def test_signed_element_types_chain():
    analysis, hyper, synthesis = stages()
    bad = (analysis[0], analysis[1], conv("g_a.2", 2, 4, in_signed=False, out_bits=16, max_size=(16, 16)))
    with pytest.raises(ValueError, match=r"g_a.2 reads unsigned\(8\), g_a.1 writes signed\(8\)"):
        EncoderConfig(bad, hyper, synthesis, 32, 32, y_buffer=8)
    # h_s reads ẑ (int8), not an unsigned type
    bad = (conv("h_s.0", 2, 2, transposed=True, in_signed=False, out_signed=False, max_size=(8, 8)), synthesis[1])
    with pytest.raises(ValueError, match=r"h_s.0 reads unsigned\(8\), h_a.0 writes signed\(8\)"):
        EncoderConfig(analysis, hyper, bad, 32, 32, y_buffer=8)
