"""Training images: folders of photos or one compact patch pack, served as random crops.

A *patch pack* (``.npz``) holds losslessly compressed tiles cut from a folder of photos
(2-D differences, deflated), small enough to travel to a GPU machine, and readable with
numpy alone (a lent GPU machine has torch and numpy only); training reads it directly.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .progress import tqdm

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".tif", ".tiff"}
PACK_FORMAT = "licfpga-patch-pack-2"
#: One training image in HOLDOUT_EVERY (sorted by path) is held aside for validation.
HOLDOUT_EVERY = 50
#: Validation crops: the centre of each held-aside photo, this size.
VALIDATION_CROP = 256


def find_images(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder of images")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"{root}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return paths


#: Photos at least this large on their short side are halved before cropping.
HALVE_FROM = 512


def load_rgb(path: Path) -> np.ndarray:
    """An RGB uint8 array (H, W, 3). Photos of at least ``HALVE_FROM`` pixels on their
    short side are halved with Lanczos first, which removes most JPEG artefacts and
    still leaves 256-pixel crops."""
    from PIL import Image  # only where photos are read: a patch pack needs numpy alone

    with Image.open(path) as image:
        image = image.convert("RGB")
        if min(image.size) >= HALVE_FROM:
            image = image.resize((image.width // 2, image.height // 2), Image.LANCZOS)
        return np.asarray(image, dtype=np.uint8)


def _delta_blob(tile: np.ndarray) -> bytes:
    # Vertical then horizontal differences mod 256 (PNG's Up + Sub filters), deflated:
    # numpy and zlib undo it, so a pack needs no image library to read.
    delta = np.diff(np.diff(tile, axis=0, prepend=np.uint8(0)), axis=1, prepend=np.uint8(0))
    return zlib.compress(delta.tobytes(), 9)


def _undelta(blob: bytes, shape) -> np.ndarray:
    delta = np.frombuffer(zlib.decompress(blob), dtype=np.uint8).reshape(shape)
    return np.cumsum(np.cumsum(delta, axis=0, dtype=np.uint8), axis=1, dtype=np.uint8)


def holdout_indices(count: int, every: int = HOLDOUT_EVERY) -> set[int]:
    """The images held aside for validation: one in ``every`` of a sorted folder."""
    return set(range(every // 2, count, every))


def build_pack(source: Path, out: Path, tile: int = 256, max_mib: float = 40.0, seed: int = 0) -> dict:
    """Cut up to one ``tile``×``tile`` tile per training image per pass, round-robin over
    the images in a seeded order, until the pack would pass ``max_mib``. The images
    held aside for validation (:func:`holdout_indices`) go in as centre crops of
    ``VALIDATION_CROP`` (the pack's validation set, as a folder's), never as training tiles."""
    rng = np.random.default_rng(seed)
    paths = find_images(source)
    held = holdout_indices(len(paths))
    images = [load_rgb(p) for p in tqdm(paths, desc="reading", unit="img")]
    validation = [_centre(images[i], VALIDATION_CROP) for i in sorted(held)]
    images = [im for i, im in enumerate(images) if i not in held and min(im.shape[:2]) >= tile // 2]
    val_blobs = [_delta_blob(v) for v in validation]
    budget = int(max_mib * 2**20) - 4096 - sum(len(b) + 40 for b in val_blobs)
    blobs, shapes, used = [], [], 0
    with tqdm(total=max(budget, 0), desc="packing", unit="B", unit_scale=True) as bar:
        while True:
            added = False
            for index in rng.permutation(len(images)):
                im = images[index]
                h, w = im.shape[:2]
                th, tw = min(tile, h), min(tile, w)
                top, left = rng.integers(0, h - th + 1), rng.integers(0, w - tw + 1)
                blob = _delta_blob(im[top : top + th, left : left + tw])
                if used + len(blob) + 40 > budget:
                    break
                blobs.append(blob)
                shapes.append((th, tw, 3))
                used += len(blob) + 40
                bar.update(len(blob) + 40)
                added = True
            else:
                if added:
                    continue
            break
    all_blobs = blobs + val_blobs
    offsets = np.cumsum([0] + [len(b) for b in all_blobs]).astype(np.int64)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        np.savez(
            f,
            format=np.array(PACK_FORMAT),
            data=np.frombuffer(b"".join(all_blobs), dtype=np.uint8),
            offsets=offsets,
            shapes=np.array(shapes + [v.shape for v in validation], dtype=np.int64).reshape(-1, 3),
            validation=np.array(len(validation)),
            tile=np.array(tile),
        )
    return {"tiles": len(blobs), "validation": len(validation), "images": len(images), "bytes": out.stat().st_size}


def _centre(im: np.ndarray, size: int) -> np.ndarray:
    h, w = im.shape[:2]
    ch, cw = min(size, h), min(size, w)
    return np.ascontiguousarray(im[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw])


class DataError(UserError, ValueError):
    """Training data that cannot be used: a file that is no patch pack, a folder with too few images."""


def load_pack(path: Path, validation: bool = False) -> list[np.ndarray]:
    """The training tiles of a patch pack, or with ``validation`` its held-aside crops."""
    with np.load(path, allow_pickle=False) as pack:
        if "format" not in pack or str(pack["format"]) != PACK_FORMAT:
            raise DataError(f"{path}: not a licfpga patch pack ({PACK_FORMAT}; rebuild it with licfpga pack)")
        data, offsets, shapes, held = pack["data"], pack["offsets"], pack["shapes"], int(pack["validation"])
    spans = list(zip(offsets[:-1], offsets[1:], shapes))
    spans = spans[len(spans) - held :] if validation else spans[: len(spans) - held]
    return [
        _undelta(data[start:stop].tobytes(), tuple(shape))
        for start, stop, shape in tqdm(spans, desc="decoding pack", unit="tile")
    ]


class CropSampler:
    """Random ``crop``×``crop`` crops (smaller where the image is smaller, then padded by
    reflection) with random horizontal flips, as float tensors in [0, 1]."""

    def __init__(self, source: Path, crop: int = 256):
        self.source = Path(source)
        if self.source.suffix == ".npz":
            self.images = load_pack(self.source)
        else:
            self.images = [load_rgb(p) for p in tqdm(find_images(self.source), desc="loading images", unit="img")]
        self.crop = int(crop)

    @classmethod
    def from_images(cls, images: list[np.ndarray], crop: int, source: Path) -> "CropSampler":
        """A sampler over images already loaded (``source`` names where they came from)."""
        if not images:
            raise DataError(f"{source}: no training images")
        sampler = cls.__new__(cls)
        sampler.source, sampler.images, sampler.crop = Path(source), list(images), int(crop)
        return sampler

    def sample(self, rng: np.random.Generator) -> torch.Tensor:
        im = self.images[rng.integers(len(self.images))]
        h, w = im.shape[:2]
        ch, cw = min(self.crop, h), min(self.crop, w)
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        patch = im[top : top + ch, left : left + cw]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if (ch, cw) != (self.crop, self.crop):
            patch = np.pad(patch, ((0, self.crop - ch), (0, self.crop - cw), (0, 0)), mode="reflect")
        return torch.from_numpy(patch.copy()).permute(2, 0, 1).float() / 255.0

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return torch.stack([self.sample(rng) for _ in range(size)])
