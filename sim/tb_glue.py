"""cocotb bench of the glue blocks of `rtl.glue`: streams frames through a block and
compares with the reference frames computed by the caller.

Parameters (`runner.bench_params`): ``in_bits``/``in_signed``, ``out_bits``/``out_signed``,
``simd_in``/``simd_out``, ``idle`` and ``stall``. Arrays (`runner.bench_arrays`):
``inputs`` and ``outputs``, (frames, height, width, channels) each.
"""

import cocotb
import numpy as np
from amaranth.hdl import Shape

from licfpga.sim.reference import pack, pixel_beats, unpack
from licfpga.sim.runner import bench_arrays, bench_params
from licfpga.sim.streams import exchange, reset


@cocotb.test()
async def stream_through(dut):
    params = bench_params()
    arrays = bench_arrays()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    in_shape = Shape(params["in_bits"], params["in_signed"])
    out_shape = Shape(params["out_bits"], params["out_signed"])
    await reset(dut)
    for frame, out in zip(arrays["inputs"], arrays["outputs"]):
        beats = [pack(b, in_shape, params["simd_in"]) for b in pixel_beats(frame, params["simd_in"])]
        want = pixel_beats(out, params["simd_out"])
        got, _ = await exchange(dut, beats, len(want), rng, params["idle"], params["stall"])
        for n, (g, e) in enumerate(zip(got, want)):
            g = unpack(g, out_shape, params["simd_out"])
            assert g == e, f"beat {n} of {len(want)}: got {g}, expected {e}"
