"""The integer artefact: what it exposes to gen/, its round trip through the files, the
registry entry, and every way a file can be wrong (each one clear ArtefactError)."""

import hashlib
import io
import json
import shutil

import numpy as np
import pytest

from licfpga.model import intops
from licfpga.model.artefact import (
    FORMAT,
    VERSION,
    ArtefactError,
    ConvLayer,
    GDNLayer,
    load_artefact,
    read_manifest,
    topology,
)
from licfpga.model.quantize import QuantizedHyperprior, calibrate, export
from licfpga.model.registry import ModelError, list_models, load_integer_model, model_id, resolve_model


@pytest.fixture
def copy(tiny_artefact, tmp_path):
    """A private copy of the tiny artefact: (manifest path, npz path)."""
    for suffix in (".json", ".npz"):
        shutil.copy(tiny_artefact.with_suffix(suffix), tmp_path)
    return tmp_path / tiny_artefact.name, tmp_path / tiny_artefact.with_suffix(".npz").name


def rewrite_npz(manifest_path, npz_path, change):
    """Apply ``change`` to the arrays and write them back with a matching hash, so that
    only the intended defect remains."""
    with np.load(npz_path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    npz_path.write_bytes(buffer.getvalue())
    manifest = json.loads(manifest_path.read_text())
    manifest["npz"]["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))


def edit_manifest(manifest_path, change):
    manifest = json.loads(manifest_path.read_text())
    change(manifest)
    manifest_path.write_text(json.dumps(manifest))


def test_layers_expose_what_gen_needs(tiny_artefact):
    art = load_artefact(tiny_artefact)
    assert (art.N, art.M) == (8, 16)
    assert [layer.name for layer in art.layers] == [s.name for s in topology(8, 16)]
    first = art.layer("g_a.0")
    assert isinstance(first, ConvLayer)
    assert (first.kind, first.kernel, first.stride, first.padding, first.c_in, first.c_out) == ("conv", 5, 2, 2, 3, 8)
    assert first.weight.shape == (8, 3, 5, 5) and first.bias.shape == (8,)
    assert (first.in_type.bits, first.in_type.signed, first.in_type.scale) == (8, False, 1 / 255)
    # Every channel's largest weight is ±127: symmetric per-output-channel scales.
    assert (np.abs(first.weight).max(axis=(1, 2, 3)) == 127).all()
    assert ((2**16 <= first.multiplier) & (first.multiplier < 2**17)).all() and (first.shift >= 0).all()
    deconv = art.layer("g_s.6")
    assert (deconv.kind, deconv.output_padding, deconv.weight.shape) == ("deconv", 1, (8, 3, 5, 5))
    assert (deconv.out_type.bits, deconv.out_type.signed) == (8, False)
    assert art.layer("g_s.0").acc_bits == 48
    assert art.layer("g_a.6").out_type.bits == 16 and art.layer("h_a.4").out_type.bits == 8
    hs = art.layer("h_s.4")
    assert hs.out_type is None and hs.multiplier is None and hs.thresholds.shape == (16, 64)
    gdn = art.layer("g_a.1")
    assert isinstance(gdn, GDNLayer) and not gdn.params.inverse and gdn.params.coef_bits == 26
    assert art.layer("g_s.1").params.inverse
    assert len(art.z_tables) == 8 and len(art.y_tables) == 64
    assert all(int(t.freqs.sum()) == 2**16 for t in art.z_tables + art.y_tables)


def test_manifest_documents_every_layer(tiny_artefact):
    manifest = read_manifest(tiny_artefact)
    assert (manifest["format"], manifest["version"]) == (FORMAT, VERSION)
    assert manifest["npz"]["sha256"] == hashlib.sha256(tiny_artefact.with_suffix(".npz").read_bytes()).hexdigest()
    for entry in manifest["layers"]:
        assert {"name", "transform", "kind", "kernel", "stride", "c_in", "c_out", "in", "out", "acc_bits"} <= set(entry)
        assert entry["in"]["scale"] > 0
    # No pickled objects: the npz loads with pickling disabled.
    with np.load(tiny_artefact.with_suffix(".npz"), allow_pickle=False) as npz:
        assert npz["rsqrt_table"].tolist() == intops.RSQRT_TABLE.tolist()
        assert npz["g_a.0.weight"].dtype == np.int8 and npz["g_a.0.bias"].dtype == np.int32


def test_round_trip_keeps_every_integer(tiny_artefact, tmp_path):
    art = load_artefact(tiny_artefact)
    again = load_artefact(art.save(tmp_path))
    for key, value in art.arrays().items():
        assert np.array_equal(again.arrays()[key], value), key
    assert again.meta == art.meta


def test_export_is_deterministic(tiny_float, calibration):
    from licfpga.model.registry import load_model

    model, _ = load_model(str(tiny_float))
    exports = [export(QuantizedHyperprior.from_float(model, calibrate(model, calibration)), "t", {}) for _ in range(2)]
    first, second = (e.arrays() for e in exports)
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_missing_tensor_is_named(copy):
    rewrite_npz(*copy, lambda a: a.pop("h_a.2.multiplier"))
    with pytest.raises(ArtefactError, match=r"missing tensor 'h_a.2.multiplier'"):
        load_artefact(copy[0])


def test_wrong_version(copy):
    edit_manifest(copy[0], lambda m: m.update(version=VERSION + 1))
    with pytest.raises(ArtefactError, match=f"version {VERSION + 1}.*reads version {VERSION}"):
        load_artefact(copy[0])


def test_not_an_artefact(copy):
    edit_manifest(copy[0], lambda m: m.update(format="something-else"))
    with pytest.raises(ArtefactError, match="not a licfpga integer artefact"):
        load_artefact(copy[0])


def test_hash_mismatch(copy):
    data = bytearray(copy[1].read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy[1].write_bytes(bytes(data))
    with pytest.raises(ArtefactError, match="content hash mismatch"):
        load_artefact(copy[0])


def test_shape_mismatch_is_named(copy):
    rewrite_npz(*copy, lambda a: a.update({"g_a.2.weight": a["g_a.2.weight"][:, :4]}))
    with pytest.raises(ArtefactError, match=r"'g_a.2.weight' has shape \(8, 4, 5, 5\), expected \(8, 8, 5, 5\)"):
        load_artefact(copy[0])


def test_out_of_range_tensor_is_named(copy):
    rewrite_npz(*copy, lambda a: a.update({"h_s.0.shift": a["h_s.0.shift"] + 100}))
    with pytest.raises(ArtefactError, match=r"'h_s.0.shift' spans"):
        load_artefact(copy[0])


def test_layer_that_does_not_fit_the_topology(copy):
    edit_manifest(copy[0], lambda m: m["layers"][2].update(c_out=9))
    with pytest.raises(ArtefactError, match="layer g_a.2 has c_out 9, expected 8"):
        load_artefact(copy[0])


def test_missing_tensor_file(copy):
    copy[1].unlink()
    with pytest.raises(ArtefactError, match="tensor file .* is missing"):
        load_artefact(copy[0])


def test_registry_lists_integer_beside_float(tiny_float, copy):
    shutil.copy(tiny_float, copy[0].parent)
    models = {m.name: m for m in list_models(copy[0].parent)}
    assert models["tiny-q1"].integer is False and models["tiny-q1-int8"].integer is True
    assert (models["tiny-q1-int8"].N, models["tiny-q1-int8"].quality) == (8, 1)
    art, info = load_integer_model(str(copy[0]))
    assert info == resolve_model(str(copy[0].with_suffix(".npz")))
    # The id hashes the manifest, which holds the tensors' hash: a changed tensor is a new model.
    before = model_id(info)
    rewrite_npz(*copy, lambda a: a.update({"g_a.0.bias": a["g_a.0.bias"] + 1}))
    assert model_id(resolve_model(str(copy[0]))) != before
    with pytest.raises(ModelError, match="is a float model"):
        load_integer_model(str(tiny_float))


def test_export_refuses_wide_z_tails(tiny_float, calibration):
    import torch

    from licfpga.model.registry import load_model

    model, _ = load_model(str(tiny_float))
    q = QuantizedHyperprior.from_float(model, calibrate(model, calibration))
    with torch.no_grad():
        q.entropy_bottleneck.quantiles[3, 0, 2] = 300.0
    with pytest.raises(ArtefactError, match="ẑ channel 3 spans .* beyond int8"):
        export(q, "t", {})
