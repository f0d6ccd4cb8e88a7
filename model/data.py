"""Training images: folders of photos or one compact patch pack, served as random crops.

A *patch pack* (``.npz``) holds losslessly compressed tiles (WebP) cut from a folder
of photos, small enough to travel to a GPU machine; training reads it directly.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".tif", ".tiff"}
PACK_FORMAT = "licfpga-patch-pack-1"


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
    with Image.open(path) as image:
        image = image.convert("RGB")
        if min(image.size) >= HALVE_FROM:
            image = image.resize((image.width // 2, image.height // 2), Image.LANCZOS)
        return np.asarray(image, dtype=np.uint8)


def build_pack(source: Path, out: Path, tile: int = 256, max_mib: float = 40.0, seed: int = 0) -> dict:
    """Cut up to one ``tile``×``tile`` tile per image per pass, round-robin over the
    images in a seeded order, until the pack would pass ``max_mib``."""
    rng = np.random.default_rng(seed)
    paths = find_images(source)
    images = [load_rgb(p) for p in tqdm(paths, desc="reading", unit="img")]
    images = [im for im in images if min(im.shape[:2]) >= tile // 2]
    budget = int(max_mib * 2**20) - 4096
    blobs, used = [], 0
    with tqdm(total=budget, desc="packing", unit="B", unit_scale=True) as bar:
        while True:
            added = False
            for index in rng.permutation(len(images)):
                im = images[index]
                h, w = im.shape[:2]
                th, tw = min(tile, h), min(tile, w)
                top, left = rng.integers(0, h - th + 1), rng.integers(0, w - tw + 1)
                buffer = io.BytesIO()
                Image.fromarray(im[top:top + th, left:left + tw]).save(buffer, format="WEBP", lossless=True, quality=80)
                blob = buffer.getvalue()
                if used + len(blob) + 16 > budget:
                    break
                blobs.append(blob)
                used += len(blob) + 16
                bar.update(len(blob) + 16)
                added = True
            else:
                if added:
                    continue
            break
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        np.savez(f, format=np.array(PACK_FORMAT), data=np.frombuffer(b"".join(blobs), dtype=np.uint8),
                 offsets=offsets, tile=np.array(tile))
    return {"tiles": len(blobs), "images": len(images), "bytes": out.stat().st_size}


def load_pack(path: Path) -> list[np.ndarray]:
    with np.load(path, allow_pickle=False) as pack:
        if "format" not in pack or str(pack["format"]) != PACK_FORMAT:
            raise ValueError(f"{path}: not a licfpga patch pack")
        data, offsets = pack["data"], pack["offsets"]
    tiles = []
    for start, stop in tqdm(list(zip(offsets[:-1], offsets[1:])), desc="decoding pack", unit="tile"):
        with Image.open(io.BytesIO(data[start:stop].tobytes())) as image:
            tiles.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
    return tiles


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
            raise ValueError(f"{source}: no training images")
        sampler = cls.__new__(cls)
        sampler.source, sampler.images, sampler.crop = Path(source), list(images), int(crop)
        return sampler

    def sample(self, rng: np.random.Generator) -> torch.Tensor:
        im = self.images[rng.integers(len(self.images))]
        h, w = im.shape[:2]
        ch, cw = min(self.crop, h), min(self.crop, w)
        top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        patch = im[top:top + ch, left:left + cw]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if (ch, cw) != (self.crop, self.crop):
            patch = np.pad(patch, ((0, self.crop - ch), (0, self.crop - cw), (0, 0)), mode="reflect")
        return torch.from_numpy(patch.copy()).permute(2, 0, 1).float() / 255.0

    def batch(self, size: int, rng: np.random.Generator) -> torch.Tensor:
        return torch.stack([self.sample(rng) for _ in range(size)])
