"""Calibration, fake quantization, QAT and the ablation command on tiny models."""

import json
import math
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.cli import main
from licfpga.model.artefact import IntType, load_artefact
from licfpga.model.codec import Codec
from licfpga.model.evaluate import EvalError
from licfpga.model.quantize import QuantizedHyperprior, ablation, calibrate, fake_quant, int8_weight
from licfpga.model.registry import load_model
from tests.model.conftest import train_tiny


@pytest.mark.parametrize("transposed", [False, True])
def test_int8_weight_is_symmetric_per_output_channel(transposed):
    w = torch.randn(6, 5, 3, 3, dtype=torch.float64)
    w[2 if not transposed else slice(None), 3 if transposed else slice(None)] = 0  # an all-zero output channel
    q, scale = int8_weight(w, transposed)
    axis = 1 if transposed else 0
    amax = q.abs().amax(dim=[d for d in range(4) if d != axis])
    assert q.min() >= -127 and q.max() <= 127 and torch.equal(q, torch.round(q))
    assert sorted(set(amax.tolist())) == [0.0, 127.0]
    assert torch.allclose(q * scale, w, atol=float(scale.max()) / 2 + 1e-12)


def test_fake_quant_forward_and_clipped_gradient():
    v = torch.tensor([-3.0, -0.26, 0.24, 0.5, 2.0], requires_grad=True)
    out = fake_quant(v, 0.5, IntType(2, True))  # int2: [-1, 1]
    assert out.tolist() == [-0.5, -0.5, 0.0, 0.5, 0.5]
    out.sum().backward()
    assert v.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_calibration_max_is_the_activation_maximum(tiny_float, calibration):
    model, _ = load_model(str(tiny_float))
    scales = calibrate(model, calibration, percentile=100)
    with torch.no_grad():
        first = model.g_a[0](calibration)
    assert scales["g_a.0"] * 127 == pytest.approx(first.abs().max().item())
    assert set(scales) == {
        "g_a.0",
        "g_a.1",
        "g_a.2",
        "g_a.3",
        "g_a.4",
        "g_a.5",
        "h_a.0",
        "h_a.2",
        "h_s.0",
        "h_s.2",
        "g_s.0",
        "g_s.1",
        "g_s.2",
        "g_s.3",
        "g_s.4",
        "g_s.5",
    }


def test_fake_quant_model_tracks_the_integer_model(tiny_float, tiny_artefact, calibration):
    """The QAT network and the golden model it exports to agree on almost every ŷ symbol,
    and gradients reach conv weights and the GDN's parameters through the STE."""
    from licfpga.model.golden import GoldenModel

    model, _ = load_model(str(tiny_float))
    q = QuantizedHyperprior.from_float(model, calibrate(model, calibration)).eval()
    pixels = torch.round(calibration * 255)
    with torch.no_grad():
        y_fake = torch.round(q.run("g_a", pixels / 255))
    y_int = GoldenModel(load_artefact(tiny_artefact)).g_a(pixels.to(torch.int64))
    assert (y_fake == y_int).double().mean() >= 0.98
    q.train()
    out = q(calibration[:2])
    (out["x_hat"].square().mean() + sum(lik.log().sum() for lik in out["likelihoods"].values())).backward()
    for name in ("g_a.0.weight", "g_a.1.beta", "g_a.1.gamma", "h_a.2.weight", "h_s.4.weight", "g_s.5.gamma"):
        grad = q.get_parameter(name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def rd_loss_of_files(spec, photo_dir, lmbda):
    """λ·255²·MSE + bpp of the real files over the training photos (64-pixel crops, as trained)."""
    codec, losses = Codec.load(str(spec)), []
    for path in sorted(photo_dir.glob("*.png")):
        image = np.asarray(Image.open(path))[:64, :64]
        encoded = codec.encode(image, reconstruct=True)
        mse = np.mean((encoded.reconstruction.astype(np.float64) - image) ** 2) / 255**2
        losses.append(lmbda * 255**2 * mse + 8 * len(encoded.data) / (64 * 64))
    return float(np.mean(losses))


def test_qat_is_not_worse_than_ptq_on_its_training_crops(tiny_float, photo_dir, tmp_path, capsys):
    """``licfpga quantize`` end to end: 0 steps is PTQ; 80 QAT steps must give an integer
    model whose real files have an RD loss no higher than PTQ's on the training photos."""
    common = [
        "--model",
        str(tiny_float),
        "--data",
        str(photo_dir),
        "--out",
        str(tmp_path),
        "--batch",
        "4",
        "--crop",
        "64",
        "--lr",
        "1e-4",
        "--calib-images",
        "8",
    ]
    assert main(["quantize", *common, "--steps", "0", "--name", "tiny-ptq"]) == 0
    assert (
        main(["quantize", *common, "--steps", "80", "--name", "tiny-qat", "--checkpoint", str(tmp_path / "qat.ckpt")])
        == 0
    )
    ptq, qat = load_artefact(tmp_path / "tiny-ptq.json"), load_artefact(tmp_path / "tiny-qat.json")
    assert ptq.meta["quantization"]["method"] == "ptq" and qat.meta["quantization"]["method"] == "qat"
    assert qat.meta["source"]["name"] == "tiny-q1" and qat.meta["lmbda"] == pytest.approx(0.05)
    lmbda = 0.05
    ptq_loss = rd_loss_of_files(tmp_path / "tiny-ptq.json", photo_dir, lmbda)
    qat_loss = rd_loss_of_files(tmp_path / "tiny-qat.json", photo_dir, lmbda)
    assert qat_loss <= ptq_loss, (qat_loss, ptq_loss)


def test_quantize_errors_are_one_line(tiny_float, tmp_path, capsys):
    assert (
        main(
            [
                "quantize",
                "--model",
                str(tiny_float),
                "--data",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path),
                "--steps",
                "0",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("licfpga: error: ") and err.count("\n") == 1


def test_ablation_report(tiny_float, photo_dir, tmp_path, capsys):
    second = train_tiny(photo_dir, tmp_path, "tiny-q2", 2, 0.2, 120)
    calib = tmp_path / "calib"
    shutil.copytree(photo_dir, calib)
    with pytest.raises(EvalError, match="evaluation images"):
        ablation(photo_dir, [str(tiny_float)], calib=photo_dir)
    report = ablation(photo_dir, [str(tiny_float), str(second)], calib=calib, calib_images=4, progress=False)
    labels = [c["label"] for c in report["curves"]]
    assert labels == ["float", "hybrid-ptq", "int8-gdn16", "int8-gdn8"]
    assert all(len(c["points"]) == 2 for c in report["curves"])
    assert [(e["anchor"], e["test"]) for e in report["bd"]] == [("float", label) for label in labels[1:]]
    assert any("no shipped integer model tiny-q1-int8" in n for n in report["notes"])
    for entry in report["bd"]:
        assert "error" in entry or math.isfinite(entry["bd_rate_pct"])
    out = tmp_path / "ablation.json"
    assert (
        main(
            [
                "quant-ablation",
                str(photo_dir),
                "--model",
                str(tiny_float),
                "--model",
                str(second),
                "--calib",
                str(calib),
                "--calib-images",
                "4",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["format"] == "licfpga-quant-ablation-1"
    assert "hybrid-ptq" in capsys.readouterr().out


def test_loaded_fp16_weights_keep_the_architecture_constants(tiny_float):
    """fp16 weight files flush the 1e-9 likelihood bound to 0; loading restores it, so
    QAT (or --init training) from shipped weights never meets log(0)."""
    model, _ = load_model(str(tiny_float))
    assert model.entropy_bottleneck.likelihood_lower_bound.bound.item() == pytest.approx(1e-9)
    assert model.g_a[1].gamma_reparam.pedestal.item() == 2.0**-36
