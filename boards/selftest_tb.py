"""cocotb bench of the self-test design (`boards.selftest.SelfTest`): runs it from reset,
decodes its first UART report line and reads the LEDs, and checks both say the expected
verdict.

Parameters (`sim.runner.bench_params`): ``bit`` (clock cycles per UART bit), ``verdict``
(``PASS`` or ``FAIL``), ``elements`` (the packet's length: the report's cycle count is at
least that) and ``limit`` (cycles to wait for the report at most).
"""

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from licfpga.boards.selftest import MESSAGE_BYTES
from licfpga.sim.runner import bench_params

LEDS = {"PASS": 0b001, "FAIL": 0b010}  # LED 0 PASS, LED 1 FAIL, LED 2 running


async def uart_line(dut, bit, limit):
    """The first MESSAGE_BYTES characters on ``dut.tx`` (8N1, ``bit`` cycles per bit)."""
    chars, cycle = [], 0
    while len(chars) < MESSAGE_BYTES:
        await RisingEdge(dut.clk)
        await ReadOnly()
        cycle += 1
        assert cycle < limit, f"no report after {limit} cycles: {bytes(chars)!r}"
        if dut.tx.value:
            continue
        await ClockCycles(dut.clk, bit // 2)  # the middle of the start bit
        byte = 0
        for n in range(8):
            await ClockCycles(dut.clk, bit)
            await ReadOnly()
            byte |= int(dut.tx.value) << n
        await ClockCycles(dut.clk, bit)
        await ReadOnly()
        assert dut.tx.value == 1, "no stop bit"
        chars.append(byte)
        cycle += 10 * bit
    return bytes(chars)


@cocotb.test()
async def verdict(dut):
    params = bench_params()
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    line = await uart_line(dut, params["bit"], params["limit"])
    assert line.startswith(params["verdict"].encode() + b" ") and line.endswith(b"\r\n"), line
    assert int(line[5:13], 16) >= params["elements"], line
    leds = int(dut.leds.value)
    assert leds & 0b111 == LEDS[params["verdict"]], f"LEDs {leds:08b}"
