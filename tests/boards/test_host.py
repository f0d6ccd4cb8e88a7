"""The host driver: its rtl-sim backend runs the bus program of `boards.host` against the
AXI-wrapped tiny encoder in Verilator (the build tests/boards/test_core.py makes)
through cocotbext-axi, frames of two sizes giving the golden model's packets;
``licfpga compress --backend rtl-sim`` writes the golden backend's file byte for byte;
``--backend board`` off the board fails in one line and writes nothing."""

import numpy as np
import pytest
from PIL import Image

from licfpga.boards.core import EncoderCore
from licfpga.boards.host import Accelerator, DriverError, Read, RtlSimBackend, frame_program
from licfpga.cli import main
from licfpga.rtl.axi import ID
from licfpga.sim.encoder_bench import crops, tiny_design, tiny_model_register, tiny_student


@pytest.fixture(scope="module")
def core():
    return EncoderCore(tiny_design(tiny_student()), tiny_model_register(tiny_student()))


def test_rtl_sim_backend_gives_the_golden_packets(core):
    frames = crops(np.random.default_rng(2), [(48, 40), (24, 16)])
    for frame, (packet, cycles) in zip(frames, Accelerator(core, RtlSimBackend(core)).encode(frames)):
        assert np.array_equal(packet, core.reference(frame))
        assert cycles >= frame.shape[0] * frame.shape[1]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("image") / "crop.png"
    Image.fromarray(crops(np.random.default_rng(5), [(64, 48)])[0]).save(path)
    return path


def test_compress_rtl_sim_writes_the_golden_file(image, tmp_path, capsys):
    model = str(tiny_student())
    for backend in ("golden", "rtl-sim"):
        assert (
            main(["compress", str(image), str(tmp_path / f"{backend}.lic"), "--model", model, "--backend", backend])
            == 0
        ), capsys.readouterr().err
    assert (tmp_path / "rtl-sim.lic").read_bytes() == (tmp_path / "golden.lic").read_bytes()


def test_compress_board_off_the_board_fails_in_one_line(image, tmp_path, capsys):
    out = tmp_path / "board.lic"
    assert main(["compress", str(image), str(out), "--model", str(tiny_student()), "--backend", "board"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("licfpga: error: board: this machine is not the ZCU102") and err.count("\n") == 1, err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_program_checks_the_id_the_model_and_the_size():
    program = frame_program(8, 8, b"", 0)
    assert program.send(None) == Read("ID")
    with pytest.raises(DriverError, match="ID reads"):
        program.send(0)
    program = frame_program(8, 8, b"", 0, model_id=0x1234)
    program.send(None)
    assert program.send(ID) == Read("MODEL")
    with pytest.raises(DriverError, match="built for another model"):
        program.send(0x4321)
    program = frame_program(80, 8, b"", 0)
    program.send(None)
    assert program.send(ID) == Read("MAX_WIDTH")
    program.send(64)
    with pytest.raises(DriverError, match="outside"):
        program.send(64)
