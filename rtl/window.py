"""Sliding-window generator: the im2col front end of a convolution engine."""

from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from .config import LayerConfig
from .stream import beat_signature

__all__ = ["SlidingWindow"]


class SlidingWindow(wiring.Component):
    """K×K windows of a raster stream, zero padded like ``nn.Conv2d(padding=K//2)``.

    Built from a `LayerConfig` (kernel K, stride s, C_in, SIMD, maximum frame size).

    Ports
    -----
    ``i`` (in): one whole pixel per beat (C_in elements), raster order. Its markers are
    not needed (a width converter in front may set them); the geometry comes from:
    ``width``, ``height`` (in): the frame size, 1…max; change them only while the
    generator is empty (the last window of the previous frame has left), since its
    input may already run into the next frame.
    ``o`` (out): for each output pixel in raster order, its window vector of K·K·C_in
    elements in (ky, kx, c) order, c fastest, split into K·K·C_in/SIMD beats of SIMD
    elements (FINN MVAU folding, so SIMD need not divide C_in). Markers: ``first``/
    ``last`` of the output frame, ``eol`` at the end of an output line, ``eop`` on the
    last beat of every window. The output frame is ⌊(W−1)/s⌋+1 × ⌊(H−1)/s⌋+1.

    Structure
    ---------
    K+s line buffers (one `Memory` of ``max_width`` whole pixels each, used as a ring of
    rows), so the input writes the s rows of the next output row while the current one
    is read: a stride-2 layer never idles on alternate rows. A loader reads one column
    of K pixels per cycle into a shadow window (K·K·C_in registers, shifted by a column);
    a full shadow moves at once into the output shift register, which sends it SIMD
    elements per beat while the loader builds the next window.

    Throughput and latency
    ----------------------
    Cycles per output pixel: max(B, s), and max(B, p+1) for the first of a line, where
    B = K·K·C_in/SIMD and p = K//2; the input takes one pixel per cycle, so a frame takes
    about max(W·H, H_out·W_out·B) cycles (``sim.reference.window_cycles`` gives the
    exact stall-free count). An output row starts once its last input row is complete;
    its first beat leaves p+4 cycles later (p+1 column reads, 3 pipeline stages).
    Memory: (K+s)·max_width·C_in elements. Registers: 2·K·K·C_in elements: the price
    of folding SIMD across pixel boundaries. Wide layers (SIMD dividing C_in) would be
    cheaper with FINN's addressed variant, one SIMD-wide memory word per beat.

    ``i.ready`` and ``o`` are driven from registers only.
    """

    def __init__(self, cfg: LayerConfig):
        self.cfg = cfg
        super().__init__({
            "i": In(beat_signature(cfg.in_shape, cfg.c_in)),
            "o": Out(beat_signature(cfg.in_shape, cfg.simd)),
            "width": In(range(1, cfg.max_width + 1)),
            "height": In(range(1, cfg.max_height + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        K, s, p, C = cfg.kernel, cfg.stride, cfg.pad, cfg.c_in
        R = K + s                       # rows in the ring of line buffers
        B = cfg.window_beats
        pixel = data.ArrayLayout(cfg.in_shape, C)
        window = data.ArrayLayout(data.ArrayLayout(pixel, K), K)   # [ky][kx][c]
        ebits = cfg.in_shape.width

        # Rows are numbered globally, across frames, modulo 2**n: the writer's count
        # ``rows_done`` is never more than R rows ahead of ``lo``, the lowest row the
        # loader may still read, so n bits compare them without ambiguity.
        n = bits_for(R)
        rows_done = Signal(n)
        lo = Signal(n, init=(-p) % (1 << n))
        ahead = Signal(n)
        m.d.comb += ahead.eq(rows_done - lo)

        mems = [Memory(shape=pixel, depth=cfg.max_width, init=[]) for _ in range(R)]
        for r, mem in enumerate(mems):
            m.submodules[f"line{r}"] = mem
        wports = [mem.write_port() for mem in mems]
        rports = [mem.read_port() for mem in mems]

        # --- writer: one pixel per cycle into the ring slot of its row --------------
        wx = Signal(range(cfg.max_width))
        wslot = Signal(range(R))
        m.d.comb += self.i.ready.eq(ahead < R)
        accept = self.i.valid & self.i.ready
        for r, wp in enumerate(wports):
            m.d.comb += [wp.addr.eq(wx), wp.data.eq(self.i.payload.data),
                         wp.en.eq(accept & (wslot == r))]
        with m.If(accept):
            with m.If(wx == self.width - 1):
                m.d.sync += [wx.eq(0), rows_done.eq(rows_done + 1),
                             wslot.eq(Mux(wslot == R - 1, 0, wslot + 1))]
            with m.Else():
                m.d.sync += wx.eq(wx + 1)

        # --- loader, stage 0: issue the read of one column --------------------------
        lo_rel = Signal(range(-p, cfg.max_height + 1), init=-p)   # row of ky=0 in frame
        lslot = Signal(range(R), init=(-p) % R)                   # its ring slot
        cx = Signal(range(cfg.max_width + p + 1))                 # column to read
        centre = Signal(range(cfg.max_width + s))                 # ox·s
        row_start = Signal(init=1)
        last_in_row = centre + s >= self.width
        last_row = lo_rel + (p + s) >= self.height
        rows_needed = Mux(self.height - lo_rel < K, self.height - lo_rel, K)
        complete = cx == centre + p

        # Stage 1 (the read ports' registers) and stage 2 (the shadow window) hand on
        # with stalls; the read ports hold their data while stage 1 waits.
        s1_valid = Signal()
        s1_clear = Signal()
        s1_complete = Signal()
        s1_col_ok = Signal()
        s1_row_ok = Signal(K)
        s1_sel = [Signal(range(R), name=f"s1_sel{ky}") for ky in range(K)]
        s1_marks = Signal(3)            # first, eol, last of the pixel being completed
        shadow = Signal(window)
        full = Signal()
        marks = Signal(3)
        act = Signal(window.size)
        act_valid = Signal()
        act_marks = Signal(3)
        beat = Signal(range(B))
        last_beat = beat == B - 1
        transfer = full & (~act_valid | (self.o.ready & last_beat))
        move12 = s1_valid & (~full | transfer)
        advance1 = ~s1_valid | move12
        issue = advance1 & (ahead >= rows_needed)

        for rp in rports:
            m.d.comb += [rp.addr.eq(cx), rp.en.eq(advance1)]
        with m.If(advance1):
            m.d.sync += [
                s1_valid.eq(issue),
                s1_clear.eq(row_start),
                s1_complete.eq(complete),
                s1_col_ok.eq(cx < self.width),
                s1_marks.eq(Cat((lo_rel == -p) & (centre == 0), last_in_row,
                                last_in_row & last_row)),
            ]
            for ky in range(K):
                m.d.sync += [
                    s1_row_ok[ky].eq((lo_rel + ky >= 0) & (lo_rel + ky < self.height)),
                    s1_sel[ky].eq(Mux(lslot + ky >= R, lslot + ky - R, lslot + ky)),
                ]
        with m.If(issue):
            m.d.sync += row_start.eq(0)
            with m.If(complete & last_in_row):
                # Next output row (or the next frame's first): the ring moves on by
                # the rows this one no longer needs, which frees them for the writer.
                step = Mux(last_row, self.height - p - lo_rel, s)
                m.d.sync += [
                    cx.eq(0), centre.eq(0), row_start.eq(1),
                    lo_rel.eq(Mux(last_row, -p, lo_rel + s)),
                    lo.eq(lo + step),
                    lslot.eq(Mux(lslot + step >= R, lslot + step - R, lslot + step)),
                ]
            with m.Else():
                m.d.sync += cx.eq(cx + 1)
                with m.If(complete):
                    m.d.sync += centre.eq(centre + s)

        # --- stage 2: shift the column into the shadow window -----------------------
        column = [Signal(pixel, name=f"column{ky}") for ky in range(K)]
        for ky in range(K):
            with m.Switch(s1_sel[ky]):
                for r, rp in enumerate(rports):
                    with m.Case(r):
                        m.d.comb += column[ky].eq(rp.data)
            with m.If(~(s1_row_ok[ky] & s1_col_ok)):
                m.d.comb += column[ky].eq(0)
        base = Signal(window)
        m.d.comb += base.eq(Mux(s1_clear, 0, shadow))
        with m.If(move12):
            for ky in range(K):
                for kx in range(K - 1):
                    m.d.sync += shadow[ky][kx].eq(base[ky][kx + 1])
                m.d.sync += shadow[ky][K - 1].eq(column[ky])
            with m.If(s1_complete):
                m.d.sync += marks.eq(s1_marks)

        # --- output: a shift register sends the window SIMD elements per beat -------
        with m.If(transfer):
            m.d.sync += full.eq(0)
        with m.If(move12 & s1_complete):
            m.d.sync += full.eq(1)
        with m.If(transfer):
            m.d.sync += [act.eq(shadow), act_valid.eq(1), act_marks.eq(marks), beat.eq(0)]
        with m.Elif(self.o.valid & self.o.ready):
            m.d.sync += [act.eq(act >> (cfg.simd * ebits)), beat.eq(beat + 1)]
            with m.If(last_beat):
                m.d.sync += act_valid.eq(0)
        m.d.comb += [
            self.o.valid.eq(act_valid),
            self.o.payload.data.eq(act[:cfg.simd * ebits]),
            self.o.payload.first.eq(act_marks[0] & (beat == 0)),
            self.o.payload.eol.eq(act_marks[1] & last_beat),
            self.o.payload.last.eq(act_marks[2] & last_beat),
            self.o.payload.eop.eq(last_beat),
        ]
        return m
