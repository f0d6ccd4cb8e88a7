"""The integer golden model: torch vs numpy and 1 vs 2 threads bit for bit, integer vs
float within stated tolerances, and the integer codec's round trips (bit-exact decode,
headers, analysis and synthesis backends, CLI)."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from licfpga.cli import main
from licfpga.model.artefact import load_artefact
from licfpga.model.codec import Codec, CodecError, IntegerCodec, decode, read_header
from licfpga.model.golden import GoldenBackend, GoldenModel, GoldenSynthesis
from licfpga.model.hyperprior import hyper_input
from licfpga.model.registry import load_model, model_id, resolve_model

# Integer vs float on the tiny trained model (measured: ŷ agreement ≈ 0.99, PSNR within
# 0.03 dB): at least 97% of ŷ symbols equal round(g_a(x)) of the float model, and the
# integer reconstruction's PSNR at most 0.3 dB below the float one.
Y_AGREEMENT = 0.97
PSNR_DROP_DB = 0.3
# h_s scale indexes of the integer model vs the float model from the same ẑ: the
# integer and float σ differ by requantization, so an index may move by one step.
INDEX_AGREEMENT = 0.9


@pytest.fixture(scope="module")
def golden(tiny_artefact):
    return GoldenModel(load_artefact(tiny_artefact))


@pytest.fixture(scope="module")
def pixels(photo_dir):
    images = [np.asarray(Image.open(p)) for p in sorted(photo_dir.glob("*.png"))]
    return torch.from_numpy(np.stack(images)[:, :64, :64]).permute(0, 3, 1, 2).to(torch.int64).contiguous()


def run_all(golden, x):
    trace = {}
    y = golden.g_a(x, trace)
    z = golden.h_a(y, trace)
    golden.h_s(z, trace)
    golden.g_s(y, trace)
    return trace


def test_torch_and_numpy_are_bit_identical(golden, pixels):
    from_torch = run_all(golden, pixels)
    from_numpy = run_all(golden, pixels.numpy())
    assert from_torch.keys() == from_numpy.keys() and len(from_torch) == 20
    for name, value in from_torch.items():
        assert isinstance(from_numpy[name], np.ndarray)
        assert np.array_equal(value.numpy(), from_numpy[name]), name


def test_thread_count_does_not_matter(golden, pixels):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run_all(golden, pixels)
        torch.set_num_threads(2)
        two = run_all(golden, pixels)
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(one[k], two[k]) for k in one)


def test_output_types(golden, pixels):
    trace = run_all(golden, pixels)
    y, z, index, x_hat = trace["g_a.6"], trace["h_a.4"], trace["h_s.4"], trace["g_s.6"]
    assert y.shape == (6, 16, 4, 4) and y.abs().max() <= 32767 and y.abs().max() >= 2
    assert z.shape == (6, 8, 1, 1) and z.abs().max() <= 127
    assert index.shape == y.shape and 0 <= index.min() and index.max() <= 63
    assert x_hat.shape == pixels.shape and 0 <= x_hat.min() and x_hat.max() <= 255
    for name in ("g_a.1", "g_a.3", "g_a.5", "g_s.1"):
        assert trace[name].abs().max() <= 127
    for name in ("h_a.0", "h_a.2", "h_s.0", "h_s.2"):
        assert 0 <= trace[name].min() and trace[name].max() <= 255


def psnr(a, b):
    return 10 * math.log10(255**2 / ((a.double() - b.double()) ** 2).mean().item())


def test_integer_model_close_to_float(golden, pixels, tiny_float):
    model, _ = load_model(str(tiny_float))
    with torch.no_grad():
        y_float = torch.round(model.g_a(pixels.float() / 255))
        x_float = torch.round(model.g_s(y_float).clamp(0, 1) * 255)
        z_float = torch.round(model.h_a(hyper_input(y_float)))
        index_float = model.gaussian_conditional.scale_indexes(model.h_s(z_float))
    y = golden.g_a(pixels)
    assert (y == y_float).double().mean() >= Y_AGREEMENT
    assert psnr(golden.g_s(y), pixels) >= psnr(x_float, pixels) - PSNR_DROP_DB
    assert (golden.h_s(z_float.to(torch.int64)) == index_float).double().mean() >= INDEX_AGREEMENT


def test_golden_refuses_inputs_outside_their_type(golden):
    with pytest.raises(ValueError, match="g_a input spans"):
        golden.g_a(np.full((1, 3, 16, 16), 256))
    with pytest.raises(ValueError, match="h_s input spans"):
        golden.h_s(np.full((1, 8, 1, 1), 128))


# ----------------------------------------------------------------------- codec


@pytest.fixture(scope="module")
def codec(tiny_artefact):
    return Codec.load(str(tiny_artefact))


def test_integer_codec_round_trip_is_bit_exact(codec, tiny_artefact, photo_dir):
    assert isinstance(codec, IntegerCodec) and codec.default_backend_name == "golden"
    image = np.asarray(Image.open(photo_dir / "photo0.png"))[:70, :90]
    encoded = codec.encode(image, reconstruct=True)
    header = read_header(encoded.data)
    info = resolve_model(str(tiny_artefact))
    assert header.model_name == "tiny-q1-int8" and header.model_id == model_id(info)
    # A fresh codec (as on another machine) decodes exactly what the encoder reconstructed.
    assert np.array_equal(decode(encoded.data, Codec.load(str(tiny_artefact))), encoded.reconstruction)
    # The golden backend is the default, and the numpy path writes the same file.
    assert codec.encode(image, GoldenBackend(codec.artefact)).data == encoded.data


def test_integer_codec_grayscale(codec, photo_dir):
    gray = np.asarray(Image.open(photo_dir / "photo1.png").convert("L"))[:40, :33]
    encoded = codec.encode(gray, reconstruct=True)
    assert encoded.reconstruction.shape == gray.shape
    assert np.array_equal(codec.decode(encoded.data), encoded.reconstruction)


def test_float_and_integer_files_name_their_model(codec, tiny_float, photo_dir):
    image = np.asarray(Image.open(photo_dir / "photo2.png"))
    float_codec = Codec.load(str(tiny_float))
    float_file, int_file = float_codec.encode(image).data, codec.encode(image).data
    assert read_header(float_file).model_name == "tiny-q1" and read_header(int_file).model_name == "tiny-q1-int8"
    with pytest.raises(CodecError, match="written by model 'tiny-q1'"):
        codec.decode(float_file)
    with pytest.raises(CodecError, match="written by model 'tiny-q1-int8'"):
        float_codec.decode(int_file)


def test_cli_backends(tiny_artefact, tiny_float, photo_dir, tmp_path, capsys):
    src = photo_dir / "photo3.png"
    assert main(["compress", str(src), str(tmp_path / "a.lic"), "--model", str(tiny_artefact)]) == 0
    assert (
        main(["compress", str(src), str(tmp_path / "b.lic"), "--model", str(tiny_artefact), "--backend", "golden"]) == 0
    )
    assert (tmp_path / "a.lic").read_bytes() == (tmp_path / "b.lic").read_bytes()
    assert main(["decompress", str(tmp_path / "a.lic"), str(tmp_path / "a.png"), "--model", str(tiny_artefact)]) == 0
    expected = Codec.load(str(tiny_artefact)).encode(np.asarray(Image.open(src)), reconstruct=True).reconstruction
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), expected)
    capsys.readouterr()
    for model, backend, message in (
        (tiny_float, "golden", "is a float model"),
        (tiny_artefact, "float", "is an integer model"),
    ):
        assert main(["compress", str(src), str(tmp_path / "c.lic"), "--model", str(model), "--backend", backend]) == 2
        err = capsys.readouterr().err
        assert err.startswith("licfpga: error: ") and message in err and err.count("\n") == 1


def test_compress_runs_no_synthesis_unless_verifying(tiny_artefact, photo_dir, tmp_path, monkeypatch):
    src = photo_dir / "photo2.png"
    assert main(["compress", str(src), str(tmp_path / "plain.lic"), "--model", str(tiny_artefact)]) == 0
    calls = []
    real_g_s = GoldenModel.g_s
    monkeypatch.setattr(GoldenModel, "g_s", lambda self, *a, **k: calls.append(1) or real_g_s(self, *a, **k))
    assert main(["compress", str(src), str(tmp_path / "a.lic"), "--model", str(tiny_artefact)]) == 0
    assert calls == []  # g_s is the decoder's work
    assert main(["compress", str(src), str(tmp_path / "v.lic"), "--model", str(tiny_artefact), "--verify"]) == 0
    assert len(calls) == 2  # the encoder's reconstruction and the decoded file's
    assert (
        (tmp_path / "a.lic").read_bytes() == (tmp_path / "v.lic").read_bytes() == (tmp_path / "plain.lic").read_bytes()
    )


def test_verify_refuses_a_file_that_decodes_differently(tiny_artefact, photo_dir, tmp_path, monkeypatch, capsys):
    real_decode = IntegerCodec.decode
    monkeypatch.setattr(IntegerCodec, "decode", lambda self, data: real_decode(self, data) ^ 1)
    assert (
        main(
            [
                "compress",
                str(photo_dir / "photo2.png"),
                str(tmp_path / "x.lic"),
                "--model",
                str(tiny_artefact),
                "--verify",
            ]
        )
        == 1
    )
    assert "does not decode to the encoder's reconstruction" in capsys.readouterr().err
    assert not (tmp_path / "x.lic").exists()


class EditedSynthesis:
    """A synthesis backend: the golden one's output, changed by ``indexes`` or ``frame``."""

    def __init__(self, artefact, indexes=lambda s: s, frame=lambda x: x):
        self.golden, self.edit_indexes, self.edit_frame = GoldenSynthesis(artefact), indexes, frame
        self.calls = []

    def indexes(self, z_hat):
        self.calls.append("indexes")
        return self.edit_indexes(self.golden.indexes(z_hat))

    def reconstruct(self, y_hat):
        self.calls.append("reconstruct")
        return self.edit_frame(self.golden.reconstruct(y_hat))


@pytest.mark.parametrize("gray", [False, True])
def test_a_synthesis_backend_decodes_the_file(codec, photo_dir, gray):
    image = Image.open(photo_dir / "photo4.png")
    image = np.asarray(image.convert("L") if gray else image)[:37, :70]
    data = codec.encode(image).data
    backend = EditedSynthesis(codec.artefact)
    assert np.array_equal(codec.decode(data, backend), codec.decode(data))
    assert backend.calls == ["indexes", "reconstruct"]
    assert np.array_equal(decode(data, codec, backend), codec.decode(data))


def test_a_bad_synthesis_backend_is_refused(codec, tiny_float, photo_dir):
    image = np.asarray(Image.open(photo_dir / "photo4.png"))[:40, :24]
    data = codec.encode(image).data
    levels = len(codec.y_tables)

    def fails(message, **edit):
        with pytest.raises(CodecError, match=message):
            codec.decode(data, EditedSynthesis(codec.artefact, **edit))

    fails(
        r"synthesis backend gave scale indexes as .* expected integers of shape \(16, 4, 4\)",
        indexes=lambda s: s[:, 1:],
    )
    fails(f"synthesis backend gave scale indexes in .* outside the table's 0…{levels - 1}", indexes=lambda s: s - 1)
    fails("synthesis backend gave scale indexes as float64", indexes=lambda s: s.astype(float))
    fails(r"decoded frame as uint8 \(3, 64, 48\), expected uint8 of shape \(3, 64, 64\)", frame=lambda x: x[..., :48])
    fails(r"decoded frame as int64 \(3, 64, 64\), expected uint8", frame=lambda x: x.astype(np.int64))
    fails(r"decoded frame as uint8 \(64, 64, 3\)", frame=lambda x: np.ascontiguousarray(x.transpose(1, 2, 0)))

    def out_of_type(_):
        raise ValueError("h_s input spans [-200, 3], outside its type's [-128, 127]")

    fails(r"corrupt symbol stream: h_s input spans \[-200, 3\]", indexes=out_of_type)
    float_codec = Codec.load(str(tiny_float))
    with pytest.raises(CodecError, match="tiny-q1 is a float model: it decodes with its own float h_s and g_s"):
        float_codec.decode(float_codec.encode(image).data, EditedSynthesis(codec.artefact))


def test_cli_decompress_backends(tiny_artefact, photo_dir, tmp_path, capsys):
    src = photo_dir / "photo3.png"
    assert main(["compress", str(src), str(tmp_path / "a.lic"), "--model", str(tiny_artefact)]) == 0
    for backend in ([], ["--backend", "golden"]):
        out = tmp_path / f"{len(backend)}.png"
        assert main(["decompress", str(tmp_path / "a.lic"), str(out), "--model", str(tiny_artefact), *backend]) == 0
    assert (tmp_path / "0.png").read_bytes() == (tmp_path / "2.png").read_bytes()
