"""Analytical cost of one engine at one folding: cycles per frame, DSP48E2s, block RAM.

This is the model the balancer optimises and the RTL benchmark is compared with. It
counts what the engines are built to do, not what a tool will make of them: Vivado's
(or Yosys') report is the measurement, this is the estimate.

Cycles (frames streamed back to back, the pipeline full, no stall from downstream)
----------------------------------------------------------------------------------
A convolution of a W×H input into W_o×H_o, K×K, stride s, p = K//2, folded as
NF = C_out/PE neuron folds and SF = K²·C_in/SIMD synapse folds (FINN's MVAU):

- The MAC array spends NF·SF cycles per output pixel: it reads the window's SF beats in
  the first of NF passes and replays them from its window buffer in the others.
- The window generator (`rtl.window`) is `AddressedWindow` where SIMD divides C_in
  (one beat per cycle, no gap: SF ≥ K² per pixel) and `SlidingWindow` otherwise, which
  needs max(·, s) cycles per output pixel and max(·, p+1) for the first of a row. A row
  therefore takes ``max(NF·SF, p+1) + (W_o−1)·max(NF·SF, s)`` cycles.
- The input side takes one beat per cycle: a whole pixel (`SlidingWindow`) or C_in/SIMD
  beats of one (`AddressedWindow`).

  **cycles/frame = max(H_o · row, W·H · input beats per pixel)**

  which is H_o·W_o·K²·C_in·C_out/(PE·SIMD) whenever NF·SF ≥ max(p+1, s) and the input
  keeps up, i.e. for every folding but the very widest. The frame-to-frame interval
  ignores the pipeline's fill latency (a few input rows per engine), which a single
  frame's latency adds once; the line-buffer ring of K+s rows lets one frame's last
  rows and the next frame's first coexist, so back-to-back frames do not pay it again.

A stride-2 transposed convolution (`rtl.deconv`) runs as the stride-1 3×3 convolution
of its four sub-pixel phases (4·C_out channels, window 9·C_in, on the W×H input;
G = C_out/PE, SF = 9·C_in/SIMD), costed as above, then `SubpixelRows`, which replays an
input row's phases (1,·) from a row buffer after the row: its input waits 2·G·W + 2
cycles per row. The MAC array computes on into its output FIFO until the credits run
out (⌈(latency+1)/SF⌉ + 1 ≥ 3 slots, two beats more than are in flight): measured, that
absorbs SF·(depth+1) − latency − 2 ≥ 2·SF − 1 cycles of each replay once a row is long
enough to empty the FIFO; at SF = 1 the row shuffle paces the layer and none. Counting
2·(SF−1) absorbed,

  **cycles/frame = the phase convolution's + H · 2·max(0, G·W + 2 − SF)**

an upper bound without the latency: exact at SF = 1, otherwise at most SF cycles per
input row above the measured interval (< 2·SF where the FIFO has its minimum depth).

A GDN unit over C channels (PE output channels i, SIMD inputs j): C/PE · C/SIMD cycles
per pixel for the γ-sum; the squarer and the tail keep up by construction (below).
|ŷ| takes one pixel per cycle.

DSP48E2s (what the RTL engine implements)
-----------------------------------------
- Convolution: one DSP per int8×int8 (or uint8×int8) product lane, PE·SIMD; the sum of
  a PE's SIMD products runs down the DSP cascade. No two-products-per-DSP packing in
  the shipped engines; :func:`dual_product_cost` counts it (below), and nothing uses it
  yet.
  Requantization (``acc·M``, M 17 bits on B): one DSP per lane when the accumulator's
  reachable width fits the 27-bit A port, two (the 17-bit cascade) otherwise. A layer
  has ⌈PE/SF⌉ requantizer lanes: PE accumulators are ready every SF cycles and drain
  through a PE-wide holding register, so a deeper fold needs fewer lanes. A scale-index
  output (``levels`` L > 0) replaces the requantizer by a binary search over per-channel
  thresholds: no DSP. A transposed convolution counts its phase convolution's.
- GDN: one DSP per γ·u lane (26×17 bits), PE·SIMD; one squarer DSP per SIMD lane (the
  squares are computed once, in the first pass, and replayed); ⌈PE/SF⌉ tail lanes of
  `gdn_tail_dsp` DSPs each, a product's one or two (`gdn_tail_products`): the Newton
  step's m·y0 (1), w·y0 and y0·d (28-bit operands: 2 each), x·r (1), the 41×17-bit ·M
  (2): 8; the inverse's m·r (2) more: 10.

Two products per DSP48E2 (:func:`dual_product_cost`, `rtl.dsp.DualMAC`)
------------------------------------------------------------------------
Output channels 2k and 2k+1 share every activation, so one DSP computes both their
products of a SIMD lane: ⌈PE/2⌉·SIMD DSPs instead of PE·SIMD, for int8 activations and
int8 weights only (an int16 input does not pack). A packed sum holds at most
``dual_terms`` products (8 for the formats' symmetric int8 × int8, 4 for uint8
activations): the SIMD products of a pair run down cascades of that many DSPs, each
split into its two sums, which fabric adds (⌈SIMD/chain⌉ splits per pair and cycle).
Cycles do not change. The two weights a DSP reads each cycle sit in one ROM per PE
pair, NF·SF words of 2·SIMD·8 bits: the same weight bits, and per DSP twice the
weight-ROM bandwidth, so at a fixed DSP budget the balancer can double PE·SIMD and
reads twice the weight bits per cycle.

Memories (block RAM in simple dual port, RAMB18E2/RAMB36E2 aspect ratios of UG573)
----------------------------------------------------------------------------------
- Line buffers: K+s rows of the layer's maximum input width (the ring `rtl.window`
  builds), C_in·in_bits per pixel: K+s memories of max_width × C_in·b (`SlidingWindow`)
  or one of (K+s)·max_width·C_in/SIMD × SIMD·b (`AddressedWindow`).
- Weight ROMs: one per PE, NF·SF words of SIMD·8 bits (γ: SIMD·coef_bits).
- Window/squares buffer for the NF replays: SF words of SIMD elements (none when NF=1).
- Per-channel parameters, one ROM per requantizer/tail lane: bias 32 + multiplier 17 +
  shift 6 bits for a convolution, β 48 + multiplier 17 + shift 6 + frac_bits 6 for GDN;
  per GDN tail lane the rsqrt seed table (1024×17) and the x values of two pixels.
- Scale-index output (L levels, ⌈log2 L⌉ = b search steps, ``words`` = ⌈C_out/lanes⌉
  channels per lane): per lane the bias and the channel's word index, and b threshold
  ROMs, step j of words·2^j entries of v+1 bits (v = min(acc_bound_bits, acc_bits+1),
  the width of acc + bias).
- Transposed convolution: its phase convolution's memories (weights of 4·C_out rows)
  and the row buffer, max_width·2G words of PE output elements.
- A memory of at most 64 words goes to LUTs (a ROM: one LUT6 per bit and 64 words; a
  RAM: RAM64M, 64×3 bits per 4 LUTs); larger ones to block RAM, each bit column group
  on the aspect ratio that needs the fewest blocks (a RAMB18 counts ½ RAMB36). Line
  buffers may go to UltraRAM (4K×72, no initial contents) on devices that have it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

from amaranth.hdl import Shape, signed

from ..formats import (
    ACC_BITS,
    DSP_A_BITS,
    DSP_B_BITS,
    GDN_ACC_BITS,
    MULTIPLIER_BITS,
    RSQRT_SEED_BITS,
    RSQRT_TABLE_BITS,
    SHIFT_BITS,
    WEIGHT_BITS,
    dual_terms,
    index_bits,
    int_range,
)
from ..rtl import gdn
from ..rtl.mvau import product_stages
from ..shape import LayerShape
from .layers import AbsSpec, ConvSpec, GDNSpec, Spec

__all__ = [
    "Folding",
    "Memory",
    "LayerCost",
    "layer_cost",
    "dual_chain",
    "dual_product_cost",
    "legal_foldings",
    "bram36_blocks",
    "divisors",
    "LUT_MAX_DEPTH",
]

#: Deepest memory kept in LUTs rather than block RAM.
LUT_MAX_DEPTH = 64
CONV_PARAM_BITS = ACC_BITS + MULTIPLIER_BITS + SHIFT_BITS
GDN_PARAM_BITS = GDN_ACC_BITS + MULTIPLIER_BITS + SHIFT_BITS + SHIFT_BITS


#: The products of a GDN unit's tail lane (`rtl.gdn.gdn_tail`: the Newton step's three,
#: the inverse's m·r, x·r and ·M), as (a, b) shapes: one DSP48E2 each, two where an
#: operand is wider than the multiplier takes (`rtl.mvau.product_stages`).
def gdn_tail_products(inverse: bool, in_bits: int) -> list[tuple[Shape, Shape]]:
    return [
        (gdn.MANTISSA, gdn.SEED),
        (gdn.W, gdn.SEED),
        (gdn.SEED, gdn.D),
        *([(gdn.MANTISSA, gdn.R)] if inverse else []),
        (signed(in_bits), gdn.ROOT if inverse else gdn.R),
        (gdn.xr_shape(in_bits), gdn.MULT),
    ]


def gdn_tail_dsp(inverse: bool, in_bits: int) -> int:
    """DSP48E2s of one GDN tail lane: 8 forward, 10 inverse (matches Yosys' count)."""
    return sum(product_stages(a, b) for a, b in gdn_tail_products(inverse, in_bits))


RSQRT_WORDS, RSQRT_BITS = 1 << RSQRT_TABLE_BITS, RSQRT_SEED_BITS
#: (depth, width, RAMB36 units) of every simple-dual-port shape (UG573, tables 1-3/1-4).
_BRAM_SHAPES = tuple((16384 >> i, w, 1) for i, w in enumerate((1, 2, 4, 9, 18, 36))) + tuple(
    (32768 >> i, w, 2) for i, w in enumerate((1, 2, 4, 9, 18, 36, 72))
)
URAM_DEPTH, URAM_WIDTH = 4096, 72


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@lru_cache(maxsize=None)
def _bram18_units(depth: int, width: int) -> int:
    """RAMB18-equivalents for one depth×width memory: the width is covered by columns,
    each of one shape, a column of shape (d, w) costing ⌈depth/d⌉ blocks. Columns of the
    most economical shape cover all but the last ≤ 3 of its widths; a covering search
    over the shapes settles the rest."""
    options = [(w, math.ceil(depth / d) * units) for d, w, units in _BRAM_SHAPES]
    bulk_w, bulk_cost = min(options, key=lambda o: (o[1] / o[0], -o[0]))
    bulk = max(0, width // bulk_w - 2)
    rest = width - bulk * bulk_w
    best = [0] + [0] * rest
    for b in range(1, rest + 1):
        best[b] = min(cost + best[max(0, b - w)] for w, cost in options)
    return bulk * bulk_cost + best[rest]


def bram36_blocks(depth: int, width: int) -> float:
    """RAMB36 equivalents of one depth×width block-RAM memory (RAMB18 = 0.5)."""
    return _bram18_units(depth, width) / 2


@dataclass(frozen=True)
class Memory:
    """``copies`` identical memories of ``depth`` words × ``width`` bits; ``rom``: read
    only, initialised from the artefact (so never UltraRAM)."""

    role: str
    depth: int
    width: int
    copies: int
    rom: bool

    @property
    def in_luts(self) -> bool:
        return self.depth <= LUT_MAX_DEPTH

    @property
    def bram36(self) -> float:
        return 0.0 if self.in_luts else self.copies * bram36_blocks(self.depth, self.width)

    @property
    def luts(self) -> int:
        if not self.in_luts:
            return 0
        per = self.width if self.rom else 4 * math.ceil(self.width / 3)
        return self.copies * per

    @property
    def uram(self) -> int:
        """UltraRAMs if this memory moved there (line buffers only)."""
        return self.copies * math.ceil(self.depth / URAM_DEPTH) * math.ceil(self.width / URAM_WIDTH)

    @property
    def bits(self) -> int:
        return self.copies * self.depth * self.width


@dataclass(frozen=True)
class Folding:
    """PE (output parallelism) and SIMD (parallelism over the folded input vector)."""

    pe: int
    simd: int


@dataclass(frozen=True)
class LayerCost:
    """One engine (``spec``) at one folding and one input frame (``width``×``height``).
    ``cycles``: the frame interval (module docstring); ``macs``: useful MACs of the frame."""

    spec: Spec
    pe: int
    simd: int
    window: str | None
    width: int
    height: int
    cycles: int
    macs: int
    dsp_mac: int
    dsp_other: int
    memories: tuple[Memory, ...]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def shape(self) -> LayerShape:
        return self.spec.shape

    @property
    def dsp(self) -> int:
        return self.dsp_mac + self.dsp_other

    @property
    def bram36(self) -> float:
        return sum(m.bram36 for m in self.memories)

    @property
    def lut_mem(self) -> int:
        return sum(m.luts for m in self.memories)


def _fold_sizes(spec: Spec) -> tuple[int, int]:
    """(the length PE must divide, the length SIMD must divide): the MAC array's output
    channels and window vector, (C_out, K·K·C_in); for a transposed convolution (C_out,
    9·C_in), so that no beat mixes two phases; for GDN's γ-sum (a 1×1 layer) (C, C)."""
    if isinstance(spec, ConvSpec) and spec.transposed:
        return spec.c_out, spec.phases.window_len
    return spec.shape.c_out, spec.shape.window_len


def legal_foldings(spec: Spec) -> list[Folding]:
    """Every (PE, SIMD) the engine can be built with: PE | C_out and SIMD | K²·C_in for a
    convolution (SIMD | 9·C_in transposed), PE | C and SIMD | C for GDN; |ŷ| always
    takes a whole pixel."""
    if isinstance(spec, AbsSpec):
        return [Folding(1, spec.channels)]
    pe_len, simd_len = _fold_sizes(spec)
    return [Folding(pe, simd) for pe in divisors(pe_len) for simd in divisors(simd_len)]


def _check(spec: Spec, f: Folding) -> None:
    pe_len, simd_len = (1, spec.channels) if isinstance(spec, AbsSpec) else _fold_sizes(spec)
    legal = pe_len % f.pe == 0 and simd_len % f.simd == 0
    if isinstance(spec, AbsSpec):
        legal = f == Folding(1, spec.channels)
    if not legal:
        raise ValueError(
            f"{spec.name}: PE={f.pe}, SIMD={f.simd} is not a legal folding (PE must divide {pe_len}, SIMD {simd_len})"
        )


def _conv(spec: ConvSpec, f: Folding, width: int, height: int, max_width: int) -> LayerCost:
    s, p = spec.stride, spec.pad
    nf, sf = spec.c_out // f.pe, spec.window_len // f.simd
    w_out, h_out = spec.out_size(width, height)
    per_pixel = nf * sf
    addressed = spec.addressed(f.simd)
    if addressed:
        row, in_beats = w_out * per_pixel, spec.c_in // f.simd
    else:
        row, in_beats = max(per_pixel, p + 1) + (w_out - 1) * max(per_pixel, s), 1
    copies, depth, elements = spec.line_buffers(max_width, f.simd)
    line = Memory("line buffer", depth, elements * spec.in_bits, copies, rom=False)
    lanes = math.ceil(f.pe / sf)
    words = math.ceil(spec.c_out / lanes)
    memories = [line, Memory("weights", per_pixel, f.simd * WEIGHT_BITS, f.pe, rom=True)]
    if nf > 1:
        memories.append(Memory("window buffer", sf, f.simd * spec.in_bits, 1, rom=False))
    levels = spec.levels
    if levels:
        tail_dsp = 0
        v_bits = min(spec.acc_bound_bits, spec.acc_bits + 1)
        index = (words - 1).bit_length()  # the RTL's range(words) field
        memories.append(Memory("scale params", words, spec.acc_bits + index, lanes, rom=True))
        memories += [Memory("thresholds", words << j, v_bits + 1, lanes, rom=True) for j in range(index_bits(levels))]
    else:
        tail_dsp = 1 if spec.acc_bound_bits <= DSP_A_BITS else 2
        memories.append(Memory("requant params", words, CONV_PARAM_BITS, lanes, rom=True))
    return LayerCost(
        spec,
        f.pe,
        f.simd,
        "addressed" if addressed else "sliding",
        width,
        height,
        max(h_out * row, width * height * in_beats),
        spec.macs(width, height),
        f.pe * f.simd,
        lanes * tail_dsp,
        tuple(memories),
    )


def _transposed(spec: ConvSpec, f: Folding, width: int, height: int, max_width: int) -> LayerCost:
    """The phase convolution's cost, the row shuffle's replay stall and its row buffer
    (module docstring); the MACs are the transposed convolution's useful ones."""
    phases = spec.phases
    cost = _conv(phases, f, width, height, max_width)
    groups, sf = spec.c_out // f.pe, phases.window_len // f.simd
    replay_stall = height * 2 * max(0, groups * width + 2 - sf)
    row = Memory("row buffer", max_width * 2 * groups, f.pe * spec.out_bits, 1, rom=False)
    return replace(
        cost,
        spec=spec,
        cycles=cost.cycles + replay_stall,
        macs=spec.macs(width, height),
        memories=(*cost.memories, row),
    )


def _gdn(spec: GDNSpec, f: Folding, width: int, height: int) -> LayerCost:
    C = spec.channels
    nf, sf = C // f.pe, C // f.simd
    lanes = math.ceil(f.pe / sf)
    fits_one = spec.coef_bits < DSP_A_BITS and spec.square_bits < DSP_B_BITS
    memories = [Memory("gamma", nf * sf, f.simd * spec.coef_bits, f.pe, rom=True)]
    if nf > 1:
        memories.append(Memory("squares buffer", sf, f.simd * spec.square_bits, 1, rom=False))
    memories += [
        Memory("GDN params", math.ceil(C / lanes), GDN_PARAM_BITS, lanes, rom=True),
        Memory("rsqrt seed", RSQRT_WORDS, RSQRT_BITS, lanes, rom=True),
        Memory("x buffer", 2 * math.ceil(C / lanes), spec.in_bits, lanes, rom=False),
    ]
    return LayerCost(
        spec,
        f.pe,
        f.simd,
        None,
        width,
        height,
        width * height * nf * sf,
        spec.macs(width, height),
        f.pe * f.simd * (1 if fits_one else 2),
        f.simd + lanes * gdn_tail_dsp(spec.inverse, spec.in_bits),
        tuple(memories),
    )


def layer_cost(spec: Spec, folding: Folding, width: int, height: int, max_width: int) -> LayerCost:
    """The cost of ``spec`` folded as ``folding`` on a ``width``×``height`` input frame,
    with line buffers for inputs up to ``max_width`` wide."""
    _check(spec, folding)
    if width > max_width:
        raise ValueError(f"{spec.name}: input width {width} exceeds its line buffers' {max_width}")
    if isinstance(spec, ConvSpec):
        if spec.transposed:
            return _transposed(spec, folding, width, height, max_width)
        return _conv(spec, folding, width, height, max_width)
    if isinstance(spec, GDNSpec):
        return _gdn(spec, folding, width, height)
    return LayerCost(spec, 1, spec.channels, None, width, height, width * height, 0, 0, 0, ())


def dual_chain(spec: ConvSpec) -> int:
    """The products one packed sum of ``spec`` holds (`licfpga.formats.dual_terms` of its
    weights and activations); ``ValueError`` unless both are 8 bits."""
    if not isinstance(spec, ConvSpec) or spec.in_bits != WEIGHT_BITS:
        raise ValueError(f"{spec.name}: two products per DSP48E2 need int8 or uint8 activations and int8 weights")
    return dual_terms(int_range(WEIGHT_BITS), int_range(spec.in_bits, spec.in_signed))


def dual_product_cost(cost: LayerCost) -> LayerCost:
    """``cost`` (a convolution's) with two output channels per DSP48E2 (module
    docstring): ⌈PE/2⌉·SIMD MAC DSPs, one weight ROM per PE pair of twice the width;
    cycles, MACs and the other memories unchanged."""
    dual_chain(cost.spec)
    pairs = math.ceil(cost.pe / 2)
    memories = []
    for mem in cost.memories:
        if mem.role == "weights":
            if cost.pe > 1:
                memories.append(Memory("weights", mem.depth, 2 * mem.width, cost.pe // 2, rom=True))
            if cost.pe % 2:
                memories.append(Memory("weights", mem.depth, mem.width, 1, rom=True))
        else:
            memories.append(mem)
    return replace(cost, dsp_mac=pairs * cost.simd, memories=tuple(memories))
