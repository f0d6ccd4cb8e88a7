"""The codec end to end: API and CLI round trips, determinism, image modes, and every
way a file can be wrong (each must give one error line and leave no output behind).

The models are tiny and untrained: exactness of the round trip does not depend on training.
"""

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.cli import main
from licfpga.model.codec import Codec, CodecError, FloatBackend, decode, encode, read_header, read_image
from licfpga.model.hyperprior import ScaleHyperprior
from licfpga.model.registry import save_weights

SIZES = [(1, 1), (37, 23), (65, 130), (64, 64), (96, 17)]


def tiny_model_file(path, seed, name="tiny-test"):
    torch.manual_seed(seed)
    save_weights(
        ScaleHyperprior(8, 16), path, name=name, role="student", quality=1, lmbda=0.01, distilled=False, training={}
    )
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return tiny_model_file(tmp_path_factory.mktemp("weights") / "tiny.pt", seed=0)


@pytest.fixture(scope="module")
def codec(weights):
    return Codec.load(weights)


@pytest.fixture(scope="module")
def encoded(codec):
    image = np.random.default_rng(7).integers(0, 256, (37, 23, 3), dtype=np.uint8)
    return codec.encode(image, reconstruct=True)


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def run(capsys, *argv):
    """Exit status and the stderr of ``licfpga argv``; an error is exactly one line."""
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    if status:
        assert err.startswith("licfpga: error: ") and err.count("\n") == 1, err
    return status, err


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("gray", [False, True])
def test_api_roundtrip_reproduces_the_encoder_reconstruction(codec, rng, size, gray):
    shape = size if gray else size + (3,)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    result = codec.encode(image, reconstruct=True)
    header = read_header(result.data)
    assert (header.height, header.width, header.grayscale) == (size[0], size[1], gray)
    decoded = decode(result.data, codec)
    assert decoded.dtype == np.uint8 and decoded.shape == shape
    np.testing.assert_array_equal(decoded, result.reconstruction)


def test_module_functions_take_names_paths_and_codecs(weights, codec, encoded):
    image = np.zeros((5, 6, 3), np.uint8)
    assert encode(image, weights).data == encode(image, codec).data
    np.testing.assert_array_equal(decode(encoded.data, str(weights)), encoded.reconstruction)


def test_deterministic(weights, codec, rng):
    image = rng.integers(0, 256, (40, 70, 3), dtype=np.uint8)
    assert codec.encode(image).data == codec.encode(image).data == Codec.load(weights).encode(image).data


class FixedBackend:
    """An analysis backend that returns given latents, beyond int16 where asked."""

    def __init__(self, codec, scale):
        self.codec, self.scale = codec, scale

    def analyse(self, x):
        height, width = x.shape[0], x.shape[1]
        rng = np.random.default_rng(3)
        y = rng.integers(-3, 4, (self.codec.model.M, height // 16, width // 16))
        z = rng.integers(-3, 4, (self.codec.model.N, height // 64, width // 64))
        y.flat[:2], z.flat[:2] = [-self.scale, self.scale], [self.scale, -self.scale]
        return y, z


def test_latents_are_clamped_to_int16_and_escaped(codec):
    image = np.zeros((64, 64, 3), np.uint8)
    wide = codec.encode(image, FixedBackend(codec, 10**6), reconstruct=True)
    edge = codec.encode(image, FixedBackend(codec, 2**15))
    assert wide.data == edge.data  # both clamp to the same int16 extremes
    np.testing.assert_array_equal(decode(wide.data, codec), wide.reconstruction)


def test_backend_output_is_checked(codec):
    class Wrong:
        def analyse(self, x):
            y, z = FloatBackend(codec.model).analyse(x)
            return y[:, :-1], z

    with pytest.raises(CodecError, match="expected integers of shape"):
        codec.encode(np.zeros((64, 64, 3), np.uint8), Wrong())


class WithIndexes:
    """A backend that also runs h_s (as the accelerator's encoder does): its indexes,
    changed by ``edit``."""

    def __init__(self, codec, edit=lambda s: s):
        self.codec, self.edit = codec, edit

    def analyse(self, x):
        y, z = FloatBackend(self.codec.model).analyse(x)
        return y, z, self.edit(self.codec._y_index(z))


def test_a_backends_scale_indexes_are_used_and_checked(codec, rng):
    image = rng.integers(0, 256, (64, 128, 3), dtype=np.uint8)
    plain = codec.encode(image, FloatBackend(codec.model)).data
    assert codec.encode(image, WithIndexes(codec)).data == plain
    # the file codes ŷ with the backend's indexes: other (valid) ones give another file
    assert codec.encode(image, WithIndexes(codec, lambda s: np.zeros_like(s))).data != plain
    levels = len(codec.y_tables)
    for edit, message in (
        (lambda s: s[:, :-1], "scale indexes as .* expected integers of shape"),
        (lambda s: s + levels, f"outside the table's 0…{levels - 1}"),
        (lambda s: s.astype(float), "expected integers"),
    ):
        with pytest.raises(CodecError, match=message):
            codec.encode(image, WithIndexes(codec, edit))


def test_cli_roundtrip(tmp_path, capsys, weights, rng):
    image = rng.integers(0, 256, (37, 23, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "in.png")
    lic, out = tmp_path / "in.lic", tmp_path / "out.png"
    assert main(["compress", str(tmp_path / "in.png"), str(lic), "--model", str(weights), "--backend", "float"]) == 0
    summary = capsys.readouterr().out
    assert f"{lic.stat().st_size} bytes" in summary and "bpp" in summary
    assert main(["decompress", str(lic), str(out), "--model", str(weights)]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), decode(lic.read_bytes(), weights))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.lic", "in.png", "out.png"]  # no temporaries


@pytest.mark.parametrize(
    "mode, fill, written",
    [
        ("L", 90, "L"),
        ("LA", (90, 255), "L"),
        ("RGBA", (10, 20, 30, 255), "RGB"),
        ("P", None, "RGB"),
    ],
)
def test_cli_image_modes(tmp_path, capsys, weights, mode, fill, written):
    source = Image.new(mode, (33, 20), fill)
    if mode == "P":
        source.putpalette(list(range(256)) * 3)
    source.save(tmp_path / "in.png")
    assert main(["compress", str(tmp_path / "in.png"), str(tmp_path / "in.lic"), "--model", str(weights)]) == 0
    assert main(["decompress", str(tmp_path / "in.lic"), str(tmp_path / "out.png"), "--model", str(weights)]) == 0
    with Image.open(tmp_path / "out.png") as out:
        assert (out.mode, out.size) == (written, (33, 20))


@pytest.mark.parametrize(
    "name, make, word",
    [
        ("alpha.png", lambda: Image.new("RGBA", (8, 8), (1, 2, 3, 128)), "RGBA"),
        ("deep.png", lambda: Image.fromarray(np.full((8, 8), 1000, np.uint16)), "16-bit"),
        ("cmyk.jpg", lambda: Image.new("CMYK", (8, 8)), "CMYK"),
    ],
)
def test_cli_refuses_modes_it_would_alter(tmp_path, capsys, weights, name, make, word):
    make().save(tmp_path / name)
    status, err = run(capsys, "compress", tmp_path / name, tmp_path / "x.lic", "--model", weights)
    assert status == 2 and word in err
    assert not (tmp_path / "x.lic").exists()
    with pytest.raises(CodecError):
        read_image(tmp_path / name)


# --- broken files --------------------------------------------------------------------------


def test_corrupt_byte_is_caught_and_leaves_the_output_alone(tmp_path, capsys, weights, encoded):
    data = encoded.data
    for position in (0, 5, 8, 20, len(data) // 2, len(data) - 5, len(data) - 1):
        broken = bytearray(data)
        broken[position] ^= 0x40
        with pytest.raises(CodecError):
            decode(bytes(broken), weights)
        (tmp_path / "bad.lic").write_bytes(bytes(broken))
        (tmp_path / "out.png").write_bytes(b"keep")
        status, _ = run(capsys, "decompress", tmp_path / "bad.lic", tmp_path / "out.png", "--model", weights)
        assert status == 2
        assert (tmp_path / "out.png").read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.lic", "out.png"]


def test_truncation_is_caught(tmp_path, capsys, weights, encoded):
    data = encoded.data
    for length in (0, 2, 4, 14, 30, len(data) // 2, len(data) - 4, len(data) - 1):
        with pytest.raises(CodecError, match="empty|truncated|magic"):
            decode(data[:length], weights)
    (tmp_path / "cut.lic").write_bytes(data[:-3])
    status, err = run(capsys, "decompress", tmp_path / "cut.lic", tmp_path / "out.png", "--model", weights)
    assert status == 2 and "truncated" in err and not (tmp_path / "out.png").exists()


def test_foreign_file(tmp_path, capsys, weights):
    Image.new("RGB", (4, 4)).save(tmp_path / "photo.png")
    (tmp_path / "photo.png").rename(tmp_path / "photo.lic")
    status, err = run(capsys, "decompress", tmp_path / "photo.lic", tmp_path / "out.png", "--model", weights)
    assert status == 2 and "not a licfpga file" in err and not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    "offset, value, message",
    [
        (4, 2, "version"),
        (5, 0x80, "flags"),
        (6, 0, "size"),
        (14, 200, "model name"),
    ],
)
def test_header_fields_are_validated_behind_the_checksum(weights, encoded, offset, value, message):
    body = bytearray(encoded.data[:-4])
    body[offset : offset + (4 if offset == 6 else 1)] = value.to_bytes(4 if offset == 6 else 1, "little")
    with pytest.raises(CodecError, match=message):
        decode(with_crc(bytes(body)), weights)


def test_wrong_model_is_named(tmp_path, capsys, encoded):
    other = tiny_model_file(tmp_path / "other.pt", seed=1)
    with pytest.raises(CodecError, match="tiny-test.*the loaded weights differ"):
        decode(encoded.data, other)
    (tmp_path / "a.lic").write_bytes(encoded.data)
    status, err = run(capsys, "decompress", tmp_path / "a.lic", tmp_path / "a.png", "--model", other)
    assert status == 2 and "differ" in err and not (tmp_path / "a.png").exists()


def test_model_missing_from_the_registry(tmp_path, capsys, encoded):
    (tmp_path / "a.lic").write_bytes(encoded.data)
    status, err = run(capsys, "decompress", tmp_path / "a.lic", tmp_path / "a.png")
    assert status == 2 and "'tiny-test'" in err and "not available" in err


def test_cli_errors_are_one_line(tmp_path, capsys, weights):
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG but not really")
    cases = [
        (["compress", tmp_path / "missing.png", tmp_path / "x.lic", "--model", weights], "missing.png"),
        (["compress", tmp_path / "ok.png", tmp_path / "x.lic", "--model", "no-such-model"], "no-such-model"),
        (["compress", tmp_path / "junk.png", tmp_path / "x.lic", "--model", weights], "junk.png"),
        (["compress", tmp_path / "ok.png", tmp_path / "nofolder" / "x.lic", "--model", weights], "nofolder"),
        (["decompress", tmp_path / "missing.lic", tmp_path / "x.png", "--model", weights], "missing.lic"),
        (["decompress", tmp_path / "ok.png", tmp_path / "x.png", "--model", weights], "not a licfpga file"),
    ]
    for argv, word in cases:
        status, err = run(capsys, *argv)
        assert status == 2 and word in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.png", "ok.png"]
