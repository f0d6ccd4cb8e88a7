"""The case runner (sim/case.py) on a skid buffer: the build is cached, outputs are
compared bit for bit with each mismatch named by run, transfer and beat, and cycle
limits are checked."""

from dataclasses import replace

import numpy as np
import pytest
from amaranth.hdl import signed

from licfpga.rtl.glue import SkidBuffer
from licfpga.rtl.stream import beat_layout
from licfpga.sim.case import Beats, Case, Run, StreamBench, Transfer, run_case
from licfpga.sim.reference import pixel_beats
from licfpga.sim.runner import BenchFailure

SIMULATORS = ["verilator", pytest.param("icarus", marks=pytest.mark.icarus)]


def skid_case(simulator, delta=0, cycle_limit=None):
    """Two 4×3 frames of 2 channels through a skid buffer; ``delta`` is added to the
    expected elements of the second frame's beats 3 to 9."""

    def prepare(rng):
        transfers = []
        for n in range(2):
            frame = rng.integers(-100, 100, (3, 4, 2))
            expected = pixel_beats(frame, 2)
            if n == 1:
                for beat in expected[3:10]:
                    beat["data"] = [e + delta for e in beat["data"]]
            transfers.append(Transfer(f"frame {n}", pixel_beats(frame, 2), expected, idle=0.3, stall=0.3))
        throughput = replace(
            transfers[0], label="full rate", idle=0, stall=0, cycle_limit=cycle_limit, cycle_model="test"
        )
        return StreamBench(
            SkidBuffer(beat_layout(signed(8), 2)),
            Beats(signed(8), 2),
            Beats(signed(8), 2),
            (Run("handshakes", tuple(transfers)), Run("throughput", (throughput,))),
        )

    return Case("test/skid", simulator, prepare)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_build_is_cached_and_outputs_compared(simulator):
    run_case(skid_case(simulator, cycle_limit=100), seed=1)
    result = run_case(skid_case(simulator, cycle_limit=100), seed=2)
    assert result.build_s == 0 and result.tests == 2 and result.failed == 0
    assert (result.test_dir / "sim.log").exists()
    assert result.summary.startswith("36 beats bit-exact; throughput, full rate: ")


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_mismatches_are_named_and_counted(simulator):
    with pytest.raises(BenchFailure) as error:
        run_case(skid_case(simulator, delta=1), seed=3)
    lines = str(error.value).splitlines()
    assert lines[0] == f"test/skid-{simulator}: 7 of 36 output beats differ"
    assert lines[1].startswith("handshakes, frame 1, beat 3 of 12: got {'data': [")
    assert lines[-1] == "handshakes, frame 1: 2 more beats differ"


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_a_cycle_limit_is_checked(simulator):
    # 12 beats through a skid buffer take at least 12 cycles
    with pytest.raises(
        BenchFailure,
        match=r"0 of 36 output beats differ\ntoo slow: throughput, full rate: "
        r"\d+ cycles, limit 11 \(test\)",
    ):
        run_case(skid_case(simulator, cycle_limit=11))


def test_measured_cycles():
    one = Transfer("a", [], [{}] * 4)
    assert one.measured(np.array([3, 4, 5, 9])) == 9
    two = Transfer("b", [], [{}] * 4, frames=2)
    assert two.measured(np.array([3, 4, 8, 11])) == 11 - 4
