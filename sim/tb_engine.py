"""cocotb bench of the compute engines (`rtl.conv.ConvLayer`, `rtl.gdn.GDN`): streams
frames of pixels through the engine and compares every output beat with the golden
model's output, computed by the caller (`model.intops`).

Parameters (`runner.bench_params`): ``in_bits``/``in_signed``, ``out_bits``/``out_signed``,
``simd_in``/``simd_out`` (elements per input/output beat), ``sized`` (the engine has
``width``/``height`` ports, set per frame), ``idle``/``stall`` (probabilities of source
idle and sink back-pressure), ``frames`` (the frame indexes streamed with them),
``throughput`` (two frame indexes of one size streamed back to back without idle or
stall), ``interval`` (`gen.cost`'s frame interval) and ``slack``: the cycles between the
two frames' last beats must not exceed ``interval + slack``. Arrays
(`runner.bench_arrays`): ``in<n>`` (H, W, C_in) and ``out<n>`` (H_out, W_out, C_out).
"""

import cocotb
import numpy as np
from amaranth.hdl import Shape

from licfpga.sim.reference import pack, pixel_beats, unpack
from licfpga.sim.runner import bench_arrays, bench_params
from licfpga.sim.streams import exchange, reset


async def _stream(dut, params, arrays, indexes, rng, idle, stall):
    """Streams the frames ``indexes`` (all of one size when more than one) and checks
    every beat; returns the cycle of each output beat and the beats per frame."""
    in_shape = Shape(params["in_bits"], params["in_signed"])
    out_shape = Shape(params["out_bits"], params["out_signed"])
    frames = [arrays[f"in{n}"] for n in indexes]
    if params["sized"]:
        dut.width.value = frames[0].shape[1]
        dut.height.value = frames[0].shape[0]
    beats = [pack(b, in_shape, params["simd_in"]) for f in frames for b in pixel_beats(f, params["simd_in"])]
    want = [b for n in indexes for b in pixel_beats(arrays[f"out{n}"], params["simd_out"])]
    got, cycles = await exchange(dut, beats, len(want), rng, idle, stall)
    size = "×".join(str(d) for d in frames[0].shape[1::-1])
    for n, (g, e) in enumerate(zip(got, want)):
        g = unpack(g, out_shape, params["simd_out"])
        assert g == e, f"{size}, beat {n} of {len(want)}: got {g}, expected {e}"
    return cycles, len(want) // len(indexes)


@cocotb.test()
async def frames_random_handshake(dut):
    params, arrays = bench_params(), bench_arrays()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await reset(dut)
    for n in params["frames"]:
        await _stream(dut, params, arrays, [n], rng, params["idle"], params["stall"])


@cocotb.test()
async def throughput(dut):
    params, arrays = bench_params(), bench_arrays()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await reset(dut)
    cycles, per_frame = await _stream(dut, params, arrays, params["throughput"], rng, 0, 0)
    interval = cycles[-1] - cycles[per_frame - 1]
    dut._log.info("frame interval %d cycles, model %d", interval, params["interval"])
    assert interval <= params["interval"] + params["slack"], \
        f"frame interval {interval} cycles > model {params['interval']} + {params['slack']}"
