"""cocotb stream drivers shared by the benches.

One coroutine per bench drives the source and the sink and counts cycles: inputs are
set at the falling edge and the handshake is read in the ReadOnly phase of that same
half cycle, so what it sees is exactly what the next rising edge samples, on Verilator
and Icarus alike (their views of signals *at* a rising edge differ).
"""

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

__all__ = ["reset", "exchange"]


async def reset(dut, cycles=2):
    """Starts the clock and holds the synchronous reset for ``cycles``."""
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    for _ in range(cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


async def exchange(dut, beats, count, rng, idle, stall, patience=5_000, long_stalls=(), drain=8):
    """Offers the packed ``beats`` on ``i`` (idle with probability ``idle`` before each)
    and takes ``count`` beats from ``o`` (not ready with probability ``stall`` each
    cycle, and for ``cycles`` in a row once output beat ``at`` is due, for each
    ``(at, cycles)`` of ``long_stalls``). Returns the received packed beats and the cycle
    (from 1) of each. Fails after ``patience`` cycles without a beat moving on either
    side, or if a beat beyond ``count`` leaves within ``drain`` cycles."""
    sent, offering, got, cycles = 0, False, [], []
    cycle = moved = hold_until = 0
    pending = sorted(long_stalls)
    while len(got) < count:
        await FallingEdge(dut.clk)
        cycle += 1
        if pending and len(got) >= pending[0][0]:
            hold_until = cycle + pending.pop(0)[1]
            moved = hold_until
        if cycle - moved > patience:
            raise AssertionError(
                f"stuck after {sent} of {len(beats)} beats in and "
                f"{len(got)} of {count} out: nothing moved for {patience} cycles"
            )
        if not offering and sent < len(beats) and not (idle and rng.random() < idle):
            dut.i__payload.value = beats[sent]
            offering = True
        dut.i__valid.value = offering
        ready = cycle >= hold_until and not (stall and rng.random() < stall)
        dut.o__ready.value = ready
        await ReadOnly()
        if offering and dut.i__ready.value:
            sent, offering, moved = sent + 1, False, cycle
        if ready and dut.o__valid.value:
            got.append(dut.o__payload.value.to_unsigned())
            cycles.append(cycle)
            moved = cycle
    await FallingEdge(dut.clk)
    dut.i__valid.value = 0
    assert sent == len(beats), f"the block accepted {sent} of {len(beats)} input beats"
    for _ in range(drain):
        await ReadOnly()
        assert not (dut.o__valid.value and dut.o__ready.value), "a beat beyond the expected ones"
        await FallingEdge(dut.clk)
    dut.o__ready.value = 0
    return got, cycles
