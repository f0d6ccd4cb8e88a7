"""The generated decoder of a tiny trained student (sim/decoder_bench.py) in Verilator:
its x̂ is the integer golden model's g_s, bit for bit, for the golden encoder's ŷ of
Kodak crops and noisy gradients of five sizes with random source idle and sink
back-pressure, through long sink stalls, and two frames back to back come within 2% of
`gen.cost`'s frame interval plus one decoded row (measured: 18,240 cycles, the model's
18,304). One cached build serves the three runs."""

from licfpga.sim.regress import cases, run_case

CASES = [c for c in cases() if c.kind == "decoder"]


def test_decoder_bench():
    assert [c.id for c in CASES] == ["decoder/tiny-student-int8-verilator"]
    result = run_case(CASES[0])
    assert result.tests == 3 and not result.failed
    assert "throughput" in result.summary and "cycles, limit" in result.summary
