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
from amaranth.hdl import Shape, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..formats import DSP_A_BITS, DSP_B_BITS
from .glue import StreamFIFO
from .pipeline import Pipeline
from .stream import beat_signature

__all__ = [
    "MVAU",
    "delay",
    "tree_sum",
    "tree_stages",
    "round_shift",
    "round_saturate",
    "ROUND_SATURATE_STAGES",
    "product",
    "product_stages",
]


def delay(m, value, stages, name):
    """``value`` through ``stages`` pipeline registers."""
    for n in range(stages):
        reg = Signal.like(value, name=f"{name}_d{n}")
        m.d.sync += reg.eq(value)
        value = reg
    return value


#: Adder levels between two registers of `tree_sum`: two ripple adders (a LUT and a
#: carry chain each) in one cycle.
TREE_LEVELS_PER_STAGE = 2


def tree_stages(n: int) -> int:
    """Register stages `tree_sum` puts in a tree of ``n`` values."""
    return math.ceil(math.ceil(math.log2(n)) / TREE_LEVELS_PER_STAGE) if n > 1 else 0


def tree_sum(m, values, name):
    """A balanced adder tree, registered after every `TREE_LEVELS_PER_STAGE` levels and
    after the last: the sum of ``values`` `tree_stages` cycles later (``values`` itself
    for one value)."""
    values, level = list(values), 0
    while len(values) > 1:
        values = [values[n] + values[n + 1] if n + 1 < len(values) else values[n] for n in range(0, len(values), 2)]
        level += 1
        if level % TREE_LEVELS_PER_STAGE == 0 or len(values) == 1:
            regs = [Signal(v.shape(), name=f"{name}_l{level}_{n}") for n, v in enumerate(values)]
            m.d.sync += [r.eq(v) for r, v in zip(regs, values)]
            values = regs
    return values[0]


def round_shift(v, shift: int):
    """``floor(v/2**shift + 1/2)`` of `model.intops.round_shift` for a constant shift (a
    variable one goes through `round_saturate`)."""
    return v if shift == 0 else (v + (1 << (shift - 1))) >> shift


def _signed_width(shape) -> int:
    shape = Shape.cast(shape)
    return shape.width + (not shape.signed)


def _fits_dsp(a_bits: int, b_bits: int) -> bool:
    """Signed widths that one DSP48E2 multiplier (27×18 signed) takes."""
    return (a_bits <= DSP_A_BITS and b_bits <= DSP_B_BITS) or (a_bits <= DSP_B_BITS and b_bits <= DSP_A_BITS)


#: The low part of a split operand: 17 bits, unsigned, so 18 signed (the B port).
SPLIT_BITS = DSP_B_BITS - 1


def product_stages(a_shape, b_shape) -> int:
    """Register stages `product` takes for these operand shapes: 1 where the product
    fits one DSP48E2, 2 where it is split in two."""
    a, b = sorted((_signed_width(a_shape), _signed_width(b_shape)), reverse=True)
    if _fits_dsp(a, b):
        return 1
    if not (_fits_dsp(SPLIT_BITS + 1, b) and _fits_dsp(a - SPLIT_BITS, b)):
        raise ValueError(f"a {a}×{b}-bit product does not split into two DSP48E2 products")
    return 2


def product(m, a, b, name):
    """``a·b`` registered, valid `product_stages` cycles later. Where it does not fit
    one DSP48E2, the wider operand splits into its low 17 bits (unsigned) and the
    rest: two DSP products in one stage, their sum (one carry chain) in the next,
    rather than Yosys' two-DSP product with its adder in the same cycle."""
    if _signed_width(a.shape()) < _signed_width(b.shape()):
        a, b = b, a
    full_shape = (a * b).shape()
    out = Signal(full_shape, name=f"{name}_prod")
    if product_stages(a.shape(), b.shape()) == 1:
        m.d.sync += out.eq(a * b)
        return out
    hi_part = a[SPLIT_BITS:].as_signed() if a.shape().signed else a[SPLIT_BITS:]
    lo = Signal((a[:SPLIT_BITS] * b).shape(), name=f"{name}_lo")
    hi = Signal((hi_part * b).shape(), name=f"{name}_hi")
    m.d.sync += [lo.eq(a[:SPLIT_BITS] * b), hi.eq(hi_part * b)]
    m.d.sync += out.eq((hi << SPLIT_BITS) + lo)
    return out


#: Register stages of `round_saturate`: the shift in two halves, then saturation.
ROUND_SATURATE_STAGES = 3


def round_saturate(m, v, shift, lo, hi, shape, name):
    """``clamp(round_shift(v, shift), lo, hi)`` for a variable ``shift`` (6 bits),
    registered in `ROUND_SATURATE_STAGES`, returned as a ``shape`` signal.

    The first two stages shift only: ``t = (2v) >> shift``, by the shift's upper three
    bits and then its lower three (an 8-way multiplexer each, no adder), since
    ``round_shift(v, s) = (t + 1) >> 1`` for every s ≥ 0. The third saturates by
    comparing ``t`` with constants (``(t+1)>>1 > hi`` ⟺ ``t ≥ 2hi+1``, ``< lo`` ⟺
    ``t < 2lo−1``) beside the rounding add over the output's bits only."""
    coarse = Signal(signed(len(v) + 2), name=f"{name}_tc")
    fine = Signal(3, name=f"{name}_sf")
    m.d.sync += [coarse.eq((v << 1) >> (shift[3:] << 3)), fine.eq(shift[:3])]
    t = Signal(signed(len(v) + 2), name=f"{name}_t")
    m.d.sync += t.eq(coarse >> fine)
    bits = Shape.cast(shape).width
    low = (t[: bits + 1] + 1)[1 : bits + 1]
    out = Signal(shape, name=f"{name}_out")
    m.d.sync += out.eq(Mux(t >= 2 * hi + 1, hi, Mux(t < 2 * lo - 1, lo, low)))
    return out


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
    a pass's last beat, its output beat is valid ``latency`` = 7 + transform stages +
    `tree_stages` (SIMD) + tail stages + ⌈PE/lanes⌉ cycles later (``pipeline``'s sum):
    7 for the weight/buffer read, the operand registers, the products, the accumulator
    and holding register, the lane's holding-register read, the output beat register
    and the FIFO. ``o`` is the FIFO's output register.

    Timing: no stage holds more than one carry chain, DSP product or multiplexer tree
    of note: the operands are registered after the block-RAM reads (Vivado packs them
    as the RAMs' output or the DSP48E2s' A/B registers), the products are registered
    (the DSP48E2's P), the adder tree is registered every `TREE_LEVELS_PER_STAGE`
    levels, and the issue stage decides from registered counter flags.

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
            .stage("operand registers")
            .stage("transform", self.transform_stages)
            .stage("products")
            .stage("adder tree", tree_stages(simd))
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
        # addr + 1 kept beside it: the weight ROMs read ``addr`` alone, so no carry chain
        # of its increment joins their decoding (the mapper shares such a chain with the
        # ROM logic, several LUT levels deeper than the ROM itself).
        addr1 = Signal(range(1, NF * SF + 1), init=1)
        credits = Signal(range(self.fifo_depth + 1), init=self.fifo_depth)
        # The counters' flags as registers (nf = 0, sf = SF − 1, nf = NF − 1), set a
        # beat ahead, so no comparison sits between the counters and the issue decision.
        pass0 = Signal(init=1)
        last_beat = Signal(init=int(SF == 1))
        eop = Signal(init=int(NF == 1))
        room = ~last_beat | (credits != 0)
        m.d.comb += self.i.ready.eq(room & pass0)
        fire = room & (~pass0 | self.i.valid)
        with m.If(fire):
            wrap = last_beat & eop
            m.d.sync += [
                sf.eq(sf + 1),
                last_beat.eq(sf == SF - 2),
                addr.eq(Mux(wrap, 0, addr1)),
                addr1.eq(Mux(wrap, 1, addr1 + 1)),
            ]
            with m.If(last_beat):
                m.d.sync += [
                    sf.eq(0),
                    last_beat.eq(int(SF == 1)),
                    nf.eq(Mux(eop, 0, nf + 1)),
                    pass0.eq(eop),
                    eop.eq(Mux(eop, int(NF == 1), nf == NF - 2)),
                ]
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

        # ---- stage 2: operand registers (the block RAMs' output registers, or the
        # DSP48E2s' A/B), so no RAM read or multiplexer shares a cycle with a product.
        x2 = delay(m, x1, 1, "x2")
        ctl2 = delay(m, ctl1, 1, "ctl2")

        # ---- transform stages, then the products (stage P) ---------------------------
        td = self.transform_stages
        t = [self._transform(m, x2[j]) for j in range(SIMD)]
        ctl_t = delay(m, ctl2, td, "ctl_t")
        products = []
        for pe in range(PE):
            w = delay(m, weights[pe], 1 + td, f"w{pe}")
            row = []
            for j in range(SIMD):
                prod = t[j] * w[j]
                reg = Signal(prod.shape(), name=f"p{pe}_{j}")
                m.d.sync += reg.eq(prod)
                row.append(reg)
            products.append(row)
        ctl_p = delay(m, ctl_t, 1, "ctl_p")

        # ---- the adder trees ----------------------------------------------------------
        sums = [tree_sum(m, products[pe], f"sum{pe}") for pe in range(PE)]
        # ctl_s, and the stage before it (ctl_pre: flags for stage A are registered from it).
        if tree_stages(SIMD):
            ctl_pre = delay(m, ctl_p, tree_stages(SIMD) - 1, "ctl_s")
            ctl_s = delay(m, ctl_pre, 1, "ctl_s_last")
        else:
            ctl_pre, ctl_s = ctl_t, ctl_p

        # ---- stage A: accumulate; a finished pass moves to the holding register ------
        hold = [Signal(self.acc_shape, name=f"hold{pe}") for pe in range(PE)]
        hold_x = [Signal(self.in_shape, name=f"hold_x{pe}") for pe in range(PE)] if self._keep_input else None
        hold_marks = Signal.like(ctl0.marks)
        load = ctl_s.valid & ctl_s.last_beat
        for pe in range(PE):
            acc = Signal(self.acc_shape, name=f"acc{pe}")
            acc_next = Signal(self.acc_shape, name=f"acc_next{pe}")
            m.d.comb += acc_next.eq(Mux(ctl_s.first_beat, 0, acc) + sums[pe])
            with m.If(ctl_s.valid):
                m.d.sync += acc.eq(acc_next)
                with m.If(ctl_s.last_beat):
                    m.d.sync += hold[pe].eq(acc_next)
        with m.If(load):
            m.d.sync += hold_marks.eq(ctl_s.marks)
        if self._keep_input:
            # The pixel's input elements, written in pass 0 at this stage, i.e. after the
            # previous pixel's last pass has taken its own into hold_x.
            # Which beat arrives (``here``) and which pass loads (``nf_hot``), one-hot,
            # registered from the stage before: no comparison before the multiplexers.
            x_s = delay(m, x2, td + 1 + tree_stages(SIMD), "x_s")
            here = Signal(SF)
            nf_hot = Signal(NF)
            for k in range(SF):
                m.d.sync += here[k].eq(ctl_pre.valid & ctl_pre.pass0 & (ctl_pre.sf == k))
            for n in range(NF):
                m.d.sync += nf_hot[n].eq(ctl_pre.nf == n)
            x_all = [Signal(self.in_shape, name=f"x{c}") for c in range(SF * SIMD)]
            x_new = [Signal(self.in_shape, name=f"x_new{c}") for c in range(SF * SIMD)]
            for c in range(SF * SIMD):
                m.d.comb += x_new[c].eq(Mux(here[c // SIMD], x_s[c % SIMD], x_all[c]))
                m.d.sync += x_all[c].eq(x_new[c])
            with m.If(load):
                for pe in range(PE):
                    picked = 0
                    for n in range(NF):
                        picked = picked | Mux(nf_hot[n], x_new[n * PE + pe].as_unsigned(), 0)
                    m.d.sync += hold_x[pe].eq(picked)

        # ---- drain: S steps of L lanes; step k takes channels k·L…k·L+L−1 ------------
        busy = Signal()
        step = Signal(range(S))
        # The constants ROMs' word nf·S + step in a register of its own (and its
        # successor beside it, as ``addr``): no multiplier, adder or carry chain before
        # the ROMs' decoding.
        paddr = Signal(range(NF * S))
        paddr1 = Signal(range(1, NF * S + 1), init=1)
        with m.If(busy):
            m.d.sync += [step.eq(step + 1), paddr.eq(paddr1), paddr1.eq(paddr1 + 1)]
            with m.If(step == S - 1):
                m.d.sync += [busy.eq(0), step.eq(0)]
        with m.If(load):
            m.d.sync += [busy.eq(1), step.eq(0), paddr.eq(ctl_s.nf * S), paddr1.eq(ctl_s.nf * S + 1)]
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
            m.d.comb += port.addr.eq(paddr)
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
