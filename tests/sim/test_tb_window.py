"""The window-generator cases of the default regression (sim/regress.py), through
sim/runner.py: a few small configurations on Verilator, a smoke run on Icarus. One
build per configuration serves every frame size (they are set at run time)."""

import pytest

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.bench == "licfpga.sim.tb_window"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_window_bench(case):
    run_case(case)
