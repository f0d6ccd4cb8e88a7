"""The block cases of the default regression (sim/benches.py, listed by sim/regress.py),
through the case runner (sim/case.py): window generators, glue blocks, convolution
layers and GDN units on Verilator; a smoke run of the window, every glue block, the
AXI wrapper, a convolution, a GDN and the transposed convolution on Icarus. Each is bit-exact
against its reference under random idle and back-pressure and meets its cycle limit
(`reference.window_cycles`, `gen.cost`)."""

import pytest

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.kind in ("window", "glue", "conv", "gdn", "deconv", "axi")]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_block_bench(case):
    result = run_case(case)
    assert result.tests >= 1 and not result.failed
    if case.kind != "axi":
        assert "bit-exact" in result.summary
