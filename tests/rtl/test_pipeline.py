"""rtl.pipeline: latencies are the sum of the registered stages."""

import pytest
from amaranth import Module, Signal
from amaranth.hdl import Fragment, signed, unsigned
from amaranth.sim import Simulator

from licfpga.rtl.config import LayerConfig
from licfpga.rtl.conv import Conv, requantizer
from licfpga.rtl.gdn import GDN, SQUARE, gdn_tail
from licfpga.rtl.mvau import product, product_stages, tree_stages, tree_sum
from licfpga.rtl.pipeline import Pipeline, Stages
from licfpga.sim.stimuli import conv_params, gdn_config, gdn_params


def test_latency_is_the_sum_of_the_stages():
    p = Pipeline("p").stage("a").stage("b", 3).stage("c", 0)
    assert p.latency == 4 and p.cycles("b") == 3
    assert list(p.stages) == ["a", "b", "c"]
    assert "b 3" in repr(p)


@pytest.mark.parametrize(
    "name, cycles, match",
    [("a", 1, "registered twice"), ("b", -1, "cycles=-1"), ("b", 1.5, "cycles=1.5"), ("b", True, "cycles=True")],
)
def test_bad_stages_are_refused(name, cycles, match):
    with pytest.raises(ValueError, match=match):
        Pipeline("p").stage("a").stage(name, cycles)


def test_engine_stage_counts():
    """The counts the engines' docstrings state: requantizer 5 (6 where acc + bias is
    wider than the DSP48E2's 27-bit port), square 2, GDN tail 22 (25 inverse) for int8."""
    assert (requantizer(27).latency, requantizer(28).latency, SQUARE.latency) == (5, 6, 2)
    assert (gdn_tail(False, 8).latency, gdn_tail(True, 8).latency) == (22, 25)


@pytest.mark.parametrize(
    "a,b,stages",
    [
        (signed(27), signed(18), 1),
        (signed(18), signed(27), 1),
        (unsigned(26), unsigned(17), 1),
        (signed(28), unsigned(17), 2),  # 28 > 27: split
        (unsigned(27), unsigned(17), 2),  # 27 unsigned is 28 signed
        (unsigned(26), unsigned(26), 2),  # 27×27
        (signed(44), unsigned(17), 2),
    ],
)
def test_product_stages(a, b, stages):
    assert product_stages(a, b) == stages


def test_product_too_wide_for_two_dsps_is_refused():
    with pytest.raises(ValueError, match="does not split"):
        product_stages(signed(46), signed(20))


@pytest.mark.parametrize("n,stages", [(1, 0), (2, 1), (4, 1), (5, 2), (8, 2), (16, 2), (64, 3)])
def test_tree_stages(n, stages):
    assert tree_stages(n) == stages


def run_comb(build, inputs, cycles):
    """Simulates ``build(m, ins) -> out`` with ``inputs`` (shapes → values) held, and
    returns ``out`` after ``cycles`` clocks."""
    m = Module()
    ins = [Signal(shape, name=f"in{n}") for n, (shape, _) in enumerate(inputs)]
    out = build(m, ins)
    sim = Simulator(m)
    sim.add_clock(1e-6)
    result = []

    async def bench(ctx):
        for sig, (_, value) in zip(ins, inputs):
            ctx.set(sig, value)
        await ctx.tick().repeat(cycles)
        result.append(ctx.get(out))

    sim.add_testbench(bench)
    sim.run()
    return result[0]


@pytest.mark.parametrize(
    "a,b",
    [
        ((signed(44), -(2**43)), (unsigned(17), 2**17 - 1)),
        ((signed(44), 2**43 - 1), (unsigned(17), 2**17 - 1)),
        ((unsigned(27), 2**27 - 1), (unsigned(17), 123_457)),
        ((signed(28), -(2**27) + 5), (unsigned(17), 99_999)),
        ((signed(16), -1234), (signed(18), 70_000)),
    ],
)
def test_product_is_exact_after_its_stages(a, b):
    stages = product_stages(a[0], b[0])
    got = run_comb(lambda m, ins: product(m, ins[0], ins[1], "p"), [a, b], stages)
    assert got == a[1] * b[1]


def test_tree_sum_is_exact_after_its_stages():
    values = [-128 * 127, 127 * 127, 5, -7, 1000, -(2**14), 3, 2**14 - 1, 42, -42, 17]
    got = run_comb(lambda m, ins: tree_sum(m, ins, "t"), [(signed(16), v) for v in values], tree_stages(len(values)))
    assert got == sum(values)


def test_stages_align_values_by_stage_number():
    m = Module()
    st = Stages(m, "t")
    a = st.reg("a", Signal(4), 1)
    assert st.at("a", 1) is a
    assert st.at("a", 3) is st.at("a", 3)  # shared delay registers
    with pytest.raises(ValueError, match="valid from stage 1"):
        st.at("a", 0)
    with pytest.raises(ValueError, match="registered twice"):
        st.reg("a", Signal(4), 2)


def test_engine_latencies_are_their_docstrings(rng):
    """Conv and GDN: `MVAU`'s 7 + adder tree + transform + tail + ⌈PE/lanes⌉ drain steps
    (lanes = ⌈PE/SF⌉)."""
    cfg = LayerConfig(kernel=3, stride=1, c_in=2, c_out=4, pe=4, simd=6, max_width=8, max_height=8)
    conv = Conv(cfg, conv_params(cfg, rng))
    assert conv.latency == 7 + 2 + 5 + 2  # SIMD 6: tree 2; acc + bias ≤ 27 bits: 5; SF = 3, 2 lanes, 2 steps
    Fragment.get(conv, None)  # elaborated: the latency belongs to a buildable engine
    for inverse in (False, True):
        gdn = GDN(gdn_config(gdn_params(rng, 4, inverse, 8), 2, 2))
        tail = gdn_tail(inverse, 8).latency  # 22, 25: test_engine_stage_counts
        assert gdn.latency == 7 + 1 + SQUARE.latency + tail + 2  # SIMD 2: tree 1; SF = 2, 1 lane, 2 steps
        Fragment.get(gdn, None)
