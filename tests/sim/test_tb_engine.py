"""The compute-engine cases of the default regression (sim/regress.py), through
sim/runner.py: convolution layers and GDN units on Verilator, a smoke run of each and
of the transposed convolution on Icarus. Each case is bit-exact against `model.intops`
and checks its frame interval against `gen.cost`."""

import pytest

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.bench == "licfpga.sim.tb_engine"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_engine_bench(case):
    run_case(case)
