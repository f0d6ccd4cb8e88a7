"""The generic cocotb driver of every `case.StreamBench`: one test per run, each from a
reset, streams the run's transfers through the top's ``i`` and ``o`` and records what
came out, for `case.run_case` to compare and measure. It fails a run only where the
handshake does (`streams.exchange`: stuck, input beats left over, a beat too many).

Parameters (`runner.bench_params`): ``patience``, ``drain``, ``out_bits`` (of the
output payload) and ``runs``: per run its
``name`` and ``transfers``, each with ``ports`` (values set on the top first), ``idle``,
``stall``, ``long_stalls`` and ``count`` (the output beats expected). Arrays
(`runner.bench_arrays`): ``in<run>_<transfer>``, the packed input beats
(`reference.to_bytes`). Writes ``outputs<run>.npz`` into the run's folder
(`runner.bench_folder`): ``out<transfer>``, the packed output beats, and
``cycles<transfer>``, the cycle of each (from 1, the transfer's first cycle).
"""

import cocotb
import numpy as np

from licfpga.sim.reference import from_bytes, to_bytes
from licfpga.sim.runner import bench_arrays, bench_folder, bench_params
from licfpga.sim.streams import exchange, reset

PARAMS = bench_params()


@cocotb.test()
@cocotb.parametrize(run=[cocotb.Param(value=n, name=run["name"]) for n, run in enumerate(PARAMS["runs"])])
async def stream(dut, run):
    arrays = bench_arrays()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await reset(dut)
    outputs = {}
    for t, transfer in enumerate(PARAMS["runs"][run]["transfers"]):
        for port, value in transfer["ports"].items():
            getattr(dut, port).value = value
        got, cycles = await exchange(
            dut,
            from_bytes(arrays[f"in{run}_{t}"]),
            transfer["count"],
            rng,
            transfer["idle"],
            transfer["stall"],
            patience=PARAMS["patience"],
            long_stalls=[tuple(s) for s in transfer["long_stalls"]],
            drain=PARAMS["drain"],
        )
        outputs[f"out{t}"] = to_bytes(got, PARAMS["out_bits"])
        outputs[f"cycles{t}"] = np.array(cycles, dtype=np.int64)
    np.savez(bench_folder() / f"outputs{run}.npz", **outputs)
