"""Shared fixtures of the quantization tests: a folder of small synthetic photos, tiny
float models trained on them for a few seconds, and their post-training-quantized
artefact. Trained (not random) weights, so that latents span several integers and the
integer/float comparisons measure something."""

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.model.hyperprior import ScaleHyperprior, load_state_dict_strict
from licfpga.model.quantize import QuantizedHyperprior, calibrate, export
from licfpga.model.registry import save_weights
from licfpga.model.train import TrainConfig, train

TINY = {"N": 8, "M": 16}


def smooth_image(rng, size=96):
    """A low-frequency colour field plus mild noise: photo-like statistics in a few pixels."""
    low = torch.from_numpy(rng.random((1, 3, 6, 6)))
    field = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)[0]
    pixels = field.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + rng.normal(0, 4, (size, size, 3))
    return pixels.clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(smooth_image(rng)).save(folder / f"photo{i}.png")
    return folder


def train_tiny(photo_dir, folder, name, quality, lmbda, steps):
    checkpoint = folder / f"{name}.ckpt"
    train(
        TrainConfig(
            data=str(photo_dir),
            out=str(checkpoint),
            **TINY,
            lmbda=lmbda,
            steps=steps,
            batch=4,
            crop=64,
            lr=3e-3,
            checkpoint_every=steps,
        )
    )
    model = ScaleHyperprior(**TINY)
    load_state_dict_strict(model, torch.load(checkpoint, weights_only=False)["model"])
    path = folder / f"{name}.pt"
    save_weights(model, path, name=name, role="student", quality=quality, lmbda=lmbda, distilled=False, training={})
    return path


@pytest.fixture(scope="session")
def tiny_float(photo_dir, tmp_path_factory):
    """A tiny float model (N=8, M=16) as a weight file, 200 training steps."""
    return train_tiny(photo_dir, tmp_path_factory.mktemp("float"), "tiny-q1", 1, 0.05, 200)


def calibration_batch(photo_dir, count=8):
    from licfpga.model.data import CropSampler

    return CropSampler(photo_dir, crop=64).batch(count, np.random.default_rng(1))


@pytest.fixture(scope="session")
def calibration(photo_dir):
    """Eight 64-pixel crops of the synthetic photos, float in [0, 1]."""
    return calibration_batch(photo_dir)


@pytest.fixture(scope="session")
def tiny_artefact(tiny_float, photo_dir, tmp_path_factory):
    """The PTQ artefact of ``tiny_float`` (manifest path), GDN32, int8 GDN input."""
    from licfpga.model.registry import load_model

    model, info = load_model(str(tiny_float))
    q = QuantizedHyperprior.from_float(model, calibrate(model, calibration_batch(photo_dir)))
    meta = {
        "role": "student",
        "quality": 1,
        "lmbda": info.lmbda,
        "distilled": False,
        "source": {"name": info.name},
        "quantization": {"method": "ptq"},
    }
    return export(q, "tiny-q1-int8", meta).save(tmp_path_factory.mktemp("int"))
