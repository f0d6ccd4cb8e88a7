"""The integer artefact: everything the hardware and the integer codec need, in a
versioned, documented format. ``gen/`` reads it to build the accelerator; the golden
model (:mod:`.golden`) and the integer codec compute from it alone.

On disk an artefact is two files side by side:

``NAME.npz``
    The integers (``numpy.savez``, no pickle). Per convolution layer ``L`` (e.g.
    ``g_a.2``): ``L.weight`` int8 values in torch's layout — (C_out, C_in, K, K) for a
    convolution, (C_in, C_out, K, K) for a transposed one — symmetric per output channel;
    ``L.bias`` (C_out,) int32 on the accumulator's scale; ``L.multiplier`` (C_out,) 17-bit
    unsigned and ``L.shift`` (C_out,) in [0, 62] (:func:`intops.requantize`), or, for
    h_s's last layer only, ``L.thresholds`` (M, L) int32 (:func:`intops.scale_thresholds`).
    Per GDN layer: ``L.gamma`` (C, C), ``L.beta``, ``L.frac_bits``, ``L.multiplier``,
    ``L.shift`` (C,) (:class:`intops.GDNParams`). The entropy tables: ``entropy.z.*`` (one
    table per channel of ẑ) and ``entropy.y.*`` (one per scale index), each as ``offset``
    (T,) int32, ``length`` (T,) int32 and ``freqs`` uint32 (the T tables' frequencies,
    concatenated; each table sums to 2**16 and ends with its escape entry, see
    :class:`entropy.SymbolTable`). ``rsqrt_table`` (1024,) is the GDN's seed ROM
    (:data:`formats.RSQRT_TABLE`), stored so ``gen`` reads the ROM with the other contents.

``NAME.json``
    The manifest: ``format``, ``version``, the model (``name``, ``N``, ``M``, ``role``,
    ``quality``, ``lmbda``, ``distilled``, ``source`` — the float model it came from),
    ``quantization`` (method, GDN bits, calibration, QAT steps), one entry per layer
    (``name``, ``transform``, ``kind`` conv/deconv/gdn/igdn, ``kernel``, ``stride``,
    ``padding``, ``output_padding``, ``c_in``, ``c_out``, ``in``/``out`` integer types with
    their real scales, ``acc_bits``, and for GDN its ``in_bits``/``coef_bits``/``acc_bits``)
    and ``npz``: the file name and its sha256.

A model's identity in ``.lic`` files is the sha256 of the manifest
(:func:`registry.model_id`), which holds the npz's hash: it covers every integer and
every type. ReLU layers do not appear: they are folded into unsigned requantization.
Scales in the manifest are documentation and the float↔integer bridge; the integer
path never reads them.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..formats import ACC_BITS, RSQRT_TABLE, int_range
from .intops import GDNParams
from .tables import TABLE_PRECISION, SymbolTable

FORMAT = "licfpga-int-artefact"
VERSION = 1
TRANSFORMS = ("g_a", "h_a", "h_s", "g_s")


class ArtefactError(UserError, ValueError):
    """An artefact that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class IntType:
    """An integer tensor type: ``bits`` wide, signed (symmetric) or unsigned, and the real
    value of one unit (``scale``; ``None`` where the type is fixed by a later step — not
    in a finished artefact)."""

    bits: int
    signed: bool
    scale: float | None = None

    @property
    def range(self) -> tuple[int, int]:
        return int_range(self.bits, self.signed)

    def with_scale(self, scale: float) -> "IntType":
        return IntType(self.bits, self.signed, float(scale))

    def as_json(self) -> dict:
        return {"bits": self.bits, "signed": self.signed, "scale": self.scale}


@dataclass(frozen=True)
class LayerSpec:
    """The shape of one layer of the integer network (no numbers): what the float model's
    module ``name`` becomes. ``out`` is ``None`` for h_s's last layer, whose accumulator
    turns into scale indexes."""

    name: str
    kind: str  # conv, deconv, gdn, igdn
    kernel: int
    stride: int
    c_in: int
    c_out: int
    in_type: IntType
    out_type: IntType | None
    acc_bits: int = ACC_BITS

    @property
    def transform(self) -> str:
        return self.name.split(".")[0]

    @property
    def padding(self) -> int:
        return self.kernel // 2

    @property
    def output_padding(self) -> int:
        return self.stride - 1 if self.kind == "deconv" else 0

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        k = self.kernel
        return (self.c_in, self.c_out, k, k) if self.kind == "deconv" else (self.c_out, self.c_in, k, k)


def topology(N: int, M: int, gdn_in_bits: int = 8) -> list[LayerSpec]:
    """Every layer of the integer scale hyperprior, in execution order, with the types of
    docs/number-formats.md §2. ``gdn_in_bits`` (8 or 16) is b_g, the precision entering
    each GDN (the output of the convolution before it). Scales that calibration sets are
    ``None``; the fixed ones are the pixels (1/255), |ŷ| and ŷ, ẑ (1)."""
    s8, u8, bg = IntType(8, True), IntType(8, False), IntType(gdn_in_bits, True)
    pixels, latent, hyper = IntType(8, False, 1 / 255), IntType(16, True, 1.0), IntType(8, True, 1.0)

    def conv(name, c_in, c_out, i, o, k=5, s=2, acc=ACC_BITS):
        return LayerSpec(name, "conv", k, s, c_in, c_out, i, o, acc)

    def deconv(name, c_in, c_out, i, o, acc=ACC_BITS):
        return LayerSpec(name, "deconv", 5, 2, c_in, c_out, i, o, acc)

    def gdn(name, kind):
        return LayerSpec(name, kind, 1, 1, N, N, bg, s8)

    return [
        conv("g_a.0", 3, N, pixels, bg),
        gdn("g_a.1", "gdn"),
        conv("g_a.2", N, N, s8, bg),
        gdn("g_a.3", "gdn"),
        conv("g_a.4", N, N, s8, bg),
        gdn("g_a.5", "gdn"),
        conv("g_a.6", N, M, s8, latent),
        # h_a reads min(|ŷ|, 255): uint8 on the unit grid; its ReLUs are unsigned outputs.
        conv("h_a.0", M, N, IntType(8, False, 1.0), u8, k=3, s=1),
        conv("h_a.2", N, N, u8, u8),
        conv("h_a.4", N, N, u8, hyper),
        deconv("h_s.0", N, N, hyper, u8),
        deconv("h_s.2", N, N, u8, u8),
        conv("h_s.4", N, M, u8, None, k=3, s=1),
        # ŷ at full int16 precision: 9·M·32767·127 needs 34 bits (the DSP48E2's P is 48).
        deconv("g_s.0", M, N, latent, bg, acc=48),
        gdn("g_s.1", "igdn"),
        deconv("g_s.2", N, N, s8, bg),
        gdn("g_s.3", "igdn"),
        deconv("g_s.4", N, N, s8, bg),
        gdn("g_s.5", "igdn"),
        deconv("g_s.6", N, 3, s8, IntType(8, False, 1 / 255)),
    ]


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """A convolution or transposed convolution in integers: ``acc = bias + Σ x·w`` (exact,
    below ``2**(acc_bits-1)`` for every input of ``in_type``), then
    ``requantize(acc, multiplier, shift, out_type)`` — or, where ``thresholds`` is set,
    ``scale_index(acc, thresholds)``. All arrays are int64 views of the stored widths."""

    spec: LayerSpec
    weight: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray | None = None
    shift: np.ndarray | None = None
    thresholds: np.ndarray | None = None

    def __getattr__(self, item):
        # name, kind, kernel, stride, c_in, c_out, in_type, out_type, acc_bits, padding, …
        if item == "spec":  # not yet set (copying, unpickling): no recursion
            raise AttributeError(item)
        return getattr(self.spec, item)


@dataclass(frozen=True, eq=False)
class GDNLayer:
    """A GDN or inverse GDN in 32-bit-class fixed point (:class:`intops.GDNParams`)."""

    spec: LayerSpec
    params: GDNParams

    def __getattr__(self, item):
        if item == "spec":
            raise AttributeError(item)
        return getattr(self.spec, item)


Layer = ConvLayer | GDNLayer


def _tables_to_arrays(tables: list[SymbolTable]) -> dict[str, np.ndarray]:
    return {
        "offset": np.array([t.offset for t in tables], dtype=np.int32),
        "length": np.array([len(t.freqs) for t in tables], dtype=np.int32),
        "freqs": np.concatenate([t.freqs for t in tables]).astype(np.uint32),
    }


def _tables_from_arrays(offset: np.ndarray, length: np.ndarray, freqs: np.ndarray, what: str) -> list[SymbolTable]:
    if offset.shape != length.shape or (length.size and length.min() < 2) or int(length.sum()) != len(freqs):
        raise ArtefactError(f"{what}: offsets, lengths and frequencies do not agree")
    tables = []
    for i, (o, start, stop) in enumerate(zip(offset, np.cumsum(length) - length, np.cumsum(length))):
        f = freqs[start:stop].astype(np.uint32)
        if int(f.astype(np.int64).sum()) != 1 << TABLE_PRECISION or f.min() < 1:
            raise ArtefactError(f"{what}: table {i} does not sum to 2**{TABLE_PRECISION} with every entry ≥ 1")
        tables.append(SymbolTable(int(o), f))
    return tables


@dataclass(frozen=True, eq=False)
class Artefact:
    """An integer model: its layers in execution order, its entropy tables and metadata
    (``meta``: role, quality, lmbda, distilled, source, quantization)."""

    name: str
    N: int
    M: int
    layers: tuple[Layer, ...]
    z_tables: tuple[SymbolTable, ...]
    y_tables: tuple[SymbolTable, ...]
    meta: dict = field(default_factory=dict)

    def transform(self, name: str) -> list[Layer]:
        """The layers of g_a, h_a, h_s or g_s, in order."""
        if name not in TRANSFORMS:
            raise KeyError(f"unknown transform {name!r} (known: {', '.join(TRANSFORMS)})")
        return [layer for layer in self.layers if layer.transform == name]

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"artefact {self.name} has no layer {name!r}")

    @property
    def gdn_in_bits(self) -> int:
        return self.layer("g_a.1").in_type.bits

    # ------------------------------------------------------------------- writing
    def arrays(self) -> dict[str, np.ndarray]:
        """Every stored tensor, by its npz key, in its storage dtype."""
        out = {"rsqrt_table": RSQRT_TABLE.astype(np.int32)}
        for layer in self.layers:
            n = layer.name
            if isinstance(layer, ConvLayer):
                out[f"{n}.weight"] = layer.weight.astype(np.int8)
                out[f"{n}.bias"] = layer.bias.astype(np.int32)
                if layer.thresholds is not None:
                    out[f"{n}.thresholds"] = layer.thresholds.astype(np.int32)
                else:
                    out[f"{n}.multiplier"] = layer.multiplier.astype(np.int32)
                    out[f"{n}.shift"] = layer.shift.astype(np.int32)
            else:
                p = layer.params
                # beta can pass 32 bits (the 48-bit accumulator's initial value), gamma has coef_bits.
                out.update(
                    {
                        f"{n}.gamma": p.gamma,
                        f"{n}.beta": p.beta,
                        f"{n}.frac_bits": p.frac_bits.astype(np.int32),
                        f"{n}.multiplier": p.multiplier.astype(np.int32),
                        f"{n}.shift": p.shift.astype(np.int32),
                    }
                )
        for which, tables in (("z", self.z_tables), ("y", self.y_tables)):
            out.update({f"entropy.{which}.{k}": v for k, v in _tables_to_arrays(list(tables)).items()})
        return out

    def manifest(self, npz_name: str, npz_sha256: str) -> dict:
        layers = []
        for layer in self.layers:
            s = layer.spec
            entry = {
                "name": s.name,
                "transform": s.transform,
                "kind": s.kind,
                "kernel": s.kernel,
                "stride": s.stride,
                "padding": s.padding,
                "output_padding": s.output_padding,
                "c_in": s.c_in,
                "c_out": s.c_out,
                "in": s.in_type.as_json(),
                "out": None if s.out_type is None else s.out_type.as_json(),
                "acc_bits": s.acc_bits,
            }
            if isinstance(layer, GDNLayer):
                p = layer.params
                entry["acc_bits"] = p.acc_bits
                entry["gdn"] = {"in_bits": p.in_bits, "out_bits": p.out_bits, "coef_bits": p.coef_bits}
            layers.append(entry)
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "N": self.N,
            "M": self.M,
            **self.meta,
            "entropy": {
                "table_precision": TABLE_PRECISION,
                "z_tables": len(self.z_tables),
                "y_tables": len(self.y_tables),
            },
            "layers": layers,
            "npz": {"file": npz_name, "sha256": npz_sha256},
        }

    def save(self, directory: Path) -> Path:
        """Write ``NAME.npz`` and ``NAME.json`` into ``directory``; returns the manifest's path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays())
        data = buffer.getvalue()
        npz_path, json_path = directory / f"{self.name}.npz", directory / f"{self.name}.json"
        npz_path.write_bytes(data)
        manifest = self.manifest(npz_path.name, hashlib.sha256(data).hexdigest())
        json_path.write_text(json.dumps(manifest, indent=1) + "\n")
        return json_path


# ----------------------------------------------------------------------- reading


def read_manifest(path: Path) -> dict:
    """The manifest at ``path`` (``.json``, or the ``.npz`` beside it), format and version checked."""
    path = Path(path)
    if path.suffix == ".npz":
        path = path.with_suffix(".json")
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtefactError(f"{path}: no such artefact manifest") from None
    except (OSError, ValueError) as exc:
        raise ArtefactError(f"{path}: not a readable JSON manifest ({exc.__class__.__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtefactError(
            f"{path}: not a licfpga integer artefact (format "
            f"{manifest.get('format') if isinstance(manifest, dict) else None!r}, expected {FORMAT!r})"
        )
    if manifest.get("version") != VERSION:
        raise ArtefactError(
            f"{path}: artefact format version {manifest.get('version')!r}, this licfpga reads version {VERSION}"
        )
    missing = [k for k in ("name", "N", "M", "layers", "npz", "quantization") if k not in manifest]
    if missing:
        raise ArtefactError(f"{path}: manifest lacks {', '.join(missing)}")
    return manifest


def _int_type(entry, what: str) -> IntType | None:
    if entry is None:
        return None
    try:
        return IntType(int(entry["bits"]), bool(entry["signed"]), float(entry["scale"]))
    except (KeyError, TypeError, ValueError):
        raise ArtefactError(f"{what}: malformed integer type {entry!r}") from None


def load_artefact(path: Path) -> Artefact:
    """Read and check an artefact (manifest ``.json`` or its ``.npz``): version, the npz's
    sha256, the layer list against the topology of (N, M), every tensor's presence, shape
    and range. Any problem raises :class:`ArtefactError` naming the file and the tensor."""
    manifest = read_manifest(path)
    json_path = Path(path).with_suffix(".json")
    npz_path = json_path.parent / manifest["npz"]["file"]
    try:
        data = npz_path.read_bytes()
    except OSError:
        raise ArtefactError(f"{json_path}: its tensor file {npz_path.name} is missing") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != manifest["npz"].get("sha256"):
        raise ArtefactError(
            f"{npz_path}: content hash mismatch (sha256 {digest[:16]}…, the manifest says "
            f"{str(manifest['npz'].get('sha256'))[:16]}…): the tensors were changed or damaged"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ArtefactError(f"{npz_path}: not a readable npz ({exc})") from None
    return _build(manifest, arrays, str(npz_path))


def _build(manifest: dict, arrays: dict[str, np.ndarray], where: str) -> Artefact:
    N, M = int(manifest["N"]), int(manifest["M"])

    def tensor(key: str, shape: tuple[int, ...] | None = None, lo: int | None = None, hi: int | None = None):
        if key not in arrays:
            raise ArtefactError(f"{where}: missing tensor {key!r}")
        value = arrays[key]
        if value.dtype.kind not in "iu":
            raise ArtefactError(f"{where}: tensor {key!r} is {value.dtype}, expected integers")
        if shape is not None and value.shape != shape:
            raise ArtefactError(f"{where}: tensor {key!r} has shape {value.shape}, expected {shape}")
        value = value.astype(np.int64)
        if value.size and ((lo is not None and value.min() < lo) or (hi is not None and value.max() > hi)):
            raise ArtefactError(f"{where}: tensor {key!r} spans [{value.min()}, {value.max()}], outside [{lo}, {hi}]")
        return value

    if not np.array_equal(tensor("rsqrt_table", RSQRT_TABLE.shape), RSQRT_TABLE):
        raise ArtefactError(f"{where}: rsqrt_table differs from this licfpga's seed ROM")
    entries = manifest["layers"]
    gdn_in_bits = next((e.get("gdn", {}).get("in_bits") for e in entries if e.get("kind") == "gdn"), 8)
    expected = topology(N, M, int(gdn_in_bits))
    if [e.get("name") for e in entries] != [s.name for s in expected]:
        raise ArtefactError(
            f"{where}: layers {[e.get('name') for e in entries]} do not match the scale hyperprior's "
            f"{[s.name for s in expected]}"
        )
    layers = []
    w8 = int_range(8)
    for entry, spec in zip(entries, expected):
        n = spec.name
        for key in ("kind", "kernel", "stride", "c_in", "c_out"):
            if entry.get(key) != getattr(spec, key):
                raise ArtefactError(
                    f"{where}: layer {n} has {key} {entry.get(key)!r}, expected {getattr(spec, key)!r} for N={N}, M={M}"
                )
        in_type, out_type = (
            _int_type(entry.get("in"), f"{where}: layer {n} in"),
            _int_type(entry.get("out"), f"{where}: layer {n} out"),
        )
        if (out_type is None) != (spec.out_type is None):
            raise ArtefactError(f"{where}: layer {n} out type {entry.get('out')!r} does not fit the topology")
        spec = LayerSpec(
            n,
            spec.kind,
            spec.kernel,
            spec.stride,
            spec.c_in,
            spec.c_out,
            in_type,
            out_type,
            int(entry.get("acc_bits", spec.acc_bits)),
        )
        c = spec.c_out
        if spec.kind in ("conv", "deconv"):
            weight = tensor(f"{n}.weight", spec.weight_shape, *w8)
            bias = tensor(f"{n}.bias", (c,), *int_range(32))
            if out_type is None:
                thresholds = tensor(f"{n}.thresholds", None, -(1 << 31), (1 << 31) - 1)
                if thresholds.ndim != 2 or thresholds.shape[0] != c:
                    raise ArtefactError(
                        f"{where}: tensor '{n}.thresholds' has shape {thresholds.shape}, expected ({c}, levels)"
                    )
                layers.append(ConvLayer(spec, weight, bias, thresholds=thresholds))
            else:
                layers.append(
                    ConvLayer(
                        spec,
                        weight,
                        bias,
                        tensor(f"{n}.multiplier", (c,), 1 << 16, (1 << 17) - 1),
                        tensor(f"{n}.shift", (c,), 0, 62),
                    )
                )
        else:
            gdn = entry.get("gdn") or {}
            try:
                params = GDNParams(
                    spec.kind == "igdn",
                    int(gdn["in_bits"]),
                    int(gdn["out_bits"]),
                    int(gdn["coef_bits"]),
                    int(entry["acc_bits"]),
                    tensor(f"{n}.frac_bits", (c,)),
                    tensor(f"{n}.beta", (c,)),
                    tensor(f"{n}.gamma", (c, c)),
                    tensor(f"{n}.multiplier", (c,)),
                    tensor(f"{n}.shift", (c,)),
                )
            except (KeyError, TypeError) as exc:
                raise ArtefactError(f"{where}: layer {n} lacks GDN setting {exc}") from None
            except ValueError as exc:
                if isinstance(exc, ArtefactError):
                    raise
                raise ArtefactError(f"{where}: layer {n}: {exc}") from None
            if (params.in_bits, params.out_bits) != (in_type.bits, out_type.bits):
                raise ArtefactError(
                    f"{where}: layer {n}: GDN bits {params.in_bits}/{params.out_bits} disagree with "
                    f"its types {in_type.bits}/{out_type.bits}"
                )
            layers.append(GDNLayer(spec, params))
    z_tables = _tables_from_arrays(
        tensor("entropy.z.offset"), tensor("entropy.z.length"), tensor("entropy.z.freqs"), f"{where}: entropy.z"
    )
    y_tables = _tables_from_arrays(
        tensor("entropy.y.offset"), tensor("entropy.y.length"), tensor("entropy.y.freqs"), f"{where}: entropy.y"
    )
    if len(z_tables) != N:
        raise ArtefactError(f"{where}: {len(z_tables)} ẑ tables for N={N} channels")
    levels = layers[[s.name for s in expected].index("h_s.4")].thresholds.shape[1]
    if len(y_tables) != levels:
        raise ArtefactError(f"{where}: {len(y_tables)} ŷ tables for {levels} scale thresholds")
    meta = {
        k: v
        for k, v in manifest.items()
        if k not in ("format", "version", "name", "N", "M", "layers", "npz", "entropy")
    }
    return Artefact(str(manifest["name"]), N, M, tuple(layers), tuple(z_tables), tuple(y_tables), meta)
