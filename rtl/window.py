"""Sliding-window generators: the im2col front end of a convolution engine."""

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from .config import LayerConfig
from .glue import SkidBuffer
from .stream import beat_signature

__all__ = ["SlidingWindow", "AddressedWindow"]


def _table(m, fn, inputs, shape, name):
    """``fn`` of the values of ``inputs`` (small registers), as a lookup table over their
    bits: a LUT or two, where the same arithmetic would map to carry chains. A constant
    indexed by a continuous assignment (not a ``case`` block, which Icarus would not run
    while its inputs keep their time-0 values)."""
    sig = Signal(shape, name=name)
    width = sig.shape().width
    shapes = [v.shape() for v in inputs]
    index = Cat(*inputs)
    packed = 0
    for bits in range(1 << len(index)):
        vals, at = [], 0
        for sh in shapes:
            raw = (bits >> at) & ((1 << sh.width) - 1)
            at += sh.width
            vals.append(raw - (1 << sh.width) if sh.signed and raw >> (sh.width - 1) else raw)
        packed |= (int(fn(*vals)) & ((1 << width) - 1)) << (bits * width)
    m.d.comb += sig.eq(Const(packed, width << len(index)).word_select(index, width))
    return sig


class _RowRing:
    """Bookkeeping of a ring of K+s line buffers shared by a writer and a reader.

    The reader starts an output row once all the input rows it needs are complete
    (``can_read``); the writer may write a row while it is fewer than R = K+s rows ahead
    of the lowest row the reader may still read (``can_write``), so it fills the s rows
    of the next output row while the current one is read. ``ahead`` counts those rows
    (p virtual rows of padding above a frame included).

    The generator drives two events: ``written`` (the writer completes a row) and
    ``pixel_done`` (the reader is done with a pixel; ``line_end`` = ``pixel_done`` &
    ``last_in_row`` then moves it to the next output row, or the next frame's first).

    Timing: everything the reader and the writer decide from is a register, set a cycle
    ahead from the events. ``can_read``, ``can_write`` and ``ahead`` take their next value
    from four candidates (row written or not, row ended or not), each a small sum of
    registers; the output rows are described by registers (``cur``: the current row's
    rest of the frame, whether it is the last, the ring's step after it and the rows it
    needs; ``nxt``: the row after it), the next row's computed while the current one is
    read, so no subtraction from ``height`` or comparison with it precedes a decision.
    On a frame's top row they follow the frame size: ``width`` and ``height`` are read
    through registers (a change takes effect two cycles later; the reader issues nothing
    for two cycles after one). Change them only while the generator is empty.
    """

    def __init__(self, m, cfg, width, height, spaced):
        K, s, p = cfg.kernel, cfg.stride, cfg.pad
        self.R = R = cfg.line_buffer_rows
        self._cfg = cfg
        H = cfg.max_height
        row = data.StructLayout(
            {
                "rest": range(-2 * s, H + 1),
                "last": 1,
                "step": range(s + 1),
                "needed": range(K + 1),
                "nlast": 1,  # the row after is the last
                "nshort": 1,  # the row after needs fewer than K rows
            }
        )
        sb, kb = bits_for(s), bits_for(K)

        def describe(rest, k=0):
            """The output row k·s rows below one whose window starts ``rest`` rows above
            the frame's end: its rest (rest − k·s), whether it is the last (≤ s), the
            ring's step after it (s, or the rest of the frame), the input rows it needs
            (K, fewer near the bottom), and whether the row after it is the last or
            short. Compared on ``rest`` itself, with no adder before a comparison."""
            rest_k = rest - k * s
            return {
                "rest": rest_k[: len(cur.rest)],
                "last": rest <= (k + 1) * s,
                "step": Mux(rest <= (k + 1) * s, rest_k[:sb], s),
                "needed": Mux(rest < K - p + k * s, (rest_k + p)[:kb], K),
                "nlast": rest <= (k + 2) * s,
                "nshort": rest < K - p + (k + 1) * s,
            }

        def after(d):
            """The row after ``d``: the next frame's first after the last, else the one
            s rows down (its flags ``d`` kept)."""
            rest = d.rest - s
            fields = {
                "rest": rest[: len(d.rest)],
                "last": d.nlast,
                "step": Mux(d.nlast, rest[:sb], s),
                "needed": Mux(d.nshort, (rest + p)[:kb], K),
                "nlast": d.rest <= 3 * s,
                "nshort": d.rest < K - p + 2 * s,
            }
            return Mux(d.last, top[0].as_value(), Cat(*(fields[name] for name in row.members)))

        self.cur = cur = Signal(row)
        self.nxt = nxt = Signal(row)
        # The frame's first three rows from ``height``, registered every cycle.
        top = [Signal(row, name=f"frame_row{n}") for n in range(3)]
        for n, sig in enumerate(top):
            m.d.sync += [getattr(sig, name).eq(v) for name, v in describe(height, n).items()]
        w_le_s = Signal(init=1)  # a row's first pixel is its last
        w_ms = Signal(range(-s, cfg.max_width + 1))  # width − s
        m.d.sync += [w_le_s.eq(width <= s), w_ms.eq(width - s)]
        # Two cycles without reads after the frame size changes (or after reset).
        size_r = Signal(Cat(width, height).shape())
        quiet = Signal(range(3))
        changed = Cat(width, height) != size_r
        m.d.sync += size_r.eq(Cat(width, height))
        # (Counting only on a definite ``~changed``: a simulator's unknown size at the
        # start holds the count at 0 rather than running it.)
        with m.If(changed):
            m.d.sync += quiet.eq(0)
        with m.Elif(~changed & (quiet != 2)):
            m.d.sync += quiet.eq(quiet + 1)

        # Events, driven by the generator.
        self.written = Signal()
        self.pixel_done = Signal()

        self.top = Signal(init=1)
        self.lo_rel = Signal(range(-p, H + 1), init=-p)  # row of ky=0 in frame
        self.lslot = Signal(range(R), init=(-p) % R)  # its ring slot
        self.rows_ok = Signal(K)
        self.ahead = ahead = Signal(range(R + 1), init=p)
        # can_write as its complement's register and an inverter: an output that a
        # continuous assignment drives (Icarus runs no ``always @*`` block of a consumer
        # whose inputs keep their time-0 values, and a register's initial value is none).
        self.full = Signal()
        self.can_write = ~self.full
        self.can_read = Signal()

        # Columns: ``next_centre`` = (ox + 1)·s, ``row0``: the row's first pixel,
        # ``last_in_row``: the pixel is its row's last (next_centre ≥ width), set a pixel
        # ahead from next_centre ≥ width − s.
        self.next_centre = Signal(range(s, cfg.max_width + 2 * s), init=s)
        self.row0 = Signal(init=1)
        self.last_in_row = Signal()
        self.first_pixel = self.top & self.row0
        self.last_row = cur.last
        self.line_end = self.pixel_done & self.last_in_row
        # The slot lslot takes at a line end: a function of lslot and the step alone.
        lslot_next = _table(m, lambda slot, st: (slot + st) % R, [self.lslot, cur.step], range(R), "lslot_next")

        w, e = self.written, self.line_end
        # Four candidates for ahead's next value (a row written or not, a row ended or
        # not), and can_write's and can_read's from each: tables of the few register bits
        # each depends on (no carry chain before the choice).
        need = {0: cur.needed, 1: nxt.needed}
        cands = {}
        for wn in (0, 1):
            for en in (0, 1):
                ins = [ahead, cur.step] if en else [ahead]
                cands[wn, en] = (
                    _table(m, lambda a, st=0, wn=wn: a + wn - st, ins, ahead.shape(), f"ahead_{wn}{en}"),
                    _table(m, lambda a, st=0, wn=wn: a + wn - st < R, ins, 1, f"can_write_{wn}{en}"),
                    _table(
                        m,
                        lambda a, *rest, wn=wn: a + wn - (rest[0] if len(rest) == 2 else 0) >= rest[-1],
                        [*ins, need[en]],
                        1,
                        f"can_read_{wn}{en}",
                    ),
                )

        def pick(i):
            return Mux(w, Mux(e, cands[1, 1][i], cands[1, 0][i]), Mux(e, cands[0, 1][i], cands[0, 0][i]))

        m.d.sync += [
            ahead.eq(pick(0)),
            self.full.eq(~pick(1)),
            self.can_read.eq(pick(2) & ~changed & (quiet != 0)),
        ]

        # The rows: at a line end the next row becomes current and the one after it
        # next; on a frame's top row both follow the frame size.
        # ``rows_ok`` (which of the current row's K window rows lie in the frame:
        # 0 ≤ lo_rel + ky < height) goes with them.
        # What a line end loads (the row after nxt, the next row's lo_rel, ring slot and
        # rows_ok) is computed a cycle ahead into registers where line ends are at least
        # two cycles apart (``spaced``: a window of two beats or more, or p + 1 column
        # reads before a row's first pixel): it depends on registers that change only at
        # a line end (or while the frame size settles), so no comparison or adder of it
        # follows the line-end decision. Otherwise it is computed in the same cycle.
        rows_ok_next = Cat(Mux(cur.last, ky >= p, self.lo_rel >= -ky - s) & (nxt.rest > ky - p) for ky in range(K))
        loads = {
            "lo_rel": (self.lo_rel, Mux(cur.last, -p, self.lo_rel + s)),
            "lslot": (self.lslot, lslot_next),
            "rows_ok": (self.rows_ok, rows_ok_next),
            "nxt": (nxt, after(nxt)),
        }
        self.lslot_next = lslot_next
        if spaced:
            for name, (target, value) in loads.items():
                ahead_value = Signal.like(target, name=f"{name}_next_r")
                m.d.sync += ahead_value.eq(value)
                loads[name] = (target, ahead_value)
            self.lslot_next = loads["lslot"][1]
        with m.If(e):
            m.d.sync += [self.top.eq(cur.last), cur.eq(nxt)]
            m.d.sync += [target.eq(value) for target, value in loads.values()]
        with m.Else():
            with m.If(self.top):
                m.d.sync += cur.eq(top[0])
                for ky in range(K):
                    m.d.sync += self.rows_ok[ky].eq((ky >= p) & (top[0].rest > ky - p))
            with m.If(cur.last):
                m.d.sync += nxt.eq(top[0])
            with m.Elif(self.top):
                m.d.sync += nxt.eq(top[1])

        # The columns.
        nc_ge = self.next_centre >= w_ms  # the pixel after this one ends the row
        with m.If(self.pixel_done):
            m.d.sync += [self.row0.eq(self.last_in_row), self.last_in_row.eq(Mux(self.last_in_row, w_le_s, nc_ge))]
            m.d.sync += self.next_centre.eq(Mux(self.last_in_row, s, self.next_centre + s))
        with m.Elif(self.row0):
            m.d.sync += self.last_in_row.eq(w_le_s)


class SlidingWindow(wiring.Component):
    """K×K windows of a raster stream, zero padded like ``nn.Conv2d(padding=K//2)``.

    Built from a `LayerConfig` (kernel K, stride s, C_in, SIMD, maximum frame size).

    Ports
    -----
    ``i`` (in): one whole pixel per beat (C_in elements), raster order. Its markers are
    not needed (a width converter in front may set them); the geometry comes from:
    ``width``, ``height`` (in): the frame size, 1…max; change them only while the
    generator is empty (the last window of the previous frame has left), since its
    input may already run into the next frame. The writer reads ``width`` as it is;
    the reader through registers (`_RowRing`: it issues nothing for two cycles after a
    change).
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
    its first beat leaves p+5 cycles later (p+1 column reads, 3 pipeline stages and the
    output's skid buffer).
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
        K, s, p, C = cfg.kernel, cfg.stride, cfg.pad, cfg.c_in
        B = cfg.window_beats
        pixel = data.ArrayLayout(cfg.in_shape, C)
        window = data.ArrayLayout(data.ArrayLayout(pixel, K), K)  # [ky][kx][c]
        ebits = cfg.in_shape.width

        # Line ends are p + 1 column reads apart at least.
        ring = _RowRing(m, cfg, self.width, self.height, spaced=p >= 1)
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
        row_end = wx1 == self.width
        m.d.comb += ring.written.eq(accept & row_end)
        for r, wp in enumerate(wports):
            m.d.comb += [wp.addr.eq(wx), wp.data.eq(self.i.payload.data), wp.en.eq(accept & (wslot == r))]
        with m.If(accept):
            with m.If(row_end):
                m.d.sync += [wx.eq(0), wx1.eq(1), wslot.eq(Mux(wslot == R - 1, 0, wslot + 1))]
            with m.Else():
                m.d.sync += [wx.eq(wx1), wx1.eq(wx1 + 1)]

        # --- loader, stage 0: issue the read of one column --------------------------
        lslot = ring.lslot
        cx = Signal(range(cfg.max_width + p + 1))  # column to read
        row_start = Signal(init=1)
        # ``complete`` (cx = centre + p: the column completes the window) as a flag set a
        # cycle ahead, from cx and ``cpm1`` = centre + p − 1 kept beside it.
        complete = Signal(init=int(p == 0))
        cpm1 = Signal(range(p - 1, cfg.max_width + s + p), init=p - 1)

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
        last_beat = Signal(init=int(B == 1))  # beat = B − 1, set a beat ahead
        # The output leaves through a skid buffer, so that its ready (a register) is all
        # the loader's decisions see of the consumer.
        m.submodules.skid = skid = SkidBuffer(self.o.payload.shape())
        wiring.connect(m, skid.o, wiring.flipped(self.o))
        transfer = full & (~act_valid | (skid.i.ready & last_beat))
        move12 = s1_valid & (~full | transfer)
        advance1 = ~s1_valid | move12
        issue = advance1 & ring.can_read
        m.d.comb += ring.pixel_done.eq(issue & complete)

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
                    s1_row_ok[ky].eq(ring.rows_ok[ky]),
                    s1_sel[ky].eq(Mux(lslot + ky >= R, lslot + ky - R, lslot + ky)),
                ]
        with m.If(issue):
            m.d.sync += [row_start.eq(0), cx.eq(cx + 1), complete.eq(cx == cpm1)]
            with m.If(complete):
                # The next window's last column is s on (complete again at once iff s = 1).
                m.d.sync += [complete.eq(s == 1), cpm1.eq(cpm1 + s)]
                with m.If(ring.last_in_row):
                    m.d.sync += [cx.eq(0), row_start.eq(1), complete.eq(p == 0), cpm1.eq(p - 1)]

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
            m.d.sync += [
                act.eq(shadow),
                act_valid.eq(1),
                act_marks.eq(marks),
                beat.eq(0),
                last_beat.eq(B == 1),
            ]
        with m.Elif(act_valid & skid.i.ready):
            m.d.sync += [
                act.eq(act >> (cfg.simd * ebits)),
                beat.eq(beat + 1),
                last_beat.eq(beat == B - 2 if B > 1 else 1),
            ]
            with m.If(last_beat):
                m.d.sync += act_valid.eq(0)
        m.d.comb += [
            skid.i.valid.eq(act_valid),
            skid.i.payload.data.eq(act[: cfg.simd * ebits]),
            skid.i.payload.first.eq(act_marks[0] & (beat == 0)),
            skid.i.payload.eol.eq(act_marks[1] & last_beat),
            skid.i.payload.last.eq(act_marks[2] & last_beat),
            skid.i.payload.eop.eq(last_beat),
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
        # Line ends are a window's K·K·G beats apart at least.
        ring = _RowRing(m, cfg, self.width, self.height, spaced=K * K * G >= 2)
        R = ring.R
        word = data.ArrayLayout(cfg.in_shape, cfg.simd)
        _, depth, _ = cfg.line_buffers(cfg.max_width, cfg.simd)
        m.submodules.lines = mem = Memory(shape=word, depth=depth, init=[])
        wp = mem.write_port()
        rp = mem.read_port()

        # --- writer: a word per cycle; a row is WG words from its slot's base --------
        # (A row ends at the last word of its pixel ``wx1`` = width: pixel and word
        # counters rather than width·G, which would take a multiplier; the next slot's
        # base from a table of the slot.)
        wslot = Signal(range(R))
        wbase = Signal(range(R * WG))
        wofs = Signal(range(WG))
        wg = Signal(range(G))
        wx1 = Signal(range(1, cfg.max_width + 1), init=1)
        wbase_next = _table(m, lambda k: (k + 1) % R * WG, [wslot], range(R * WG), "wbase_next")
        accept = self.i.valid & ring.can_write
        pixel_end = Signal(init=int(G == 1))  # wg = G − 1, set a beat ahead
        row_end = pixel_end & (wx1 == self.width)
        m.d.comb += [
            self.i.ready.eq(ring.can_write),
            wp.addr.eq(wbase + wofs),
            wp.data.eq(self.i.payload.data),
            wp.en.eq(accept),
            ring.written.eq(accept & row_end),
        ]
        with m.If(accept):
            m.d.sync += [wofs.eq(wofs + 1), wg.eq(wg + 1), pixel_end.eq(Mux(pixel_end, G == 1, wg == G - 2))]
            with m.If(pixel_end):
                m.d.sync += [wg.eq(0), wx1.eq(wx1 + 1)]
                with m.If(wx1 == self.width):
                    m.d.sync += [
                        wofs.eq(0),
                        wx1.eq(1),
                        wslot.eq(Mux(wslot == R - 1, 0, wslot + 1)),
                        wbase.eq(wbase_next),
                    ]

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
        rbase = _table(m, lambda k: k * WG, [rslot], range(R * WG), "rbase")
        row_ok = ring.rows_ok.bit_select(ky, 1)
        in_frame = row_ok & (col >= 0) & (col < self.width)
        # g = G − 1, kx = K − 1, ky = K − 1 as flags, set a beat ahead.
        # The window's last beat (all three) is a flag of its own, so that a pixel's end
        # is one term of the reader's decision, not three.
        end_g, end_kx, end_ky = Signal(init=int(G == 1)), Signal(init=int(K == 1)), Signal(init=int(K == 1))
        end_window = Signal(init=int(G == 1 and K == 1))
        next_end_g = Mux(end_g, G == 1, g == G - 2)
        next_end_kx = Mux(end_g, Mux(end_kx, K == 1, kx == K - 2), end_kx)
        next_end_ky = Mux(end_g & end_kx, Mux(end_ky, K == 1, ky == K - 2), end_ky)

        # Stage 1: the read port's register, held while the skid buffer is full.
        m.submodules.skid = skid = SkidBuffer(self.o.payload.shape())
        wiring.connect(m, skid.o, wiring.flipped(self.o))
        s1_valid = Signal()
        s1_zero = Signal()
        s1_first, s1_eop, s1_eol, s1_last = Signal(), Signal(), Signal(), Signal()
        advance = ~s1_valid | skid.i.ready
        issue = advance & ring.can_read
        line_end = ring.last_in_row
        m.d.comb += [
            ring.pixel_done.eq(issue & end_window),
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
                s1_eol.eq(end_window & line_end),
                s1_last.eq(end_window & line_end & ring.last_row),
            ]

        with m.If(issue):
            m.d.sync += [
                g.eq(g + 1),
                ofs.eq(ofs + 1),
                end_g.eq(g == G - 2),
                end_window.eq(next_end_g & next_end_kx & next_end_ky),
            ]
            with m.If(end_g):
                m.d.sync += [g.eq(0), end_g.eq(G == 1), kx.eq(kx + 1), col.eq(col + 1), end_kx.eq(kx == K - 2)]
                with m.If(end_kx):
                    # Next row of the window: back to its first column, next ring slot.
                    m.d.sync += [
                        kx.eq(0),
                        end_kx.eq(K == 1),
                        ky.eq(ky + 1),
                        end_ky.eq(ky == K - 2),
                        col.eq(x0),
                        ofs.eq(xg),
                        rslot.eq(Mux(rslot == R - 1, 0, rslot + 1)),
                    ]
                    with m.If(end_ky):
                        m.d.sync += [ky.eq(0), end_ky.eq(K == 1), rslot.eq(ring.lslot)]
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
