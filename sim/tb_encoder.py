"""cocotb bench of the generated encoder (`rtl.encoder.Encoder`): frames of pixels in,
each frame's packet of ŷ then ẑ out, compared element for element (and marker for
marker) with the integer golden model's latents, computed by the caller
(`sim.encoder_bench`).

Parameters (`runner.bench_params`): ``frames``: per frame ``width``, ``height``, ``y`` and
``z`` ([w, h, channels] of the latents); ``sequence`` (frame indexes streamed one after
another, the size set before each while the encoder is empty), ``idle``/``stall``
(probabilities of source idle and sink back-pressure), ``long_stalls`` ([output beat,
cycles]: the sink refuses everything for that long once that beat is due),
``throughput`` (two indexes of one size streamed back to back: with the long stalls,
and at full rate, no idle, no stall, where their interval must stay within
``tolerance`` of ``interval``, `gen.cost`'s frame interval for that size, plus the
packet's beats). Arrays: ``in<n>`` (H, W, 3)
pixels and ``out<n>`` the packet's elements.
"""

import cocotb
import numpy as np
from amaranth.hdl import unsigned

from licfpga.sim.reference import pack, pixel_beats
from licfpga.sim.runner import bench_arrays, bench_params
from licfpga.sim.streams import exchange, reset


def _markers(frame):
    """(first, last, eol, eop) of every element of a frame's packet."""
    marks = []
    for part in ("y", "z"):
        w, h, c = frame[part]
        for _ in range(h):
            for x in range(w):
                for ch in range(c):
                    end = ch == c - 1
                    marks.append((0, 0, int(end and x == w - 1), int(end)))
    marks[0] = (1,) + marks[0][1:]
    marks[-1] = (marks[-1][0], 1) + marks[-1][2:]
    return marks


def _unpack(value):
    """(element, first, last, eol, eop) of the output payload: data[16], then the markers."""
    element = value & 0xFFFF
    element -= (element & 0x8000) << 1
    return element, (value >> 16) & 1, (value >> 17) & 1, (value >> 18) & 1, (value >> 19) & 1


async def _frames(dut, params, arrays, indexes, rng, idle, stall, long_stalls=()):
    frames = [params["frames"][n] for n in indexes]
    dut.width.value = frames[0]["width"]
    dut.height.value = frames[0]["height"]
    beats = [pack(b, unsigned(8), 3) for n in indexes for b in pixel_beats(arrays[f"in{n}"], 3)]
    want = [(int(e), *m) for n, f in zip(indexes, frames) for e, m in zip(arrays[f"out{n}"], _markers(f))]
    got, cycles = await exchange(dut, beats, len(want), rng, idle, stall, patience=20_000,
                                 long_stalls=long_stalls, drain=16)
    size = f"{frames[0]['width']}×{frames[0]['height']}"
    for k, (g, e) in enumerate(zip(got, want)):
        g = _unpack(g)
        assert g == e, f"{size}, element {k} of {len(want)} (element, first, last, eol, eop): got {g}, expected {e}"
    return cycles


@cocotb.test()
async def frames_random_handshake(dut):
    """Frames of different sizes one after another, random source idle and sink stalls."""
    params, arrays = bench_params(), bench_arrays()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await reset(dut)
    for n in params["sequence"]:
        await _frames(dut, params, arrays, [n], rng, params["idle"], params["stall"])


@cocotb.test()
async def long_sink_stall(dut):
    """Two frames back to back while the sink refuses the output for a long time in the
    middle of the first ŷ, on its ẑ's first element (the next frame's pixels keep coming)
    and in the second ŷ: nothing is lost, reordered or stuck."""
    params, arrays = bench_params(), bench_arrays()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await reset(dut)
    await _frames(dut, params, arrays, params["throughput"], rng, 0, 0.1, params["long_stalls"])


@cocotb.test()
async def throughput(dut):
    """Two frames back to back at full rate: the interval between their packets' ends,
    against `gen.cost`'s frame interval plus the ẑ phase."""
    params, arrays = bench_params(), bench_arrays()
    rng = np.random.default_rng(cocotb.RANDOM_SEED)
    await reset(dut)
    pair = params["throughput"]
    cycles = await _frames(dut, params, arrays, pair, rng, 0, 0)
    frame = params["frames"][pair[0]]
    per_frame = len(cycles) // 2
    interval = cycles[-1] - cycles[per_frame - 1]
    pixels = frame["width"] * frame["height"]
    dut._log.info("frame interval %d cycles (%.3f per input pixel), model %d (%.3f)", interval, interval / pixels,
                  params["interval"], params["interval"] / pixels)
    limit = params["interval"] * (1 + params["tolerance"]) + per_frame
    assert interval <= limit, f"frame interval {interval} cycles > model {params['interval']} " \
                              f"·(1 + {params['tolerance']}) + {per_frame} packet beats"
