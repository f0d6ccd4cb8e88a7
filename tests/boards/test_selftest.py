"""The self-test design in simulation: the ROM frame streams through the core, the
verdict reaches the LEDs and the UART line decodes to PASS (or FAIL when the expected
checksum or beat count is wrong)."""

import pytest
from amaranth.sim import Simulator

from licfpga.boards.cores import CORES
from licfpga.boards.selftest import MESSAGE_BYTES, SelfTest, checksum, rom_frame
from licfpga.boards.vivado import SELFTEST_FRAME, selftest_design

BIT = 4         # clock cycles per UART bit in simulation


def run(dut, limit=20_000):
    """Returns the first report line from ``dut.tx`` and the LEDs at its end."""
    result = {}

    async def uart(ctx):
        chars, cycle = [], 0
        while len(chars) < MESSAGE_BYTES:
            await ctx.tick()
            cycle += 1
            assert cycle < limit, f"no report after {limit} cycles: {bytes(chars)!r}"
            if ctx.get(dut.tx):
                continue
            await ctx.tick().repeat(BIT // 2)        # the middle of the start bit
            byte = 0
            for n in range(8):
                await ctx.tick().repeat(BIT)
                byte |= ctx.get(dut.tx) << n
            await ctx.tick().repeat(BIT)
            assert ctx.get(dut.tx) == 1, "no stop bit"
            chars.append(byte)
        result["line"], result["leds"] = bytes(chars), ctx.get(dut.leds)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(uart)
    sim.run()
    return result["line"], result["leds"]


def test_selftest_design_passes():
    make, (beats, _) = selftest_design("window-k5s2c3")
    line, leds = run(make(BIT, 100))
    assert line.startswith(b"PASS ") and line.endswith(b"\r\n"), line
    width, height = SELFTEST_FRAME
    assert beats <= int(line[5:13], 16) < 4 * width * height, line
    assert leds & 0b111 == 0b001


@pytest.mark.parametrize("wrong", ["checksum", "beats"])
def test_selftest_fails_on_a_wrong_expectation(wrong):
    spec = CORES["window-k3s1c3"]
    frame = rom_frame(9, 5, spec.c_in)
    reference = spec.reference(frame)
    beats, total = len(reference), checksum(reference, spec.elem_bits)
    expected = (beats, total ^ 1) if wrong == "checksum" else (beats + 1, total)
    line, leds = run(SelfTest(spec.make(9, 5), frame, expected, BIT, 100))
    assert line.startswith(b"FAIL "), line
    assert leds & 0b111 == 0b010
