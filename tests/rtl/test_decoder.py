"""DecoderConfig and HyperConfig: the engines of g_s and of h_s must fit together; the FIFO
rule; the tops elaborate."""

import re

import numpy as np
import pytest
from amaranth.hdl import Fragment

from licfpga.rtl.decoder import Decoder, DecoderConfig, HyperConfig, HyperDecoder, decoder_fifo_depth
from licfpga.rtl.encoder import GDNStage, pipe_fifo_depth
from licfpga.sim.stimuli import gdn_config, gdn_params
from tests.rtl.test_encoder import conv


def igdn(name, channels=2, *, inverse=True, pe=1, simd=1):
    return GDNStage(name, gdn_config(gdn_params(np.random.default_rng(0), channels, inverse, 8), pe, simd))


def stages(in_bits=16, c_out=3, out_signed=False, inverse=True, mid_c_in=2, max_size=(4, 4)):
    """g_s in miniature: ŷ of 4 channels, a deconvolution, an inverse GDN, a deconvolution to RGB."""
    w, h = max_size
    return (
        conv("g_s.0", 4, 2, transposed=True, in_bits=in_bits, max_size=(w, h)),
        igdn("g_s.1", inverse=inverse),
        conv("g_s.2", mid_c_in, c_out, transposed=True, pe=c_out, out_signed=out_signed, max_size=(2 * w, 2 * h)),
    )


def test_a_consistent_decoder_elaborates():
    cfg = DecoderConfig(stages(), 4, 4)
    assert cfg.frame_sizes(4, 3) == [(4, 3), (8, 6), (8, 6)]
    assert cfg.out_size(4, 3) == (16, 12)
    dec = Decoder(cfg)
    # ŷ: one int16 element and 4 markers per beat; out: a whole RGB pixel.
    assert dec.i.payload.shape().size == 16 + 4
    assert dec.o.payload.shape().size == 3 * 8 + 4
    Fragment.get(dec, None)
    # Two output pixels behind every engine but the last (at least 3 beats), and a whole
    # output row more behind a transposed convolution: 8 pixels of 2 beats for g_s.0.
    assert cfg.fifo_depths == {"g_s.0": 4 + 8 * 2, "g_s.1": 4}
    assert cfg.fifo_bits == {"g_s.0": 8 + 4, "g_s.1": 8 + 4}


def test_a_last_pe_below_three_is_gathered_into_pixels():
    synthesis = stages()[:2] + (conv("g_s.2", 2, 3, transposed=True, out_signed=False, max_size=(8, 8)),)
    Fragment.get(Decoder(DecoderConfig(synthesis, 4, 4)), None)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(c_out=4), "g_s.2 writes C_out=4, but a decoded pixel has 3 channels"),
        (dict(out_signed=True), "g_s.2 writes signed(8), but a decoded pixel's channels are unsigned(8)"),
        (dict(inverse=False), "g_s.1: g_s's GDN units are inverse (inverse=True)"),
        (dict(mid_c_in=4), "g_s.2 reads C_in=4, g_s.1 writes C_out=2"),
    ],
)
def test_mismatches_are_named(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        DecoderConfig(stages(**change), 4, 4)


def test_y_must_be_signed_and_fit_the_encoders_elements():
    bad = (conv("g_s.0", 4, 2, transposed=True, in_bits=16, in_signed=False),) + stages()[1:]
    with pytest.raises(ValueError, match=re.escape("g_s.0 reads unsigned(16), but ŷ is signed of at most 16 bits")):
        DecoderConfig(bad, 4, 4)
    DecoderConfig(stages(in_bits=8), 4, 4)  # an int8 ŷ is signed and fits: accepted


def test_element_types_chain():
    synthesis = stages()
    bad = synthesis[:2] + (conv("g_s.2", 2, 3, transposed=True, pe=3, in_bits=16, out_signed=False),)
    with pytest.raises(ValueError, match=re.escape("g_s.2 reads signed(16), g_s.1 writes signed(8)")):
        DecoderConfig(bad, 4, 4)


def test_line_buffers_too_small_for_the_maximum_frame():
    # g_s.2 reads g_s.0's doubled frame: 10×8 for a 5×4 ŷ, its buffers hold 8 wide.
    synthesis = (conv("g_s.0", 4, 2, transposed=True, in_bits=16, max_size=(8, 8)),) + stages()[1:]
    with pytest.raises(
        ValueError, match=re.escape("g_s.2: line buffers for 8×8, but a 5×4 ŷ frame reaches it as 10×8")
    ):
        DecoderConfig(synthesis, 5, 4)


def test_scale_indexes_and_empty_configs_are_refused():
    synthesis = stages()[:2] + (conv("g_s.2", 2, 3, kernel=3, stride=1, levels=8, max_size=(8, 8)),)
    with pytest.raises(ValueError, match=re.escape("g_s.2: g_s outputs no scale indexes (thresholds)")):
        DecoderConfig(synthesis, 4, 4)
    with pytest.raises(ValueError, match="synthesis needs at least one engine"):
        DecoderConfig((), 4, 4)
    with pytest.raises(ValueError, match=re.escape("max_width=0 must be a positive integer")):
        DecoderConfig(stages(), 0, 4)


def test_the_fifo_behind_a_transposed_convolution_holds_an_output_row():
    deconv = conv("g_s.0", 4, 6, transposed=True, in_bits=16, pe=2, max_size=(5, 4))
    assert decoder_fifo_depth(deconv, 5) == pipe_fifo_depth(deconv) + 10 * 3
    assert decoder_fifo_depth(igdn("g_s.1"), 10) == pipe_fifo_depth(igdn("g_s.1"))


def hyper_stages(in_signed=True, in_bits=8, levels=8, mid_levels=0, max_size=(2, 2)):
    """h_s in miniature: ẑ of 2 channels, two stride-2 deconvolutions, a 3×3 convolution
    to the scale indexes of 4 ŷ channels."""
    w, h = max_size
    return (
        conv("h_s.0", 2, 3, transposed=True, in_bits=in_bits, in_signed=in_signed, out_signed=False, max_size=(w, h)),
        conv(
            "h_s.2",
            3,
            3,
            transposed=True,
            in_signed=False,
            out_signed=False,
            levels=mid_levels,
            max_size=(2 * w, 2 * h),
        ),
        conv("h_s.4", 3, 4, kernel=3, stride=1, pe=2, in_signed=False, levels=levels, max_size=(4 * w, 4 * h)),
    )


def test_a_consistent_hyper_decoder_elaborates():
    cfg = HyperConfig(hyper_stages(), 2, 2)
    assert cfg.frame_sizes(2, 1) == [(2, 1), (4, 2), (8, 4)]
    assert cfg.out_size(2, 1) == (8, 4)
    top = HyperDecoder(cfg)
    # ẑ: one int8 element and 4 markers per beat; out: one 3-bit index (8 levels).
    assert top.i.payload.shape().size == 8 + 4
    assert top.o.payload.shape().size == 3 + 4
    Fragment.get(top, None)
    # As the decoder's: two output pixels, and an output row more behind a deconvolution.
    assert cfg.fifo_depths == {"h_s.0": 6 + 4 * 3, "h_s.2": 6 + 8 * 3}


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(in_signed=False), "h_s.0 reads unsigned(8), but ẑ is signed of at most 8 bits"),
        (dict(in_bits=16), "h_s.0 reads signed(16), but ẑ is signed of at most 8 bits"),
        (dict(levels=0), "h_s.4: h_s's last engine must output scale indexes (thresholds)"),
        (dict(mid_levels=8), "h_s.2: only h_s's last engine outputs scale indexes"),
    ],
)
def test_hyper_mismatches_are_named(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        HyperConfig(hyper_stages(**change), 2, 2)


def test_hyper_chain_and_line_buffers_are_checked():
    synthesis = hyper_stages()
    wide = conv("h_s.4", 5, 4, kernel=3, stride=1, in_signed=False, levels=8, max_size=(8, 8))
    with pytest.raises(ValueError, match=re.escape("h_s.4 reads C_in=5, h_s.2 writes C_out=3")):
        HyperConfig(synthesis[:2] + (wide,), 2, 2)
    with pytest.raises(ValueError, match=re.escape("h_s.4 reads signed(8), h_s.2 writes unsigned(8)")):
        signed_in = conv("h_s.4", 3, 4, kernel=3, stride=1, pe=2, levels=8, max_size=(8, 8))
        HyperConfig(synthesis[:2] + (signed_in,), 2, 2)
    with pytest.raises(
        ValueError, match=re.escape("h_s.4: line buffers for 8×8, but a 3×2 ẑ frame reaches it as 12×8")
    ):
        HyperConfig(hyper_stages(max_size=(3, 2))[:2] + synthesis[2:], 3, 2)
    with pytest.raises(ValueError, match=re.escape("g_s.1: h_s holds convolutions only")):
        HyperConfig(synthesis[:1] + (igdn("g_s.1", 3),) + synthesis[1:], 2, 2)
    with pytest.raises(ValueError, match=re.escape("max_height=True must be a positive integer")):
        HyperConfig(synthesis, 2, True)
