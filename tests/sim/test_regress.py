import pytest

from licfpga.sim.regress import cases, main


def test_matrix():
    default = {c.id for c in cases()}
    full = {c.id for c in cases(full=True)}
    assert default < full
    assert "window/k5s2c3-icarus" in default and "glue/abs-verilator" in default
    assert len({c.id for c in cases(simulators=["icarus"])}) == len(cases(simulators=["icarus"]))


@pytest.mark.icarus
def test_summary_line(capsys):
    assert main(["--sim", "icarus", "-k", "glue/skid", "--seed", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 passed, 0 failed")


@pytest.mark.icarus
def test_nothing_chosen_fails(capsys):
    assert main(["--sim", "icarus", "-k", "no-such-case"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 passed, 0 failed")
