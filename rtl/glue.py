"""Glue between engines: skid buffer, FIFO, |x|, SIMD width converter.

Every block has registered outputs and no combinational path from its output
``ready`` to its input ``ready``, so long chains of engines keep short timing paths.
"""

from amaranth import Module, Mux, Signal
from amaranth.hdl import Shape, unsigned
from amaranth.lib import data, fifo, stream, wiring
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
    """`SyncFIFOBuffered` of ``depth`` beats carrying a stream payload.

    Ports: ``i`` (in), ``o`` (out), ``stream.Signature(shape)``.
    Latency: 1 cycle when empty. Throughput: one beat per cycle from ``depth`` = 3 on
    (at 2, the inner one-entry FIFO cannot be written while it is read, so beats
    alternate with bubbles). Its ready is the FIFO's (registered) fullness, its output
    the FIFO's output register.
    """

    def __init__(self, shape, depth):
        self._shape = shape
        self._depth = depth
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = buf = fifo.SyncFIFOBuffered(width=Shape.cast(self._shape).width, depth=self._depth)
        m.d.comb += [
            buf.w_data.eq(self.i.payload),
            buf.w_en.eq(self.i.valid),
            self.i.ready.eq(buf.w_rdy),
            self.o.payload.eq(buf.r_data),
            self.o.valid.eq(buf.r_rdy),
            buf.r_en.eq(self.o.ready),
        ]
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
            magnitude = abs(self.i.payload.data[j])  # unsigned(in_bits): never wraps
            m.d.comb += skid.i.payload.data[j].eq(Mux(magnitude > top, top, magnitude))
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
            at_last = count == k - 1
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
                m.d.sync += count.eq(Mux(at_last, 0, count + 1))
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
            at_last = count == k - 1
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
                m.d.sync += count.eq(Mux(at_last, 0, count + 1))
                with m.If(at_last):
                    m.d.sync += hold_valid.eq(0)
            with m.If(i.valid & i.ready):
                m.d.sync += [hold.eq(i.payload), hold_valid.eq(1)]
        return m
