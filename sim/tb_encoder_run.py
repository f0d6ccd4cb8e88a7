"""cocotb side of the ``rtl-sim`` analysis backend (`sim.rtl_backend`): streams one frame
through the generated encoder at full rate and writes its output packet (the
elements, int16) and the cycles it took to the .npz named by ``out``.

Parameters (`runner.bench_params`): ``width``, ``height``, ``elements`` (the packet's
length) and ``out``. Arrays: ``pixels`` (H, W, 3) uint8.
"""

import cocotb
import numpy as np
from amaranth.hdl import unsigned

from licfpga.sim.reference import pack, pixel_beats
from licfpga.sim.runner import bench_arrays, bench_params
from licfpga.sim.streams import exchange, reset
from licfpga.sim.tb_encoder import _unpack


@cocotb.test()
async def encode(dut):
    params, arrays = bench_params(), bench_arrays()
    await reset(dut)
    dut.width.value = params["width"]
    dut.height.value = params["height"]
    beats = [pack(b, unsigned(8), 3) for b in pixel_beats(arrays["pixels"], 3)]
    got, cycles = await exchange(dut, beats, params["elements"], np.random.default_rng(0), 0, 0,
                                 patience=20_000, drain=16)
    beats = [_unpack(v) for v in got]
    assert beats[0][1] and beats[-1][2], "the packet's first/last markers are missing"
    np.savez(params["out"], packet=np.array([b[0] for b in beats], dtype=np.int16), cycles=np.array(cycles[-1]))
