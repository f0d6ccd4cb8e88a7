"""The image codec: image files in, ``.lic`` files out, and back.

Encoder: pad the image to a multiple of ``ALIGNMENT`` (edge replication), let an
analysis backend map it to the integer latents ŷ and ẑ, clamp them to int16, and
code ẑ (one table per channel) and ŷ (one table per scale index of h_s(ẑ)) with
rANS (:mod:`.rans`). Decoder: ẑ, then h_s(ẑ) gives ŷ's tables, then g_s(ŷ). The
encoder reconstructs from the same symbols with the same code as the decoder, so
both produce the same image.

The analysis backend (:class:`AnalysisBackend`) is pluggable: the float network,
the integer golden model (:class:`golden.GoldenBackend`); the RTL simulation and the
board are wired in by the CLI, so this package never imports hardware code. So is an
integer model's synthesis backend (:class:`SynthesisBackend`: h_s and g_s on the
decoding side), the integer golden model by default (:class:`golden.GoldenSynthesis`);
the codec checks what any backend gives (shapes, types, the index range) and keeps the
entropy coding, the padding and the cropping.

An integer model (:class:`IntegerCodec`, from an artefact) codes with the artefact's
integer tables and computes h_s (the ŷ table indexes) and g_s with the integer golden
model, so its files decode bit-identically on every machine; its default encoder is
the golden model. Its header carries the artefact's name and id, so a file names the
integer model that wrote it. A float model decodes with its own float h_s and g_s only.

File layout (little-endian)::

    offset  size  field
    0       4     magic b"LICF"
    4       1     format version (1)
    5       1     flags: bit 0 = grayscale (coded as RGB, written back as L)
    6       4     image height, u32, 1..65535
    10      4     image width, u32, 1..65535
    14      1     n = length of the model name
    15      n     model name, utf-8
    15+n    8     model id (registry.model_id: a fingerprint of the weight file)
    23+n    4     z stream length in bytes (a multiple of 4)
    27+n    4     y stream length in bytes (a multiple of 4)
    31+n    …     z stream, then y stream (rANS words, u32 each)
    end-4   4     CRC32 of every byte before it
"""

from __future__ import annotations

import errno
import os
import secrets
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple, Protocol

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import UserError
from .artefact import Artefact
from .golden import GoldenBackend, GoldenSynthesis, gray_from_rgb
from .rans import INT16_MAX, INT16_MIN, decode_symbols, encode_symbols
from .registry import DEFAULT_MODEL, ModelError, ModelInfo, load_integer_model, load_model, model_id, resolve_model
from .tables import SymbolTable
from .topology import ALIGNMENT

if TYPE_CHECKING:
    from .hyperprior import ScaleHyperprior

# torch is imported by the float model's methods only: the integer codec runs on numpy.

MAGIC = b"LICF"
VERSION = 1
FLAG_GRAYSCALE = 0x01
MAX_SIDE = 65535

_HEAD = struct.Struct("<4sBBIIB")  # magic, version, flags, height, width, name length
_TAIL = struct.Struct("<8sII")  # model id, z stream length, y stream length
_CRC = struct.Struct("<I")


class CodecError(UserError):
    """An image or ``.lic`` file the codec cannot handle; the message says why in one line."""


class VerifyError(Exception):
    """``compress --verify`` found a file that does not decode to the encoder's
    reconstruction: a fault of the codec, not of the user's input."""


class AnalysisBackend(Protocol):
    """What runs the encoder's transforms: g_a and h_a, and h_s where it can."""

    def analyse(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        """``x``: uint8 RGB (H, W, 3), H and W multiples of ``ALIGNMENT``.
        Returns the integer symbols ŷ (M, H/16, W/16) and ẑ (N, H/64, W/64), and where the
        backend runs h_s too (the accelerator's encoder), the scale index of every ŷ
        element (M, H/16, W/16); else the codec computes them from ẑ."""
        ...


class SynthesisBackend(Protocol):
    """What runs an integer model's decoding transforms: h_s and g_s."""

    def indexes(self, z_hat: np.ndarray) -> np.ndarray:
        """ẑ (N, h, w), integers → the scale index of every ŷ element (M, 4h, 4w),
        integers in 0…L−1. A ``ValueError`` says ẑ is outside the backend's input type
        (only a crafted file has that)."""
        ...

    def reconstruct(self, y_hat: np.ndarray) -> np.ndarray:
        """ŷ (M, h, w), integers → the decoded frame (3, 16h, 16w), uint8: the padded
        image, which the codec crops."""
        ...


class FloatBackend:
    """The float network: ŷ = round(g_a(x / 255)), ẑ = round(h_a(min(|ŷ|, 255)))."""

    def __init__(self, model: ScaleHyperprior):
        self.model = model.eval()

    def analyse(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        from .hyperprior import hyper_input  # torch: a float model's backend only

        with torch.inference_mode():
            pixels = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].float() / 255
            y_hat = torch.round(self.model.g_a(pixels))
            z_hat = torch.round(self.model.h_a(hyper_input(y_hat)))
        return y_hat[0].to(torch.int64).numpy(), z_hat[0].to(torch.int64).numpy()


@dataclass(frozen=True)
class Header:
    """The parsed fields of a ``.lic`` file (see the module docstring)."""

    height: int
    width: int
    grayscale: bool
    model_name: str
    model_id: bytes
    z_stream: bytes
    y_stream: bytes


class Encoded(NamedTuple):
    data: bytes
    #: What the decoder will produce, uint8 (H, W, 3) or (H, W) for grayscale; only when
    #: asked for (``reconstruct=True``): g_s is the decoder's work, not the encoder's.
    reconstruction: np.ndarray | None = None


class Codec:
    """A model ready to code: the network, its name and fingerprint, and its tables
    (built once, on first use). Hold one to code many images."""

    #: The ``--backend`` that runs this codec's encoder unless told otherwise.
    default_backend_name = "float"

    def __init__(self, model: ScaleHyperprior, name: str, model_id: bytes):
        self._set_identity(name, model_id)
        self.model = model.eval()

    def _set_identity(self, name: str, model_id: bytes) -> None:
        if len(name.encode()) > 255:
            raise CodecError(f"model name {name[:40]!r}… is longer than 255 bytes")
        self.name = name
        self.model_id = bytes(model_id)

    @classmethod
    def load(cls, name_or_path: str | os.PathLike) -> "Codec":
        """From a registry name, a weight ``.pt`` file or an artefact (``registry.ModelError``
        if none); an :class:`IntegerCodec` for an integer model."""
        return cls.from_info(resolve_model(str(name_or_path)))

    @staticmethod
    def from_info(info: ModelInfo) -> "Codec":
        if info.integer:
            artefact, info = load_integer_model(info.path)
            return IntegerCodec(artefact, info.name, model_id(info))
        model, info = load_model(info.path)
        return Codec(model, info.name, model_id(info))

    @property
    def N(self) -> int:
        return self.model.N

    @property
    def M(self) -> int:
        return self.model.M

    def default_backend(self) -> AnalysisBackend:
        return FloatBackend(self.model)

    @cached_property
    def z_tables(self) -> list[SymbolTable]:
        return self.model.entropy_bottleneck.tables()

    @cached_property
    def y_tables(self) -> list[SymbolTable]:
        return self.model.gaussian_conditional.tables()

    def encode(
        self, image: np.ndarray, backend: AnalysisBackend | None = None, *, reconstruct: bool = False
    ) -> Encoded:
        """Code a uint8 image, RGB (H, W, 3) or grayscale (H, W), with this codec's default
        backend unless given one; with ``reconstruct``, also the decoder's image of it."""
        rgb, grayscale = _as_rgb(image)
        height, width = rgb.shape[:2]
        padded = np.pad(rgb, ((0, -height % ALIGNMENT), (0, -width % ALIGNMENT), (0, 0)), mode="edge")
        backend = self.default_backend() if backend is None else backend
        y_hat, z_hat, *indexes = backend.analyse(padded)
        y_hat = self._symbols("y", y_hat, (self.M, padded.shape[0] // 16, padded.shape[1] // 16))
        z_hat = self._symbols("z", z_hat, (self.N, padded.shape[0] // 64, padded.shape[1] // 64))
        indexes = self._indexes(z_hat, *indexes)
        header = Header(
            height,
            width,
            grayscale,
            self.name,
            self.model_id,
            z_stream=encode_symbols(z_hat, self._z_index(z_hat.shape), self.z_tables),
            y_stream=encode_symbols(y_hat, indexes, self.y_tables),
        )
        return Encoded(_pack(header), self._reconstruct(y_hat, height, width, grayscale) if reconstruct else None)

    def decode(self, data: bytes, backend: SynthesisBackend | None = None) -> np.ndarray:
        """The image of a ``.lic`` file written with this model; ``backend`` runs h_s and
        g_s (an integer model's only; default: the codec's own)."""
        return self.decode_header(read_header(data), backend)

    def decode_header(self, header: Header, backend: SynthesisBackend | None = None) -> np.ndarray:
        """The image of a parsed file (`read_header`), as `decode`."""
        if header.model_id != self.model_id:
            raise CodecError(
                f"file was written by model {header.model_name!r} (id {header.model_id.hex()}), "
                f"the loaded weights differ ({self.name!r}, id {self.model_id.hex()})"
            )
        self._check_synthesis(backend)
        padded_h, padded_w = (-(-side // ALIGNMENT) * ALIGNMENT for side in (header.height, header.width))
        try:
            z_hat = decode_symbols(
                header.z_stream, self._z_index((self.N, padded_h // 64, padded_w // 64)), self.z_tables
            )
            indexes = self._y_index(z_hat) if backend is None else self._synthesis_indexes(z_hat, backend)
            y_hat = decode_symbols(header.y_stream, indexes, self.y_tables)
        except ValueError as exc:
            raise CodecError(f"corrupt symbol stream: {exc}") from None
        if backend is None:
            return self._reconstruct(y_hat, header.height, header.width, header.grayscale)
        return self._synthesis_image(y_hat, header.height, header.width, header.grayscale, backend)

    def _check_synthesis(self, backend: SynthesisBackend | None) -> None:
        """A float model decodes with its own float h_s and g_s only."""
        if backend is not None:
            raise CodecError(
                f"{self.name} is a float model: it decodes with its own float h_s and g_s; a synthesis backend "
                f"runs an integer model's (e.g. {self.name}-int8)"
            )

    def _synthesis_indexes(self, z_hat: np.ndarray, backend: SynthesisBackend) -> np.ndarray:
        """A synthesis backend's scale indexes of ẑ, checked (`_indexes`)."""
        try:
            values = backend.indexes(z_hat)
        except ValueError as exc:  # only a crafted file gets ẑ outside the backend's type
            raise CodecError(f"corrupt symbol stream: {exc}") from None
        return self._indexes(z_hat, values, source="synthesis backend")

    def _synthesis_image(
        self, y_hat: np.ndarray, height: int, width: int, grayscale: bool, backend: SynthesisBackend
    ) -> np.ndarray:
        """A synthesis backend's decoded frame of ŷ, checked ((3, 16h, 16w) uint8), cropped
        to the image and, for a grayscale file, made gray (`golden.gray_from_rgb`)."""
        try:
            x_hat = np.asarray(backend.reconstruct(y_hat))
        except ValueError as exc:
            raise CodecError(f"corrupt symbol stream: {exc}") from None
        shape = (3, 16 * y_hat.shape[1], 16 * y_hat.shape[2])
        if x_hat.shape != shape or x_hat.dtype != np.uint8:
            raise CodecError(
                f"synthesis backend gave the decoded frame as {x_hat.dtype} {x_hat.shape}, expected uint8 of shape "
                f"{shape}"
            )
        x_hat = x_hat[:, :height, :width]
        return gray_from_rgb(x_hat) if grayscale else np.ascontiguousarray(x_hat.transpose(1, 2, 0))

    def _symbols(self, name: str, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """A backend's output checked and clamped to int16, the range the file can carry."""
        values = np.asarray(values)
        if values.shape != shape or not np.issubdtype(values.dtype, np.integer):
            raise CodecError(
                f"analysis backend gave {name} as {values.dtype} {values.shape}, expected integers of shape {shape}"
            )
        return np.clip(values, INT16_MIN, INT16_MAX).astype(np.int32)

    def _indexes(self, z_hat: np.ndarray, *given: np.ndarray, source: str = "analysis backend") -> np.ndarray:
        """The scale index of every ŷ element: a backend's own (``source`` in messages;
        checked: shape of ŷ, within the table), else computed from ẑ."""
        if not given:
            return self._y_index(z_hat)
        (values,) = given
        values = np.asarray(values)
        shape = (self.M, 4 * z_hat.shape[1], 4 * z_hat.shape[2])
        levels = len(self.y_tables)
        if values.shape != shape or not np.issubdtype(values.dtype, np.integer):
            raise CodecError(
                f"{source} gave scale indexes as {values.dtype} {values.shape}, expected integers of shape {shape}"
            )
        if values.size and (values.min() < 0 or values.max() >= levels):
            raise CodecError(
                f"{source} gave scale indexes in [{values.min()}, {values.max()}], outside the table's 0…{levels - 1}"
            )
        return values.astype(np.int64)

    @staticmethod
    def _z_index(shape: tuple[int, int, int]) -> np.ndarray:
        return np.broadcast_to(np.arange(shape[0])[:, None, None], shape)

    def _y_index(self, z_hat: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            scales = self.model.h_s(torch.from_numpy(z_hat).float()[None])
            return self.model.gaussian_conditional.scale_indexes(scales)[0].numpy()

    def _reconstruct(self, y_hat: np.ndarray, height: int, width: int, grayscale: bool) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x_hat = self.model.g_s(torch.from_numpy(y_hat).float()[None])[0, :, :height, :width].clamp(0, 1)
            x_hat = x_hat.mean(0) if grayscale else x_hat.permute(1, 2, 0)
            return torch.round(x_hat * 255).to(torch.uint8).numpy()


class IntegerCodec(Codec):
    """The codec of an integer model: the artefact's tables, h_s and g_s in integers
    (by default :class:`golden.GoldenSynthesis`, ``synthesis``; a given
    :class:`SynthesisBackend` decodes, checked, the same way), the golden encoder by
    default."""

    default_backend_name = "golden"

    def __init__(self, artefact: Artefact, name: str, model_id: bytes):
        self._set_identity(name, model_id)
        self.artefact = artefact
        self.synthesis = GoldenSynthesis(artefact)

    @property
    def golden(self):
        """The integer golden model (fastint) of the default synthesis backend."""
        return self.synthesis.golden

    @property
    def N(self) -> int:
        return self.artefact.N

    @property
    def M(self) -> int:
        return self.artefact.M

    @property
    def z_tables(self) -> list[SymbolTable]:
        return list(self.artefact.z_tables)

    @property
    def y_tables(self) -> list[SymbolTable]:
        return list(self.artefact.y_tables)

    def default_backend(self) -> AnalysisBackend:
        return GoldenBackend(self.artefact)

    def _check_synthesis(self, backend: SynthesisBackend | None) -> None:
        """Any synthesis backend decodes an integer model."""

    def _y_index(self, z_hat: np.ndarray) -> np.ndarray:
        return self._synthesis_indexes(z_hat, self.synthesis)

    def _reconstruct(self, y_hat: np.ndarray, height: int, width: int, grayscale: bool) -> np.ndarray:
        return self._synthesis_image(y_hat, height, width, grayscale, self.synthesis)


def _as_rgb(image: np.ndarray) -> tuple[np.ndarray, bool]:
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise CodecError(f"expected a uint8 image of shape (H, W, 3) or (H, W), got {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise CodecError(f"image size {width}×{height} is outside 1..{MAX_SIDE} pixels per side")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2), True
    return image, False


def _pack(header: Header) -> bytes:
    name = header.model_name.encode()
    body = b"".join(
        [
            _HEAD.pack(
                MAGIC, VERSION, FLAG_GRAYSCALE if header.grayscale else 0, header.height, header.width, len(name)
            ),
            name,
            _TAIL.pack(header.model_id, len(header.z_stream), len(header.y_stream)),
            header.z_stream,
            header.y_stream,
        ]
    )
    return body + _CRC.pack(zlib.crc32(body))


def read_header(data: bytes) -> Header:
    """Parse and check a ``.lic`` file; ``CodecError`` for anything that is not one intact."""
    if not data:
        raise CodecError("empty file")
    if data[: len(MAGIC)] != MAGIC[: len(data)]:
        raise CodecError("not a licfpga file (bad magic)")
    if len(data) < _HEAD.size + _TAIL.size + _CRC.size:
        raise CodecError(f"truncated file ({len(data)} bytes)")
    # The checksum sits at the very end, so corruption and truncation are caught before any field is trusted.
    if zlib.crc32(data[: -_CRC.size]) != _CRC.unpack_from(data, len(data) - _CRC.size)[0]:
        raise CodecError("corrupt or truncated file (checksum mismatch)")
    _, version, flags, height, width, name_length = _HEAD.unpack_from(data)
    if version != VERSION:
        raise CodecError(f"unsupported format version {version} (this licfpga reads version {VERSION})")
    if flags & ~FLAG_GRAYSCALE:
        raise CodecError(f"unknown flags 0x{flags:02x}")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise CodecError(f"invalid image size {width}×{height} in header")
    streams_at = _HEAD.size + name_length + _TAIL.size
    if len(data) < streams_at + _CRC.size:
        raise CodecError("corrupt header (model name runs past the end)")
    try:
        name = data[_HEAD.size : _HEAD.size + name_length].decode()
    except UnicodeDecodeError:
        raise CodecError("corrupt header (model name is not utf-8)") from None
    identity, z_length, y_length = _TAIL.unpack_from(data, _HEAD.size + name_length)
    if streams_at + z_length + y_length + _CRC.size != len(data):
        raise CodecError("corrupt header (stream lengths do not match the file size)")
    z_stream = data[streams_at : streams_at + z_length]
    y_stream = data[streams_at + z_length : streams_at + z_length + y_length]
    return Header(height, width, bool(flags & FLAG_GRAYSCALE), name, identity, z_stream, y_stream)


def _codec(model: str | os.PathLike | Codec) -> Codec:
    return model if isinstance(model, Codec) else Codec.load(model)


def encode(
    image: np.ndarray,
    model: str | os.PathLike | Codec = DEFAULT_MODEL,
    backend: AnalysisBackend | None = None,
    *,
    reconstruct: bool = False,
) -> Encoded:
    """Code a uint8 image with ``model`` (a registry name, a weight file or a :class:`Codec`)."""
    return _codec(model).encode(image, backend, reconstruct=reconstruct)


def file_codec(header: Header, model: str | os.PathLike | Codec | None = None) -> Codec:
    """The codec that decodes a file: ``model`` (a registry name, a weight file or a
    :class:`Codec`), by default the registry model named in its ``header``."""
    if model is None:
        try:
            return Codec.load(header.model_name)
        except ModelError as exc:
            raise CodecError(
                f"file was written by model {header.model_name!r}, which is not available "
                f"({exc}); pass its weight file as the model (--model)"
            ) from None
    return _codec(model)


def decode(
    data: bytes, model: str | os.PathLike | Codec | None = None, backend: SynthesisBackend | None = None
) -> np.ndarray:
    """Decode a ``.lic`` file's bytes; ``model`` defaults to the registry model named in it,
    ``backend`` (h_s and g_s of an integer model) to the codec's own."""
    header = read_header(data)
    return file_codec(header, model).decode_header(header, backend)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """A uint8 image as the codec takes it: RGB (H, W, 3), or (H, W) for grayscale.

    Palette images become RGB and an alpha channel that is fully opaque is dropped;
    transparency, 16-bit samples and other modes are refused rather than altered."""
    try:
        image = Image.open(path)
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise CodecError(str(exc)) from None
    with image:
        # Pillow reads 16-bit RGB(A) PNGs as 8-bit modes; only the raw mode tells.
        deep = [mode for mode in map(_raw_mode, image.tile) if ";16" in mode]
        if deep or image.mode.startswith("I;16"):
            raise CodecError(f"{path}: 16-bit images are not supported (mode {deep[0] if deep else image.mode})")
        if image.mode in ("P", "PA"):
            image = image.convert("RGBA")
        if image.mode in ("RGBA", "LA"):
            if np.asarray(image.getchannel("A")).min() < 255:
                raise CodecError(
                    f"{path}: {image.mode} image with transparency is not supported (the alpha channel would be lost)"
                )
            image = image.convert(image.mode[:-1])
        if image.mode not in ("RGB", "L"):
            raise CodecError(
                f"{path}: image mode {image.mode} is not supported (RGB, L, palette, or RGBA/LA without transparency)"
            )
        return np.asarray(image, dtype=np.uint8)


def _raw_mode(tile) -> str:
    """The raw (file) mode of a Pillow tile descriptor, or "" when it has none."""
    args = tile[3]
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Save in the format of the file extension, atomically."""
    path = Path(path)
    image_format = Image.registered_extensions().get(path.suffix.lower())
    if image_format is None:
        raise CodecError(f"{path}: unknown image extension {path.suffix!r}")
    picture = Image.fromarray(image)
    _write_atomic(path, lambda f: picture.save(f, format=image_format))


def _write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file in the same folder, so a failure leaves no partial
    file and an existing ``path`` untouched."""
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(path.parent))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    temporary = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    # os.open applies the umask, so the result gets the mode a plain open() would give it.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class CompressSummary(NamedTuple):
    bytes: int
    height: int
    width: int

    @property
    def bpp(self) -> float:
        """Bits per pixel of the original image."""
        return 8 * self.bytes / (self.height * self.width)


def compress(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    model: str | os.PathLike | Codec = DEFAULT_MODEL,
    backend: AnalysisBackend | None = None,
    *,
    verify: bool = False,
) -> CompressSummary:
    """Image file ``src`` to ``.lic`` file ``dst``. With ``verify``, the file is decoded
    again and must give exactly the encoder's reconstruction (else VerifyError, no file)."""
    image = read_image(src)
    codec = _codec(model)
    encoded = codec.encode(image, backend, reconstruct=verify)
    data = encoded.data
    if verify and not np.array_equal(codec.decode(data), encoded.reconstruction):
        raise VerifyError(f"{dst}: the coded file does not decode to the encoder's reconstruction")
    _write_atomic(Path(dst), lambda f: f.write(data))
    return CompressSummary(len(data), image.shape[0], image.shape[1])


def decompress(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    model: str | os.PathLike | Codec | None = None,
    backend: SynthesisBackend | None = None,
) -> np.ndarray:
    """``.lic`` file ``src`` to image file ``dst`` (its format from the extension), h_s and
    g_s run by ``backend`` (see `decode`); returns the image."""
    image = decode(Path(src).read_bytes(), model, backend)
    write_image(dst, image)
    return image
