"""cocotb side of the host driver's ``rtl-sim`` backend: runs `host.frame_program` for
each job against the simulated `rtl.axi.AXIWrapper` through cocotbext-axi and writes
the outputs and cycle counts to the .npz that `host.RtlSimBackend` reads.

Parameters (`sim.runner.bench_params`): ``jobs`` ([width, height, output capacity,
expected MODEL or None] each) and ``out`` (the .npz path). Arrays: ``pixels<n>``, each job's TDATA bytes.
"""

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles

from licfpga.boards.host import drive_async, frame_program
from licfpga.sim.axi import attach
from licfpga.sim.runner import bench_arrays, bench_params


@cocotb.test()
async def frames(dut):
    params, arrays = bench_params(), bench_arrays()
    lite, source, sink = attach(dut)
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    outputs, cycles = {}, []
    for n, (width, height, capacity, model_id) in enumerate(params["jobs"]):
        program = frame_program(width, height, arrays[f"pixels{n}"].tobytes(), capacity, model_id)
        frame = await drive_async(program, lite, source, sink)
        outputs[f"output{n}"] = np.frombuffer(frame.output, dtype=np.uint8)
        cycles.append(frame.cycles)
    np.savez(params["out"], cycles=np.array(cycles), **outputs)
