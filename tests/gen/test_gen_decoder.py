"""gen.decoder and `licfpga generate --part decoder` on a tiny trained student: g_s's
spec, its plan (a chain: the slowest engine's interval, a FIFO behind every engine but
the last), the tree byte for byte a function of its inputs, the manifest, the golden x̂."""

import json
import math

import numpy as np
import pytest

from licfpga.cli import main
from licfpga.gen.balance import BalanceError, balance_dsp
from licfpga.gen.decoder import (
    TOP,
    decoder_from_artefact,
    decoder_topology,
    design,
    generate,
    golden_decoded,
)
from licfpga.gen.encoder import load
from licfpga.gen.layers import encoder_from_artefact
from licfpga.gen.report import markdown, plan_report
from licfpga.model.golden import GoldenModel
from licfpga.model.topology import macs_per_pixel
from tests.model.conftest import photo_dir, tiny_artefact, tiny_float  # noqa: F401 (fixtures)

FRAME = (64, 64)  # decoded: ŷ of 4×4
NAMES = [f"g_s.{n}" for n in range(7)]


@pytest.mark.parametrize("N, M", [(8, 16), (64, 192), (128, 320)])
def test_the_spec_is_g_s_in_stream_order(N, M):
    spec = decoder_topology(N, M)
    assert [s.name for s in spec.layers] == NAMES
    assert [s.kind for s in spec.layers] == ["deconv", "igdn"] * 3 + ["deconv"]
    assert [(s.shape.c_in, s.shape.c_out) for s in spec.layers] == [(M, N)] + [(N, N)] * 5 + [(N, 3)]
    first, last = spec.layers[0], spec.layers[-1]
    assert (first.in_bits, first.in_signed, first.acc_bits) == (16, True, 48)
    assert (last.out_bits, last.out_signed) == (8, False)
    assert not any(s.serial for s in spec.layers)
    # Frames are the decoded image's: ŷ is a sixteenth of it, rounded up as g_a rounds.
    assert spec.upsampling == 16
    assert spec.frame_sizes(1280, 720)[0] == (80, 45) and spec.frame_sizes(17, 33)[0] == (2, 3)
    assert spec.frame_sizes(1280, 768)[-1] == (640, 384)
    assert math.isclose(spec.macs(1280, 768) / (1280 * 768), macs_per_pixel(N, M)["g_s"])


def test_the_artefacts_decoder_has_the_topologys_shapes(tiny_artefact):  # noqa: F811
    artefact, _ = load(str(tiny_artefact))
    spec, planned = decoder_from_artefact(artefact), decoder_topology(artefact.N, artefact.M)
    assert spec.source == artefact.name and (spec.N, spec.M) == (artefact.N, artefact.M)
    assert [(s.name, s.kind, s.shape) for s in spec.layers] == [(s.name, s.kind, s.shape) for s in planned.layers]
    assert spec.macs(*FRAME) == planned.macs(*FRAME)


def test_a_decoders_plan_is_a_chain():
    plan = balance_dsp(decoder_topology(8, 16), 150, frame=FRAME, max_frame=FRAME)
    costs = plan.costs()
    assert plan.interval() == max(c.cycles for c in costs)
    buffers = plan.buffers()
    assert list(buffers) == NAMES[:-1] and all(m.role == "fifo" for m in buffers.values())
    # Two output pixels (at least 3 beats), and behind a transposed convolution one of
    # its output rows, 2·W·C_out/PE beats (W: its input width on the 64×64 maximum).
    for m, c in zip(buffers.values(), costs):
        pixel = c.shape.c_out // c.pe
        assert m.depth == max(3, 2 * pixel) + (2 * c.width * pixel if c.kind == "deconv" else 0)
    # The report names the part and counts per decoded pixel.
    report = plan_report(plan)
    assert report["part"] == "decoder" and report["bottleneck"]["name"] in NAMES
    text = markdown(report)
    assert text.startswith("### Decoder of topology N=8, M=16") and "per decoded pixel" in text


@pytest.fixture(scope="module")
def tiny_decoder(tiny_artefact):  # noqa: F811
    artefact, sha256 = load(str(tiny_artefact))
    plan = balance_dsp(decoder_from_artefact(artefact), 150, frame=FRAME, max_frame=FRAME)
    return design(artefact, plan, sha256)


def test_generate_is_byte_identical(tiny_decoder, tmp_path):
    first = generate(tiny_decoder, tmp_path / "a")
    second = generate(tiny_decoder, tmp_path / "b")
    assert sorted(p.name for p in first.values()) == sorted(["manifest.json", "report.md", "report.json", f"{TOP}.v"])
    for role, path in first.items():
        assert path.read_bytes() == second[role].read_bytes(), role
    text = first["verilog"].read_text()
    assert f"module {TOP}(" in text and "$readmem" not in text  # ROMs initialised inline
    manifest = json.loads(first["manifest"].read_text())
    assert manifest["format"] == "licfpga-decoder-1" and manifest["top"] == TOP
    assert manifest["artefact"]["npz_sha256"] == tiny_decoder.artefact_sha256
    assert [e["name"] for e in manifest["engines"]] == NAMES
    assert [e["engine"] for e in manifest["engines"]] == ["conv", "igdn"] * 3 + ["conv"]
    assert all(e["transposed"] for e in manifest["engines"] if e["engine"] == "conv")
    assert [(e["pe"], e["simd"]) for e in manifest["engines"]] == [(f.pe, f.simd) for f in tiny_decoder.plan.foldings]
    assert {k: v["depth"] for k, v in manifest["fifos"].items()} == tiny_decoder.config.fifo_depths
    assert manifest["max_frame"] == list(FRAME) and manifest["max_latent"] == [4, 4]
    assert "Bottleneck" in first["report_md"].read_text()


def test_frames_and_model(tiny_decoder):
    d = tiny_decoder
    d.check_frame(4, 3)
    with pytest.raises(BalanceError, match="ŷ frame width 5 exceeds the decoder's built-in maximum of 4"):
        d.check_frame(5, 3)
    with pytest.raises(BalanceError, match="ŷ frame height 6"):
        d.check_frame(4, 6)
    # The RTL's frame is ŷ's; the plan's the decoded image's: the same costs.
    assert d.model_cycles(4, 4) == d.plan.interval()
    assert d.config.out_size(4, 3) == (64, 48)


def test_a_plan_of_another_network_is_refused(tiny_decoder):
    other = balance_dsp(decoder_topology(8, 16), 150, frame=FRAME, max_frame=FRAME)
    with pytest.raises(ValueError, match="the plan was made for topology N=8, M=16"):
        design(tiny_decoder.artefact, other, "0")
    encoder = balance_dsp(encoder_from_artefact(tiny_decoder.artefact), 100, frame=FRAME, max_frame=FRAME)
    with pytest.raises(ValueError, match="not for the decoder of"):
        design(tiny_decoder.artefact, encoder, "0")


def test_golden_decoded_is_g_s_in_beat_order(tiny_decoder):
    artefact = tiny_decoder.artefact
    y = np.random.default_rng(0).integers(-20, 21, (2, 3, artefact.M))  # (h, w, M)
    x = golden_decoded(artefact, y)
    assert x.shape == (32, 48, 3) and x.dtype == np.uint8
    want = GoldenModel(artefact).g_s(y.transpose(2, 0, 1)[None])[0]
    assert np.array_equal(x, want.transpose(1, 2, 0))


def test_cli_generate_decoder(tiny_artefact, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "tree"
    args = ["generate", "--part", "decoder", "--model", str(tiny_artefact), "--out", str(out)]
    args += ["--max-frame", "64x64", "--resolution", "64x64"]
    assert main(args + ["--dsp-budget", "150"]) == 0
    assert "decoder of" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / f"{TOP}.v").exists() and manifest["format"] == "licfpga-decoder-1"
    assert main(args + ["--dsp-budget", "5"]) == 2
    assert "below the smallest that fits" in capsys.readouterr().err
