"""The Vivado trees of the tiny student's encoder (small budget): every Tcl file parses
and runs through tclsh with Vivado's commands stubbed (each call recorded), the files it
reads exist, and the part, the clocks, the stream widths and the address map agree with
the platform, the core and the register block; `licfpga build` prints the resource
estimate."""

import json
import shutil
import subprocess

import pytest

from licfpga.boards.vivado import (
    ACCEL_MODULE,
    ADDRESS_MAP,
    PS_MAX,
    BuildError,
    build,
    ps_core,
    ps_tree,
    selftest_core,
    selftest_tree,
    worst_negative_slack,
)
from licfpga.boards.zcu102 import PART
from licfpga.model.artefact import load_artefact
from licfpga.rtl.axi import ADDRESS_BITS, REGISTERS
from licfpga.sim.encoder_bench import BUDGET, tiny_student

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh is not installed")

# Every command tclsh does not know is Vivado's: record it (arguments joined by \x1f)
# and answer what the scripts test for.
STUB = r"""
set log [open [lindex $argv 0] w]
proc unknown {args} {
    puts $::log [string map [list "\n" " "] [join $args "\x1f"]]
    switch -glob -- [lindex $args 0] {
        get_board_parts { return "xilinx.com:zcu102:part0:3.4" }
        make_wrapper { return "GENERATED/licfpga_wrapper.v" }
        get_property {
            if {[lindex $args 1] eq "PROGRESS"} { return "100%" }
            return "1"
        }
        default { return [lindex $args end] }
    }
}
cd [lindex $argv 1]
source [lindex $argv 2]
close $log
"""


def run_tcl(tmp_path, tree, script):
    stub, log = tmp_path / "stub.tcl", tmp_path / f"{script}.calls"
    stub.write_text(STUB)
    result = subprocess.run(
        ["tclsh", str(stub), str(log), str(tree), script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [line.split("\x1f") for line in log.read_text().splitlines()]


def calls_of(calls, name):
    return [c[1:] for c in calls if c[0] == name]


def referenced_files(calls):
    files = []
    for args in calls_of(calls, "add_files") + calls_of(calls, "read_xdc"):
        for arg in args:
            files += [a for a in arg.split() if not a.startswith("-") and a not in ("sources_1", "constrs_1")]
    return files


@pytest.fixture(scope="module")
def artefact():
    return load_artefact(tiny_student())


@pytest.fixture(scope="module")
def core(artefact):
    return ps_core(artefact, dsp_budget=BUDGET)


@pytest.fixture(scope="module")
def ps(tmp_path_factory, core):
    return ps_tree(tmp_path_factory.mktemp("ps"), core, clock_mhz=250)


def test_tcl_parses(ps):
    for name in ("bd.tcl", "build.tcl", "ps.xdc"):
        text = (ps.root / name).read_text()
        result = subprocess.run(["tclsh"], input=f"puts [info complete {{{text}}}]", capture_output=True, text=True)
        assert result.stdout.strip() == "1", name


def test_ps_flow(ps, tmp_path):
    calls = run_tcl(tmp_path, ps.root, "build.tcl")
    names = [c[0] for c in calls]
    project = calls_of(calls, "create_project")[0]
    assert project[project.index("-part") + 1] == PART
    for file in referenced_files(calls):
        assert file.startswith("GENERATED/") or (ps.root / file).is_file(), file
    # the board preset, the module reference, synthesis to .xsa and the reports
    assert any("apply_board_preset" in " ".join(c) for c in calls_of(calls, "apply_bd_automation"))
    assert ["-type", "module", "-reference", ACCEL_MODULE, "accel"] in calls_of(calls, "create_bd_cell")
    for step in (
        "validate_bd_design",
        "launch_runs",
        "write_bitstream",
        "write_hw_platform",
        "report_utilization",
        "report_timing_summary",
    ):
        assert step in names, step
    assert names.index("validate_bd_design") < names.index("launch_runs") < names.index("write_hw_platform")
    # the PL clock is the requested one
    ps_config = " ".join(
        " ".join(c) for c in calls_of(calls, "set_property") if "CONFIG.PSU__USE__M_AXI_GP0" in " ".join(c)
    )
    assert "CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ 250" in ps_config


def test_ps_address_map_agrees_with_the_register_block(ps, core, tmp_path):
    calls = run_tcl(tmp_path, ps.root, "build.tcl")
    assigned = {}
    for args in calls_of(calls, "assign_bd_address"):
        if "-offset" in args:
            assigned[args[-2].split("/")[0]] = (
                int(args[args.index("-offset") + 1], 16),
                args[args.index("-range") + 1],
            )
    assert assigned == {"accel": (ADDRESS_MAP["accel"][0], "4K"), "axi_dma": (ADDRESS_MAP["axi_dma"][0], "64K")}
    assert ADDRESS_MAP["accel"][1] == 1 << ADDRESS_BITS > max(r.offset for r in REGISTERS)
    manifest = json.loads((ps.root / "manifest.json").read_text())
    assert manifest["address_map"]["accel"]["base"] == ADDRESS_MAP["accel"][0]
    assert [manifest["max_width"], manifest["max_height"]] == list(core.max_size) == list(PS_MAX)
    core_v = (ps.root / "hdl" / f"{ACCEL_MODULE}_core.v").read_text()
    for value in PS_MAX:  # MAX_WIDTH/MAX_HEIGHT as the register block reads them
        assert f"32'd{value}" in core_v
    assert "| 0x28 | FRAMES |" in (ps.root / "REGISTERS.md").read_text()


def test_ps_stream_widths_agree(ps, core, tmp_path):
    calls = run_tcl(tmp_path, ps.root, "build.tcl")
    dma = " ".join(" ".join(c) for c in calls_of(calls, "set_property") if "CONFIG.c_include_sg" in " ".join(c))
    assert (core.in_tdata, core.out_tdata) == (32, 16)  # a pixel of 3 × uint8, an int16 element
    assert f"CONFIG.c_m_axis_mm2s_tdata_width {core.in_tdata}" in dma
    assert f"CONFIG.c_s_axis_s2mm_tdata_width {core.out_tdata}" in dma
    top = (ps.root / "hdl" / f"{ACCEL_MODULE}.v").read_text()
    assert f"input wire [{core.in_tdata - 1}:0] s_axis_tdata" in top
    assert f"output wire [{core.out_tdata - 1}:0] m_axis_tdata" in top
    assert f"module {ACCEL_MODULE}_core(" in (ps.root / "hdl" / f"{ACCEL_MODULE}_core.v").read_text()
    manifest = json.loads((ps.root / "manifest.json").read_text())
    assert manifest["core"]["model"] == core.name and manifest["resources"]["fits"]
    assert "Whole-PL resource estimate" in (ps.root / "report.md").read_text()


def test_selftest_tree(artefact, tmp_path):
    tree = selftest_tree(tmp_path / "selftest", selftest_core(artefact, dsp_budget=BUDGET))
    calls = run_tcl(tmp_path, tree.root, "selftest.tcl")
    project = calls_of(calls, "create_project")[0]
    assert project[project.index("-part") + 1] == PART
    for file in referenced_files(calls):
        assert (tree.root / file).is_file(), file
    names = [c[0] for c in calls]
    for step in ("synth_design", "route_design", "report_utilization", "report_timing_summary", "write_bitstream"):
        assert step in names, step
    xdc = (tree.root / "selftest.xdc").read_text()
    assert "set_property LOC G21" in xdc and "-period 8.0" in xdc
    for pin in ("AG14", "AF13", "F13"):  # LED 0, LED 1, UART TX
        assert f"set_property LOC {pin} " in xdc
    manifest = json.loads((tree.root / "manifest.json").read_text())
    assert manifest["checksum_source"].startswith("integer golden model") and manifest["resources"]["fits"]


def test_selftest_clock_is_the_board_clock(artefact, tmp_path):
    with pytest.raises(ValueError, match="125 MHz"):
        build("selftest", tmp_path, str(tiny_student()), clock_mhz=200, run=False)


def test_cli_build(tmp_path, capsys, monkeypatch):
    from licfpga.cli import main

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no vivado: prepare only
    model = str(tiny_student())
    assert (
        main(
            [
                "build",
                "--board",
                "zcu102",
                "--design",
                "selftest",
                "--model",
                model,
                "--dsp-budget",
                str(BUDGET),
                "--out",
                str(tmp_path / "selftest"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "tiny-student-int8" in out and "sh build_selftest.sh" in out
    assert "| **total** |" in out and "whole-PL estimate (selftest)" in out and "fits the XCZU9EG" in out
    assert main(["build", "--design", "ps", "--model", model, "--dsp-budget", "3", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("licfpga: error: ") and err.count("\n") == 1 and not (tmp_path / "x").exists()


def test_docs_register_table_is_current():
    from pathlib import Path

    from licfpga.rtl.axi import register_markdown

    doc = (Path(__file__).resolve().parents[2] / "docs" / "zcu102.md").read_text()
    table = doc.split("<!-- registers -->\n")[1].split("<!-- /registers -->")[0]
    assert table == register_markdown(), "docs/zcu102.md: regenerate the register table"


TIMING_SUMMARY = """\
------------------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)
    -------      -------  ---------------------  -------------------      -------      -------
     {wns}       -3.217                     12                52017        0.010        0.000
"""


def test_wns_is_read_from_the_timing_summary():
    assert worst_negative_slack(TIMING_SUMMARY.format(wns="-0.500")) == -0.5
    assert worst_negative_slack(TIMING_SUMMARY.format(wns="0.123")) == 0.123
    with pytest.raises(BuildError, match="no Design Timing Summary"):
        worst_negative_slack("Timing constraints are not met.\n")


@pytest.mark.parametrize(
    "wns,rc,verdict", [("0.150", 0, "met"), ("-0.500", 1, "not met: the routed design allows about 222 MHz")]
)
def test_cli_build_reports_wns_after_vivado(tmp_path, capsys, monkeypatch, wns, rc, verdict):
    """A stand-in ``vivado`` on PATH writes the routed timing summary; ``build`` reads
    the WNS at the asked clock (250 MHz: 4 ns; −0.5 ns → 4.5 ns, about 222 MHz)."""
    from licfpga.cli import main

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "vivado"
    report = TIMING_SUMMARY.format(wns=wns)
    fake.write_text(f"#!/bin/sh\nmkdir -p reports\ncat > reports/timing_summary.rpt <<'EOF'\n{report}EOF\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    args = ["build", "--design", "ps", "--model", str(tiny_student()), "--dsp-budget", str(BUDGET)]
    assert main([*args, "--clock-mhz", "250", "--out", str(tmp_path / "ps")]) == rc
    out = capsys.readouterr().out
    assert f"timing at 250 MHz: WNS {float(wns):+.3f} ns, {verdict}" in out
