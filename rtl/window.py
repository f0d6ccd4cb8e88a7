"""Sliding-window generators: the im2col front end of a convolution engine."""

from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from .config import LayerConfig
from .glue import SkidBuffer
from .stream import beat_signature

__all__ = ["SlidingWindow", "AddressedWindow"]


class _RowRing:
    """Bookkeeping of a ring of K+s line buffers shared by a writer and a reader.

    Rows are numbered globally, across frames, modulo 2**n: the writer's count
    ``rows_done`` is never more than R = K+s rows ahead of ``lo``, the lowest row the
    reader may still read, so n bits compare them without ambiguity. The reader starts
    an output row once all the input rows it needs are complete (``can_read``); the
    writer may write a row while it is fewer than R rows ahead (``can_write``), so it
    fills the s rows of the next output row while the current one is read.
    """

    def __init__(self, m, cfg, width, height):
        K, s, p = cfg.kernel, cfg.stride, cfg.pad
        self.R = R = cfg.line_buffer_rows
        self._cfg = cfg
        n = bits_for(R)
        self.rows_done = Signal(n)
        self.lo = Signal(n, init=(-p) % (1 << n))
        ahead = Signal(n)
        m.d.comb += ahead.eq(self.rows_done - self.lo)
        self.lo_rel = Signal(range(-p, cfg.max_height + 1), init=-p)  # row of ky=0 in frame
        self.lslot = Signal(range(R), init=(-p) % R)  # its ring slot
        # ``rest`` = height − p − lo_rel, the frame's rows from the window's top row on,
        # and ``last_row`` (rest ≤ s: the output row is the frame's last) are kept in
        # registers from one output row to the next, so no subtraction from ``height``
        # precedes the reader's decisions; on a frame's top row (``top``) they come
        # from ``height`` itself, which may change between frames.
        self.top = Signal(init=1)
        self._rest = Signal(range(cfg.max_height + 1))
        self._last = Signal()
        self.rest = Mux(self.top, height, self._rest)
        self.last_row = Mux(self.top, height <= s, self._last)
        rows_needed = Mux(self.rest < K - p, self.rest + p, K)
        self.can_write = ahead < R
        self.can_read = ahead >= rows_needed
        self.centre = Signal(range(cfg.max_width + s))  # ox·s
        # centre + s and centre + p kept beside it: comparisons without an adder.
        self.next_centre = Signal(range(s, cfg.max_width + 2 * s), init=s)
        self.centre_p = Signal(range(p, cfg.max_width + s + p), init=p)
        self.last_in_row = self.next_centre >= width
        self.first_pixel = self.top & (self.centre == 0)
        # At a line end the ring moves on by the rows the next output row no longer
        # needs: s, or the rest of the frame (1…s) after its last row.
        self.step = Mux(self.last_row, self.rest[: bits_for(s)], s)
        moved = self.lslot + self.step
        self.lslot_next = Mux(moved >= R, moved - R, moved)  # the slot lslot takes then

    def row_written(self, m):
        m.d.sync += self.rows_done.eq(self.rows_done + 1)

    def next_pixel(self, m):
        """The reader is done with a pixel; at a line end it moves to the next output row
        (or the next frame's first), and the ring moves on by the rows that row no
        longer needs (``step``), which frees them for the writer. Returns whether
        this pixel ends its line."""
        s, p = self._cfg.stride, self._cfg.pad
        with m.If(self.last_in_row):
            m.d.sync += [
                self.centre.eq(0),
                self.next_centre.eq(s),
                self.centre_p.eq(p),
                self.lo_rel.eq(Mux(self.last_row, -p, self.lo_rel + s)),
                self.lo.eq(self.lo + self.step),
                self.lslot.eq(self.lslot_next),
                self.top.eq(self.last_row),
                self._rest.eq(self.rest - s),
                self._last.eq(self.rest <= 2 * s),
            ]
        with m.Else():
            m.d.sync += [
                self.centre.eq(self.next_centre),
                self.next_centre.eq(self.next_centre + s),
                self.centre_p.eq(self.centre_p + s),
            ]
        return self.last_in_row


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
    of folding SIMD across pixel boundaries. Where SIMD divides C_in (the wide layers),
    `AddressedWindow` does the same with counters only.

    ``i.ready`` and ``o`` are driven from registers only.
    """

    def __init__(self, cfg: LayerConfig):
        self.cfg = cfg
        super().__init__(
            {
                "i": In(beat_signature(cfg.in_shape, cfg.c_in)),
                "o": Out(beat_signature(cfg.in_shape, cfg.simd)),
                "width": In(range(1, cfg.max_width + 1)),
                "height": In(range(1, cfg.max_height + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        K, p, C = cfg.kernel, cfg.pad, cfg.c_in
        B = cfg.window_beats
        pixel = data.ArrayLayout(cfg.in_shape, C)
        window = data.ArrayLayout(data.ArrayLayout(pixel, K), K)  # [ky][kx][c]
        ebits = cfg.in_shape.width

        ring = _RowRing(m, cfg, self.width, self.height)
        R = ring.R

        mems = [Memory(shape=pixel, depth=cfg.max_width, init=[]) for _ in range(R)]
        for r, mem in enumerate(mems):
            m.submodules[f"line{r}"] = mem
        wports = [mem.write_port() for mem in mems]
        rports = [mem.read_port() for mem in mems]

        # --- writer: one pixel per cycle into the ring slot of its row --------------
        # (``wx1`` = wx + 1 beside it: the row's end is an equality, not a subtraction.)
        wx = Signal(range(cfg.max_width))
        wx1 = Signal(range(1, cfg.max_width + 1), init=1)
        wslot = Signal(range(R))
        m.d.comb += self.i.ready.eq(ring.can_write)
        accept = self.i.valid & self.i.ready
        for r, wp in enumerate(wports):
            m.d.comb += [wp.addr.eq(wx), wp.data.eq(self.i.payload.data), wp.en.eq(accept & (wslot == r))]
        with m.If(accept):
            with m.If(wx1 == self.width):
                m.d.sync += [wx.eq(0), wx1.eq(1), wslot.eq(Mux(wslot == R - 1, 0, wslot + 1))]
                ring.row_written(m)
            with m.Else():
                m.d.sync += [wx.eq(wx1), wx1.eq(wx1 + 1)]

        # --- loader, stage 0: issue the read of one column --------------------------
        lo_rel, lslot = ring.lo_rel, ring.lslot
        cx = Signal(range(cfg.max_width + p + 1))  # column to read
        row_start = Signal(init=1)
        complete = cx == ring.centre_p

        # Stage 1 (the read ports' registers) and stage 2 (the shadow window) hand on
        # with stalls; the read ports hold their data while stage 1 waits.
        s1_valid = Signal()
        s1_clear = Signal()
        s1_complete = Signal()
        s1_col_ok = Signal()
        s1_row_ok = Signal(K)
        s1_sel = [Signal(range(R), name=f"s1_sel{ky}") for ky in range(K)]
        s1_marks = Signal(3)  # first, eol, last of the pixel being completed
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
        issue = advance1 & ring.can_read

        for rp in rports:
            m.d.comb += [rp.addr.eq(cx), rp.en.eq(advance1)]
        with m.If(advance1):
            m.d.sync += [
                s1_valid.eq(issue),
                s1_clear.eq(row_start),
                s1_complete.eq(complete),
                s1_col_ok.eq(cx < self.width),
                s1_marks.eq(Cat(ring.first_pixel, ring.last_in_row, ring.last_in_row & ring.last_row)),
            ]
            for ky in range(K):
                m.d.sync += [
                    s1_row_ok[ky].eq((lo_rel + ky >= 0) & (lo_rel + ky < self.height)),
                    s1_sel[ky].eq(Mux(lslot + ky >= R, lslot + ky - R, lslot + ky)),
                ]
        with m.If(issue):
            m.d.sync += [row_start.eq(0), cx.eq(cx + 1)]
            with m.If(complete):
                line_end = ring.next_pixel(m)
                with m.If(line_end):
                    m.d.sync += [cx.eq(0), row_start.eq(1)]

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
            self.o.payload.data.eq(act[: cfg.simd * ebits]),
            self.o.payload.first.eq(act_marks[0] & (beat == 0)),
            self.o.payload.eol.eq(act_marks[1] & last_beat),
            self.o.payload.last.eq(act_marks[2] & last_beat),
            self.o.payload.eop.eq(last_beat),
        ]
        return m


class AddressedWindow(wiring.Component):
    """K×K windows like `SlidingWindow`, read word by word from the line buffers (FINN's
    ConvolutionInputGenerator): for layers whose SIMD divides C_in.

    Built from a `LayerConfig` with SIMD dividing C_in; G = C_in/SIMD.

    Ports
    -----
    ``i`` (in): pixels in raster order, G beats of SIMD channels each (its markers are
    not needed). ``width``, ``height``: as in `SlidingWindow`. ``o`` (out): the same
    window vectors and markers as `SlidingWindow`, K·K·G beats per window.

    Structure
    ---------
    One `Memory` of (K+s)·max_width·G words of SIMD elements, a ring of K+s rows as in
    `SlidingWindow`; each output beat is one word read (a zero where the window leaves
    the frame), so the only registers are counters and a skid buffer.

    Throughput and latency
    ----------------------
    One output beat per cycle, K·K·G cycles per output pixel, without gaps at line
    starts; the input takes a beat per cycle, s²·G per output pixel at most, so the
    output sets the pace. An output row starts once its last input row is complete; its
    first beat leaves 3 cycles later. ``i.ready`` and ``o`` are driven from registers.
    """

    def __init__(self, cfg: LayerConfig):
        if not cfg.addressed(cfg.simd):
            raise ValueError(
                f"SIMD={cfg.simd} does not divide C_in={cfg.c_in}: SlidingWindow folds windows across pixels"
            )
        self.cfg = cfg
        super().__init__(
            {
                "i": In(beat_signature(cfg.in_shape, cfg.simd)),
                "o": Out(beat_signature(cfg.in_shape, cfg.simd)),
                "width": In(range(1, cfg.max_width + 1)),
                "height": In(range(1, cfg.max_height + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        K, s, p = cfg.kernel, cfg.stride, cfg.pad
        G = cfg.c_in // cfg.simd
        WG = cfg.max_width * G  # words per line buffer
        ring = _RowRing(m, cfg, self.width, self.height)
        R = ring.R
        word = data.ArrayLayout(cfg.in_shape, cfg.simd)
        _, depth, _ = cfg.line_buffers(cfg.max_width, cfg.simd)
        m.submodules.lines = mem = Memory(shape=word, depth=depth, init=[])
        wp = mem.write_port()
        rp = mem.read_port()

        # --- writer: a word per cycle; a row is WG words from its slot's base --------
        # (A row ends at the last word of its pixel ``wx1`` = width: pixel and word
        # counters rather than width·G, which would take a multiplier.)
        wbase = Signal(range(R * WG))
        wofs = Signal(range(WG))
        wg = Signal(range(G))
        wx1 = Signal(range(1, cfg.max_width + 1), init=1)
        m.d.comb += [
            self.i.ready.eq(ring.can_write),
            wp.addr.eq(wbase + wofs),
            wp.data.eq(self.i.payload.data),
            wp.en.eq(self.i.valid & self.i.ready),
        ]
        with m.If(wp.en):
            m.d.sync += [wofs.eq(wofs + 1), wg.eq(wg + 1)]
            with m.If(wg == G - 1):
                m.d.sync += [wg.eq(0), wx1.eq(wx1 + 1)]
                with m.If(wx1 == self.width):
                    m.d.sync += [wofs.eq(0), wx1.eq(1), wbase.eq(Mux(wbase == (R - 1) * WG, 0, wbase + WG))]
                    ring.row_written(m)

        # --- reader, stage 0: one word address per cycle ---------------------------
        # (ky, kx, g) walk the window; ``col`` = x0 + kx and ``ofs`` = col·G + g follow
        # them by increments (``xg`` = x0·G), ``rslot`` is the ring slot of row ky and
        # ``rbase`` its first word, from a table: no multiplier in the address path.
        ky = Signal(range(K))
        kx = Signal(range(K))
        g = Signal(range(G))
        x0 = Signal(range(-p, cfg.max_width + s), init=-p)
        xg = Signal(range(-p * G, (cfg.max_width + s) * G), init=-p * G)
        col = Signal(range(-p, cfg.max_width + s + K), init=-p)
        ofs = Signal(range(-p * G, (cfg.max_width + s + K) * G), init=-p * G)
        rslot = Signal(range(R), init=(-p) % R)
        rbase = Signal(range(R * WG))
        m.d.comb += rbase.eq(Array(Const(k * WG, range(R * WG)) for k in range(R))[rslot])
        row = ring.lo_rel + ky
        in_frame = (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)
        end_g, end_kx, end_ky = g == G - 1, kx == K - 1, ky == K - 1
        end_window = end_g & end_kx & end_ky

        # Stage 1: the read port's register, held while the skid buffer is full.
        m.submodules.skid = skid = SkidBuffer(self.o.payload.shape())
        wiring.connect(m, skid.o, wiring.flipped(self.o))
        s1_valid = Signal()
        s1_zero = Signal()
        s1_first, s1_eop, s1_eol, s1_last = Signal(), Signal(), Signal(), Signal()
        advance = ~s1_valid | skid.i.ready
        issue = advance & ring.can_read
        m.d.comb += [
            rp.addr.eq(rbase + ofs),
            rp.en.eq(advance),
            skid.i.valid.eq(s1_valid),
            skid.i.payload.data.eq(Mux(s1_zero, 0, rp.data)),
            skid.i.payload.first.eq(s1_first),
            skid.i.payload.eop.eq(s1_eop),
            skid.i.payload.eol.eq(s1_eol),
            skid.i.payload.last.eq(s1_last),
        ]
        with m.If(advance):
            m.d.sync += [
                s1_valid.eq(issue),
                s1_zero.eq(~in_frame),
                s1_first.eq(ring.first_pixel & (ky == 0) & (kx == 0) & (g == 0)),
                s1_eop.eq(end_window),
                s1_eol.eq(end_window & ring.last_in_row),
                s1_last.eq(end_window & ring.last_in_row & ring.last_row),
            ]

        with m.If(issue):
            m.d.sync += [g.eq(g + 1), ofs.eq(ofs + 1)]
            with m.If(end_g):
                m.d.sync += [g.eq(0), kx.eq(kx + 1), col.eq(col + 1)]
                with m.If(end_kx):
                    # Next row of the window: back to its first column, next ring slot.
                    m.d.sync += [
                        kx.eq(0),
                        ky.eq(ky + 1),
                        col.eq(x0),
                        ofs.eq(xg),
                        rslot.eq(Mux(rslot == R - 1, 0, rslot + 1)),
                    ]
                    with m.If(end_ky):
                        m.d.sync += [ky.eq(0), rslot.eq(ring.lslot)]
                        line_end = ring.next_pixel(m)
                        with m.If(line_end):
                            m.d.sync += [
                                x0.eq(-p),
                                xg.eq(-p * G),
                                col.eq(-p),
                                ofs.eq(-p * G),
                                rslot.eq(ring.lslot_next),
                            ]
                        with m.Else():
                            m.d.sync += [x0.eq(x0 + s), xg.eq(xg + s * G), col.eq(x0 + s), ofs.eq(xg + s * G)]
        return m
