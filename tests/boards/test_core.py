"""The generated encoder as the AXI-wrapped core: the tiny student's encoder (small
budget) behind `rtl.axi.AXIWrapper` in Verilator, through cocotbext-axi
(`sim.encoder_bench.axi_encoder_case`, run by `sim/tb_axi.py`): register programming, two frames of different sizes under
random idle and back-pressure, early and missing TLAST setting their flag with the next
frame clean, every packet the golden model's bit for bit. Its one cached build also
serves tests/boards/test_host.py. Plus the core's wire format, without a simulator."""

import numpy as np
import pytest

from licfpga.boards.core import EncoderCore
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
