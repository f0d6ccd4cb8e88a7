"""cocotbext-axi models on an `rtl.axi.AXIWrapper` top, the base of the benches that drive
one (`AxiBench`), and the packing of frames into AXI4-Stream bytes (`words`, `unwords`).
It runs inside the simulator only (it imports cocotb).

The Amaranth top's ports are ``s_axi__awaddr`` and so on: the bus prefixes below end
in one underscore, to which cocotbext-axi adds the second.
"""

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamSink, AxiStreamSource

from ..rtl.axi import OKAY, REGISTER
from .runner import bench_params

__all__ = ["START", "DONE", "BUSY", "attach", "AxiBench", "words", "unwords"]

# CONTROL's and STATUS's bits that the benches use
START = 1 << REGISTER["CONTROL"].fields["START"]
DONE = 1 << REGISTER["STATUS"].fields["DONE"]
BUSY = 1 << REGISTER["STATUS"].fields["BUSY"]


def attach(dut):
    """Starts the clock and returns (AxiLiteMaster, AxiStreamSource, AxiStreamSink) on
    ``s_axi``, ``s_axis`` and ``m_axis``; the caller resets with `cocotb` as it likes."""
    Clock(dut.clk, 10, unit="ns").start()
    lite = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi_"), dut.clk, dut.rst)
    source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_"), dut.clk, dut.rst)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_"), dut.clk, dut.rst)
    return lite, source, sink


class AxiBench:
    """What the benches of an `rtl.axi.AXIWrapper` top share: the bench's parameters
    (`runner.bench_params`), a generator seeded with cocotb's seed, the models of
    `attach`, reset, random handshakes, and register reads and writes by name."""

    def __init__(self, dut):
        self.params = bench_params()
        self.rng = np.random.default_rng(cocotb.RANDOM_SEED)
        self.dut = dut
        self.lite, self.source, self.sink = attach(dut)

    async def reset(self):
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 3)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    def handshakes(self, idle, stall):
        """From now on the source idles a cycle with probability ``idle`` and the sink
        stalls one with probability ``stall``."""
        rng = self.rng
        self.source.set_pause_generator(iter(lambda: bool(rng.random() < idle), None))
        self.sink.set_pause_generator(iter(lambda: bool(rng.random() < stall), None))

    async def read(self, name):
        reply = await self.lite.read(REGISTER[name].offset, 4)
        assert reply.resp == OKAY, f"read {name}: {reply.resp}"
        return int.from_bytes(reply.data, "little")

    async def write(self, name, value, resp=OKAY):
        reply = await self.lite.write(REGISTER[name].offset, value.to_bytes(4, "little"))
        assert reply.resp == resp, f"write {name}: {reply.resp}, expected {resp}"


def words(vectors, elem_bits, tdata_bits):
    """Little-endian TDATA bytes of a (beats, elements) integer array: element j of a
    beat at bits [j·elem_bits, (j+1)·elem_bits) of its word, as `rtl.stream` packs it."""
    vectors = np.asarray(vectors, dtype=np.int64).reshape(len(vectors), -1)
    out = bytearray()
    mask = (1 << elem_bits) - 1
    for vector in vectors:
        value = 0
        for j, element in enumerate(vector.tolist()):
            value |= (element & mask) << (j * elem_bits)
        out += value.to_bytes(tdata_bits // 8, "little")
    return bytes(out)


def unwords(data, elements, elem_bits, tdata_bits, signed=False):
    """The inverse of `words`: a (beats, elements) array from TDATA bytes."""
    step = tdata_bits // 8
    if len(data) % step:
        raise ValueError(f"{len(data)} bytes are not whole {tdata_bits}-bit words")
    rows = []
    mask = (1 << elem_bits) - 1
    for n in range(0, len(data), step):
        value = int.from_bytes(data[n : n + step], "little")
        row = [(value >> (j * elem_bits)) & mask for j in range(elements)]
        if signed:
            row = [e - (1 << elem_bits) if e >> (elem_bits - 1) else e for e in row]
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, elements)
