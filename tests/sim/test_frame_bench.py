"""The full-frame harness (sim/frame_bench.py) on the tiny student's generated encoder
(sim/encoder_bench.py) and decoder (sim/decoder_bench.py): the packed stimulus is
`sim.reference`'s, frames back to back come out bit-exact with the golden model's, the
measured frame interval is `gen.cost`'s within 2%, and a stalled design is reported, not
waited for."""

import json

import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from PIL import Image

from licfpga.cli import main
from licfpga.sim.decoder_bench import tiny_decoder
from licfpga.sim.encoder_bench import crops, tiny_design, tiny_student
from licfpga.sim.frame_bench import beat_words, bench, build_harness, run_frames, split_beats
from licfpga.sim.reference import pack, pixel_beats
from licfpga.sim.runner import BenchFailure


@pytest.mark.parametrize("size", [(5, 3), (16, 16), (1, 1)])
def test_stimulus_is_the_reference_packing(size):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    want = [pack(b, unsigned(8), 3) for b in pixel_beats(frame, 3)]
    assert beat_words(frame, 8, 3).tolist() == want
    # ŷ for the decoder: one int16 element per beat, M per pixel
    y = rng.integers(-(1 << 15), 1 << 15, (size[1], size[0], 4))
    assert beat_words(y, 16, 1).tolist() == [pack(b, signed(16), 1) for b in pixel_beats(y, 1)]


def test_split_beats_reads_elements_and_markers():
    words = np.array([0xFFFF | 1 << 16, 5, 0x8001 | 1 << 17 | 1 << 19], dtype=np.uint32)
    values, markers = split_beats(words, 3, 16, 1, signed=True)
    assert values[..., 0].tolist() == [[-1, 5, -32767]]
    assert markers.tolist() == [[[1, 0], [0, 0], [0, 1]]]
    pixel = np.array([0x030201 | 1 << 25], dtype=np.uint32)
    values, markers = split_beats(pixel, 1, 8, 3, signed=False)
    assert values.tolist() == [[[1, 2, 3]]] and markers.tolist() == [[[0, 1]]]


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
    exe = build_harness(design.verilog(), f"encoder-{design.artefact.name}", log=lambda _: None)
    frame = crops(np.random.default_rng(1), [(16, 16)])[0]
    elements = design.packet_length(16, 16)
    with pytest.raises(BenchFailure, match="stalled: nothing moved for 2000 cycles"):
        run_frames(exe, [beat_words(frame, 8, 3)], (16, 16), elements + 1, patience=2000, progress=False)


def test_decoder_frames_back_to_back_are_bit_exact_near_the_model_rate():
    """g_s on the golden ŷ of a 64×48 crop (ŷ 4×3), as `licfpga bench-rtl --part decoder`
    runs it: bit-exact, and the interval within 2% of the model plus one decoded row (the
    last row shuffle's, `sim.decoder_bench.decoder_case`)."""
    d = tiny_decoder(tiny_student())
    frame = crops(np.random.default_rng(4), [(64, 48)])[0]
    result = bench(d, frame, frames=2, progress=False, log=lambda _: None)
    assert result["part"] == "decoder" and result["bit_exact"] and result["mismatched_elements"] == 0
    assert result["interval_cycles"] <= 1.02 * result["model_interval_cycles"] + 64, result
    assert result["model_interval_cycles"] == d.model_cycles(4, 3)


def test_bench_rtl_command(tmp_path, capsys):
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
    assert result["bit_exact"] and result["frame"] == [64, 48] and result["part"] == "encoder"
    assert "bit-exact            yes" in capsys.readouterr().out
    # The decoder's g_s on the golden ŷ of the same frame (the build of the test above).
    decoder = ["bench-rtl", "--part", "decoder", *args[1:4], "150", *args[5:]]
    assert main(decoder + ["--image", str(image), "--json", str(report)]) == 0, capsys.readouterr().err
    result = json.loads(report.read_text())
    assert result["part"] == "decoder" and result["bit_exact"] and result["frame"] == [64, 48]
    assert capsys.readouterr().out.startswith("Decoder of tiny-student-int8 on 64x48")
    Image.fromarray(crops(np.random.default_rng(3), [(72, 48)])[0]).save(image)
    assert main(args + ["--image", str(image)]) == 2
    assert "72x48 is not a multiple of 16" in capsys.readouterr().err
    Image.fromarray(crops(np.random.default_rng(3), [(80, 48)])[0]).save(image)
    assert main(args + ["--image", str(image)]) == 2
    assert "exceeds the encoder's built-in line-buffer maximum" in capsys.readouterr().err
    assert main(decoder + ["--image", str(image)]) == 2
    assert "ŷ frame width 5 exceeds the decoder's built-in maximum of 4" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        main(args + ["--frames", "0"])
    assert "--frames: must be an integer of at least 1" in capsys.readouterr().err
