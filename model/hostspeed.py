"""How fast this machine does the host's share of the codec, measured: the work the
system plan (`licfpga plan`, :mod:`licfpga.gen.system`) charges to the host.

With today's split the FPGA runs g_a and h_a; the host runs, per frame,

* to encode: h_s and the scale-index quantiser on ẑ (one index per ŷ element), then
  rANS (:func:`.rans.encode_symbols`, constriction) of ŷ and ẑ;
* to decode: rANS decoding of ẑ and ŷ, h_s with its indices in between, and g_s.

:func:`measure` times each of these on one real frame with the codec's own code (the
integer model on :mod:`.fastint`, the codec's rANS calls, so the Python-side grouping by
table is included) and returns a :class:`HostSpeed`: rANS symbols per second (ŷ and ẑ
symbols together, the codec's calls) and h_s / g_s seconds per padded input pixel.
:func:`load` reads one back from a JSON file (``benchmarks/host_speed.py`` writes
``results/host-speed.json``) and refuses a malformed one with :class:`HostSpeedError`.

Times are medians of ``repeat`` runs after one warm-up, in this process, with the BLAS
threads numpy was loaded with (``blas_threads``: the benchmark pins one, so the figures
are per core). The machine may be loaded: ``load_average`` records it.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from importlib.resources import files
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import UserError
from .codec import Codec, IntegerCodec
from .rans import decode_symbols, encode_symbols
from .registry import default_codec_model
from .topology import ALIGNMENT

__all__ = [
    "HostSpeed",
    "HostSpeedError",
    "HOST_SPEED_FORMAT",
    "DEFAULT_FILE",
    "measure",
    "load",
    "load_or_measure",
    "SAMPLE",
]

HOST_SPEED_FORMAT = "licfpga-host-speed-1"
#: The bundled photo the measurement codes (512×384, a multiple of 64: no padding).
SAMPLE = files("licfpga") / "data" / "kodim23-crop.png"
#: The committed measurement (``python benchmarks/host_speed.py``), in the source tree;
#: absent from an installed package, where :func:`load_or_measure` measures instead.
DEFAULT_FILE = Path(__file__).resolve().parents[1] / "results" / "host-speed.json"


class HostSpeedError(UserError):
    """A host-speed file that cannot be used (missing fields, wrong format, not JSON)."""


@dataclass(frozen=True)
class HostSpeed:
    """The host's rates on one machine. ``rans_encode_sym_s`` / ``rans_decode_sym_s``:
    symbols (ŷ and ẑ) per second through the codec's rANS calls; ``h_s_s_per_px``: h_s
    with the scale-index quantiser, ``g_s_s_per_px``: g_s, both in seconds per padded
    input pixel (their work is proportional to it). ``source`` says where the figures
    come from (a file, or measured now)."""

    machine: str
    date: str
    model: str
    N: int
    M: int
    frame: tuple[int, int]
    repeat: int
    blas_threads: str
    load_average: tuple[float, float, float]
    rans_encode_sym_s: float
    rans_decode_sym_s: float
    h_s_s_per_px: float
    g_s_s_per_px: float
    note: str = ""
    source: str = "measured now"

    def as_json(self) -> dict:
        out = {"format": HOST_SPEED_FORMAT, **asdict(self)}
        del out["source"]
        return out

    @classmethod
    def from_json(cls, data: dict, source: str) -> "HostSpeed":
        """From :meth:`as_json`'s dict; :class:`HostSpeedError` naming ``source`` and
        what is wrong otherwise."""
        if not isinstance(data, dict) or data.get("format") != HOST_SPEED_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise HostSpeedError(f"{source}: not a host-speed file (format {found!r}, expected {HOST_SPEED_FORMAT!r})")
        names = [f.name for f in fields(cls) if f.name != "source"]
        required = [f.name for f in fields(cls) if f.name not in ("source", "note")]
        missing = [n for n in required if n not in data]
        if missing:
            raise HostSpeedError(f"{source}: host-speed file lacks {', '.join(missing)}")
        values = {n: data[n] for n in names if n in data}
        for n in ("rans_encode_sym_s", "rans_decode_sym_s", "h_s_s_per_px", "g_s_s_per_px"):
            v = values[n]
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0 or v == float("inf"):
                raise HostSpeedError(f"{source}: {n} must be a positive number, not {v!r}")
        try:
            values["frame"] = tuple(int(v) for v in values["frame"])
            values["load_average"] = tuple(float(v) for v in values["load_average"])
            if len(values["frame"]) != 2 or len(values["load_average"]) != 3:
                raise ValueError("frame is (width, height), load_average three numbers")
        except (TypeError, ValueError) as exc:
            raise HostSpeedError(f"{source}: malformed host-speed file ({exc})") from None
        return cls(**values, source=source)


def load(path: str | os.PathLike) -> HostSpeed:
    """A :class:`HostSpeed` from a JSON file; :class:`HostSpeedError` if it is missing,
    not JSON or malformed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise HostSpeedError(f"{path}: no such host-speed file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HostSpeedError(f"{path}: not a host-speed file ({exc})") from None
    return HostSpeed.from_json(data, str(path))


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def measure(model: str | None = None, image: np.ndarray | None = None, repeat: int = 3, note: str = "") -> HostSpeed:
    """Time the host's stages on ``image`` (uint8 RGB; default the bundled kodim23 crop)
    with the integer ``model`` (default: the codec's default integer model)."""
    codec = Codec.load(model or default_codec_model())
    if not isinstance(codec, IntegerCodec):
        raise HostSpeedError(f"{codec.name} is not an integer model: the host's share is timed on the integer codec")
    if image is None:
        with Image.open(SAMPLE) as im:
            image = np.asarray(im.convert("RGB"))
    height, width = image.shape[:2]
    frame = np.pad(image, ((0, -height % ALIGNMENT), (0, -width % ALIGNMENT), (0, 0)), mode="edge")
    pixels = frame.shape[0] * frame.shape[1]
    y_hat, z_hat = codec.default_backend().analyse(frame)
    y_hat, z_hat = y_hat.astype(np.int32), z_hat.astype(np.int32)
    z_index = codec._z_index(z_hat.shape)
    y_index = codec._y_index(z_hat)
    z_tables, y_tables = codec.z_tables, codec.y_tables
    symbols = y_hat.size + z_hat.size

    def rans_encode():
        return encode_symbols(z_hat, z_index, z_tables), encode_symbols(y_hat, y_index, y_tables)

    z_stream, y_stream = rans_encode()

    def rans_decode():
        return decode_symbols(z_stream, z_index, z_tables), decode_symbols(y_stream, y_index, y_tables)

    z_back, y_back = rans_decode()
    if not (np.array_equal(z_back, z_hat) and np.array_equal(y_back, y_hat)):
        raise AssertionError("rANS did not give back the symbols it coded")
    return HostSpeed(
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        date=time.strftime("%Y-%m-%d"),
        model=codec.name,
        N=codec.N,
        M=codec.M,
        frame=(frame.shape[1], frame.shape[0]),
        repeat=repeat,
        blas_threads=os.environ.get("OPENBLAS_NUM_THREADS", "numpy's default (all cores)"),
        load_average=tuple(round(x, 2) for x in os.getloadavg()),
        rans_encode_sym_s=symbols / _median_time(rans_encode, repeat),
        rans_decode_sym_s=symbols / _median_time(rans_decode, repeat),
        h_s_s_per_px=_median_time(lambda: codec._y_index(z_hat), repeat) / pixels,
        g_s_s_per_px=_median_time(lambda: codec.golden.g_s(y_hat.astype(np.int64)[None]), repeat) / pixels,
        note=note,
    )


def load_or_measure(path: str | os.PathLike | None = None, measure_now: bool = False) -> HostSpeed:
    """The host's rates for a plan: from ``path`` if given (:class:`HostSpeedError` if it
    is missing or malformed); with ``measure_now``, measured now; else from
    :data:`DEFAULT_FILE`, or, where that file is absent, measured now (``source`` says
    so). A malformed default file is an error too, never replaced silently."""
    if measure_now:
        return measure()
    if path is not None:
        return load(path)
    if not DEFAULT_FILE.exists():
        return replace(measure(), source=f"measured now: no {DEFAULT_FILE.name} at {DEFAULT_FILE.parent}")
    return replace(
        load(DEFAULT_FILE), source=f"{DEFAULT_FILE.parent.name}/{DEFAULT_FILE.name}, the committed measurement"
    )
