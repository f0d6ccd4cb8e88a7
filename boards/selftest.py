"""Board self-test without a processor: a test frame in ROM streams through the
generated encoder, a checksum of its output packet is compared with the one the integer
golden model gives for that frame (`boards.vivado.selftest_design`), and the verdict
shows on the LEDs and the UART.

`SelfTest` is the logic (simulated by `boards.selftest_tb`); `SelfTestTop` puts it on a
platform (`boards.zcu102`): clock and reset from the platform's defaults (125 MHz,
CPU_RESET restarts the test), LED 0 PASS, LED 1 FAIL, LED 2 running, LED 7 a heartbeat,
and on the UART (115200 8N1) a line ``PASS 0000abcd`` or ``FAIL 0000abcd`` every
``repeat_cycles``, with the frame's cycle count in hex.
"""

import numpy as np
from amaranth import C, Cat, Elaboratable, Module, Mux, Signal
from amaranth.lib import io, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import Out

from ..rtl.stream import beat_layout

__all__ = ["SelfTest", "SelfTestTop", "checksum", "rom_frame", "MESSAGE_BYTES"]

MESSAGE_BYTES = 15  # "PASS " + 8 hex digits + "\r\n"


def _rotl(value):
    return ((value << 1) | (value >> 31)) & 0xFFFFFFFF


def checksum(vectors, elem_bits):
    """The checksum `SelfTest` computes over output beats: per beat, the beat's packed
    ``data`` folded to 32 bits by XOR of its 32-bit chunks, into a running
    rotate-left-by-one-and-XOR. Order-sensitive, cheap in hardware."""
    total = 0
    mask = (1 << elem_bits) - 1
    for vector in vectors:
        packed = 0
        for j, element in enumerate(vector):
            packed |= (int(element) & mask) << (j * elem_bits)
        folded = 0
        while packed:
            folded ^= packed & 0xFFFFFFFF
            packed >>= 32
        total = _rotl(total) ^ folded
    return total


def rom_frame(width, height, channels, seed=1):
    """The self-test's frame: uint8 noise with a gradient, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (height, width, channels))
    frame[0, :, 0] = np.arange(width) * 255 // max(width - 1, 1)
    return frame


class SelfTest(wiring.Component):
    """ROM frame → core → checksum → verdict.

    ``core``: a component with ``i``/``o`` beat streams and ``width``/``height`` inputs
    (held at the frame's size). ``frame``: (H, W, C) ints, one pixel per input beat.
    ``expected``: (output beats, checksum) the core must produce. ``clocks_per_bit``:
    the UART's bit time; ``repeat_cycles``: cycles from one report line to the next.

    Ports: ``leds`` (out, 8: PASS, FAIL, running, …, heartbeat on the top bit), ``tx``
    (out, UART, idle high). ``rom_bits``: the width of a ROM word (a pixel and its markers).
    The frame streams at the core's rate (the ROM is read combinationally, one pixel
    per cycle); the verdict follows the output's ``last`` beat by one cycle.
    """

    def __init__(self, core, frame, expected, clocks_per_bit, repeat_cycles):
        self.core = core
        self.frame = frame
        self.expected = expected
        self.clocks_per_bit = clocks_per_bit
        self.repeat_cycles = repeat_cycles
        self.layout = beat_layout(core.i.payload.data.shape().elem_shape, frame.shape[2])
        self.rom_bits = self.layout.size
        super().__init__({"leds": Out(8), "tx": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        height, width, _ = self.frame.shape
        m.d.comb += [core.width.eq(width), core.height.eq(height)]

        # --- source: the frame, with its markers, from a ROM ------------------------
        pixels = [
            self.layout.const(
                {
                    "data": [int(e) for e in self.frame[y, x]],
                    "first": x == 0 and y == 0,
                    "last": x == width - 1 and y == height - 1,
                    "eol": x == width - 1,
                    "eop": 1,
                }
            )
            .as_value()
            .value
            for y in range(height)
            for x in range(width)
        ]
        m.submodules.rom = rom = Memory(shape=self.rom_bits, depth=len(pixels), init=pixels)
        read = rom.read_port(domain="comb")
        addr = Signal(range(len(pixels) + 1))
        m.d.comb += [read.addr.eq(addr), core.i.payload.eq(read.data), core.i.valid.eq(addr < len(pixels))]
        with m.If(core.i.valid & core.i.ready):
            m.d.sync += addr.eq(addr + 1)

        # --- sink: checksum and verdict ----------------------------------------------
        beats, want = self.expected
        total, count, cycles = Signal(32), Signal(range(beats + 2)), Signal(32)
        finished, passed = Signal(), Signal()
        data = core.o.payload.data.as_value()
        folded = 0
        for lo in range(0, len(data), 32):
            folded ^= data[lo : lo + 32]
        step = Cat(total[31], total[:31]) ^ folded
        m.d.comb += core.o.ready.eq(~finished)
        with m.If(~finished):
            m.d.sync += cycles.eq(cycles + 1)
        with m.If(core.o.valid & core.o.ready):
            m.d.sync += [total.eq(step), count.eq(Mux(count > beats, count, count + 1))]
            with m.If(core.o.payload.last):
                m.d.sync += [finished.eq(1), passed.eq((count + 1 == beats) & (step == want))]

        heartbeat = Signal(max(1, (self.repeat_cycles - 1).bit_length()))
        m.d.sync += heartbeat.eq(heartbeat + 1)
        m.d.comb += self.leds.eq(Cat(finished & passed, finished & ~passed, ~finished, 0, 0, 0, 0, heartbeat[-1]))

        # --- report: "PASS " / "FAIL " + the cycle count in hex + CRLF --------------
        text = Signal(8 * MESSAGE_BYTES)
        verdict = Mux(passed, C(int.from_bytes(b"PASS ", "little"), 40), C(int.from_bytes(b"FAIL ", "little"), 40))
        digits = [cycles[4 * (7 - n) : 4 * (8 - n)] for n in range(8)]
        ascii_digits = [Mux(d < 10, C(0x30, 8) + d, C(0x57, 8) + d)[:8] for d in digits]
        m.d.comb += text.eq(Cat(verdict, *ascii_digits, C(int.from_bytes(b"\r\n", "little"), 16)))
        char = Signal(range(MESSAGE_BYTES + 1), init=MESSAGE_BYTES)
        shift = Signal(10, init=0x3FF)  # stop, 8 data bits LSB first, start
        bits = Signal(range(11))
        baud = Signal(range(self.clocks_per_bit))
        wait = Signal(range(self.repeat_cycles + 1))
        m.d.comb += self.tx.eq(shift[0])
        with m.If(bits != 0):
            m.d.sync += baud.eq(Mux(baud == self.clocks_per_bit - 1, 0, baud + 1))
            with m.If(baud == self.clocks_per_bit - 1):
                m.d.sync += [shift.eq(Cat(shift[1:], 1)), bits.eq(bits - 1)]
        with m.Elif(char < MESSAGE_BYTES):
            byte = text.word_select(char, 8)
            m.d.sync += [shift.eq(Cat(0, byte, 1)), bits.eq(10), char.eq(char + 1)]
        with m.Elif(finished):
            m.d.sync += wait.eq(wait + 1)
            with m.If(wait == self.repeat_cycles):
                m.d.sync += [wait.eq(0), char.eq(0)]
        return m


class SelfTestTop(Elaboratable):
    """`SelfTest` on a board: LEDs 0…7 and UART 0 of the platform, at its default clock
    (``baud`` 115200, a report line every half second)."""

    def __init__(self, make_self_test, baud=115200, repeat_s=0.5):
        self.make_self_test = make_self_test
        self.baud = baud
        self.repeat_s = repeat_s

    def timing(self, clock_hz):
        """(clock cycles per UART bit, cycles between report lines) at ``clock_hz``."""
        return round(clock_hz / self.baud), round(clock_hz * self.repeat_s)

    def elaborate(self, platform):
        m = Module()
        m.submodules.test = test = self.make_self_test(*self.timing(platform.default_clk_frequency))
        for n in range(8):
            m.submodules[f"led{n}"] = led = io.Buffer("o", platform.request("led", n, dir="-"))
            m.d.comb += led.o.eq(test.leds[n])
        m.submodules.uart_tx = tx = io.Buffer("o", platform.request("uart", 0, dir="-").tx)
        m.d.comb += tx.o.eq(test.tx)
        return m
