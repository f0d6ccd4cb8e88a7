"""The AXI wrapper's cases of the default regression (sim/regress.py): register block,
frames of two sizes under back-pressure, malformed frames and recovery, through
cocotbext-axi on Icarus."""

import pytest

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.bench == "licfpga.sim.tb_axi"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_axi_bench(case):
    run_case(case)
