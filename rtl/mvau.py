"""The folded matrix–vector unit shared by the convolution engine and the GDN unit.

Both engines compute, for every pixel, ``acc_c = Σ_v A[c, v]·t(x_v)`` over a vector x
that arrives in SF beats of SIMD elements, for C output rows folded as NF passes of PE
rows (FINN's MVAU), then turn each accumulator into an output element in a per-channel
tail. `MVAU` holds the schedule; the engine supplies the element transform ``t`` (the
identity for a convolution, the square for GDN) and the tail (requantization, or the
GDN's rsqrt and multiply).
"""

import math

from amaranth import Module, Mux, Signal
from amaranth.hdl import Shape
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .glue import StreamFIFO
from .pipeline import Pipeline
from .stream import beat_signature

__all__ = ["MVAU", "delay", "tree_sum", "round_shift"]


def delay(m, value, stages, name):
    """``value`` through ``stages`` pipeline registers."""
    for n in range(stages):
        reg = Signal.like(value, name=f"{name}_d{n}")
        m.d.sync += reg.eq(value)
        value = reg
    return value


def tree_sum(values):
    """A balanced adder tree (log depth rather than a chain of adders)."""
    values = list(values)
    while len(values) > 1:
        values = [values[n] + values[n + 1] if n + 1 < len(values) else values[n] for n in range(0, len(values), 2)]
    return values[0]


def round_shift(v, shift):
    """``floor(v/2**shift + 1/2)`` of `model.intops.round_shift` for a constant or a
    variable shift, without a shifted rounding constant: ``(v >> (shift−1)) + 1`` halved
    is the same floor, so a variable shift needs one barrel shifter, not two."""
    if isinstance(shift, int):
        return v if shift == 0 else (v + (1 << (shift - 1))) >> shift
    return Mux(shift == 0, v, ((v >> (shift - 1).as_unsigned()[: len(shift)]) + 1) >> 1)


class MVAU(wiring.Component):
    """PE×SIMD multiply–accumulate array over a folded vector, with a per-channel tail.

    Parameters: ``matrix`` (C rows × V columns of integers: row c for output channel c,
    column v for vector element v), ``pe`` (divides C), ``simd`` (divides V), the element
    shapes ``in_shape`` (stream input), ``weight_shape`` (matrix entries), ``acc_shape``
    (accumulator) and ``out_shape`` (stream output), ``param_layout`` and ``params`` (one
    dict per channel, the tail's per-channel constants), ``keep_input`` (the tail of
    channel c also gets input element c; needs C = V), and the engine's arithmetic:

    ``transform = (f, stages)``: ``f(m, x)`` is a vector element as the multipliers see
    it (the identity, or the GDN's square), ``stages`` its register stages;
    ``tail = (f, stages)``: ``f(m, lane, acc, x, p)`` is the output element of a channel
    from its accumulator ``acc``, its input element ``x`` (None without ``keep_input``)
    and its constants ``p`` (a view of ``param_layout``), ``stages`` its register stages.

    Ports
    -----
    ``i`` (in): a pixel's vector in SF = V/SIMD beats of SIMD elements (``first`` on
    the first beat of a frame, ``eol``/``last`` on the last beat of a line's/frame's
    last pixel; ``eop`` is not needed, the beat count is fixed).
    ``o`` (out): the pixel's C outputs in NF = C/PE beats of PE elements, channel
    order, with ``first``/``last``/``eol`` of the frame/line and ``eop`` on the last beat.

    Schedule
    --------
    Pass n of a pixel (n = 0…NF−1) computes channels n·PE…n·PE+PE−1 over SF cycles, one
    beat of SIMD elements per cycle. Pass 0 takes the beats from ``i`` and writes them
    into a window buffer of SF words (none when NF = 1); passes 1…NF−1 replay them from
    there while ``i`` waits, so a pixel takes NF·SF cycles and reads its input once.
    Weights sit in one ROM per PE of NF·SF words of SIMD entries. A finished pass's PE
    accumulators move into a holding register, and ⌈PE/SF⌉ tail lanes drain it in
    ⌈PE/lanes⌉ ≤ SF cycles, before the next pass finishes. Finished beats queue in an
    output FIFO; a pass issues its last beat only while it holds a credit for a free
    FIFO slot, so the pipeline behind the issue stage never stalls and ``i.ready``
    depends on registers only (credits, pass and beat counters), not on ``o.ready``.

    Latency and throughput
    ----------------------
    NF·SF cycles per pixel, a beat per cycle on ``i`` during pass 0. From the issue of
    a pass's last beat, its output beat is valid ``latency`` = 6 + transform stages +
    tail stages + ⌈PE/lanes⌉ cycles later (``pipeline``'s sum): 6 for the weight/buffer
    read, the products, the accumulator and holding register, the lane's holding-register
    read, the output beat register and the FIFO. ``o`` is the FIFO's output register.

    Resources: PE·SIMD multipliers, PE accumulators and holding registers, NF·SF-word
    weight ROMs (one per PE), an SF-word window buffer (NF > 1), one constants ROM of
    NF·⌈PE/lanes⌉ words per lane, and an output FIFO of ``fifo_depth`` beats: enough
    credits for the passes in flight, ⌈(latency+1)/SF⌉ + 1 (at least 3).
    """

    def __init__(
        self,
        *,
        matrix,
        pe,
        simd,
        in_shape,
        weight_shape,
        acc_shape,
        out_shape,
        param_layout,
        params,
        transform,
        tail,
        keep_input=False,
    ):
        rows, cols = len(matrix), len(matrix[0])
        if rows % pe or cols % simd:
            raise ValueError(f"PE={pe} must divide {rows} channels and SIMD={simd} the vector of {cols}")
        if keep_input and rows != cols:
            raise ValueError(f"keep_input needs a square matrix, got {rows}×{cols}")
        self.pe, self.simd = pe, simd
        self.nf, self.sf = rows // pe, cols // simd
        self.lanes = math.ceil(pe / self.sf)
        self.steps = math.ceil(pe / self.lanes)
        self.in_shape, self.weight_shape = Shape.cast(in_shape), Shape.cast(weight_shape)
        self.acc_shape, self.out_shape = Shape.cast(acc_shape), Shape.cast(out_shape)
        self._matrix, self._params, self._param_layout = matrix, params, param_layout
        self._keep_input = keep_input
        self._transform, self.transform_stages = transform
        self._tail, self.tail_stages = tail
        # Issue of a pass's last beat → its beat in the FIFO's output register → credit back.
        self.pipeline = (
            Pipeline("MVAU")
            .stage("weight and window buffer read")
            .stage("transform", self.transform_stages)
            .stage("products")
            .stage("accumulator and holding register")
            .stage("lane's holding-register read")
            .stage("tail", self.tail_stages)
            .stage("drain steps", self.steps)
            .stage("output beat register")
            .stage("FIFO")
        )
        self.latency = self.pipeline.latency
        self.fifo_depth = max(3, math.ceil((self.latency + 1) / self.sf) + 1)
        super().__init__(
            {
                "i": In(beat_signature(self.in_shape, simd)),
                "o": Out(beat_signature(self.out_shape, pe)),
            }
        )

    # --- the schedule ------------------------------------------------------------------
    def elaborate(self, platform):
        m = Module()
        PE, SIMD, NF, SF, L, S = self.pe, self.simd, self.nf, self.sf, self.lanes, self.steps
        word = data.ArrayLayout(self.in_shape, SIMD)

        # ---- stage 0: issue one beat of one pass per cycle ---------------------------
        nf = Signal(range(NF))
        sf = Signal(range(SF))
        addr = Signal(range(NF * SF))  # nf·SF + sf
        credits = Signal(range(self.fifo_depth + 1), init=self.fifo_depth)
        pass0, last_beat = nf == 0, sf == SF - 1
        room = ~last_beat | (credits != 0)
        m.d.comb += self.i.ready.eq(room & pass0)
        fire = room & (~pass0 | self.i.valid)
        with m.If(fire):
            m.d.sync += [sf.eq(sf + 1), addr.eq(Mux(addr == NF * SF - 1, 0, addr + 1))]
            with m.If(last_beat):
                m.d.sync += [sf.eq(0), nf.eq(Mux(nf == NF - 1, 0, nf + 1))]
        take = fire & last_beat
        give = self.o.valid & self.o.ready
        m.d.sync += credits.eq(credits - take + give)

        # The window's markers come with pass 0 (first on its first beat, eol/last on
        # its last) and are kept for the replays.
        win_first, win_eol, win_last = Signal(), Signal(), Signal()
        with m.If(fire & pass0):
            m.d.sync += [win_eol.eq(self.i.payload.eol), win_last.eq(self.i.payload.last)]
            with m.If(sf == 0):
                m.d.sync += win_first.eq(self.i.payload.first)
        eop = nf == NF - 1
        ctl_layout = data.StructLayout(
            {
                "valid": 1,
                "first_beat": 1,
                "last_beat": 1,
                "pass0": 1,
                "nf": range(NF),
                "sf": range(SF),
                "marks": data.StructLayout({"first": 1, "last": 1, "eol": 1, "eop": 1}),
            }
        )
        ctl0 = Signal(ctl_layout)
        m.d.comb += [
            ctl0.valid.eq(fire),
            ctl0.first_beat.eq(sf == 0),
            ctl0.last_beat.eq(last_beat),
            ctl0.pass0.eq(pass0),
            ctl0.nf.eq(nf),
            ctl0.sf.eq(sf),
            ctl0.marks.first.eq(Mux(pass0 & (sf == 0), self.i.payload.first, win_first) & pass0),
            ctl0.marks.eol.eq(Mux(pass0, self.i.payload.eol, win_eol) & eop),
            ctl0.marks.last.eq(Mux(pass0, self.i.payload.last, win_last) & eop),
            ctl0.marks.eop.eq(eop),
        ]

        # Window buffer: pass 0 writes its beats, the other passes read them back.
        if NF > 1:
            m.submodules.window = window = Memory(shape=word, depth=SF, init=[])
            wp, rp = window.write_port(), window.read_port()
            m.d.comb += [wp.addr.eq(sf), wp.data.eq(self.i.payload.data), wp.en.eq(fire & pass0), rp.addr.eq(sf)]
        # Weight ROMs, one per PE: word nf·SF + sf holds row nf·PE + pe, columns sf·SIMD….
        weight_word = data.ArrayLayout(self.weight_shape, SIMD)
        weights = []
        for pe in range(PE):
            init = [
                [int(self._matrix[n * PE + pe][s * SIMD + j]) for j in range(SIMD)]
                for n in range(NF)
                for s in range(SF)
            ]
            m.submodules[f"weights{pe}"] = rom = Memory(shape=weight_word, depth=NF * SF, init=init)
            port = rom.read_port()
            m.d.comb += port.addr.eq(addr)
            weights.append(port.data)

        # ---- stage 1: the beat (input register or window buffer) and its weights -----
        ctl1 = delay(m, ctl0, 1, "ctl1")
        x_in = Signal(word)
        with m.If(fire & pass0):
            m.d.sync += x_in.eq(self.i.payload.data)
        x1 = Signal(word)
        m.d.comb += x1.eq(x_in if NF == 1 else Mux(ctl1.pass0, x_in, rp.data))

        # ---- transform stages, then the products (stage P) ---------------------------
        td = self.transform_stages
        t = [self._transform(m, x1[j]) for j in range(SIMD)]
        ctl_t = delay(m, ctl1, td, "ctl_t")
        products = []
        for pe in range(PE):
            w = delay(m, weights[pe], td, f"w{pe}")
            row = []
            for j in range(SIMD):
                prod = t[j] * w[j]
                reg = Signal(prod.shape(), name=f"p{pe}_{j}")
                m.d.sync += reg.eq(prod)
                row.append(reg)
            products.append(row)
        ctl_p = delay(m, ctl_t, 1, "ctl_p")

        # ---- stage A: accumulate; a finished pass moves to the holding register ------
        hold = [Signal(self.acc_shape, name=f"hold{pe}") for pe in range(PE)]
        hold_x = [Signal(self.in_shape, name=f"hold_x{pe}") for pe in range(PE)] if self._keep_input else None
        hold_nf = Signal(range(NF))
        hold_marks = Signal.like(ctl0.marks)
        load = ctl_p.valid & ctl_p.last_beat
        for pe in range(PE):
            acc = Signal(self.acc_shape, name=f"acc{pe}")
            acc_next = Signal(self.acc_shape, name=f"acc_next{pe}")
            m.d.comb += acc_next.eq(Mux(ctl_p.first_beat, 0, acc) + tree_sum(products[pe]))
            with m.If(ctl_p.valid):
                m.d.sync += acc.eq(acc_next)
                with m.If(ctl_p.last_beat):
                    m.d.sync += hold[pe].eq(acc_next)
        with m.If(load):
            m.d.sync += [hold_nf.eq(ctl_p.nf), hold_marks.eq(ctl_p.marks)]
        if self._keep_input:
            # The pixel's input elements, written in pass 0 at this stage, i.e. after the
            # previous pixel's last pass has taken its own into hold_x.
            x_p = delay(m, x1, td + 1, "x_p")
            x_all = [Signal(self.in_shape, name=f"x{c}") for c in range(SF * SIMD)]
            x_new = [Signal(self.in_shape, name=f"x_new{c}") for c in range(SF * SIMD)]
            for c in range(SF * SIMD):
                here = ctl_p.valid & ctl_p.pass0 & (ctl_p.sf == c // SIMD)
                m.d.comb += x_new[c].eq(Mux(here, x_p[c % SIMD], x_all[c]))
                m.d.sync += x_all[c].eq(x_new[c])
            with m.If(load):
                for pe in range(PE):
                    with m.Switch(ctl_p.nf):
                        for n in range(NF):
                            with m.Case(n):
                                m.d.sync += hold_x[pe].eq(x_new[n * PE + pe])

        # ---- drain: S steps of L lanes; step k takes channels k·L…k·L+L−1 ------------
        busy = Signal()
        step = Signal(range(S))
        with m.If(busy):
            m.d.sync += step.eq(step + 1)
            with m.If(step == S - 1):
                m.d.sync += [busy.eq(0), step.eq(0)]
        with m.If(load):
            m.d.sync += [busy.eq(1), step.eq(0)]
        drain_layout = data.StructLayout({"valid": 1, "step": range(S), "end": 1, "marks": hold_marks.shape()})
        dctl = Signal(drain_layout)
        m.d.sync += [dctl.valid.eq(busy), dctl.step.eq(step), dctl.end.eq(step == S - 1), dctl.marks.eq(hold_marks)]
        results = []
        for lane in range(L):
            acc_r = Signal(self.acc_shape, name=f"lane{lane}_acc")
            x_r = Signal(self.in_shape, name=f"lane{lane}_x") if self._keep_input else None
            with m.Switch(step):
                for k in range(S):
                    if k * L + lane < PE:
                        with m.Case(k):
                            m.d.sync += acc_r.eq(hold[k * L + lane])
                            if x_r is not None:
                                m.d.sync += x_r.eq(hold_x[k * L + lane])
            # Lane constants: word nf·S + k holds channel nf·PE + k·L + lane.
            init = [
                self._params[n * PE + k * L + lane] if k * L + lane < PE else {} for n in range(NF) for k in range(S)
            ]
            m.submodules[f"params{lane}"] = rom = Memory(shape=self._param_layout, depth=NF * S, init=init)
            port = rom.read_port()
            m.d.comb += port.addr.eq(hold_nf * S + step)
            results.append(self._tail(m, lane, acc_r, x_r, port.data))
        dctl_out = delay(m, dctl, self.tail_stages, "dctl_out")

        # ---- assemble the output beat; it enters the FIFO the cycle after ------------
        out_beat = Signal(data.ArrayLayout(self.out_shape, PE))
        push = Signal()
        push_marks = Signal.like(hold_marks)
        for k in range(S):
            with m.If(dctl_out.valid & (dctl_out.step == k)):
                for lane in range(L):
                    if k * L + lane < PE:
                        m.d.sync += out_beat[k * L + lane].eq(results[lane])
        m.d.sync += [push.eq(dctl_out.valid & dctl_out.end), push_marks.eq(dctl_out.marks)]
        m.submodules.out = out = StreamFIFO(self.o.payload.shape(), self.fifo_depth)
        m.d.comb += [
            out.i.valid.eq(push),
            out.i.payload.data.eq(out_beat),
            out.i.payload.first.eq(push_marks.first),
            out.i.payload.last.eq(push_marks.last),
            out.i.payload.eol.eq(push_marks.eol),
            out.i.payload.eop.eq(push_marks.eop),
        ]
        wiring.connect(m, out.o, wiring.flipped(self.o))
        return m
