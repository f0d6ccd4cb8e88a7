"""Glue between engines: skid buffer, FIFO, |x|, SIMD width converter.

Every block has registered outputs and no combinational path from its output
``ready`` to its input ``ready``, so long chains of engines keep short timing paths.
"""

from amaranth import Module, Mux, Signal
from amaranth.hdl import Shape, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .stream import MARKERS, beat_signature

__all__ = ["SkidBuffer", "StreamFIFO", "Abs", "WidthConverter"]


class SkidBuffer(wiring.Component):
    """Two-entry register slice that breaks both the data and the ready path.

    Ports: ``i`` (in) and ``o`` (out), ``stream.Signature(shape)``.
    Latency: 1 cycle. Throughput: one beat per cycle. ``o.payload``/``o.valid`` and
    ``i.ready`` are driven from flip-flops only.
    """

    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        # The skid register catches the beat accepted in the cycle where the output
        # stalled: i.ready is then a flop (skid empty) instead of o.ready.
        skid = Signal.like(self.i.payload)
        skid_valid = Signal()
        m.d.comb += self.i.ready.eq(~skid_valid)
        with m.If(self.o.ready | ~self.o.valid):
            with m.If(skid_valid):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        with m.Elif(self.i.valid & ~skid_valid):
            m.d.sync += [skid.eq(self.i.payload), skid_valid.eq(1)]
        return m


class StreamFIFO(wiring.Component):
    """A FIFO of ``depth`` beats carrying a stream payload: `SyncFIFOBuffered`'s structure
    (a memory of ``depth`` − 1 words read into an output register) with its fullness and
    emptiness kept in registers.

    Ports: ``i`` (in), ``o`` (out), ``stream.Signature(shape)``.
    Latency: 1 cycle when empty. Throughput: one beat per cycle from ``depth`` = 3 on
    (at 2, the inner one-entry FIFO cannot be written while it is read, so beats
    alternate with bubbles). Its ready is a register (the memory not full), its output
    the output register; the memory's read and write decisions take registered flags
    (set a cycle ahead from the level and the cycle's reads and writes), not a
    comparison of the level.
    """

    def __init__(self, shape, depth):
        self._shape = shape
        self._depth = depth
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        width = Shape.cast(self._shape).width
        if self._depth < 2:
            m.submodules.fifo = buf = fifo.SyncFIFOBuffered(width=width, depth=self._depth)
            m.d.comb += [
                buf.w_data.eq(self.i.payload),
                buf.w_en.eq(self.i.valid),
                self.i.ready.eq(buf.w_rdy),
                self.o.payload.eq(buf.r_data),
                self.o.valid.eq(buf.r_rdy),
                buf.r_en.eq(self.o.ready),
            ]
            return m
        inner = self._depth - 1
        m.submodules.storage = storage = Memory(shape=width, depth=inner, init=[])
        wp, rp = storage.write_port(), storage.read_port()
        level = Signal(range(inner + 1))
        full = Signal()  # level = inner
        empty = Signal(init=1)  # level = 0
        produce = Signal(range(inner))
        consume = Signal(range(inner))
        do_write = self.i.valid & ~full
        do_read = ~empty & (~self.o.valid | self.o.ready)
        m.d.comb += [
            self.i.ready.eq(~full),
            wp.addr.eq(produce),
            wp.data.eq(self.i.payload),
            wp.en.eq(do_write),
            rp.addr.eq(consume),
            rp.en.eq(do_read),
            self.o.payload.eq(rp.data),
        ]
        with m.If(do_write):
            m.d.sync += produce.eq(Mux(produce == inner - 1, 0, produce + 1))
        with m.If(do_read):
            m.d.sync += [consume.eq(Mux(consume == inner - 1, 0, consume + 1)), self.o.valid.eq(1)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(do_write & ~do_read):
            m.d.sync += [level.eq(level + 1), full.eq(level == inner - 1), empty.eq(0)]
        with m.If(do_read & ~do_write):
            m.d.sync += [level.eq(level - 1), full.eq(0), empty.eq(level == 1)]
        return m


class Abs(wiring.Component):
    """Element-wise saturated |x|: the input of the hyper-analysis h_a.

    Computes ``saturate(absolute(x), out_bits, signed=False)`` of `model.intops`
    (h_a reads min(|ŷ|, 255) of the int16 ŷ).

    Ports: ``i`` (in), beats of ``signed(in_bits)``; ``o`` (out), beats of
    ``unsigned(out_bits)``. Markers pass through.
    Latency: 1 cycle (a skid buffer). Throughput: one beat per cycle.
    """

    def __init__(self, in_bits, out_bits, simd):
        self._in_bits = in_bits
        self._out_bits = out_bits
        self._simd = simd
        super().__init__(
            {
                "i": In(beat_signature(Shape(in_bits, signed=True), simd)),
                "o": Out(beat_signature(unsigned(out_bits), simd)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.skid = skid = SkidBuffer(self.o.payload.shape())
        m.d.comb += [skid.i.valid.eq(self.i.valid), self.i.ready.eq(skid.i.ready)]
        top = (1 << self._out_bits) - 1
        for j in range(self._simd):
            # |x| > top is x > top or x < −top, compared on x itself, and below top |x|
            # needs only its low out_bits bits: no full-width negation before a comparison.
            x = self.i.payload.data[j]
            low = Mux(x < 0, -x, x)[: self._out_bits]
            m.d.comb += skid.i.payload.data[j].eq(Mux((x > top) | (x < -top), top, low))
        for name in MARKERS:
            m.d.comb += getattr(skid.i.payload, name).eq(getattr(self.i.payload, name))
        wiring.connect(m, skid.o, wiring.flipped(self.o))
        return m


class WidthConverter(wiring.Component):
    """Re-folds a stream from ``simd_in`` to ``simd_out`` elements per beat.

    One of the two must divide the other; a pixel's vector must be a multiple of the
    larger one, so that no beat straddles two pixels. Gathering (``simd_out = k·simd_in``)
    packs k beats into one; scattering (``simd_in = k·simd_out``) splits one into k.
    ``first`` goes with the first part, ``last``/``eol``/``eop`` with the last.

    Ports: ``i`` (in), ``o`` (out), beats of ``shape``.
    Latency: 1 cycle after the last input part. Throughput: one beat per cycle on the
    narrower side.
    """

    def __init__(self, shape, simd_in, simd_out):
        if simd_in % simd_out and simd_out % simd_in:
            raise ValueError(f"SIMD {simd_in} → {simd_out}: neither divides the other")
        self._shape = Shape.cast(shape)
        self._simd_in = simd_in
        self._simd_out = simd_out
        super().__init__(
            {
                "i": In(beat_signature(shape, simd_in)),
                "o": Out(beat_signature(shape, simd_out)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.skid = skid = SkidBuffer(self.o.payload.shape())
        wiring.connect(m, skid.o, wiring.flipped(self.o))
        i, s = self.i, skid.i
        if self._simd_out >= self._simd_in:
            k = self._simd_out // self._simd_in
            parts = [Signal.like(i.payload.data, name=f"part{n}") for n in range(k - 1)]
            first = Signal()
            count = Signal(range(k))
            at_last = Signal(init=int(k == 1))  # count = k − 1, set a beat ahead
            m.d.comb += [
                i.ready.eq(~at_last | s.ready),
                s.valid.eq(at_last & i.valid),
                s.payload.first.eq(first if k > 1 else i.payload.first),
                s.payload.last.eq(i.payload.last),
                s.payload.eol.eq(i.payload.eol),
                s.payload.eop.eq(i.payload.eop),
            ]
            for n in range(k):
                src = parts[n] if n < k - 1 else i.payload.data
                for j in range(self._simd_in):
                    m.d.comb += s.payload.data[n * self._simd_in + j].eq(src[j])
            with m.If(i.valid & i.ready):
                m.d.sync += [count.eq(Mux(at_last, 0, count + 1)), at_last.eq(Mux(at_last, k == 1, count == k - 2))]
                for n in range(k - 1):
                    with m.If(count == n):
                        m.d.sync += parts[n].eq(i.payload.data)
                with m.If(count == 0):
                    m.d.sync += first.eq(i.payload.first)
        else:
            k = self._simd_in // self._simd_out
            hold = Signal.like(i.payload)
            hold_valid = Signal()
            count = Signal(range(k))
            at_last = Signal(init=int(k == 1))  # count = k − 1, set a beat ahead
            chunks = data.ArrayLayout(data.ArrayLayout(self._shape, self._simd_out), k)
            m.d.comb += [
                i.ready.eq(~hold_valid | (at_last & s.ready)),
                s.valid.eq(hold_valid),
                s.payload.data.eq(chunks(hold.data)[count]),
                s.payload.first.eq(hold.first & (count == 0)),
                s.payload.last.eq(hold.last & at_last),
                s.payload.eol.eq(hold.eol & at_last),
                s.payload.eop.eq(hold.eop & at_last),
            ]
            with m.If(s.valid & s.ready):
                m.d.sync += [count.eq(Mux(at_last, 0, count + 1)), at_last.eq(Mux(at_last, k == 1, count == k - 2))]
                with m.If(at_last):
                    m.d.sync += hold_valid.eq(0)
            with m.If(i.valid & i.ready):
                m.d.sync += [hold.eq(i.payload), hold_valid.eq(1)]
        return m
