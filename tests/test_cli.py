from licfpga.cli import main
from licfpga.model.hyperprior import ScaleHyperprior
from licfpga.model.registry import save_weights


def test_demo_round_trips_the_sample(tmp_path, capsys):
    weights = tmp_path / "tiny.pt"
    save_weights(ScaleHyperprior(8, 16), weights, name="tiny", role="student", quality=1, lmbda=0.01,
                 distilled=False, training={})
    assert main(["demo", "--model", str(weights), "--out", str(tmp_path / "out")]) == 0
    line = capsys.readouterr().out
    assert "512×384" in line and "bpp" in line and "PSNR" in line
    assert (tmp_path / "out" / "sample.lic").stat().st_size > 16
    assert (tmp_path / "out" / "sample-decoded.png").exists()


def test_demo_with_a_missing_model_is_one_line(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "none.pt"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such weight file" in err


def test_regress_is_reachable_from_the_cli(capsys):
    # A filter that matches no bench case runs nothing and fails loudly rather than passing empty.
    assert main(["regress", "-k", "no-such-case"]) == 1
    assert "0 passed, 0 failed" in capsys.readouterr().out


def test_compression_defaults_to_the_integer_artefact_where_shipped(tmp_path):
    from licfpga.model.registry import DEFAULT_MODEL, default_codec_model

    assert default_codec_model(tmp_path) == DEFAULT_MODEL  # an empty folder: the float name
    assert default_codec_model() == f"{DEFAULT_MODEL}-int8"  # the shipped models include its artefact


def test_help_compress_and_decompress_import_no_heavy_package(tmp_path):
    """The quick start: --help, compress and decompress of the default integer model load
    neither torch nor the hardware, simulation, SciPy or plotting packages."""
    import subprocess
    import sys
    from importlib.resources import files

    src = files("licfpga") / "data" / "kodim23-crop.png"
    heavy = ("torch", "amaranth", "cocotb", "scipy", "matplotlib")
    for argv in (["--help"], ["compress", str(src), str(tmp_path / "a.lic")],
                 ["decompress", str(tmp_path / "a.lic"), str(tmp_path / "a.png")]):
        code = ("import sys\nfrom licfpga.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
                "print([m for m in %r if m in sys.modules])" % (argv, heavy))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip().splitlines()[-1] == "[]", (argv, out)
    assert (tmp_path / "a.png").exists()
