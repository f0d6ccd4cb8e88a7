"""gen.hyper and `licfpga generate --part hyper` on a tiny trained student: h_s's spec as a
core of its own (the encoder's h_s engines, not serial; frames are the image's), its
plan (a chain, as the decoder's), the tree byte for byte a function of its inputs, the
manifest, the model's output bound, the golden indexes."""

import json
from dataclasses import replace

import numpy as np
import pytest

from licfpga.cli import main
from licfpga.gen.balance import BalanceError, balance_dsp
from licfpga.gen.encoder import load
from licfpga.gen.hyper import TOP, design, generate, golden_indexes, hyper_from_artefact
from licfpga.gen.layers import decoder_from_artefact, encoder_from_artefact
from licfpga.gen.report import markdown, plan_report
from licfpga.model.golden import GoldenModel
from tests.model.conftest import photo_dir, tiny_artefact, tiny_float  # noqa: F401 (fixtures)

FRAME = (128, 64)  # the image: ẑ of 2×1
NAMES = ["h_s.0", "h_s.2", "h_s.4"]


@pytest.fixture(scope="module")
def artefact(tiny_artefact):  # noqa: F811
    return load(str(tiny_artefact))


def test_the_spec_is_the_encoders_h_s_as_a_chain(artefact):
    artefact, _ = artefact
    spec = hyper_from_artefact(artefact)
    assert spec.part == "hyper" and spec.source == artefact.name
    assert [s.name for s in spec.layers] == NAMES and [s.kind for s in spec.layers] == ["deconv", "deconv", "conv"]
    encoder = [s for s in encoder_from_artefact(artefact).layers if s.name.startswith("h_s")]
    assert all(s.serial for s in encoder) and not any(s.serial for s in spec.layers)
    assert list(spec.layers) == [replace(s, serial=False) for s in encoder]
    # Frames are the image's: ẑ is a 64th of it, the index frame (ŷ's grid) a 16th.
    assert spec.frame_scale == 64 and spec.frame_sizes(128, 64) == [(2, 1), (4, 2), (8, 4)]
    assert spec.frame_sizes(1280, 720)[0] == (20, 12)


@pytest.fixture(scope="module")
def tiny_hyper(artefact):
    artefact, sha256 = artefact
    plan = balance_dsp(hyper_from_artefact(artefact), 20, frame=FRAME, max_frame=FRAME)
    return design(artefact, plan, sha256)


def test_a_hyper_plan_is_a_chain(tiny_hyper):
    plan = tiny_hyper.plan
    costs = plan.costs()
    # The chain's interval, by engine cycles (its output bound is the design's, below).
    assert plan.interval() == max(c.cycles for c in costs) and plan.dsp <= 20
    buffers = plan.buffers()
    assert list(buffers) == NAMES[:-1] and {k: m.depth for k, m in buffers.items()} == tiny_hyper.config.fifo_depths
    report = plan_report(plan)
    assert report["part"] == "hyper" and report["bottleneck"]["name"] in NAMES
    assert "per image pixel" in markdown(report)


def test_generate_is_byte_identical(tiny_hyper, tmp_path):
    first = generate(tiny_hyper, tmp_path / "a")
    second = generate(tiny_hyper, tmp_path / "b")
    assert sorted(p.name for p in first.values()) == sorted(["manifest.json", "report.md", "report.json", f"{TOP}.v"])
    for role, path in first.items():
        assert path.read_bytes() == second[role].read_bytes(), role
    assert f"module {TOP}(" in first["verilog"].read_text()
    manifest = json.loads(first["manifest"].read_text())
    assert manifest["format"] == "licfpga-hyper-1" and manifest["top"] == TOP
    assert [e["name"] for e in manifest["engines"]] == NAMES
    assert manifest["engines"][-1]["scale_levels"] == len(tiny_hyper.artefact.y_tables)
    assert manifest["max_frame"] == list(FRAME) and manifest["max_latent"] == [2, 1]


def test_frames_and_model(tiny_hyper):
    d = tiny_hyper
    d.check_frame(2, 1)
    with pytest.raises(
        BalanceError,
        match=r"ẑ frame width 3 exceeds the hyper-decoder's built-in maximum of 2 \(an image width of 128\)",
    ):
        d.check_frame(3, 1)
    assert d.config.out_size(2, 1) == (8, 4) and d.out_elements(2, 1) == 8 * 4 * d.artefact.M
    # The model: the chain's interval, or one index per cycle out where that is slower.
    assert d.model_cycles(2, 1) == max(d.plan.interval(), d.out_elements(2, 1))
    fast = design(d.artefact, balance_dsp(hyper_from_artefact(d.artefact), 400, frame=FRAME, max_frame=FRAME), None)
    assert fast.plan.interval() < fast.out_elements(2, 1) == fast.model_cycles(2, 1)


def test_a_plan_of_another_network_is_refused(tiny_hyper):
    other = balance_dsp(decoder_from_artefact(tiny_hyper.artefact), 150, frame=(64, 64), max_frame=(64, 64))
    with pytest.raises(ValueError, match="not for the hyper-decoder of"):
        design(tiny_hyper.artefact, other, "0")


def test_golden_indexes_are_h_s_in_beat_order(tiny_hyper):
    artefact = tiny_hyper.artefact
    z = np.random.default_rng(0).integers(-20, 21, (1, 2, artefact.N))  # (h, w, N)
    indexes = golden_indexes(artefact, z)
    want = GoldenModel(artefact).h_s(z.transpose(2, 0, 1)[None])[0]
    assert indexes.shape == (4, 8, artefact.M) and np.array_equal(indexes, want.transpose(1, 2, 0))


def test_cli_generate_hyper(tiny_artefact, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "tree"
    args = ["generate", "--part", "hyper", "--model", str(tiny_artefact), "--out", str(out)]
    args += ["--max-frame", "128x64", "--resolution", "128x64"]
    assert main(args + ["--dsp-budget", "20"]) == 0
    assert "hyper of" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text())["format"] == "licfpga-hyper-1"
    assert main(args + ["--dsp-budget", "4"]) == 2
    assert "below the smallest that fits: 5 DSPs" in capsys.readouterr().err
