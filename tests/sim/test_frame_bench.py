"""The full-frame harness (sim/frame_bench.py) on the tiny student's generated encoder
(sim/encoder_bench.py): the packed stimulus is `sim.reference`'s, frames back to back
come out bit-exact with the golden model's, the measured frame interval is `gen.cost`'s
within 2%, and a stalled design is reported, not waited for."""

import numpy as np
import pytest
from amaranth.hdl import unsigned

from licfpga.sim.encoder_bench import crops, tiny_design, tiny_student
from licfpga.sim.frame_bench import bench, build_harness, run_frames, split_packets, stimulus_words
from licfpga.sim.reference import pack, pixel_beats
from licfpga.sim.runner import BenchFailure


@pytest.mark.parametrize("size", [(5, 3), (16, 16), (1, 1)])
def test_stimulus_is_the_reference_packing(size):
    frame = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    want = [pack(b, unsigned(8), 3) for b in pixel_beats(frame, 3)]
    assert stimulus_words(frame).tolist() == want


def test_split_packets_reads_int16_and_markers():
    words = np.array([0xFFFF | 1 << 16, 5, 0x8001 | 1 << 17 | 1 << 19], dtype=np.uint32)
    values, markers = split_packets(words, 3)
    assert values.tolist() == [[-1, 5, -32767]]
    assert markers.tolist() == [[[1, 0], [0, 0], [0, 1]]]


@pytest.fixture(scope="module")
def design():
    return tiny_design(tiny_student())


@pytest.mark.parametrize("size,frames", [((64, 64), 2), ((48, 32), 3)])
def test_frames_back_to_back_are_bit_exact_at_the_model_rate(design, size, frames):
    frame = crops(np.random.default_rng(size[0]), [size])[0]
    result = bench(design, frame, frames=frames, progress=False, log=lambda _: None)
    assert result["bit_exact"] and result["mismatched_elements"] == 0
    assert abs(result["model_error_pct"]) <= 2, result
    assert result["latency_cycles"] > result["interval_cycles"] > 0
    assert 0 < result["dsp_efficiency"] <= result["mac_dsp_efficiency"] <= 1


def test_a_short_packet_count_is_a_stall(design):
    exe = build_harness(design.verilog(), design.artefact.name, log=lambda _: None)
    frame = crops(np.random.default_rng(1), [(16, 16)])[0]
    elements = design.packet_length(16, 16)
    with pytest.raises(BenchFailure, match="stalled: nothing moved for 2000 cycles"):
        run_frames(exe, [frame], elements + 1, patience=2000, progress=False)


def test_bench_rtl_command(tmp_path, capsys):
    from PIL import Image

    from licfpga.cli import main

    image, report = tmp_path / "crop.png", tmp_path / "bench.json"
    Image.fromarray(crops(np.random.default_rng(3), [(64, 48)])[0]).save(image)
    args = [
        "bench-rtl",
        "--model",
        str(tiny_student()),
        "--dsp-budget",
        "100",
        "--resolution",
        "64x64",
        "--max-frame",
        "64x64",
        "--no-synth",
    ]
    assert main(args + ["--image", str(image), "--json", str(report)]) == 0, capsys.readouterr().err
    import json

    result = json.loads(report.read_text())
    for key in (
        "cycles_per_pixel",
        "model_cycles_per_pixel",
        "dsp",
        "bram36",
        "lut",
        "ff",
        "dsp_efficiency",
        "bit_exact",
    ):
        assert key in result
    assert result["bit_exact"] and result["frame"] == [64, 48]
    assert "bit-exact            yes" in capsys.readouterr().out
    Image.fromarray(crops(np.random.default_rng(3), [(72, 48)])[0]).save(image)
    assert main(args + ["--image", str(image)]) == 2
    assert "72x48 is not a multiple of 16" in capsys.readouterr().err
    Image.fromarray(crops(np.random.default_rng(3), [(80, 48)])[0]).save(image)
    assert main(args + ["--image", str(image)]) == 2
    assert "exceeds the encoder's built-in line-buffer maximum" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        main(args + ["--frames", "0"])
    assert "--frames: must be an integer of at least 1" in capsys.readouterr().err
