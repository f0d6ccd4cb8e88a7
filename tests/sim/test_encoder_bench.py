"""The generated encoder of a tiny trained student (sim/encoder_bench.py) in Verilator:
its ŷ and ẑ are the integer golden model's, bit for bit, for Kodak crops and noisy
gradients of five sizes with random source idle and sink back-pressure, through long
sink stalls (mid-ŷ, on ẑ's first element, in the next frame's ŷ), and two frames back
to back come within 2% of `gen.cost`'s frame interval (measured: equal). One cached
build serves the three runs."""

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.kind == "encoder"]


def test_encoder_bench():
    assert [c.id for c in CASES] == ["encoder/tiny-student-int8-verilator"]
    result = run_case(CASES[0])
    assert result.tests == 3 and not result.failed
    assert "throughput" in result.summary and "cycles, limit" in result.summary
