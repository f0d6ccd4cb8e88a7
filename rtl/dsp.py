"""Two int8 products per DSP48E2: `DualMAC`, the packed multiply–accumulate.

Two 8-bit operands ``hi`` and ``lo`` that share a third ``x`` (two output channels'
weights sharing an activation, or two pixels' activations sharing a weight) go through
one 27×18 multiplier as ``(hi·2**18 + lo)·x`` and accumulate in the 48-bit P register;
the two sums come apart with the borrow correction. The arithmetic, its bound and its
proof are `licfpga.formats` (:func:`~licfpga.formats.dual_split`,
:func:`~licfpga.formats.dual_terms`, tests/test_formats.py).
"""

from amaranth import Cat, Module, Mux, Signal
from amaranth.hdl import signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..formats import (
    DSP_A_BITS,
    DSP_P_BITS,
    DUAL_SHIFT,
    WEIGHT_BITS,
    accumulator_bits,
    check_dual,
    dual_terms,
    int_range,
)
from .pipeline import Pipeline

__all__ = ["DualMAC", "operand_range"]


def operand_range(is_signed: bool, symmetric: bool = False) -> tuple[int, int]:
    """An 8-bit operand's range: int8 (−127…127 if ``symmetric``, the formats' int8) or uint8."""
    if not is_signed:
        return int_range(WEIGHT_BITS, signed=False)
    return int_range(WEIGHT_BITS) if symmetric else (-(1 << (WEIGHT_BITS - 1)), (1 << (WEIGHT_BITS - 1)) - 1)


class DualMAC(wiring.Component):
    """Sums of two products per cycle in one DSP48E2: ``Σ hi·x`` and ``Σ lo·x``.

    Parameters: ``pair_signed`` (``hi``/``lo`` are int8, else uint8), ``shared_signed``
    (``x`` likewise), ``symmetric`` (signed operands never take −128: the formats' int8,
    weights and activations alike) and ``terms``, the longest sum: at most
    ``dual_terms`` of the ranges, the default (7 for int8 × int8, 8 symmetric, 4 with
    one side uint8); a longer one, or operands the DSP's ports cannot take, raise
    ``ValueError`` naming them.

    Ports
    -----
    A registered datapath without handshakes: the MVAU's issue pipeline, which would
    instantiate it, moves a fixed-latency ``valid`` alongside its data and never stalls
    behind its issue stage, so stream ports would only add logic.
    ``hi``, ``lo``, ``x`` (in): a term's operands; ``valid`` (in): they are a term;
    ``first`` (in): the term starts a new sum (P restarts from it).
    ``sum_hi`` (out, signed, wide enough for ``terms`` products), ``sum_lo`` (out,
    signed 18 bits): the running sums including the term, ``latency`` cycles after it;
    ``sum_valid`` (out): ``valid`` that many cycles later. Between terms the sums hold.

    Latency and throughput
    ----------------------
    ``latency`` = 4 (``pipeline``): the A/B registers (the packing ``hi·2**18 + lo`` is
    an 8-bit decrement in front of A), M, P, and the lane split's register. One term
    per cycle.

    Resources
    ---------
    One DSP48E2: the registers sit where its A/B, M and P registers are, the accumulator
    where its post-adder is (P + M, the Z multiplexer giving 0 on ``first``); the split's
    adder (as wide as ``sum_hi``) is fabric. Yosys 0.70 maps the multiplier into the
    DSP48E2 but, unlike for a DSP48E1 (``-family xc7``), packs neither the registers nor
    the post-adder into it: its UltraScale+ netlist has AREG = BREG = MREG = PREG = 0
    and the accumulator in fabric (tests/rtl/test_dsp.py). Whether Vivado absorbs them
    is not checked here.
    """

    def __init__(
        self, *, pair_signed: bool = True, shared_signed: bool = True, symmetric: bool = False, terms: int | None = None
    ):
        pair, shared = operand_range(pair_signed, symmetric), operand_range(shared_signed, symmetric)
        self.pair_range, self.shared_range = pair, shared
        self.terms = dual_terms(pair, shared) if terms is None else terms
        check_dual(pair, pair, shared, self.terms)
        self.pair_signed, self.shared_signed = pair_signed, shared_signed
        pair_shape = signed(WEIGHT_BITS) if pair_signed else unsigned(WEIGHT_BITS)
        shared_shape = signed(WEIGHT_BITS) if shared_signed else unsigned(WEIGHT_BITS)
        hi_bits = accumulator_bits(self.terms, max(map(abs, pair)), max(map(abs, shared)))
        self.pipeline = (
            Pipeline("DualMAC")
            .stage("A/B registers (packed operand, shared operand)")
            .stage("M register (product)")
            .stage("P register (accumulator)")
            .stage("lane split (borrow correction)")
        )
        self.latency = self.pipeline.latency
        super().__init__(
            {
                "hi": In(pair_shape),
                "lo": In(pair_shape),
                "x": In(shared_shape),
                "valid": In(1),
                "first": In(1),
                "sum_hi": Out(signed(hi_bits)),
                "sum_lo": Out(signed(DUAL_SHIFT)),
                "sum_valid": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        # A/B: hi·2**18 + lo = Cat(lo's low 18 bits, hi − borrow), borrow = lo < 0.
        a = Signal(signed(DSP_A_BITS))
        b = Signal.like(self.x)
        lo18 = Signal(signed(DUAL_SHIFT))  # lo sign- or zero-extended: its two's complement
        top = Signal(signed(DSP_A_BITS - DUAL_SHIFT))
        m.d.comb += [lo18.eq(self.lo), top.eq(self.hi - (self.lo[-1] if self.pair_signed else 0))]
        m.d.sync += [a.eq(Cat(lo18, top)), b.eq(self.x)]
        valid = Signal(3)
        first = Signal(2)
        m.d.sync += [valid.eq(Cat(self.valid, valid[:-1])), first.eq(Cat(self.first, first[:-1]))]
        # M: the 27×18 product; P: the accumulator.
        prod = Signal(signed(DSP_A_BITS + len(b)))
        m.d.sync += prod.eq(a * b)
        p = Signal(signed(DSP_P_BITS))
        with m.If(valid[1]):
            m.d.sync += p.eq(Mux(first[1], 0, p) + prod)
        # Split: L = P[17:0] signed, H = P[47:18] + P[17].
        m.d.sync += [
            self.sum_lo.eq(p[:DUAL_SHIFT].as_signed()),
            self.sum_hi.eq(p[DUAL_SHIFT:].as_signed() + p[DUAL_SHIFT - 1]),
            self.sum_valid.eq(valid[2]),
        ]
        return m
