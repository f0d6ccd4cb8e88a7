import numpy as np
import pytest
from amaranth.hdl import signed

from licfpga.rtl.glue import SkidBuffer
from licfpga.rtl.stream import beat_layout
from licfpga.sim.runner import BenchFailure, run_bench

PARAMS = dict(in_bits=8, in_signed=True, out_bits=8, out_signed=True, simd_in=2, simd_out=2,
              idle=0.3, stall=0.3)


def skid_bench(outputs_delta, seed):
    frames = np.random.default_rng(seed).integers(-127, 128, (1, 3, 4, 2))
    return run_bench(SkidBuffer(beat_layout(signed(8), 2)), "runner_skid", "licfpga.sim.tb_glue",
                     PARAMS, arrays={"inputs": frames, "outputs": frames + outputs_delta},
                     simulator="icarus", seed=seed)


@pytest.mark.icarus
def test_build_is_cached_and_results_read():
    skid_bench(0, 1)
    result = skid_bench(0, 2)
    assert result.build_s == 0 and result.tests == 1 and result.failed == 0
    assert (result.test_dir / "sim.log").exists()


@pytest.mark.icarus
def test_mismatch_raises_with_the_log():
    with pytest.raises(BenchFailure, match=r"1 of 1 tests failed(.|\n)*expected"):
        skid_bench(1, 3)
