import json

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.cli import main
from licfpga.model.data import CropSampler, build_pack, load_pack
from licfpga.model.hyperprior import ScaleHyperprior
from licfpga.model.registry import ModelError, list_models, load_model, model_info, save_weights
from licfpga.model.train import TrainConfig, train


@pytest.fixture
def photos(tmp_path, rng):
    """A folder of small synthetic 'photos': smooth gradients with texture, mixed sizes and formats."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for i, (h, w) in enumerate([(80, 120), (96, 64), (40, 50), (600, 520)]):
        yy, xx = np.mgrid[0:h, 0:w]
        image = np.stack([(xx * (i + 1)) % 256, (yy * 2) % 256, (xx + yy) % 256], -1) + rng.integers(0, 20, (h, w, 3))
        name = folder / ("sub" if i % 2 else "") / f"p{i}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(name)
    return folder


def test_crops_are_full_size_and_in_range(photos, rng):
    sampler = CropSampler(photos, crop=64)
    assert len(sampler.images) == 4
    # The 600×520 photo is halved before cropping.
    assert max(im.shape[0] for im in sampler.images) == 300
    batch = sampler.batch(5, rng)
    assert batch.shape == (5, 3, 64, 64) and batch.min() >= 0 and batch.max() <= 1


def test_patch_pack_round_trip_and_budget(photos, tmp_path):
    pack = tmp_path / "pack.npz"
    summary = build_pack(photos, pack, tile=32, max_mib=0.05)
    assert 0 < summary["tiles"] and pack.stat().st_size <= 0.05 * 2**20
    tiles = load_pack(pack)
    assert len(tiles) == summary["tiles"] and all(t.shape[2] == 3 and max(t.shape[:2]) <= 32 for t in tiles)
    assert CropSampler(pack, crop=32).batch(2, np.random.default_rng(0)).shape == (2, 3, 32, 32)
    (tmp_path / "bad.npz").write_bytes(b"not a pack")
    with pytest.raises(ValueError):
        load_pack(tmp_path / "bad.npz")


def _config(photos, out, **kw):
    return TrainConfig(data=str(photos), out=str(out), N=8, M=16, batch=2, crop=64, checkpoint_every=2, **kw)


def test_training_resumes_where_it_stopped(photos, tmp_path):
    torch.manual_seed(0)
    ckpt = tmp_path / "t.pt"
    train(_config(photos, ckpt, steps=2))
    first = torch.load(ckpt, weights_only=False)
    assert first["step"] == 2 and len(first["history"]) == 1
    train(_config(photos, ckpt, steps=4))
    second = torch.load(ckpt, weights_only=False)
    assert second["step"] == 4 and [h["step"] for h in second["history"]] == [2, 4]
    assert second["history"][1]["seconds"] >= second["history"][0]["seconds"]
    assert not torch.equal(first["model"]["g_a.0.weight"], second["model"]["g_a.0.weight"])


def test_distillation_adds_imitation_terms(photos, tmp_path):
    teacher = tmp_path / "teacher.pt"
    save_weights(
        ScaleHyperprior(12, 16),
        teacher,
        name="teacher-n12-q1",
        role="teacher",
        quality=1,
        lmbda=0.01,
        distilled=False,
        training={},
    )
    ckpt = tmp_path / "s.pt"
    train(_config(photos, ckpt, steps=4, teacher=str(teacher), kd_start=0.5))
    history = torch.load(ckpt, weights_only=False)["history"]
    assert "kd_y" not in history[0] and "kd_y" in history[1] and "kd_x" in history[1]

    with pytest.raises(ValueError, match="multiple of 64"):
        TrainConfig(data="x", out="y", crop=100)
    with pytest.raises(ValueError, match="M=16"):
        train(
            TrainConfig(
                data=str(photos),
                out=str(tmp_path / "bad.pt"),
                N=8,
                M=24,
                batch=1,
                crop=64,
                steps=1,
                teacher=str(teacher),
            )
        )


def test_export_and_registry(photos, tmp_path, capsys):
    ckpt = tmp_path / "t.pt"
    assert (
        main(
            [
                "train",
                "--data",
                str(photos),
                "--out",
                str(ckpt),
                "--N",
                "8",
                "--M",
                "16",
                "--steps",
                "2",
                "--batch",
                "1",
                "--crop",
                "64",
            ]
        )
        == 0
    )
    weights = tmp_path / "weights"
    assert main(["export", str(ckpt), "--quality", "3", "--out-dir", str(weights)]) == 0
    (info,) = list_models(weights)
    assert (info.name, info.role, info.N, info.M, info.quality, info.distilled) == (
        "teacher-n8-q3",
        "teacher",
        8,
        16,
        3,
        False,
    )
    assert info.training["steps"] == 2
    model, again = load_model(info.path)
    assert again.name == info.name and model.g_a[0].weight.dtype == torch.float32
    assert all(
        v.dtype == torch.float16
        for v in torch.load(info.path, weights_only=True)["state_dict"].values()
        if v.is_floating_point()
    )
    with pytest.raises(ModelError, match="unknown model 'nope'.*teacher-n8-q3"):
        model_info("nope", weights)
    (weights / "broken.pt").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="not a readable weight file"):
        load_model(str(weights / "broken.pt"))


def test_models_json_lists_the_required_fields(capsys):
    assert main(["models", "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert isinstance(models, list)
    for m in models:
        assert {
            "name",
            "role",
            "N",
            "M",
            "quality",
            "lmbda",
            "distilled",
            "integer",
            "params",
            "macs_per_pixel",
        } <= set(m)
        assert m["role"] in ("teacher", "student")


def test_distributed_data_parallel_single_process(photos, tmp_path, monkeypatch):
    """The torchrun path (one gloo process on the CPU): DDP wraps the model and training runs."""
    for key, value in {
        "LOCAL_RANK": "0",
        "RANK": "0",
        "WORLD_SIZE": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29517",
    }.items():
        monkeypatch.setenv(key, value)
    try:
        train(_config(photos, tmp_path / "ddp.pt", steps=3))
        assert torch.distributed.is_initialized() and torch.distributed.get_world_size() == 1
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    assert torch.load(tmp_path / "ddp.pt", weights_only=False)["step"] == 3


def test_learning_curve_fits_log_time(tmp_path):
    from licfpga.model.curves import curve, plot_curves
    from licfpga.model.registry import ModelInfo

    minutes = np.arange(1, 21)
    history = [
        {"step": 10 * m, "seconds": 60 * m, "loss": 3 * m**-0.5, "bpp": 0.5, "psnr": 25 + m / 10} for m in minutes
    ]
    info = ModelInfo(
        name="x",
        role="student",
        N=8,
        M=16,
        quality=1,
        lmbda=0.01,
        distilled=True,
        integer=False,
        params=1,
        macs_per_pixel=1.0,
        path="x.pt",
        training={"history": history},
    )
    c = curve(info)
    assert c["fit"]["exponent"] == pytest.approx(-0.5)
    assert c["fit"]["loss_at_10x"] == pytest.approx(3 * 200**-0.5)
    plot_curves([c], tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_bf16_autocast_keeps_latents_gdn_and_entropy_models_fp32():
    model = ScaleHyperprior(8, 16).train().to(memory_format=torch.channels_last)
    x = torch.rand(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
        gdn_out = model.g_a[1](torch.randn(1, 8, 4, 4, dtype=torch.bfloat16))
    # y is rounded to the unit grid and the rates come from the likelihoods: both fp32.
    assert out["y"].dtype == torch.float32 and gdn_out.dtype == torch.float32
    assert all(lik.dtype == torch.float32 for lik in out["likelihoods"].values())
    assert out["x_hat"].dtype == torch.bfloat16  # the wide synthesis layers do run in bf16


def test_bf16_channels_last_training_runs_and_resumes(photos, tmp_path):
    cfg = dict(
        data=str(photos),
        out=str(tmp_path / "m.pt"),
        N=8,
        M=16,
        batch=2,
        crop=64,
        bf16=True,
        channels_last=True,
        checkpoint_every=2,
    )
    train(TrainConfig(steps=2, **cfg))
    train(TrainConfig(steps=4, **cfg))
    history = torch.load(tmp_path / "m.pt", weights_only=False)["history"]
    assert [h["step"] for h in history] == [2, 4] and all(np.isfinite(h["loss"]) for h in history)
