"""The host driver: its rtl-sim backend runs the bus program of `boards.host` against the
AXI-wrapped tiny encoder in Verilator (the build tests/boards/test_core.py makes)
through cocotbext-axi, frames of two sizes giving the golden model's packets;
``licfpga compress --backend rtl-sim`` writes the golden backend's file byte for byte,
``licfpga decompress --backend rtl-sim`` (the hyper-decoder and the decoder, AXI-wrapped
in Verilator) the golden backend's image, on two image sizes that are no multiples of
64; ``--backend board`` off the board fails in one line and writes nothing, both ways."""

import numpy as np
import pytest
from PIL import Image

from licfpga.boards.core import EncoderCore
from licfpga.boards.host import Accelerator, DriverError, Read, RtlSimBackend, frame_program, rtl_sim_synthesis
from licfpga.cli import main
from licfpga.model.codec import CodecError
from licfpga.model.golden import GoldenBackend, GoldenSynthesis
from licfpga.model.registry import load_integer_model
from licfpga.rtl.axi import ID
from licfpga.sim.encoder_bench import crops, tiny_design, tiny_model_register, tiny_student
from tests.model.test_codec import tiny_model_file


@pytest.fixture(scope="module")
def core():
    return EncoderCore(tiny_design(tiny_student()), tiny_model_register(tiny_student()))


def test_rtl_sim_backend_gives_the_golden_packets(core):
    frames = crops(np.random.default_rng(2), [(48, 40), (24, 16)])
    for frame, (packet, cycles) in zip(frames, Accelerator(core, RtlSimBackend(core)).run(frames)):
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


@pytest.mark.parametrize("size", [(40, 24), (70, 33)])
def test_decompress_rtl_sim_writes_the_golden_image(size, tmp_path, capsys):
    """ẑ of 1×1 and 2×1, ŷ of 4×4 and 8×4: two builds of each core (line buffers for
    exactly that image), run through the AXI wrapper as on the board."""
    model, source = str(tiny_student()), tmp_path / "in.png"
    Image.fromarray(crops(np.random.default_rng(size[0]), [size])[0]).save(source)
    lic = tmp_path / "in.lic"
    assert main(["compress", str(source), str(lic), "--model", model]) == 0, capsys.readouterr().err
    for backend in ("golden", "rtl-sim"):
        out = tmp_path / f"{backend}.png"
        assert main(["decompress", str(lic), str(out), "--backend", backend, "--model", model]) == 0, (
            capsys.readouterr().err
        )
        assert f"{size[0]}×{size[1]} RGB" in capsys.readouterr().out
    assert (tmp_path / "rtl-sim.png").read_bytes() == (tmp_path / "golden.png").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["golden.png", "in.lic", "in.png", "rtl-sim.png"]


def test_rtl_sim_synthesis_is_the_golden_one():
    """The backend itself: h_s's indexes and g_s's padded frame of real latents, and its
    cycle counts; ẑ outside int8 is a codec error before any simulation. The builds of
    the 40×24 image above (MODEL reads the tiny student's register, as from the CLI)."""
    artefact, _ = load_integer_model(tiny_student())
    backend = rtl_sim_synthesis(artefact, tiny_model_register(tiny_student()))
    golden = GoldenSynthesis(artefact)
    y, z = GoldenBackend(artefact).analyse(crops(np.random.default_rng(8), [(64, 64)])[0])
    assert np.array_equal(backend.indexes(z), golden.indexes(z))
    assert np.array_equal(backend.reconstruct(y), golden.reconstruct(y))
    assert set(backend.cycles) == {"hyper", "decoder"} and all(c > 0 for c in backend.cycles.values())
    with pytest.raises(CodecError, match=r"rtl-sim: ẑ spans \[-200, .*\], outside int8"):
        backend.indexes(np.full_like(z, -200))


def test_decompress_board_off_the_board_fails_in_one_line(image, tmp_path, capsys):
    lic, out = tmp_path / "in.lic", tmp_path / "board.png"
    assert main(["compress", str(image), str(lic), "--model", str(tiny_student())]) == 0
    assert main(["decompress", str(lic), str(out), "--model", str(tiny_student()), "--backend", "board"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("licfpga: error: board: this machine is not the ZCU102") and err.count("\n") == 1, err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["in.lic"]


def test_hardware_decompress_of_a_float_model_is_refused(tmp_path, capsys):
    """A float model decodes with its own float network: a hardware (or golden) synthesis
    backend is refused in one line, before any file is written."""
    weights, source, lic = tiny_model_file(tmp_path / "tiny.pt", seed=0), tmp_path / "in.png", tmp_path / "in.lic"
    Image.fromarray(crops(np.random.default_rng(9), [(32, 32)])[0]).save(source)
    assert main(["compress", str(source), str(lic), "--model", str(weights)]) == 0
    for backend in ("rtl-sim", "board", "golden"):
        assert (
            main(["decompress", str(lic), str(tmp_path / "out.png"), "--model", str(weights), "--backend", backend])
            == 2
        )
        err = capsys.readouterr().err
        assert f"is a float model: --backend {backend} runs" in err and err.count("\n") == 1, err
    assert not (tmp_path / "out.png").exists()


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
