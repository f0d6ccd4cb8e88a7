"""cocotb bench of `rtl.axi.AXIWrapper` around a window generator, through cocotbext-axi
(AXI4-Lite manager, AXI4-Stream source and sink): the register block, frames of
different sizes under back-pressure, and malformed frames with recovery.

Parameters (`runner.bench_params`): ``config`` (LayerConfig fields of the wrapped
`SlidingWindow`), ``frames`` (a list of [width, height]), ``idle`` and ``stall``
(probabilities of a source idle cycle and of sink back-pressure).
"""

import cocotb
import numpy as np
from cocotbext.axi import AxiStreamFrame

from licfpga.rtl.axi import ERRORS, ID, OKAY, REGISTER, SLVERR, VERSION, stream_bits
from licfpga.rtl.config import LayerConfig
from licfpga.sim.axi import BUSY, DONE, START, AxiBench, unwords, words
from licfpga.sim.reference import im2col


class Bench(AxiBench):
    def __init__(self, dut):
        super().__init__(dut)
        self.cfg = LayerConfig(**self.params["config"])
        self.in_bits = stream_bits(self.cfg.in_bits * self.cfg.c_in)
        self.out_bits = stream_bits(self.cfg.in_bits * self.cfg.simd)

    def frame(self, width, height):
        return self.rng.integers(0, 1 << self.cfg.in_bits, (height, width, self.cfg.c_in))

    def expected(self, frame):
        windows = im2col(frame, self.cfg.kernel, self.cfg.stride).reshape(-1, self.cfg.simd)
        return windows

    async def encode(self, width, height, pixels):
        """Programs the size, starts, streams ``pixels`` ((n, C_in): one AXI packet) and
        returns the output packet as (beats, SIMD) elements, the STATUS, ERROR and
        CYCLES registers after it."""
        await self.write("WIDTH", width)
        await self.write("HEIGHT", height)
        await self.write("CONTROL", START)
        receive = cocotb.start_soon(self.sink.recv())
        await self.source.send(AxiStreamFrame(words(pixels, self.cfg.in_bits, self.in_bits)))
        packet = await receive
        await self.source.wait()        # dropped trailing pixels are gone before the next START
        status = await self.read("STATUS")
        return (unwords(packet.tdata, self.cfg.simd, self.cfg.in_bits, self.out_bits),
                status, await self.read("ERROR"), await self.read("CYCLES"))

    async def check_frame(self, width, height):
        frame = self.frame(width, height)
        got, status, errors, cycles = await self.encode(width, height, frame.reshape(-1, self.cfg.c_in))
        want = self.expected(frame)
        assert got.shape == want.shape, f"{width}×{height}: {got.shape[0]} beats, expected {want.shape[0]}"
        assert np.array_equal(got, want), f"{width}×{height}: first difference at beat " \
            f"{int(np.argwhere((got != want).any(axis=1))[0][0])}"
        assert status == DONE and errors == 0, f"STATUS {status:#x}, ERROR {errors:#x}"
        assert cycles >= width * height, f"CYCLES {cycles} < {width * height} pixels"


@cocotb.test()
async def registers(dut):
    bench = Bench(dut)
    await bench.reset()
    assert await bench.read("ID") == ID and await bench.read("VERSION") == VERSION
    assert await bench.read("MAX_WIDTH") == bench.cfg.max_width
    assert await bench.read("MAX_HEIGHT") == bench.cfg.max_height
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
    # START with WIDTH beyond the maximum is refused and flagged; W1C clears the flag
    await bench.write("CONTROL", START)
    bad = 1 << ERRORS["BAD_SIZE"]
    assert await bench.read("ERROR") == bad and await bench.read("STATUS") == 0
    await bench.write("ERROR", bad)
    assert await bench.read("ERROR") == 0


async def _issue_all(lite, n, name):
    """Address and data of ``n`` reads in flight at once: the register block must
    answer every one (cocotbext-axi pipelines them)."""
    replies = [cocotb.start_soon(lite.read(REGISTER[name].offset, 4)) for _ in range(n)]
    return [await r for r in replies]


@cocotb.test()
async def frames_with_backpressure(dut):
    bench = Bench(dut)
    await bench.reset()
    params = bench.params
    bench.handshakes(params["idle"], params["stall"])
    for width, height in params["frames"]:
        await bench.check_frame(width, height)
    assert await bench.read("FRAMES") == len(params["frames"])
    replies = await _issue_all(bench.lite, 6, "FRAMES")
    assert all(r.resp == OKAY and int.from_bytes(r.data, "little") == len(params["frames"])
               for r in replies)


@cocotb.test()
async def malformed_frames_recover(dut):
    bench = Bench(dut)
    await bench.reset()
    bench.handshakes(bench.params["idle"], bench.params["stall"])
    width, height = bench.params["frames"][0]
    c = bench.cfg.c_in
    early, missing = 1 << ERRORS["EARLY_TLAST"], 1 << ERRORS["MISSING_TLAST"]

    # TLAST 5 pixels early: the frame is completed with zeros, one whole output packet
    frame = bench.frame(width, height)
    short = frame.reshape(-1, c)[:-5]
    got, status, errors, _ = await bench.encode(width, height, short)
    padded = np.concatenate([short, np.zeros((5, c), dtype=short.dtype)]).reshape(frame.shape)
    assert errors == early and status == DONE, f"ERROR {errors:#x}, STATUS {status:#x}"
    assert np.array_equal(got, bench.expected(padded))
    await bench.write("ERROR", early)
    await bench.check_frame(width, height)

    # no TLAST on the last pixel: 3 more pixels follow, dropped up to their TLAST
    frame = bench.frame(width, height)
    long = np.concatenate([frame.reshape(-1, c), bench.frame(3, 1).reshape(-1, c)])
    got, status, errors, _ = await bench.encode(width, height, long)
    assert errors == missing and status == DONE, f"ERROR {errors:#x}, STATUS {status:#x}"
    assert np.array_equal(got, bench.expected(frame))
    await bench.write("ERROR", missing)
    await bench.check_frame(*bench.params["frames"][-1])
    assert await bench.read("FRAMES") == 4
    assert not await bench.read("STATUS") & BUSY
