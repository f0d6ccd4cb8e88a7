"""cocotb bench of the window generators of `rtl.window` against the numpy im2col.

Parameters (`runner.bench_params`): ``config`` (LayerConfig fields), ``in_simd`` (input
elements per beat: C_in for `SlidingWindow`, SIMD for `AddressedWindow`), ``frames`` (a list
of [width, height], streamed in turn, the size changed between frames at run time),
``idle``, ``stall`` (probabilities of source idle and sink back-pressure), and
``throughput`` ([width, height] of a stall-free frame whose cycle count is checked).
"""

import cocotb
import numpy as np

from licfpga.rtl.config import LayerConfig
from licfpga.sim.reference import pack, pixel_beats, unpack, window_beats, window_cycles
from licfpga.sim.runner import bench_params
from licfpga.sim.streams import exchange, reset

# Cycles from the first offered input to an output row's first beat beyond the model:
# the pipeline (issue, read, shadow, output register) and the driver's sampling.
LATENCY = 6


def _frame(cfg, rng, width, height):
    lo, hi = (-(1 << (cfg.in_bits - 1)), 1 << (cfg.in_bits - 1)) if cfg.in_signed else (0, 1 << cfg.in_bits)
    return rng.integers(lo, hi, (height, width, cfg.c_in))


async def _run(dut, cfg, in_simd, frame, rng, idle, stall):
    height, width, _ = frame.shape
    dut.width.value = width
    dut.height.value = height
    beats = [pack(b, cfg.in_shape, in_simd) for b in pixel_beats(frame, in_simd)]
    expected = window_beats(frame, cfg.kernel, cfg.stride, cfg.simd)
    got, cycles = await exchange(dut, beats, len(expected), rng, idle, stall)
    for n, (g, e) in enumerate(zip(got, expected)):
        g = unpack(g, cfg.in_shape, cfg.simd)
        assert g == e, f"{width}×{height}, beat {n} of {len(expected)}: got {g}, expected {e}"
    return cycles


@cocotb.test()
async def frames_random_handshake(dut):
    params = bench_params()
    cfg = LayerConfig(**params["config"])
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await reset(dut)
    for width, height in params["frames"]:
        await _run(dut, cfg, params["in_simd"], _frame(cfg, rng, width, height), rng,
                   params["idle"], params["stall"])


@cocotb.test()
async def throughput(dut):
    params = bench_params()
    cfg = LayerConfig(**params["config"])
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    width, height = params["throughput"]
    await reset(dut)
    in_simd = params["in_simd"]
    cycles = await _run(dut, cfg, in_simd, _frame(cfg, rng, width, height), rng, 0, 0)
    ideal = window_cycles(cfg, width, height, cfg.c_in // in_simd)
    dut._log.info("%d×%d: %d cycles, model %d", width, height, cycles[-1], ideal)
    assert cycles[-1] <= ideal + LATENCY, f"{cycles[-1]} cycles > model {ideal} + {LATENCY}"
