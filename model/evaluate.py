"""Rate-distortion evaluation: learned models through the real codec, with JPEG and WebP
(Pillow) run side by side on the same images as anchors.

Rate is always the size of the real encoded bytes: bpp = 8·bytes/(H·W). PSNR is RGB
PSNR on uint8 (one MSE over the three channels); MS-SSIM is :func:`metrics.ms_ssim`.
Means over images are plain means of the per-image values (as CompressAI reports them).

A *curve* is the models of one family (role, N, distilled, integer) at their different
qualities, or one anchor codec's quality sweep. The report (:func:`evaluate`) holds no
date and no absolute path, so two runs over the same images can be compared directly.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..errors import UserError
from .codec import Codec, CodecError, decode, encode
from .metrics import BD_METHODS, MS_SSIM_WEIGHTS, BDError, bd_psnr, bd_rate, ms_ssim, ms_ssim_scales, psnr
from .registry import resolve_model

REPORT_FORMAT = "licfpga-eval-1"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ANCHOR_QUALITIES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
#: Pillow's settings for each anchor codec; everything else is Pillow's default, as in
#: CompressAI's benchmarks. Subsampling 2 is 4:2:0.
ANCHORS = {"jpeg": {"format": "JPEG", "subsampling": 2}, "webp": {"format": "WEBP"}}


class EvalError(UserError, ValueError):
    """An evaluation that cannot run: no images, a bad argument, a failing codec."""


@dataclass(frozen=True)
class Coded:
    """One image through one codec: the bytes written and the image decoded from them."""

    data: bytes
    reconstruction: np.ndarray
    encode_s: float
    decode_s: float


def load_codec(spec: str):
    """A learned codec ready to code, and its model's registry info, from a registry name,
    a weight file or an integer artefact. Its entropy tables are built here so that the first image's
    encode time does not include them."""
    info = resolve_model(spec)
    try:
        codec = Codec.from_info(info)
    except CodecError as exc:
        raise EvalError(f"{spec}: {exc}") from None
    # The tables are cached properties: reading them builds them.
    codec.z_tables, codec.y_tables  # noqa: B018
    return codec, info


def codec_roundtrip(image: np.ndarray, codec, name: str) -> Coded:
    """Encode with the learned codec and decode its bytes again; the image measured is
    the decoder's. With :func:`load_codec`, the one place that calls ``model.codec``."""
    try:
        start = time.perf_counter()
        result = encode(image, codec)
        encoded = time.perf_counter()
        reconstruction = decode(result.data, model=codec)
        decoded = time.perf_counter()
    except CodecError as exc:
        raise EvalError(f"{name}: {exc}") from None
    return Coded(bytes(result.data), np.asarray(reconstruction), encoded - start, decoded - encoded)


def anchor_roundtrip(image: np.ndarray, anchor: str, quality: int) -> Coded:
    """Encode with Pillow's JPEG or WebP at ``quality`` and decode the bytes."""
    buffer = io.BytesIO()
    start = time.perf_counter()
    Image.fromarray(image).save(buffer, quality=quality, **ANCHORS[anchor])
    encoded = time.perf_counter()
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded_image:
        reconstruction = np.asarray(decoded_image.convert("RGB"))
    decoded = time.perf_counter()
    return Coded(buffer.getvalue(), reconstruction, encoded - start, decoded - encoded)


def find_eval_images(folder: Path, limit: int | None = None) -> list[Path]:
    """The PNG and JPEG files directly inside ``folder``, sorted by name, the first ``limit``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalError(f"{folder}: not a folder")
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise EvalError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    if limit is not None:
        if limit < 1:
            raise EvalError(f"--limit must be at least 1, got {limit}")
        paths = paths[:limit]
    return paths


def load_image(path: Path) -> np.ndarray:
    """An RGB uint8 array (H, W, 3) at the file's own size."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except OSError as exc:
        raise EvalError(f"{path}: not a readable image ({exc})") from None


def measure(image: np.ndarray, coded: Coded) -> dict:
    """bpp, PSNR, MS-SSIM and timings of one coded image."""
    if coded.reconstruction.shape != image.shape or coded.reconstruction.dtype != np.uint8:
        raise EvalError(
            f"decoded image is {coded.reconstruction.dtype} {coded.reconstruction.shape}, expected uint8 {image.shape}"
        )
    height, width = image.shape[:2]
    return {
        "bytes": len(coded.data),
        "bpp": 8.0 * len(coded.data) / (height * width),
        "psnr": psnr(image, coded.reconstruction),
        "ms_ssim": ms_ssim(image, coded.reconstruction),
        "encode_s": coded.encode_s,
        "decode_s": coded.decode_s,
    }


def curve_label(role: str, N: int, distilled: bool, integer: bool) -> str:
    """The family name of a model, its registry name without the quality."""
    label = f"{role}-n{N}" + ("-nokd" if role == "student" and not distilled else "")
    return label + ("-int8" if integer else "")


_MEASURES = ("bytes", "bpp", "psnr", "ms_ssim", "encode_s", "decode_s")


def _means(rows: list[dict]) -> dict:
    return {key: float(np.mean([row[key] for row in rows])) for key in _MEASURES}


def bd_table(anchors: Sequence[dict], tests: Sequence[dict], method: str = "pchip") -> list[dict]:
    """BD-rate and BD-PSNR of every test curve against every anchor curve (a curve is not
    compared with itself); a pair that cannot be compared carries ``error`` instead."""
    table = []
    for anchor in anchors:
        for test in tests:
            if test is anchor:
                continue
            entry = {"anchor": anchor["label"], "test": test["label"]}
            # A report read back from JSON has null for the PSNR of a lossless point.
            rates = [
                [math.nan if p[key] is None else p[key] for p in curve["points"]]
                for curve in (anchor, test)
                for key in ("bpp", "psnr")
            ]
            try:
                entry["bd_rate_pct"] = bd_rate(*rates, method=method)
                entry["bd_psnr_db"] = bd_psnr(*rates, method=method)
            except BDError as exc:
                entry["error"] = str(exc)
            table.append(entry)
    return table


def evaluate(
    folder: Path,
    models: Sequence[str],
    anchors: Sequence[str] = ("jpeg", "webp"),
    limit: int | None = None,
    anchor_qualities: Sequence[int] = ANCHOR_QUALITIES,
    bd_method: str = "pchip",
    progress: bool = True,
) -> dict:
    """Run every model (registry name or .pt path) and anchor over the images of ``folder``
    and return the report: per-image ``rows``, per-model means (``models``), ``curves``
    and ``bd`` (every curve against each anchor, every model curve against each teacher)."""
    unknown = [a for a in anchors if a not in ANCHORS]
    if unknown:
        raise EvalError(f"unknown anchor {', '.join(unknown)} (known: {', '.join(ANCHORS)})")
    if bd_method not in BD_METHODS:
        raise EvalError(f"unknown BD method {bd_method!r} (known: {', '.join(BD_METHODS)})")
    if not models and not anchors:
        raise EvalError("nothing to evaluate: no --model and no anchors")
    paths = find_eval_images(folder, limit)
    loaded = [load_codec(spec) for spec in models]
    names = [info.name for _, info in loaded]
    if len(set(names)) != len(names):
        raise EvalError(f"a model is named twice: {', '.join(names)}")

    rows, images = [], []
    for path in tqdm(paths, desc="eval", unit="image", disable=not progress):
        image = load_image(path)
        height, width = image.shape[:2]
        if not ms_ssim_scales(height, width):
            raise EvalError(f"{path}: {width}×{height} is too small for MS-SSIM (the short side must exceed 10 px)")
        name = path.name
        images.append(
            {"name": name, "height": height, "width": width, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        )
        for codec, info in loaded:
            coded = codec_roundtrip(image, codec, info.name)
            rows.append(
                {
                    "image": name,
                    "name": info.name,
                    "quality": info.quality,
                    "curve": curve_label(info.role, info.N, info.distilled, info.integer),
                    **measure(image, coded),
                }
            )
        for anchor in anchors:
            for quality in anchor_qualities:
                rows.append(
                    {
                        "image": name,
                        "name": f"{anchor}-q{quality}",
                        "quality": int(quality),
                        "curve": anchor,
                        **measure(image, anchor_roundtrip(image, anchor, int(quality))),
                    }
                )

    points = {}
    for row in rows:
        points.setdefault(row["name"], []).append(row)
    model_means = []
    for _, info in loaded:
        meta = {k: v for k, v in info.as_json().items() if k not in ("path", "training")}
        meta["training_steps"] = info.training.get("steps")  # which weights of a model that trains on
        model_means.append(
            {**meta, "curve": curve_label(info.role, info.N, info.distilled, info.integer), **_means(points[info.name])}
        )

    curves = {}
    for _, info in loaded:
        label = curve_label(info.role, info.N, info.distilled, info.integer)
        curves.setdefault(
            label,
            {
                "label": label,
                "kind": "model",
                "role": info.role,
                "N": info.N,
                "distilled": info.distilled,
                "integer": info.integer,
                "points": [],
            },
        )
        curves[label]["points"].append({"name": info.name, "quality": info.quality, **_means(points[info.name])})
    for anchor in anchors:
        curves[anchor] = {
            "label": anchor,
            "kind": "anchor",
            "points": [
                {"name": f"{anchor}-q{q}", "quality": int(q), **_means(points[f"{anchor}-q{q}"])}
                for q in anchor_qualities
            ],
        }
    for curve in curves.values():
        curve["points"].sort(key=lambda p: (p["bpp"], p["quality"]))
    curve_list = list(curves.values())
    model_curves = [c for c in curve_list if c["kind"] == "model"]
    teachers = [c for c in model_curves if c["role"] == "teacher"]
    bd = bd_table([curves[a] for a in anchors], curve_list, bd_method) + bd_table(teachers, model_curves, bd_method)

    notes = []
    small = [i["name"] for i in images if ms_ssim_scales(i["height"], i["width"]) < len(MS_SSIM_WEIGHTS)]
    if small:
        notes.append(
            f"MS-SSIM used fewer than {len(MS_SSIM_WEIGHTS)} scales (weights renormalised) on "
            f"{len(small)} image(s) under 161 px on the short side: {', '.join(small)}"
        )
    return {
        "format": REPORT_FORMAT,
        "dataset": {"folder": Path(folder).resolve().name, "count": len(images), "images": images},
        "settings": {
            "anchors": {
                anchor: {**ANCHORS[anchor], "qualities": [int(q) for q in anchor_qualities]} for anchor in anchors
            },
            "bd_method": bd_method,
            "rate": "bpp from the encoded bytes",
            "psnr": "RGB, uint8, mean of per-image",
            "ms_ssim": "5 scales, gaussian 11/1.5, mean over RGB channels",
        },
        "rows": rows,
        "models": model_means,
        "curves": curve_list,
        "bd": bd,
        "notes": notes,
    }


def _finite_or_none(value):
    """JSON has no infinity: PSNR of a lossless point is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


def write_report(report: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(_finite_or_none(report), indent=1, allow_nan=False) + "\n")


def read_report(path: Path) -> dict:
    """A report written by :func:`write_report`."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise EvalError(f"{path}: not a readable JSON report ({exc.__class__.__name__})") from None
    if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT:
        raise EvalError(f"{path}: not a licfpga eval report (format {REPORT_FORMAT})")
    return report


def plot_rd(report: dict, path: Path) -> None:
    """PSNR and MS-SSIM (dB) against bpp for every curve of a report, anchors dashed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Figure + Agg canvas directly: no pyplot, so no global backend is switched.
    figure = Figure(figsize=(12, 5), layout="constrained")
    FigureCanvasAgg(figure)
    psnr_axes, ssim_axes = figure.subplots(1, 2)
    for curve in report["curves"]:
        points = [p for p in curve["points"] if p["psnr"] is not None and math.isfinite(p["psnr"])]
        if not points:
            continue
        style = {
            "linestyle": "--" if curve["kind"] == "anchor" else "-",
            "marker": "o",
            "markersize": 3,
            "label": curve["label"],
        }
        bpp = [p["bpp"] for p in points]
        (line,) = psnr_axes.plot(bpp, [p["psnr"] for p in points], **style)
        ssim_db = [-10.0 * math.log10(max(1.0 - p["ms_ssim"], 1e-10)) for p in points]
        ssim_axes.plot(bpp, ssim_db, color=line.get_color(), **style)
    dataset = report["dataset"]
    for axes, ylabel in ((psnr_axes, "RGB PSNR (dB)"), (ssim_axes, "MS-SSIM (dB: −10·log10(1 − MS-SSIM))")):
        axes.set_xlabel("bits per pixel (from the file bytes)")
        axes.set_ylabel(ylabel)
        axes.grid(True, alpha=0.3)
        if report["curves"]:
            axes.legend(fontsize="small")
        axes.set_title(f"{dataset['folder']} ({dataset['count']} images)")
    figure.savefig(path, dpi=120)


def bd_lines(entries: Sequence[dict]) -> list[str]:
    """A table of BD entries (see :func:`bd_table`) for the terminal."""
    lines = [f"{'test':24} {'anchor':24} {'BD-rate':>9} {'BD-PSNR':>10}"]
    for entry in entries:
        if "error" in entry:
            lines.append(f"{entry['test']:24} {entry['anchor']:24} {'—':>9} {'—':>10}  {entry['error']}")
        else:
            lines.append(
                f"{entry['test']:24} {entry['anchor']:24} {entry['bd_rate_pct']:+8.2f}% {entry['bd_psnr_db']:+7.3f} dB"
            )
    return lines


def summary_lines(report: dict) -> list[str]:
    """The mean point of every curve, the BD table and the notes of a report, for the terminal."""
    dataset = report["dataset"]
    lines = [
        f"{dataset['folder']}: {dataset['count']} image(s)",
        f"{'point':24} {'bpp':>7} {'PSNR':>7} {'MS-SSIM':>8} {'enc ms':>8} {'dec ms':>8}",
    ]
    for curve in report["curves"]:
        for p in curve["points"]:
            psnr_text = "inf" if p["psnr"] is None or math.isinf(p["psnr"]) else f"{p['psnr']:.2f}"
            lines.append(
                f"{p['name']:24} {p['bpp']:7.4f} {psnr_text:>7} {p['ms_ssim']:8.5f} "
                f"{1e3 * p['encode_s']:8.1f} {1e3 * p['decode_s']:8.1f}"
            )
    if report["bd"]:
        lines += ["", f"Bjøntegaard deltas ({report['settings']['bd_method']}, rate at equal RGB PSNR):"]
        lines += bd_lines(report["bd"])
    lines += [f"note: {note}" for note in report["notes"]]
    return lines
