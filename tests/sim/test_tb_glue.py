"""The glue cases of the default regression (sim/regress.py), through sim/runner.py:
Icarus (no build step) runs every block, Verilator the two that are more than
registers."""

import pytest

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.bench == "licfpga.sim.tb_glue"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_glue_bench(case):
    run_case(case)
