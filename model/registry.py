"""The shipped models: fp16 weight files in ``model/weights`` with their metadata.

A weight file is a ``torch.save`` dict: ``format``, ``name``, ``role`` ("teacher" or
"student"), ``N``, ``M``, ``quality`` (rate index, 1 = lowest rate), ``lmbda``,
``distilled``, ``training`` (what produced it) and ``state_dict`` (fp16).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import torch

from .hyperprior import ScaleHyperprior, config_from_state_dict, load_state_dict_strict, macs_per_pixel

WEIGHTS_DIR = Path(__file__).parent / "weights"
FORMAT = "licfpga-float-1"
DEFAULT_MODEL = "student-n64-q2"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    role: str
    N: int
    M: int
    quality: int
    lmbda: float
    distilled: bool
    integer: bool
    params: int
    macs_per_pixel: float
    path: str
    training: dict = field(default_factory=dict, compare=False)

    def as_json(self) -> dict:
        return asdict(self)


class ModelError(ValueError):
    """An unknown model name or an unusable weight file."""


def model_name(role: str, N: int, quality: int, distilled: bool = True) -> str:
    suffix = "" if role == "teacher" or distilled else "-nokd"
    return f"{role}-n{N}{suffix}-q{quality}"


def save_weights(model: ScaleHyperprior, path: Path, *, name: str, role: str, quality: int, lmbda: float,
                 distilled: bool, training: dict) -> None:
    if role not in ("teacher", "student"):
        raise ValueError(f"role must be 'teacher' or 'student', got {role!r}")
    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "name": name, "role": role, "N": model.N, "M": model.M,
                "quality": int(quality), "lmbda": float(lmbda), "distilled": bool(distilled),
                "training": training, "state_dict": state}, path)


def _read(path: Path) -> dict:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise ModelError(f"{path}: not a readable weight file ({exc.__class__.__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ModelError(f"{path}: not a licfpga weight file (format {blob.get('format') if isinstance(blob, dict) else None!r})")
    return blob


def _info(path: Path, blob: dict) -> ModelInfo:
    N, M = int(blob["N"]), int(blob["M"])
    params = sum(v.numel() for k, v in blob["state_dict"].items()
                 if not k.endswith(("pedestal", "bound", "target", "scale_table", "scale_bound")))
    macs = macs_per_pixel(N, M)
    return ModelInfo(name=blob["name"], role=blob["role"], N=N, M=M, quality=int(blob["quality"]),
                     lmbda=float(blob["lmbda"]), distilled=bool(blob["distilled"]), integer=False,
                     params=params, macs_per_pixel=round(macs["g_a"] + macs["h_a"], 1), path=str(path),
                     training=dict(blob.get("training", {})))


@lru_cache(maxsize=None)
def _catalogue(directory: str) -> dict[str, ModelInfo]:
    infos = {}
    for path in sorted(Path(directory).glob("*.pt")):
        info = _info(path, _read(path))
        infos[info.name] = info
    return infos


def list_models(directory: Path = WEIGHTS_DIR) -> list[ModelInfo]:
    return sorted(_catalogue(str(directory)).values(), key=lambda i: (i.role != "teacher", -i.N, i.name))


def model_info(name: str, directory: Path = WEIGHTS_DIR) -> ModelInfo:
    catalogue = _catalogue(str(directory))
    if name not in catalogue:
        known = ", ".join(sorted(catalogue)) or "none"
        raise ModelError(f"unknown model {name!r} (shipped: {known})")
    return catalogue[name]


def load_model(name_or_path: str, directory: Path = WEIGHTS_DIR) -> tuple[ScaleHyperprior, ModelInfo]:
    """A float model in eval mode from a registry name or a weight-file path."""
    path = Path(name_or_path)
    if path.suffix == ".pt" and not path.exists():
        raise ModelError(f"{path}: no such weight file")
    if path.suffix == ".pt":
        blob = _read(path)
        info = _info(path, blob)
    else:
        info = model_info(name_or_path, directory)
        blob = _read(Path(info.path))
    config = config_from_state_dict(blob["state_dict"])
    model = ScaleHyperprior(config.N, config.M)
    try:
        load_state_dict_strict(model, blob["state_dict"])
    except ValueError as exc:
        raise ModelError(f"{info.path}: {exc}") from None
    return model.eval(), info


def model_id(info: ModelInfo) -> bytes:
    """A short fingerprint of a model's weights, stored in compressed files."""
    return hashlib.sha256(Path(info.path).read_bytes()).digest()[:8]
