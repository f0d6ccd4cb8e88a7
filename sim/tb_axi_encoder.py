"""cocotb bench of the generated encoder behind `rtl.axi.AXIWrapper`, through cocotbext-axi
(AXI4-Lite manager, AXI4-Stream source and sink): register programming, frames of
different sizes under random source idle and sink back-pressure, and malformed frames
(early and missing TLAST) that set their error flag, with the next frame clean. Every
output packet is the integer golden model's, bit for bit.

Parameters (`runner.bench_params`): ``max`` ([MAX_WIDTH, MAX_HEIGHT]), ``model_id`` (what
MODEL reads), ``idle`` and
``stall`` (probabilities of a source idle cycle and of sink back-pressure), ``frames``
(the clean frames: [width, height, n] each) and ``malformed`` ([width, height, n, kind,
pixels] each; kind ``early``: only the first ``pixels`` are sent, TLAST on the last of
them; ``missing``: ``pixels`` more follow the frame's last, TLAST on the final one).
Arrays (computed by the caller, `sim.encoder_bench.axi_encoder_case`): ``in<n>`` (the
pixels sent, (count, 3) uint8) and ``out<n>`` (the expected packet's elements).
"""

import cocotb
import numpy as np
from cocotbext.axi import AxiStreamFrame

from licfpga.rtl.axi import ERRORS, ID, REGISTER, SLVERR, VERSION
from licfpga.sim.axi import BUSY, DONE, START, AxiBench
from licfpga.sim.runner import bench_arrays


class Bench(AxiBench):
    def __init__(self, dut):
        super().__init__(dut)
        self.arrays = bench_arrays()

    async def encode(self, width, height, n):
        """Programs the size, starts, sends ``in<n>`` as one packet (one 32-bit word per
        pixel) and checks the output packet against ``out<n>``; returns STATUS, ERROR
        and CYCLES after it."""
        pixels = self.arrays[f"in{n}"]
        words = np.zeros((len(pixels), 4), dtype=np.uint8)
        words[:, :3] = pixels
        await self.write("WIDTH", width)
        await self.write("HEIGHT", height)
        await self.write("CONTROL", START)
        receive = cocotb.start_soon(self.sink.recv())
        await self.source.send(AxiStreamFrame(words.tobytes()))
        got = np.frombuffer(bytes((await receive).tdata), dtype="<i2").astype(np.int64)
        await self.source.wait()        # dropped trailing pixels are gone before the next START
        want = self.arrays[f"out{n}"]
        assert len(got) == len(want), f"{width}×{height}: {len(got)} elements, expected {len(want)}"
        diff = np.flatnonzero(got != want)
        assert not len(diff), f"{width}×{height}: {len(diff)} elements differ, the first at {diff[0]}: " \
            f"{got[diff[0]]}, expected {want[diff[0]]}"
        return await self.read("STATUS"), await self.read("ERROR"), await self.read("CYCLES")


@cocotb.test()
async def registers(dut):
    bench = Bench(dut)
    await bench.reset()
    max_width, max_height = bench.params["max"]
    assert await bench.read("ID") == ID and await bench.read("VERSION") == VERSION
    assert (await bench.read("MAX_WIDTH"), await bench.read("MAX_HEIGHT")) == (max_width, max_height)
    assert await bench.read("MODEL") == bench.params["model_id"]
    assert await bench.read("STATUS") == 0 and await bench.read("FRAMES") == 0
    await bench.write("WIDTH", 40)
    await bench.write("HEIGHT", 24)
    assert (await bench.read("WIDTH"), await bench.read("HEIGHT")) == (40, 24)
    await bench.write("ID", 0, resp=SLVERR)
    unmapped = max(r.offset for r in REGISTER.values()) + 4
    assert (await bench.lite.read(unmapped, 4)).resp == SLVERR
    assert (await bench.lite.write(unmapped, bytes(4))).resp == SLVERR
    # a size beyond the build's maximum is refused and flagged; W1C clears the flag
    bad = 1 << ERRORS["BAD_SIZE"]
    for name, value in (("WIDTH", max_width + 1), ("HEIGHT", max_height + 1)):
        await bench.write("WIDTH", 40)
        await bench.write("HEIGHT", 24)
        await bench.write(name, value)
        await bench.write("CONTROL", START)
        assert await bench.read("ERROR") == bad and await bench.read("STATUS") == 0
        await bench.write("ERROR", bad)
        assert await bench.read("ERROR") == 0


@cocotb.test()
async def frames_with_backpressure(dut):
    bench = Bench(dut)
    await bench.reset()
    bench.handshakes(bench.params["idle"], bench.params["stall"])
    frames = bench.params["frames"]
    for width, height, n in frames:
        status, errors, cycles = await bench.encode(width, height, n)
        assert status == DONE and errors == 0, f"STATUS {status:#x}, ERROR {errors:#x}"
        assert cycles >= width * height, f"CYCLES {cycles} < {width * height} pixels"
    assert await bench.read("FRAMES") == len(frames)


@cocotb.test()
async def malformed_frames_recover(dut):
    bench = Bench(dut)
    await bench.reset()
    bench.handshakes(bench.params["idle"], bench.params["stall"])
    clean = bench.params["frames"]
    for count, (width, height, n, kind, _) in enumerate(bench.params["malformed"]):
        flag = 1 << ERRORS["EARLY_TLAST" if kind == "early" else "MISSING_TLAST"]
        status, errors, _ = await bench.encode(width, height, n)
        assert errors == flag and status == DONE, f"{kind} TLAST: ERROR {errors:#x}, STATUS {status:#x}"
        await bench.write("ERROR", flag)
        # the next frame, of another size, is clean
        status, errors, _ = await bench.encode(*clean[count % len(clean)])
        assert status == DONE and errors == 0, f"after {kind} TLAST: STATUS {status:#x}, ERROR {errors:#x}"
    assert await bench.read("FRAMES") == 2 * len(bench.params["malformed"])
    assert not await bench.read("STATUS") & BUSY
