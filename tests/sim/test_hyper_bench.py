"""The generated hyper-decoder of a tiny trained student (sim/decoder_bench.py,
`hyper_case`) in Verilator and Icarus: its scale indexes are the integer golden model's
h_s, bit for bit, for the golden encoder's ẑ of Kodak crops and noisy gradients of four
sizes with random source idle and sink back-pressure, through long sink stalls, and two
2×2 ẑ frames back to back come within 2% of `gen.hyper`'s model plus one output row
(measured: 8,192 cycles, the model's 8,192). One cached build serves the three runs."""

import pytest

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.kind == "hyper"]


def test_the_hyper_bench_runs_on_both_simulators():
    assert [c.id for c in CASES] == ["hyper/tiny-student-int8-verilator", "hyper/tiny-student-int8-icarus"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hyper_bench(case):
    result = run_case(case)
    assert result.tests == 3 and not result.failed
    assert "bit-exact" in result.summary and "throughput" in result.summary and "cycles, limit" in result.summary
