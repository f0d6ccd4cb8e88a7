"""The glue benches of sim/tb_glue.py through sim/runner.py: Icarus (no build step)
runs every block, Verilator the two that are more than registers."""

import numpy as np
import pytest
from amaranth.hdl import signed

from licfpga.model.intops import absolute, saturate
from licfpga.rtl.glue import Abs, SkidBuffer, StreamFIFO, WidthConverter
from licfpga.rtl.stream import beat_layout
from licfpga.sim.runner import run_bench


def identity(frames):
    return frames


BLOCKS = {  # block, (in_bits, out_bits, out_signed, simd_in, simd_out), reference
    "skid": (lambda: SkidBuffer(beat_layout(signed(8), 4)), (8, 8, True, 4, 4), identity),
    "fifo": (lambda: StreamFIFO(beat_layout(signed(8), 4), 5), (8, 8, True, 4, 4), identity),
    "abs": (lambda: Abs(16, 8, 4), (16, 8, False, 4, 4),
            lambda frames: saturate(absolute(frames), 8, signed=False)),
    "gather": (lambda: WidthConverter(signed(8), 2, 6), (8, 8, True, 2, 6), identity),
    "scatter": (lambda: WidthConverter(signed(8), 6, 2), (8, 8, True, 6, 2), identity),
}
CASES = [(block, "icarus") for block in BLOCKS] + [("abs", "verilator"), ("gather", "verilator")]


@pytest.mark.parametrize("block,simulator", CASES)
def test_glue_bench(block, simulator, rng):
    make, (in_bits, out_bits, out_signed, simd_in, simd_out), reference = BLOCKS[block]
    top = (1 << (in_bits - 1)) - 1
    inputs = rng.integers(-top, top + 1, (3, 5, 7, 12))
    run_bench(make(), f"glue_{block}", "licfpga.sim.tb_glue",
              dict(in_bits=in_bits, in_signed=True, out_bits=out_bits, out_signed=out_signed,
                   simd_in=simd_in, simd_out=simd_out, idle=0.3, stall=0.3),
              arrays={"inputs": inputs, "outputs": np.asarray(reference(inputs))},
              simulator=simulator, seed=3)
