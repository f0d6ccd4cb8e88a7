import io
import json

import numpy as np
import pytest
import torch
from PIL import Image, JpegImagePlugin

from licfpga.cli import main
from licfpga.model import evaluate as ev
from licfpga.model.hyperprior import ScaleHyperprior
from licfpga.model.registry import save_weights


def synthetic_image(rng, height=48, width=64, noise=6.0):
    """A smooth colour gradient plus noise."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 200 / width, yy * 200 / height, 120 + 60 * np.sin((xx + yy) / 9.0)], axis=-1)
    return np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def images(tmp_path, rng):
    folder = tmp_path / "tiny"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_image(rng)).save(folder / f"img{i}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def tiny_model(path, quality, N=8):
    torch.manual_seed(quality)
    save_weights(
        ScaleHyperprior(N, 16),
        path,
        name=f"student-n{N}-nokd-q{quality}",
        role="student",
        quality=quality,
        lmbda=0.01,
        distilled=False,
        training={},
    )
    return str(path)


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in ("encode_s", "decode_s")}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


# --- anchors -------------------------------------------------------------------------------


@pytest.mark.parametrize("anchor", ["jpeg", "webp"])
def test_anchor_sweep_is_monotone(rng, anchor):
    image = synthetic_image(rng, 96, 128, noise=2.0)
    points = [ev.measure(image, ev.anchor_roundtrip(image, anchor, q)) for q in ev.ANCHOR_QUALITIES]
    bpp = [p["bpp"] for p in points]
    psnr = [p["psnr"] for p in points]
    assert all(a < b for a, b in zip(bpp, bpp[1:]))
    assert sum(a > b for a, b in zip(psnr, psnr[1:])) <= 1
    assert psnr[-1] - psnr[0] > 5


def test_anchor_bytes_are_real_files(rng):
    image = synthetic_image(rng)
    coded = ev.anchor_roundtrip(image, "jpeg", 50)
    with Image.open(io.BytesIO(coded.data)) as decoded:
        assert decoded.format == "JPEG"
        assert JpegImagePlugin.get_sampling(decoded) == 2  # 4:2:0
        assert np.array_equal(np.asarray(decoded.convert("RGB")), coded.reconstruction)
    assert ev.measure(image, coded)["bpp"] == 8 * len(coded.data) / (48 * 64)


# --- the report ----------------------------------------------------------------------------


def webp_codec_double(image, codec, name):
    """Stands in for the learned codec: WebP at 20 × the model's quality, so the model curve
    lies exactly on the WebP anchor's points."""
    return ev.anchor_roundtrip(image, "webp", 20 * int(name.rsplit("-q", 1)[1]))


def test_report_curves_and_bd(images, tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "codec_roundtrip", webp_codec_double)
    models = [tiny_model(tmp_path / f"m{q}.pt", q) for q in (1, 2, 3, 4)]
    report = ev.evaluate(images, models, limit=2, anchor_qualities=(20, 40, 60, 80), progress=False)

    assert set(report) == {"format", "dataset", "settings", "rows", "models", "curves", "bd", "notes"}
    assert report["dataset"]["folder"] == "tiny"
    assert [i["name"] for i in report["dataset"]["images"]] == ["img0.png", "img1.png"]
    assert len(report["rows"]) == 2 * (4 + 2 * 4)
    assert [m["name"] for m in report["models"]] == [f"student-n8-nokd-q{q}" for q in (1, 2, 3, 4)]
    assert {m["curve"] for m in report["models"]} == {"student-n8-nokd"}
    curves = {c["label"]: c for c in report["curves"]}
    assert set(curves) == {"student-n8-nokd", "jpeg", "webp"}
    assert curves["webp"]["kind"] == "anchor" and curves["student-n8-nokd"]["kind"] == "model"
    model_points = [(p["bpp"], p["psnr"]) for p in curves["student-n8-nokd"]["points"]]
    assert model_points == [(p["bpp"], p["psnr"]) for p in curves["webp"]["points"]]

    bd = {(e["anchor"], e["test"]): e for e in report["bd"]}
    assert bd[("webp", "student-n8-nokd")]["bd_rate_pct"] == pytest.approx(0.0, abs=1e-9)
    assert bd[("jpeg", "student-n8-nokd")]["bd_rate_pct"] == pytest.approx(bd[("jpeg", "webp")]["bd_rate_pct"])
    assert ("jpeg", "jpeg") not in bd
    assert len(report["notes"]) == 1 and "fewer than 5 scales" in report["notes"][0]


def test_report_json_is_reproducible_and_dateless(images, tmp_path, monkeypatch):
    monkeypatch.setattr(ev, "codec_roundtrip", webp_codec_double)
    model = tiny_model(tmp_path / "m.pt", 2)
    first = ev.evaluate(images, [model], anchors=("jpeg",), anchor_qualities=(30, 70), progress=False)
    second = ev.evaluate(images, [model], anchors=("jpeg",), anchor_qualities=(30, 70), progress=False)
    assert without_timings(first) == without_timings(second)
    ev.write_report(first, tmp_path / "r.json")
    text = (tmp_path / "r.json").read_text()
    assert "date" not in text and str(tmp_path) not in text
    assert without_timings(ev.read_report(tmp_path / "r.json")) == without_timings(first)
    # One model point: the BD entry says why instead of failing the run.
    assert "1 point" in first["bd"][0]["error"]


def test_lossless_psnr_is_null_in_json_and_skipped_by_bd(tmp_path):
    points = [{"bpp": 0.5, "psnr": 31.0}, {"bpp": 9.0, "psnr": float("inf")}]
    ev.write_report({"format": ev.REPORT_FORMAT, "curves": [{"label": "x", "points": points}]}, tmp_path / "r.json")
    curve = ev.read_report(tmp_path / "r.json")["curves"][0]
    assert curve["points"][1]["psnr"] is None
    other = {"label": "y", "points": [{"bpp": 0.5, "psnr": 30.0}, {"bpp": 1.0, "psnr": 33.0}]}
    assert "finite" in ev.bd_table([other], [curve])[0]["error"]


def test_evaluate_argument_errors(images, tmp_path):
    with pytest.raises(ev.EvalError, match="no images"):
        ev.evaluate(tmp_path / "tiny" / "..", [], progress=False)
    with pytest.raises(ev.EvalError, match="unknown anchor avif"):
        ev.evaluate(images, [], anchors=("avif",), progress=False)
    with pytest.raises(ev.EvalError, match="nothing to evaluate"):
        ev.evaluate(images, [], anchors=(), progress=False)
    with pytest.raises(ev.EvalError, match="--limit"):
        ev.evaluate(images, [], limit=0, progress=False)
    Image.fromarray(np.zeros((10, 40, 3), np.uint8)).save(images / "sliver.png")
    with pytest.raises(ev.EvalError, match="too small for MS-SSIM"):
        ev.evaluate(images, [], progress=False)
    model = tiny_model(tmp_path / "m.pt", 1)
    with pytest.raises(ev.EvalError, match="named twice"):
        ev.evaluate(images, [model, model], progress=False)


# --- the CLI -------------------------------------------------------------------------------


def test_cli_eval_end_to_end(images, tmp_path, capsys):
    """The real codec on two tiny images with an untrained model, then bdrate on the report."""
    model = tiny_model(tmp_path / "x.pt", 1)
    out, plot = tmp_path / "r.json", tmp_path / "rd.png"
    assert main(["eval", str(images), "--model", model, "--json", str(out), "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "student-n8-nokd-q1" in printed and "jpeg-q95" in printed and "webp" in printed

    report = json.loads(out.read_text())
    rows = [r for r in report["rows"] if r["name"] == "student-n8-nokd-q1"]
    assert len(rows) == 2 and len(report["rows"]) == 2 * (1 + 2 * len(ev.ANCHOR_QUALITIES))
    for row in rows:
        assert row["bpp"] == 8 * row["bytes"] / (48 * 64) and row["bytes"] > 0
        assert 0 < row["psnr"] < 60 and 0 <= row["ms_ssim"] <= 1
        assert row["encode_s"] > 0 and row["decode_s"] > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main(["bdrate", str(out), "--anchor-curve", "jpeg", "--test-curve", "webp"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].split()[:2] == ["webp", "jpeg"] and "%" in lines[1]


def test_cli_eval_limit_and_no_anchors(images, tmp_path, capsys):
    model = tiny_model(tmp_path / "x.pt", 1)
    assert (
        main(
            [
                "eval",
                str(images),
                "--model",
                model,
                "--limit",
                "1",
                "--anchors",
                "none",
                "--json",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["dataset"]["count"] == 1 and len(report["rows"]) == 1 and report["bd"] == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval", "{empty}", "--model", "x"], "no images"),
        (["eval", "{images}", "--model", "no-such-model"], "unknown model"),
        (["eval", "{images}", "--anchors", "jpeg,avif"], "unknown anchor"),
        (["bdrate", "{images}/notes.txt"], "not a readable JSON report"),
    ],
)
def test_cli_errors_are_one_line(images, tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    argv = [a.format(empty=tmp_path / "empty", images=images) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("licfpga: error:") and message in err and err.count("\n") == 1


def test_cli_eval_anchor_quality_sweep(images, tmp_path):
    out = tmp_path / "anchors.json"
    assert (
        main(["eval", str(images), "--anchors", "jpeg", "--anchor-qualities", "2", "5", "8", "--json", str(out)]) == 0
    )
    report = json.loads(out.read_text())
    assert sorted({r["name"] for r in report["rows"]}) == ["jpeg-q2", "jpeg-q5", "jpeg-q8"]
