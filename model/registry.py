"""The shipped models: fp16 weight files in ``model/weights`` with their metadata, and
the integer artefacts beside them.

A weight file is a ``torch.save`` dict: ``format``, ``name``, ``role`` ("teacher" or
"student"), ``N``, ``M``, ``quality`` (rate index, 1 = lowest rate), ``lmbda``,
``distilled``, ``training`` (what produced it) and ``state_dict`` (fp16).

An integer model is an artefact (:mod:`.artefact`): ``NAME.npz`` + ``NAME.json``, listed
with ``integer: true``; by convention NAME is its float model's name + ``-int8``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError
from .artefact import Artefact, ArtefactError, load_artefact, read_manifest
from .topology import macs_per_pixel

if TYPE_CHECKING:
    from .hyperprior import ScaleHyperprior

WEIGHTS_DIR = Path(__file__).parent / "weights"
FORMAT = "licfpga-float-1"
#: The shipped default student (float); its integer artefact is ``DEFAULT_MODEL + "-int8"``.
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


class ModelError(UserError, ValueError):
    """An unknown model name or an unusable weight file."""


def model_name(role: str, N: int, quality: int, distilled: bool = True) -> str:
    suffix = "" if role == "teacher" or distilled else "-nokd"
    return f"{role}-n{N}{suffix}-q{quality}"


def save_weights(
    model: ScaleHyperprior,
    path: Path,
    *,
    name: str,
    role: str,
    quality: int,
    lmbda: float,
    distilled: bool,
    training: dict,
) -> None:
    if role not in ("teacher", "student"):
        raise ValueError(f"role must be 'teacher' or 'student', got {role!r}")
    import torch  # float weights only: integer models are read without torch

    state = {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "format": FORMAT,
            "name": name,
            "role": role,
            "N": model.N,
            "M": model.M,
            "quality": int(quality),
            "lmbda": float(lmbda),
            "distilled": bool(distilled),
            "training": training,
            "state_dict": state,
        },
        path,
    )


def _read(path: Path) -> dict:
    import torch  # float weights only: integer models are read without torch

    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise ModelError(f"{path}: not a readable weight file ({exc.__class__.__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ModelError(
            f"{path}: not a licfpga weight file (format {blob.get('format') if isinstance(blob, dict) else None!r})"
        )
    return blob


def _info(path: Path, blob: dict) -> ModelInfo:
    N, M = int(blob["N"]), int(blob["M"])
    params = sum(
        v.numel()
        for k, v in blob["state_dict"].items()
        if not k.endswith(("pedestal", "bound", "target", "scale_table", "scale_bound"))
    )
    macs = macs_per_pixel(N, M)
    return ModelInfo(
        name=blob["name"],
        role=blob["role"],
        N=N,
        M=M,
        quality=int(blob["quality"]),
        lmbda=float(blob["lmbda"]),
        distilled=bool(blob["distilled"]),
        integer=False,
        params=params,
        macs_per_pixel=round(macs["g_a"] + macs["h_a"], 1),
        path=str(path),
        training=dict(blob.get("training", {})),
    )


def _artefact_info(path: Path) -> ModelInfo:
    """The registry entry of an integer artefact, from its manifest (``path``: the .json)."""
    try:
        manifest = read_manifest(path)
        N, M = int(manifest["N"]), int(manifest["M"])
        # Stored integers: weights, biases and GDN coefficients (shapes from the manifest).
        params = sum(
            e["c_out"] * (e["c_in"] * e["kernel"] ** 2 + 1)
            if e["kind"] in ("conv", "deconv")
            else e["c_out"] * (e["c_in"] + 1)
            for e in manifest["layers"]
        )
        macs = macs_per_pixel(N, M)
        return ModelInfo(
            name=str(manifest["name"]),
            role=str(manifest.get("role", "student")),
            N=N,
            M=M,
            quality=int(manifest.get("quality", 0)),
            lmbda=float(manifest.get("lmbda", 0.0)),
            distilled=bool(manifest.get("distilled", False)),
            integer=True,
            params=params,
            macs_per_pixel=round(macs["g_a"] + macs["h_a"], 1),
            path=str(path),
            training=dict(manifest["quantization"]),
        )
    except ArtefactError as exc:
        raise ModelError(str(exc)) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: malformed artefact manifest ({exc.__class__.__name__}: {exc})") from None


@lru_cache(maxsize=None)
def _catalogue(directory: str) -> dict[str, ModelInfo]:
    infos = {}
    for path in sorted(Path(directory).glob("*.pt")):
        info = _info(path, _read(path))
        infos[info.name] = info
    # Integer artefacts: the manifests beside their .npz (other JSON files are not models).
    for path in sorted(Path(directory).glob("*.json")):
        if path.with_suffix(".npz").exists():
            info = _artefact_info(path)
            infos[info.name] = info
    return infos


def list_models(directory: Path = WEIGHTS_DIR) -> list[ModelInfo]:
    return sorted(_catalogue(str(directory)).values(), key=lambda i: (i.role != "teacher", -i.N, i.name))


def model_info(name: str, directory: Path = WEIGHTS_DIR) -> ModelInfo:
    # An artefact named as its file is found without reading every weight file (torch).
    manifest = Path(directory) / f"{name}.json"
    if manifest.exists() and manifest.with_suffix(".npz").exists():
        info = _artefact_info(manifest)
        if info.name == name:
            return info
    catalogue = _catalogue(str(directory))
    if name not in catalogue:
        known = ", ".join(sorted(catalogue)) or "none"
        raise ModelError(f"unknown model {name!r} (shipped: {known})")
    return catalogue[name]


def resolve_model(name_or_path: str, directory: Path = WEIGHTS_DIR) -> ModelInfo:
    """The entry of a registry name, a weight file (.pt) or an artefact (.json or .npz)."""
    path = Path(name_or_path)
    if path.suffix in (".pt", ".json", ".npz") and not path.exists():
        raise ModelError(f"{path}: no such {'weight' if path.suffix == '.pt' else 'artefact'} file")
    if path.suffix == ".pt":
        return _info(path, _read(path))
    if path.suffix in (".json", ".npz"):
        return _artefact_info(path.with_suffix(".json"))
    return model_info(name_or_path, directory)


def load_model(name_or_path: str, directory: Path = WEIGHTS_DIR) -> tuple[ScaleHyperprior, ModelInfo]:
    """A float model in eval mode from a registry name or a weight-file path."""
    info = resolve_model(name_or_path, directory)
    if info.integer:
        raise ModelError(f"{info.name} is an integer model (an artefact), not float weights")
    from .hyperprior import ScaleHyperprior, config_from_state_dict, load_state_dict_strict  # torch: float models only

    blob = _read(Path(info.path))
    config = config_from_state_dict(blob["state_dict"])
    model = ScaleHyperprior(config.N, config.M)
    # Buffers other than the scale table are constants of the architecture, and fp16 flushes
    # some to 0 (the 1e-9 likelihood bound, the 2**-36 pedestals): a model trained further
    # from such weights would meet log(0). They keep the fresh module's values.
    constants = {k: v for k, v in model.named_buffers() if not k.startswith("gaussian_conditional.scale_")}
    try:
        load_state_dict_strict(model, {**blob["state_dict"], **constants})
    except ValueError as exc:
        raise ModelError(f"{info.path}: {exc}") from None
    return model.eval(), info


def load_integer_model(name_or_path: str, directory: Path = WEIGHTS_DIR) -> tuple[Artefact, ModelInfo]:
    """An integer artefact, checked (:func:`artefact.load_artefact`), from a registry name or its path."""
    info = resolve_model(name_or_path, directory)
    if not info.integer:
        raise ModelError(
            f"{info.name} is a float model; its integer version is {info.name}-int8 (made by licfpga quantize)"
        )
    try:
        return load_artefact(Path(info.path)), info
    except ArtefactError as exc:
        raise ModelError(str(exc)) from None


def model_id(info: ModelInfo) -> bytes:
    """A short fingerprint of a model's weights, stored in compressed files. For an
    integer model it hashes the manifest, which holds the sha256 of the tensors."""
    return hashlib.sha256(Path(info.path).read_bytes()).digest()[:8]


def default_codec_model(directory: Path = WEIGHTS_DIR) -> str:
    """What compression uses when no model is named: the default student's integer
    artefact (bit-exact with the hardware, decodes identically anywhere) where it is
    shipped, else the float student."""
    try:
        return model_info(f"{DEFAULT_MODEL}-int8", directory).name
    except ModelError:
        return DEFAULT_MODEL
