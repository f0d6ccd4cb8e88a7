"""rtl.pipeline: latencies are the sum of the registered stages."""

import pytest
from amaranth.hdl import Fragment

from licfpga.rtl.config import LayerConfig
from licfpga.rtl.conv import REQUANTIZER, Conv
from licfpga.rtl.gdn import GDN, SQUARE, gdn_tail
from licfpga.rtl.pipeline import Pipeline
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
    """The counts the engines' docstrings state: requantizer 3, square 1, GDN tail 11 (12 inverse)."""
    assert (REQUANTIZER.latency, SQUARE.latency) == (3, 1)
    assert (gdn_tail(False).latency, gdn_tail(True).latency) == (11, 12)


def test_engine_latencies_are_their_docstrings(rng):
    """Conv: 9 + ⌈PE/lanes⌉; GDN: 18 + ⌈PE/lanes⌉, 19 + … inverse (lanes = ⌈PE/SF⌉)."""
    cfg = LayerConfig(kernel=3, stride=1, c_in=2, c_out=4, pe=4, simd=6, max_width=8, max_height=8)
    conv = Conv(cfg, conv_params(cfg, rng))
    assert conv.latency == 9 + 2  # SF = 3, 2 lanes, 2 steps
    Fragment.get(conv, None)  # elaborated: the latency belongs to a buildable engine
    for inverse, base in ((False, 18), (True, 19)):
        gdn = GDN(gdn_config(gdn_params(rng, 4, inverse, 8), 2, 2))
        assert gdn.latency == base + 2  # SF = 2, 1 lane, 2 steps
        Fragment.get(gdn, None)
