# amaranth: UnusedElaboratable=no
"""The generated encoder as the AXI-wrapped core: the tiny student's encoder (small
budget) behind `rtl.axi.AXIWrapper` in Verilator, through cocotbext-axi
(`sim.encoder_bench.axi_encoder_case`, run by `sim/tb_axi.py`): register programming, two frames of different sizes under
random idle and back-pressure, early and missing TLAST setting their flag with the next
frame clean, every packet the golden model's bit for bit. Its one cached build also
serves tests/boards/test_host.py. Plus the cores' wire formats (the encoder's, the
hyper-decoder's and the decoder's), without a simulator."""

import numpy as np
import pytest

from licfpga.boards.core import EncoderCore, decoder_core, hyper_core
from licfpga.model.registry import load_integer_model
from licfpga.sim.encoder_bench import axi_encoder_case, crops, tiny_design, tiny_model_register, tiny_student
from licfpga.sim.regress import run_case


def test_axi_wrapped_encoder_bench():
    result = run_case(axi_encoder_case())
    assert result.tests == 3 and not result.failed


@pytest.fixture(scope="module")
def core():
    return EncoderCore(tiny_design(tiny_student()), tiny_model_register(tiny_student()))


def test_wire_format(core):
    frame = crops(np.random.default_rng(3), [(16, 16)])[0]
    words = np.frombuffer(core.pixels(frame), dtype="<u4")
    assert len(words) == 16 * 16 and core.in_tdata == 32 and core.out_tdata == 16
    assert words[1] == int.from_bytes(bytes(frame[0, 1]) + b"\0", "little")
    packet = core.reference(frame)
    assert core.capacity(16, 16) == 2 * len(packet)
    assert np.array_equal(core.elements(packet.astype("<i2").tobytes()), packet)
    y, z, indexes = core.latents(packet, 16, 16)
    a = core.design.artefact
    assert y.shape == (a.M, 1, 1) and z.shape == (a.N, 1, 1)
    # The index frame is 4× ẑ's (4×4 pixels), cropped to ŷ's 1×1.
    assert indexes.shape == (a.M, 1, 1) and 0 <= indexes.min() and indexes.max() < 64
    assert len(packet) == a.M + a.N + 16 * a.M
    with pytest.raises(ValueError, match="elements"):
        core.latents(packet[:-1], 16, 16)
    with pytest.raises(ValueError, match="uint8"):
        core.pixels(frame[..., :2])


@pytest.mark.parametrize("model_id", [-1, 1 << 32])
def test_model_id_is_a_32_bit_register(core, model_id):
    with pytest.raises(ValueError, match="model_id"):
        EncoderCore(core.design, model_id)


@pytest.fixture(scope="module")
def decoder_cores():
    """The tiny student's hyper-decoder and decoder for images up to 128×64 (ẑ 2×1, ŷ 8×4)."""
    artefact, _ = load_integer_model(tiny_student())
    frame = (128, 64)
    return (
        hyper_core(artefact, 20, max_frame=frame, plan_frame=frame, model_id=7),
        decoder_core(artefact, 100, max_frame=frame, plan_frame=frame, model_id=7),
    )


def test_the_hyper_decoders_wire_format(decoder_cores):
    core, _ = decoder_cores
    a = core.design.artefact
    z = np.random.default_rng(4).integers(-128, 128, (a.N, 1, 2))
    width, height, data = core.job(z)
    assert (width, height) == (2, 1) and core.max_size == (2, 1) and core.beats_per_pixel == a.N
    # one int8 element per beat, channel fastest; one uint8 index per output beat
    assert core.in_tdata == 8 and core.out_tdata == 8
    assert data == z.transpose(1, 2, 0).astype(np.int8).tobytes()
    indexes = core.reference(z)
    assert indexes.shape == (a.M, 4, 8) and core.capacity(2, 1) == indexes.size
    assert np.array_equal(core.output(indexes.transpose(1, 2, 0).astype(np.uint8).tobytes(), 2, 1), indexes)
    wrapper = core.wrapper()
    assert wrapper.beats_per_pixel == a.N and wrapper.model_id == 7
    assert len(wrapper.s_axis.tdata) == 8 and len(wrapper.m_axis.tdata) == 8
    with pytest.raises(ValueError, match=r"ẑ spans \[-129, .*\], outside int8"):
        core.job(np.where(z == z.min(), -129, z))
    with pytest.raises(ValueError, match="ẑ is integers of shape"):
        core.job(z[:-1])
    with pytest.raises(ValueError, match="scale indexes, not"):
        core.output(b"\0" * 5, 2, 1)


def test_the_decoders_wire_format(decoder_cores):
    _, core = decoder_cores
    a = core.design.artefact
    y = np.random.default_rng(5).integers(-20, 20, (a.M, 2, 3))
    width, height, data = core.job(y)
    assert (width, height) == (3, 2) and core.max_size == (8, 4) and core.beats_per_pixel == a.M
    # one int16 element of ŷ per beat; a decoded pixel in a 32-bit word, R, G, B in bits 0-23
    assert core.in_tdata == 16 and core.out_tdata == 32
    assert data == y.transpose(1, 2, 0).astype("<i2").tobytes()
    x = core.reference(y)
    assert x.shape == (3, 32, 48) and x.dtype == np.uint8 and core.capacity(3, 2) == 4 * 32 * 48
    words = np.zeros((32, 48, 4), dtype=np.uint8)
    words[..., :3] = x.transpose(1, 2, 0)
    assert np.array_equal(core.output(words.tobytes(), 3, 2), x)
    wrapper = core.wrapper()
    assert wrapper.beats_per_pixel == a.M and len(wrapper.s_axis.tdata) == 16 and len(wrapper.m_axis.tdata) == 32
    with pytest.raises(ValueError, match="outside int16"):
        core.job(y * 4000)
    with pytest.raises(ValueError, match="decodes to 1536 pixels, not 1"):
        core.output(b"\0" * 4, 3, 2)
