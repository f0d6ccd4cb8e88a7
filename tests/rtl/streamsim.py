"""Amaranth-simulator stream drivers: a source with random idle cycles and a sink with
random back-pressure, both counting clock cycles."""

from amaranth.sim import Simulator

from licfpga.rtl.stream import MARKERS


def as_beat(view):
    return {"data": [int(e) for e in view.data], **{k: int(getattr(view, k)) for k in MARKERS}}


async def send(ctx, port, beats, rng, idle):
    for beat in beats:
        while idle and rng.random() < idle:
            ctx.set(port.valid, 0)
            await ctx.tick()
        ctx.set(port.payload, beat)
        ctx.set(port.valid, 1)
        await ctx.tick().until(port.ready)
    ctx.set(port.valid, 0)


async def receive(ctx, port, count, rng, stall, timeout, in_ready, convert=as_beat):
    """Collects ``count`` beats; returns them and the cycle of each (from the start).

    Every cycle it also checks that the block is timing-friendly: its output and its
    input's ready (``in_ready``) do not change when only the output's ready does."""
    got, cycles, cycle = [], [], 0
    while len(got) < count:
        probes = []
        for level in (0, 1):
            ctx.set(port.ready, level)
            probes.append((ctx.get(in_ready), ctx.get(port.valid), ctx.get(port.payload.as_value())))
        assert probes[0] == probes[1], f"cycle {cycle}: a combinational path from o.ready"
        ready = not (stall and rng.random() < stall)
        ctx.set(port.ready, ready)
        _, _, valid, payload = await ctx.tick().sample(port.valid, port.payload)
        cycle += 1
        if cycle > timeout:
            raise AssertionError(f"received {len(got)} of {count} beats in {timeout} cycles")
        if ready and valid:
            got.append(convert(payload))
            cycles.append(cycle)
    ctx.set(port.ready, 0)
    return got, cycles


def run_stream(dut, beats, expected_count, rng, idle, stall, setup=None, timeout=200_000, convert=as_beat):
    """Streams ``beats`` through ``dut.i`` → ``dut.o``; returns the output beats and the
    cycle (counted from the first cycle the source offers data) of each."""
    result = {}

    async def source(ctx):
        if setup:
            setup(ctx)
        await send(ctx, dut.i, beats, rng, idle)
        result["sent"] = True

    async def sink(ctx):
        result["beats"], result["cycles"] = await receive(
            ctx, dut.o, expected_count, rng, stall, timeout, dut.i.ready, convert
        )

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    # The source runs in the background: a block that swallows too few beats shows as
    # "not all sent" instead of a hang.
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    assert result.get("sent"), "the block did not accept every input beat"
    return result["beats"], result["cycles"]
