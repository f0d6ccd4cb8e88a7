"""gen.encoder and `licfpga generate` on a tiny trained student: the tree is byte for
byte a function of its inputs, the manifest describes it, impossible requests are named."""

import json

import pytest

from licfpga.cli import main
from licfpga.gen.balance import BalanceError, balance_dsp
from licfpga.gen.encoder import TOP, design, generate, load
from licfpga.gen.layers import encoder_from_artefact, encoder_topology
from tests.model.conftest import photo_dir, tiny_artefact, tiny_float  # noqa: F401 (fixtures)

FRAME = (64, 64)


@pytest.fixture(scope="module")
def tiny_design(tiny_artefact):  # noqa: F811
    artefact, sha256 = load(str(tiny_artefact))
    plan = balance_dsp(encoder_from_artefact(artefact), 100, frame=FRAME, max_frame=FRAME)
    return design(artefact, plan, sha256)


def test_generate_is_byte_identical(tiny_design, tmp_path):
    first = generate(tiny_design, tmp_path / "a")
    second = generate(tiny_design, tmp_path / "b")
    assert sorted(p.name for p in first.values()) == sorted(["manifest.json", "report.md", "report.json", f"{TOP}.v"])
    for role, path in first.items():
        assert path.read_bytes() == second[role].read_bytes(), role
    text = first["verilog"].read_text()
    assert f"module {TOP}(" in text and "$readmem" not in text  # ROMs initialised inline
    manifest = json.loads(first["manifest"].read_text())
    assert manifest["artefact"]["npz_sha256"] == tiny_design.artefact_sha256
    assert [e["name"] for e in manifest["engines"]] == [
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
    transposed = [e["name"] for e in manifest["engines"] if e.get("transposed")]
    assert transposed == ["h_s.0", "h_s.2"] and manifest["engines"][-1]["scale_levels"] == 64
    assert [(e["pe"], e["simd"]) for e in manifest["engines"] if e["engine"] != "abs"] == [
        (f.pe, f.simd)
        for spec, f in zip(tiny_design.plan.encoder.layers, tiny_design.plan.foldings)
        if spec.kind != "abs"
    ]
    assert {k: v["depth"] for k, v in manifest["fifos"].items()} == tiny_design.config.fifo_depths
    assert manifest["fifos"]["z"]["bits"] == 8 * tiny_design.config.hyper[-1].pe + 4
    assert manifest["max_frame"] == list(FRAME)
    assert "Bottleneck" in first["report_md"].read_text()


def test_frames_and_packets(tiny_design):
    tiny_design.check_frame(64, 48)
    with pytest.raises(BalanceError, match="frame width 80 exceeds the encoder's built-in line-buffer maximum of 64"):
        tiny_design.check_frame(80, 48)
    with pytest.raises(BalanceError, match="frame height 65"):
        tiny_design.check_frame(64, 65)
    # ŷ 4×3×16, ẑ 1×1×8, then the indexes of h_s's 4×4×16 (4× ẑ's frame).
    assert tiny_design.packet_length(64, 48) == 4 * 3 * 16 + 1 * 1 * 8 + 4 * 4 * 16
    # The ŷ buffer covers what g_a makes while the output waits for ẑ and the indexes.
    assert tiny_design.config.y_buffer > 2 * 16


def test_a_plan_of_another_encoder_is_refused(tiny_design):
    other = balance_dsp(encoder_topology(8, 16), 100, frame=FRAME, max_frame=FRAME)
    with pytest.raises(ValueError, match="the plan was made for topology N=8, M=16"):
        design(tiny_design.artefact, other, "0")


def test_cli_generate(tiny_artefact, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "tree"
    args = [
        "generate",
        "--model",
        str(tiny_artefact),
        "--out",
        str(out),
        "--max-frame",
        "64x64",
        "--resolution",
        "64x64",
    ]
    assert main(args + ["--dsp-budget", "100"]) == 0
    assert "cycles/px on 64×64" in capsys.readouterr().out
    assert (out / f"{TOP}.v").exists() and json.loads((out / "manifest.json").read_text())[
        "objective"
    ] == "DSP budget 100"
    assert main(args + ["--dsp-budget", "5"]) == 2
    assert "below the smallest that fits" in capsys.readouterr().err
    assert main(args + ["--dsp-budget", "5", "--fps", "30"]) == 2
    assert "not both" in capsys.readouterr().err
