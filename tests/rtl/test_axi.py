# amaranth: UnusedElaboratable=no
"""`rtl.axi.AXIWrapper` in the Amaranth simulator, around `rtl.glue.Abs` (a core without
frame-size inputs): the AXI4-Lite channels' independence and back-pressure, which
cocotbext-axi's manager does not vary, and a frame through the streams."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from licfpga.rtl.axi import ID, OKAY, REGISTER, SLVERR, AXIWrapper
from licfpga.rtl.glue import Abs


def simulate(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


async def wait(ctx, signal, limit=20):
    for _ in range(limit):
        if ctx.get(signal):
            return
        await ctx.tick()
    raise AssertionError(f"{signal.name} never rose")


async def write(ctx, bus, name, value):
    ctx.set(bus.awaddr, REGISTER[name].offset)
    ctx.set(bus.wdata, value)
    ctx.set(bus.wstrb, 0xF)
    ctx.set(bus.awvalid, 1)
    ctx.set(bus.wvalid, 1)
    ctx.set(bus.bready, 1)
    await ctx.tick()
    ctx.set(bus.awvalid, 0)
    ctx.set(bus.wvalid, 0)
    await wait(ctx, bus.bvalid)
    await ctx.tick()


def test_write_address_and_data_in_either_order_with_b_backpressure():
    dut = AXIWrapper(Abs(8, 8, 3), 8, 8, model_id=0x1234ABCD)
    bus = dut.s_axi

    async def bench(ctx):
        for data_first, offset, value in ((True, REGISTER["WIDTH"].offset, 5), (False, REGISTER["HEIGHT"].offset, 7)):
            first, then = ((bus.wvalid, bus.wready), (bus.awvalid, bus.awready))[:: 1 if data_first else -1]
            ctx.set(bus.awaddr, offset)
            ctx.set(bus.wdata, value)
            ctx.set(bus.wstrb, 0xF)
            ctx.set(first[0], 1)
            await ctx.tick()
            ctx.set(first[0], 0)
            for _ in range(3):  # the other half comes later: no response yet
                assert not ctx.get(bus.bvalid) and not ctx.get(first[1])
                await ctx.tick()
            ctx.set(then[0], 1)
            await ctx.tick()
            ctx.set(then[0], 0)
            await wait(ctx, bus.bvalid)
            for _ in range(3):  # B held while BREADY is low
                assert ctx.get(bus.bvalid) and ctx.get(bus.bresp) == OKAY
                await ctx.tick()
            ctx.set(bus.bready, 1)
            await ctx.tick()
            ctx.set(bus.bready, 0)
            assert not ctx.get(bus.bvalid)
        for offset, want, resp in (
            (REGISTER["WIDTH"].offset, 5, OKAY),
            (REGISTER["HEIGHT"].offset, 7, OKAY),
            (REGISTER["ID"].offset, ID, OKAY),
            (REGISTER["MODEL"].offset, 0x1234ABCD, OKAY),
            (0xFFC, 0, SLVERR),
        ):
            ctx.set(bus.araddr, offset)
            ctx.set(bus.arvalid, 1)
            await ctx.tick()
            ctx.set(bus.arvalid, 0)
            for _ in range(2):  # R held while RREADY is low, no new address
                assert ctx.get(bus.rvalid) and not ctx.get(bus.arready)
                assert (ctx.get(bus.rdata), ctx.get(bus.rresp)) == (want, resp)
                await ctx.tick()
            ctx.set(bus.rready, 1)
            await ctx.tick()
            ctx.set(bus.rready, 0)

    simulate(dut, bench)


def test_frame_through_a_core_without_size_inputs():
    dut = AXIWrapper(Abs(8, 8, 3), 8, 8)
    bus = dut.s_axi
    pixels = np.random.default_rng(5).integers(-128, 128, (12, 3))
    got = []

    async def bench(ctx):
        await write(ctx, bus, "WIDTH", 4)
        await write(ctx, bus, "HEIGHT", 3)
        await write(ctx, bus, "CONTROL", 1)
        ctx.set(dut.m_axis.tready, 1)
        n = 0
        for _ in range(200):
            if n < len(pixels):
                ctx.set(dut.s_axis.tdata, sum((int(e) & 0xFF) << (8 * j) for j, e in enumerate(pixels[n])))
                ctx.set(dut.s_axis.tlast, n == len(pixels) - 1)
                ctx.set(dut.s_axis.tvalid, 1)
            else:
                ctx.set(dut.s_axis.tvalid, 0)
            _, _, accepted, valid, data, last = await ctx.tick().sample(
                dut.s_axis.tready, dut.m_axis.tvalid, dut.m_axis.tdata, dut.m_axis.tlast
            )
            n += bool(accepted and n < len(pixels))
            if valid:
                got.append(([(data >> (8 * j)) & 0xFF for j in range(3)], last))
            if got and got[-1][1]:
                break
        assert ctx.get(dut.irq)
        ctx.set(bus.araddr, REGISTER["ERROR"].offset)
        ctx.set(bus.arvalid, 1)
        await ctx.tick()
        assert ctx.get(bus.rdata) == 0, "an error flag on a well-formed frame"

    simulate(dut, bench)
    assert [g[0] for g in got] == np.minimum(np.abs(pixels), 255).tolist()
    assert [g[1] for g in got] == [False] * 11 + [True]


def test_a_pixel_of_several_beats():
    """``beats_per_pixel`` = 3: one element per beat (as the decoder's cores take ŷ and
    ẑ), the markers the core sees count channels, pixels and rows, TLAST on the frame's
    last beat, with random source idle and sink back-pressure."""
    dut = AXIWrapper(Abs(8, 8, 1), 8, 8, beats_per_pixel=3)
    bus, core = dut.s_axi, dut.core
    rng = np.random.default_rng(7)
    elements = rng.integers(-128, 128, 4 * 2 * 3)
    seen, got = [], []

    async def bench(ctx):
        await write(ctx, bus, "WIDTH", 4)
        await write(ctx, bus, "HEIGHT", 2)
        await write(ctx, bus, "CONTROL", 1)
        n = 0
        for _ in range(400):
            idle = rng.random() < 0.3
            ctx.set(dut.m_axis.tready, rng.random() >= 0.3)
            ctx.set(dut.s_axis.tvalid, n < len(elements) and not idle)
            if n < len(elements):
                ctx.set(dut.s_axis.tdata, int(elements[n]) & 0xFF)
                ctx.set(dut.s_axis.tlast, n == len(elements) - 1)
            _, _, accepted, markers, ready, valid, data, last = await ctx.tick().sample(
                core.i.valid & core.i.ready,
                core.i.payload,
                dut.m_axis.tready,
                dut.m_axis.tvalid,
                dut.m_axis.tdata,
                dut.m_axis.tlast,
            )
            if accepted:
                n += 1
                seen.append((markers.first, markers.last, markers.eol, markers.eop))
            if valid and ready:
                got.append((data, last))
            if got and got[-1][1]:
                break
        ctx.set(bus.araddr, REGISTER["ERROR"].offset)
        ctx.set(bus.arvalid, 1)
        await ctx.tick()
        assert ctx.get(bus.rdata) == 0, "an error flag on a well-formed frame"

    simulate(dut, bench)
    beats = np.arange(len(elements))
    eop = beats % 3 == 2
    eol = eop & (beats // 3 % 4 == 3)
    assert seen == [(int(b == 0), int(b == len(beats) - 1), int(e), int(p)) for b, e, p in zip(beats, eol, eop)]
    assert [g[0] for g in got] == np.minimum(np.abs(elements), 255).tolist()
    assert [g[1] for g in got] == [False] * (len(elements) - 1) + [True]


@pytest.mark.parametrize("beats", [0, True, 1.5])
def test_beats_per_pixel_is_a_positive_integer(beats):
    with pytest.raises(ValueError, match="beats_per_pixel"):
        AXIWrapper(Abs(8, 8, 1), 8, 8, beats_per_pixel=beats)


@pytest.mark.parametrize("model_id", [-1, 1 << 32, 1.5])
def test_model_id_is_a_32_bit_register(model_id):
    with pytest.raises(ValueError, match="model_id"):
        AXIWrapper(Abs(8, 8, 3), 8, 8, model_id=model_id)
