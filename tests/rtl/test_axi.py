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

    async def write(ctx, name, value):
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

    async def bench(ctx):
        await write(ctx, "WIDTH", 4)
        await write(ctx, "HEIGHT", 3)
        await write(ctx, "CONTROL", 1)
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


@pytest.mark.parametrize("model_id", [-1, 1 << 32, 1.5])
def test_model_id_is_a_32_bit_register(model_id):
    with pytest.raises(ValueError, match="model_id"):
        AXIWrapper(Abs(8, 8, 3), 8, 8, model_id=model_id)
