import subprocess
import sys
from importlib.resources import files

import pytest

from licfpga.cli import GROUPS, build_parser, main
from licfpga.errors import UserError
from licfpga.model.hyperprior import ScaleHyperprior
from licfpga.model.registry import save_weights


def test_demo_round_trips_the_sample(tmp_path, capsys):
    weights = tmp_path / "tiny.pt"
    save_weights(
        ScaleHyperprior(8, 16),
        weights,
        name="tiny",
        role="student",
        quality=1,
        lmbda=0.01,
        distilled=False,
        training={},
    )
    assert main(["demo", "--model", str(weights), "--out", str(tmp_path / "out")]) == 0
    line = capsys.readouterr().out
    assert "512×384" in line and "bpp" in line and "PSNR" in line
    assert (tmp_path / "out" / "sample.lic").stat().st_size > 16
    assert (tmp_path / "out" / "sample-decoded.png").exists()


def test_demo_with_a_missing_model_is_one_line(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "none.pt"), "--out", str(tmp_path / "out")]) == 2
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
    src = files("licfpga") / "data" / "kodim23-crop.png"
    heavy = ("torch", "amaranth", "cocotb", "scipy", "matplotlib")
    for argv in (
        ["--help"],
        ["compress", str(src), str(tmp_path / "a.lic")],
        ["decompress", str(tmp_path / "a.lic"), str(tmp_path / "a.png")],
    ):
        code = (
            "import sys\nfrom licfpga.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print([m for m in %r if m in sys.modules])" % (argv, heavy)
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip().splitlines()[-1] == "[]", (argv, out)
    assert (tmp_path / "a.png").exists()


HEAVY = ("torch", "amaranth", "cocotb", "scipy", "matplotlib")


def test_every_commands_help_works_and_imports_no_heavy_package():
    """Each group's subcommands answer --help without loading the library behind them."""
    commands = sorted(set(build_parser()._subparsers._group_actions[0].choices) - {"regress"})
    assert {"compress", "train", "eval", "generate", "build"} <= set(commands)
    code = (
        "import sys\nfrom licfpga.cli import main\nfor command in %r:\n    try:\n        main([command, '--help'])\n"
        "    except SystemExit as exit:\n        assert exit.code == 0, command\n"
        "print([m for m in %r if m in sys.modules])" % (commands, HEAVY)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for command in commands:
        assert f"usage: licfpga {command}" in out
    assert out.strip().splitlines()[-1] == "[]", out


def test_each_group_registers_its_own_commands():
    import argparse

    seen = set()
    for group in GROUPS:
        sub = argparse.ArgumentParser().add_subparsers()
        group.register(sub)
        assert sub.choices and not seen & set(sub.choices), group.__name__
        seen |= set(sub.choices)
    assert seen == set(build_parser()._subparsers._group_actions[0].choices)


def one_line_error(capsys, argv) -> str:
    """``licfpga argv`` fails with exit status 2 and exactly one line on stderr; that line."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("licfpga: error: ") and err.count("\n") == 1, err
    return err


def test_user_errors_are_one_line_and_exit_status_2(tmp_path, capsys):
    src = files("licfpga") / "data" / "kodim23-crop.png"
    assert "missing.png" in one_line_error(capsys, ["compress", tmp_path / "missing.png", tmp_path / "a.lic"])
    assert "no-such-model" in one_line_error(capsys, ["compress", src, tmp_path / "a.lic", "--model", "no-such-model"])
    (tmp_path / "bad.lic").write_bytes(b"LIC\x00 not really a licfpga file")
    assert "not a licfpga file" in one_line_error(capsys, ["decompress", tmp_path / "bad.lic", tmp_path / "a.png"])
    assert "below the smallest that fits" in one_line_error(
        capsys, ["generate", "--dsp-budget", "1", "--out", tmp_path / "gen"]
    )
    assert "unknown device" in one_line_error(capsys, ["plan", "--device", "XC7Z020"])
    assert "give --deadline" in one_line_error(capsys, ["campaign", "--runs", tmp_path / "runs"])
    assert not (tmp_path / "gen").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.lic"]


def test_malformed_arguments_are_argparse_usage_errors(capsys):
    for argv in (
        ["compress", "a.png", "a.lic", "--threads", "0"],
        ["plan", "--resolution", "720p"],
        ["campaign", "--deadline", "noon"],
    ):
        with pytest.raises(SystemExit) as exit:
            main(argv)
        assert exit.value.code == 2
        assert "error: argument" in capsys.readouterr().err


def test_the_command_exits_with_status_2_on_a_user_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "licfpga.cli", "decompress", str(tmp_path / "none.lic"), str(tmp_path / "a.png")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "none.lic" in done.stderr, done.stderr
    assert done.stdout == ""


def test_library_errors_are_user_errors():
    from licfpga.boards.host import DriverError
    from licfpga.boards.vivado import BuildError
    from licfpga.gen.balance import BalanceError
    from licfpga.gen.synth import SynthError
    from licfpga.model.artefact import ArtefactError
    from licfpga.model.codec import CodecError
    from licfpga.model.data import DataError
    from licfpga.model.evaluate import EvalError
    from licfpga.model.metrics import BDError
    from licfpga.model.registry import ModelError
    from licfpga.model.train import TrainError

    for error in (
        DriverError,
        BuildError,
        BalanceError,
        SynthError,
        ArtefactError,
        CodecError,
        DataError,
        EvalError,
        BDError,
        ModelError,
        TrainError,
    ):
        assert issubclass(error, UserError), error
