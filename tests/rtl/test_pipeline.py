"""rtl.pipeline: latencies are the sum of the registered stages."""

import pytest

from licfpga.rtl.conv import REQUANTIZER
from licfpga.rtl.gdn import SQUARE, gdn_tail
from licfpga.rtl.pipeline import Pipeline


def test_latency_is_the_sum_of_the_stages():
    p = Pipeline("p").stage("a").stage("b", 3).stage("c", 0)
    assert p.latency == 4 and p.cycles("b") == 3
    assert list(p.stages) == ["a", "b", "c"]
    assert "b 3" in repr(p)


@pytest.mark.parametrize("name, cycles, match", [("a", 1, "registered twice"), ("b", -1, "cycles=-1"),
                                                 ("b", 1.5, "cycles=1.5"), ("b", True, "cycles=True")])
def test_bad_stages_are_refused(name, cycles, match):
    with pytest.raises(ValueError, match=match):
        Pipeline("p").stage("a").stage(name, cycles)


def test_engine_stage_counts():
    """The counts the engines' docstrings state: requantizer 3, square 1, GDN tail 11 (12 inverse)."""
    assert (REQUANTIZER.latency, SQUARE.latency) == (3, 1)
    assert (gdn_tail(False).latency, gdn_tail(True).latency) == (11, 12)
