import dataclasses
import hashlib
import itertools

import numpy as np
import pytest

from licfpga.gen.cost import (
    Folding,
    Memory,
    bram36_blocks,
    divisors,
    dual_chain,
    dual_product_cost,
    gdn_tail_dsp,
    gdn_tail_products,
    layer_cost,
    legal_foldings,
)
from licfpga.gen.layers import ConvSpec, GDNSpec
from licfpga.rtl.gdn import gdn_tail
from licfpga.sim.reference import window_cycles


def conv(kernel, stride, c_in, c_out):
    return ConvSpec(
        name="c",
        kernel=kernel,
        stride=stride,
        c_in=c_in,
        c_out=c_out,
        in_bits=8,
        in_signed=True,
        out_bits=8,
        out_signed=True,
        acc_bits=32,
        acc_bound_bits=27,
    )


def brute_conv(spec, f, width, height):
    """Walk the schedule: every output pixel (every centre of the padded frame), its NF·SF
    MAC-array cycles counted one by one, stretched to the window generator's gap (p+1 at a
    row start, else s) for `SlidingWindow`; the input side one beat per cycle. Also
    counts every tap's MAC and the products the array issues."""
    p, s = spec.kernel // 2, spec.stride
    addressed = spec.c_in % f.simd == 0
    engine = taps = issued = 0
    for _ in range(0, height, s):
        for i, _ in enumerate(range(0, width, s)):
            busy = 0
            for _ in range(spec.c_out // f.pe):
                for _ in range(spec.window_len // f.simd):
                    busy += 1
                    issued += f.pe * f.simd
            taps += sum(
                1
                for _ in itertools.product(range(spec.kernel), range(spec.kernel), range(spec.c_in), range(spec.c_out))
            )
            engine += busy if addressed else max(busy, p + 1 if i == 0 else s)
    inputs = width * height * (spec.c_in // f.simd if addressed else 1)
    return max(engine, inputs), taps, issued


SMALL = [conv(k, s, ci, co) for k, s, ci, co in [(5, 2, 3, 4), (3, 1, 4, 2), (5, 2, 2, 6), (1, 1, 3, 2), (3, 2, 6, 3)]]


@pytest.mark.parametrize("spec", SMALL, ids=lambda s: f"K{s.kernel}s{s.stride}c{s.c_in}x{s.c_out}")
def test_conv_cycles_equal_a_brute_force_count(spec):
    rng = np.random.default_rng(spec.window_len)
    for f in legal_foldings(spec):
        width, height = (int(v) for v in rng.integers(1, 12, 2))
        cost = layer_cost(spec, f, width, height, max_width=16)
        cycles, taps, issued = brute_conv(spec, f, width, height)
        assert cost.cycles == cycles, (f, width, height)
        assert cost.macs == taps
        assert issued == taps  # the array is never idle on a legal folding: every lane is a real tap


def test_gdn_cycles_equal_a_brute_force_count():
    spec = GDNSpec("g", 12, 8, 8, 26, 48)
    for f in legal_foldings(spec):
        count = sum(1 for _y in range(5) for _x in range(7) for _nf in range(12 // f.pe) for _sf in range(12 // f.simd))
        cost = layer_cost(spec, f, 7, 5, max_width=7)
        assert cost.cycles == count
        assert cost.macs == 7 * 5 * 12 * 12


@pytest.mark.parametrize(
    "kernel,stride,c_in,simd,width,height",
    [
        (5, 2, 3, 3, 13, 9),
        (5, 2, 3, 1, 20, 7),
        (3, 1, 4, 2, 9, 9),
        (5, 2, 8, 8, 16, 12),
        (3, 2, 6, 2, 11, 5),
        (5, 2, 4, 5, 10, 10),
    ],
)
def test_one_pass_cycles_match_the_window_generators_reference(kernel, stride, c_in, simd, width, height):
    """With NF = 1 the engine paces at the window generator: the reference timing the RTL
    is tested against (sim.reference.window_cycles), less its fill (the rows before the
    first output row), is the model's frame interval whenever a row outlasts the input
    of its s new rows."""
    spec = conv(kernel, stride, c_in, 4)
    f = Folding(4, simd)
    cost = layer_cost(spec, f, width, height, max_width=width)
    cfg = spec.layer_config(f.pe, f.simd, width, height)
    beats = c_in // simd if c_in % simd == 0 else 1
    fill = (min(cfg.pad, height - 1) + 1) * width * beats
    row = cost.cycles // cfg.out_size(width, height)[1]
    assert row >= stride * width * beats, "outside the engine-paced regime the test is about"
    assert cost.window == ("addressed" if c_in % simd == 0 else "sliding")
    assert cost.cycles == window_cycles(cfg, width, height, beats) - fill


def test_full_rate_first_layer_is_input_bound():
    """SIMD = K²·C_in and PE = C_out: one window per output pixel, so the input (one pixel
    per cycle) and the stride set the pace, not the MAC array."""
    spec = conv(5, 2, 3, 8)
    cost = layer_cost(spec, Folding(8, 75), 64, 64, 64)
    assert cost.cycles == 64 * 64


def test_dsp_mapping():
    spec = conv(5, 2, 8, 16)  # window 200
    cost = layer_cost(spec, Folding(4, 10), 32, 32, 32)
    # 40 product lanes; SF = 20 ≥ PE, so one requantizer lane.
    assert (cost.dsp_mac, cost.dsp_other) == (40, 1)
    wide = ConvSpec(
        name="w",
        kernel=5,
        stride=2,
        c_in=8,
        c_out=16,
        in_bits=8,
        in_signed=False,
        out_bits=8,
        out_signed=False,
        acc_bits=32,
        acc_bound_bits=28,
    )  # 28-bit accumulator: two DSPs per requantizer
    cost = layer_cost(wide, Folding(16, 200), 32, 32, 32)
    assert (cost.dsp_mac, cost.dsp_other) == (3200, 16 * 2)
    gdn = GDNSpec("g", 64, 8, 8, 26, 48)
    cost = layer_cost(gdn, Folding(16, 8), 8, 8, 8)
    # 128 γ lanes, 8 squarers, ⌈16/8⌉ = 2 tail lanes of 8 (the inverse's: 10).
    assert (cost.dsp_mac, cost.dsp_other) == (128, 8 + 2 * 8)


def test_illegal_folding_and_frame_are_refused():
    with pytest.raises(ValueError, match="PE=3, SIMD=5 is not a legal folding"):
        layer_cost(conv(5, 2, 3, 8), Folding(3, 5), 8, 8, 8)
    with pytest.raises(ValueError, match="exceeds its line buffers"):
        layer_cost(conv(5, 2, 3, 8), Folding(1, 1), 9, 8, 8)


@pytest.mark.parametrize(
    "depth,width,blocks",
    [
        (1024, 18, 0.5),  # one RAMB18 1K×18
        (512, 72, 1),  # one RAMB36 512×72
        (1920, 24, 1.5),  # three RAMB18 2K×9
        (4096, 9, 1),  # RAMB36 4K×9
        (960, 512, 14.5),  # 29 RAMB18 of 1K×18 (512 bits = 28 × 18 + 8 → a 29th column)
        (100, 512, 7.5),  # shallow: 15 RAMB18 of 512×36
        (40000, 1, 1.5),  # 32K×1 RAMB36 + 8K×2 RAMB18 for the rest
    ],
)
def test_bram_mapping_uses_real_aspect_ratios(depth, width, blocks):
    assert bram36_blocks(depth, width) == blocks


def test_bram_mapping_never_beats_capacity():
    for depth, width in itertools.product([65, 300, 513, 1000, 2049, 5000], [1, 7, 17, 33, 100, 600]):
        assert bram36_blocks(depth, width) * 36864 >= depth * width


def test_small_memories_go_to_luts():
    rom = Memory("weights", 64, 40, 3, rom=True)
    ram = Memory("window buffer", 64, 40, 1, rom=False)
    assert (rom.bram36, rom.luts) == (0.0, 3 * 40)
    assert (ram.bram36, ram.luts) == (0.0, 4 * 14)
    assert Memory("weights", 65, 40, 1, rom=True).bram36 == 1.0  # 512×36 + 512×4 in RAMB18s


def test_weight_roms_hold_every_weight():
    spec = conv(5, 2, 64, 64)
    for f in [Folding(1, 1), Folding(4, 64), Folding(16, 100), Folding(64, 1600)]:
        cost = layer_cost(spec, f, 64, 64, 64)
        weights = next(m for m in cost.memories if m.role == "weights")
        assert (weights.copies, weights.depth, weights.width) == (f.pe, 64 * 1600 // (f.pe * f.simd), 8 * f.simd)
        assert weights.bits == 64 * 1600 * 8


@pytest.mark.parametrize("spec", SMALL, ids=lambda s: f"K{s.kernel}s{s.stride}c{s.c_in}x{s.c_out}")
def test_dual_products_halve_the_mac_dsps(spec):
    """Two output channels per DSP48E2: ⌈PE/2⌉·SIMD MAC DSPs, the same cycles, MACs and
    weight bits; per MAC DSP twice the weight bits read per cycle where PE is even."""
    for f in legal_foldings(spec):
        single = layer_cost(spec, f, 9, 7, max_width=16)
        dual = dual_product_cost(single)
        assert dual.dsp_mac == -(-f.pe // 2) * f.simd
        assert (dual.cycles, dual.macs, dual.dsp_other) == (single.cycles, single.macs, single.dsp_other)

        def weight_bits(cost):
            return sum(m.bits for m in cost.memories if m.role == "weights")

        def word_bits(cost):  # weight bits read per cycle: one word of every weight ROM
            return sum(m.width * m.copies for m in cost.memories if m.role == "weights")

        assert weight_bits(dual) == weight_bits(single)
        assert word_bits(dual) == word_bits(single) == f.pe * f.simd * 8
        if f.pe % 2 == 0:
            assert word_bits(dual) / dual.dsp_mac == 2 * word_bits(single) / single.dsp_mac
        assert [m for m in dual.memories if m.role != "weights"] == [m for m in single.memories if m.role != "weights"]


def test_dual_chain():
    """Products per packed sum: 8 for the symmetric int8 activations, 4 for uint8 (the
    formats' ranges; full-range int8 holds 7, tests/test_formats.py)."""
    spec = conv(3, 1, 4, 2)
    assert dual_chain(spec) == 8
    assert dual_chain(dataclasses.replace(spec, in_signed=False)) == 4
    with pytest.raises(ValueError, match="int8 or uint8 activations"):
        dual_chain(dataclasses.replace(spec, in_bits=16))
    gdn = layer_cost(GDNSpec("g", 12, 8, 8, 26, 48), Folding(2, 2), 4, 4, max_width=4)
    with pytest.raises(ValueError, match="g: two products"):
        dual_product_cost(gdn)


def transposed(kernel, c_in, c_out):
    return dataclasses.replace(conv(kernel, 2, c_in, c_out), transposed=True, in_signed=True, out_signed=False)


def test_transposed_foldings_are_the_configs_the_rtl_builds():
    """PE | C_out and SIMD | 9·C_in: exactly the foldings `LayerConfig(transposed=True)`
    accepts, so every one the balancer may pick builds."""
    for spec in [transposed(5, 2, 6), transposed(3, 3, 4)]:
        legal = set(legal_foldings(spec))
        assert legal == {Folding(pe, simd) for pe in divisors(spec.c_out) for simd in divisors(9 * spec.c_in)}
        built = set()
        for pe, simd in itertools.product(range(1, 4 * spec.c_out + 1), range(1, spec.window_len + 1)):
            try:
                spec.layer_config(pe, simd, 8, 8)
            except ValueError:
                continue
            built.add(Folding(pe, simd))
        assert built == legal


@pytest.mark.parametrize("kernel,c_in,c_out", [(5, 2, 6), (3, 3, 4), (5, 64, 64)])
def test_transposed_cost_is_the_phase_convolution_and_the_row_shuffle(kernel, c_in, c_out):
    """Cycles: the phase convolution's (3×3, stride 1, 4·C_out channels, on the input
    frame) plus H·2·max(0, G·W + 2 − SF) of replay stall; its DSPs and memories plus a
    row buffer of max_width·2G words of PE output elements; the useful MACs."""
    spec = transposed(kernel, c_in, c_out)
    phases = dataclasses.replace(spec, kernel=3, stride=1, c_out=4 * c_out, transposed=False)
    width, height, max_width = 11, 7, 16
    for f in legal_foldings(spec):
        cost = layer_cost(spec, f, width, height, max_width)
        phase = layer_cost(phases, f, width, height, max_width)
        groups, sf = c_out // f.pe, 9 * c_in // f.simd
        assert cost.cycles == phase.cycles + height * 2 * max(0, groups * width + 2 - sf)
        assert (cost.dsp_mac, cost.dsp_other, cost.window) == (phase.dsp_mac, phase.dsp_other, phase.window)
        assert cost.memories == (*phase.memories, Memory("row buffer", max_width * 2 * groups, f.pe * 8, 1, rom=False))
        weights = next(m for m in cost.memories if m.role == "weights")
        assert (weights.depth, weights.copies) == (4 * groups * sf, f.pe)
        assert cost.macs == spec.macs(width, height) == width * height * kernel**2 * c_in * c_out
        assert (cost.name, cost.shape) == (spec.name, spec)


def test_scale_index_output_has_no_requantizer():
    """levels = 64: six search steps, threshold ROM j of words·2**j entries of
    v_bits + 1 bits per lane, bias and word index per channel, no DSP in the tail;
    cycles, MAC DSPs and the other memories as a requantized output."""
    spec = dataclasses.replace(conv(3, 1, 16, 24), acc_bound_bits=25, out_bits=6, out_signed=False)
    indexed = dataclasses.replace(spec, levels=64)
    for f, lanes in [(Folding(8, 16), 1), (Folding(12, 48), 4), (Folding(24, 144), 24)]:
        cost, plain = layer_cost(indexed, f, 9, 7, 16), layer_cost(spec, f, 9, 7, 16)
        words = -(-24 // lanes)
        assert (cost.dsp_other, plain.dsp_other) == (0, lanes)
        assert (cost.cycles, cost.dsp_mac) == (plain.cycles, plain.dsp_mac)
        thresholds = [m for m in cost.memories if m.role == "thresholds"]
        assert [(m.depth, m.width, m.copies, m.rom) for m in thresholds] == [
            (words << j, 26, lanes, True) for j in range(6)
        ]
        assert sum(m.bits for m in thresholds) == lanes * words * 63 * 26
        params = next(m for m in cost.memories if m.role == "scale params")
        assert (params.depth, params.width, params.copies) == (words, 32 + (words - 1).bit_length(), lanes)
        rest = [m for m in cost.memories if m.role not in ("thresholds", "scale params")]
        assert rest == [m for m in plain.memories if m.role != "requant params"]


def test_requantized_output_costs_as_before():
    """levels = 0 (the default): every number of these layers at every folding as before
    the scale-index and transposed engines (a digest of the model's output)."""
    specs = SMALL + [
        dataclasses.replace(conv(3, 1, 64, 64), in_signed=False, out_signed=False, acc_bound_bits=25),
        dataclasses.replace(conv(5, 2, 64, 64), in_signed=False, out_signed=False, acc_bound_bits=28),
        dataclasses.replace(conv(5, 2, 3, 64), in_signed=False, acc_bound_bits=24),
    ]
    rows = []
    for spec in specs:
        for f in legal_foldings(spec):
            c = layer_cost(spec, f, 13, 9, 16)
            memories = tuple((m.role, m.depth, m.width, m.copies, m.rom) for m in c.memories)
            rows.append((c.pe, c.simd, c.window, c.cycles, c.macs, c.dsp_mac, c.dsp_other, memories))
    assert len(rows) == 416
    assert hashlib.sha256(repr(rows).encode()).hexdigest()[:16] == "6056c8a62a730c70"


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("in_bits", [8, 16])
def test_gdn_tail_dsps_are_the_tail_pipelines_products(inverse, in_bits):
    """The cost model's tail products are the RTL tail's: each takes as many DSP48E2s as
    its pipeline stage has cycles (`product_stages`: 1 or 2)."""
    stages = gdn_tail(inverse, in_bits).stages
    products = [n for n in stages if "·" in n and not n.startswith(("w =", "sqrt ="))]
    assert len(products) == len(gdn_tail_products(inverse, in_bits))
    assert gdn_tail_dsp(inverse, in_bits) == sum(stages[n] for n in products) == (10 if inverse else 8)
