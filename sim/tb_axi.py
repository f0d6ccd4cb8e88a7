"""The cocotb bench of an `rtl.axi.AXIWrapper` top (a window generator's, the generated
encoder's), through cocotbext-axi (AXI4-Lite manager, AXI4-Stream source and sink): the
register block, frames of different sizes under random source idle and sink
back-pressure, and malformed frames (early and missing TLAST) that set their error flag,
the next frame clean. Every output packet is the one expected, bit for bit.

Parameters (`runner.bench_params`): ``max`` ([MAX_WIDTH, MAX_HEIGHT]), ``model_id`` (what
MODEL reads), ``idle`` and ``stall`` (probabilities of a source idle cycle and of sink
back-pressure), ``in`` ([elements per pixel, element bits, TDATA bits] of the input
stream), ``out`` ([elements per beat, element bits, TDATA bits, signed] of the output),
``frames`` (the clean frames: [width, height, n] each) and ``malformed`` ([width, height,
n, kind] each; kind ``early``: TLAST comes early, ``missing``: pixels follow the frame's
last, TLAST on the final one). Arrays (`runner.bench_arrays`, made by the case's
``prepare``): ``in<n>`` (the pixels sent, (count, elements)) and ``out<n>`` (the
expected packet, (beats, elements)).
"""

import cocotb
import numpy as np
from cocotbext.axi import AxiStreamFrame

from licfpga.rtl.axi import ERRORS, ID, OKAY, REGISTER, SLVERR, VERSION
from licfpga.sim.axi import BUSY, DONE, START, AxiBench, unwords, words
from licfpga.sim.runner import bench_arrays


class Bench(AxiBench):
    def __init__(self, dut):
        super().__init__(dut)
        self.arrays = bench_arrays()

    async def encode(self, width, height, n):
        """Programs the size, starts, sends ``in<n>`` as one packet and checks the output
        packet against ``out<n>``; returns STATUS, ERROR and CYCLES after it."""
        elements, in_bits, in_tdata = self.params["in"]
        await self.write("WIDTH", width)
        await self.write("HEIGHT", height)
        await self.write("CONTROL", START)
        receive = cocotb.start_soon(self.sink.recv())
        await self.source.send(AxiStreamFrame(words(self.arrays[f"in{n}"], in_bits, in_tdata)))
        got = unwords((await receive).tdata, *self.params["out"])
        await self.source.wait()  # dropped trailing pixels are gone before the next START
        want = self.arrays[f"out{n}"]
        assert got.shape == want.shape, f"{width}×{height}: {got.shape[0]} beats, expected {want.shape[0]}"
        diff = np.flatnonzero((got != want).any(axis=1))
        assert not len(diff), (
            f"{width}×{height}: {len(diff)} of {len(want)} beats differ, the first {diff[0]}: "
            f"{got[diff[0]].tolist()}, expected {want[diff[0]].tolist()}"
        )
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
    await bench.write("WIDTH", 0x1234)
    await bench.write("HEIGHT", 7)
    assert (await bench.read("WIDTH"), await bench.read("HEIGHT")) == (0x1234, 7)
    # byte strobes: only the low byte of WIDTH changes
    reply = await bench.lite.write(REGISTER["WIDTH"].offset, bytes([0x56]))
    assert reply.resp == OKAY and await bench.read("WIDTH") == 0x1256
    await bench.write("ID", 0, resp=SLVERR)
    assert await bench.read("ID") == ID
    unmapped = max(r.offset for r in REGISTER.values()) + 4
    assert (await bench.lite.read(unmapped, 4)).resp == SLVERR
    assert (await bench.lite.write(unmapped, bytes(4))).resp == SLVERR
    assert await bench.read("CONTROL") == 0
    # a size beyond the build's maximum is refused and flagged; W1C clears the flag
    bad = 1 << ERRORS["BAD_SIZE"]
    width, height, _ = bench.params["frames"][0]
    for name, value in (("WIDTH", max_width + 1), ("HEIGHT", max_height + 1)):
        await bench.write("WIDTH", width)
        await bench.write("HEIGHT", height)
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
    # reads in flight at once (cocotbext-axi pipelines them): the register block answers each
    replies = [cocotb.start_soon(bench.lite.read(REGISTER["FRAMES"].offset, 4)) for _ in range(6)]
    for reply in replies:
        reply = await reply
        assert reply.resp == OKAY and int.from_bytes(reply.data, "little") == len(frames)


@cocotb.test()
async def malformed_frames_recover(dut):
    bench = Bench(dut)
    await bench.reset()
    bench.handshakes(bench.params["idle"], bench.params["stall"])
    clean = bench.params["frames"]
    for count, (width, height, n, kind) in enumerate(bench.params["malformed"]):
        flag = 1 << ERRORS["EARLY_TLAST" if kind == "early" else "MISSING_TLAST"]
        status, errors, _ = await bench.encode(width, height, n)
        assert errors == flag and status == DONE, f"{kind} TLAST: ERROR {errors:#x}, STATUS {status:#x}"
        await bench.write("ERROR", flag)
        # the next frame is clean
        status, errors, _ = await bench.encode(*clean[count % len(clean)])
        assert status == DONE and errors == 0, f"after {kind} TLAST: STATUS {status:#x}, ERROR {errors:#x}"
    assert await bench.read("FRAMES") == 2 * len(bench.params["malformed"])
    assert not await bench.read("STATUS") & BUSY
