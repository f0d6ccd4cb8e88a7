"""The block cases of the default regression (sim/benches.py, listed by sim/regress.py),
through the case runner (sim/case.py): window generators, glue blocks, convolution
layers and GDN units on Verilator; a smoke run of the window, every glue block, the
AXI wrapper, a convolution, a GDN and the transposed convolution on Icarus. Each is bit-exact
against its reference under random idle and back-pressure and meets its cycle limit
(`reference.window_cycles`, `gen.cost`)."""

import numpy as np
import pytest
from amaranth.back import verilog

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.kind in ("window", "glue", "conv", "gdn", "deconv", "axi")]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_block_bench(case):
    result = run_case(case)
    assert result.tests >= 1 and not result.failed
    if case.kind != "axi":
        assert "bit-exact" in result.summary


@pytest.mark.parametrize("case_id", ["conv/k3s1c2-nf2-icarus", "gdn/c4-gdn-icarus", "window/k5s2c3-icarus"])
def test_prepare_is_pure_and_its_component_seed_free(case_id):
    """The same seed gives the same beats, another seed other stimuli but the same
    Verilog (one cached build serves every seed)."""
    case = next(c for c in CASES if c.id == case_id)
    first, again, other = (case.prepare(np.random.default_rng(seed)) for seed in (1, 1, 2))
    assert first.runs == again.runs and first.runs != other.runs
    assert len({verilog.convert(b.component, name="top") for b in (first, again, other)}) == 1
