"""Vivado build trees for the ZCU102: ``ps`` (the generated encoder behind AXI DMA in a
Zynq UltraScale+ block design) and ``selftest`` (a standalone Amaranth platform design:
a ROM frame through the encoder, checked against the integer golden model).

`build` writes the tree, then runs Vivado in batch mode when ``vivado`` is on PATH, and
otherwise prints the one command to run. Everything Vivado needs is in the tree.

``ps`` follows the documented project flow: a project on the ZCU102 board part
(UG895), a block design built in Tcl (UG994, "Creating a Block Design with Tcl"; the
commands of UG835) with the PS8 (``zynq_ultra_ps_e``, the board preset applied by its
block automation rule), an AXI DMA in direct register mode (PG021), SmartConnects
(PG247) for control and memory traffic, a processor system reset (PG164), and the
accelerator as an RTL module reference; its wrapper is the top level. The build writes
the bitstream and, for software, the hardware platform (``write_hw_platform``, .xsa).
The PL clock (``pl_clk0``) is set to the requested frequency: an assumption until
the timing report confirms it.

Each tree also holds ``report.md``: the encoder's plan (`gen.report`) and the whole-PL
resource estimate against the XCZU9EG (`boards.resources`).
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.lib.wiring import In

from ..errors import UserError
from ..formats import OUT_BITS
from ..gen.balance import DEFAULT_MAX_FRAME
from ..gen.report import markdown, plan_report
from ..gen.synth import synthesize_design
from ..rtl.axi import ADDRESS_BITS, register_markdown
from .core import DEVICE, PIXEL_BYTES, decoder_core, encoder_core, hyper_core, load_model
from .resources import estimate_ps, estimate_selftest
from .selftest import SelfTest, SelfTestTop, checksum, rom_frame
from .zcu102 import PART, ZCU102Platform

__all__ = [
    "ADDRESS_MAP",
    "DECODER_ADDRESS_MAP",
    "PS_HYPER_DSP_BUDGET",
    "BuildError",
    "worst_negative_slack",
    "PS_MAX",
    "SELFTEST_FRAME",
    "Tree",
    "ps_core",
    "selftest_core",
    "ps_decoder_cores",
    "ps_tree",
    "selftest_design",
    "selftest_tree",
    "build",
]

# The PS's view of the PL: M_AXI_HPM0_FPD's window starts at 0xA000_0000 (UG1085,
# "System Addresses"). The accelerator's segment is as large as its register block
# decodes; the DMA's register block takes 64 KiB (PG021, "Register Space").
ADDRESS_MAP = {
    "accel": (0xA000_0000, 1 << ADDRESS_BITS),
    "axi_dma": (0xA001_0000, 0x1_0000),
}
# The decoder's PL design, a bitstream of its own (the host rANS-decodes between its two
# cores), as the host driver addresses it: the hyper-decoder and the decoder, each behind
# its AXI DMA. No tree here builds it yet (`ps_decoder_cores` says what it would hold).
DECODER_ADDRESS_MAP = {
    "hyper": (0xA000_0000, 1 << ADDRESS_BITS),
    "hyper_dma": (0xA001_0000, 0x1_0000),
    "decoder": (0xA002_0000, 1 << ADDRESS_BITS),
    "decoder_dma": (0xA003_0000, 0x1_0000),
}
# The hyper-decoder's share of the decoder design's DSPs (h_s of a 1080p frame at N=64:
# about 30 ms at 300 MHz, beside g_s's 60 ms with the rest of the device).
PS_HYPER_DSP_BUDGET = 100
BD_NAME = "licfpga"
ACCEL_MODULE = "licfpga_accel"
PS_PROJECT = "licfpga_ps"
# The largest frame of the ps build: gen.balance's built-in maximum (1080p, padded to 64).
PS_MAX = DEFAULT_MAX_FRAME
# The self-test's ROM frame: small, so the ROM stays in LUTs.
SELFTEST_FRAME = (32, 16)
SELFTEST_CLOCK_MHZ = 125.0


class BuildError(UserError, ValueError):
    """A board design that cannot be built as asked: an unknown design, a clock it cannot run at."""


@dataclass
class Tree:
    """What `ps_tree`/`selftest_tree` wrote: the folder, the files, the command that
    builds it, a one-line description of the design and its resource estimate
    (`boards.resources.Estimate`)."""

    root: Path
    files: list
    command: list
    summary: str
    resources: object
    clock_mhz: float = 0.0
    timing_report: str = ""  # relative to root: Vivado's routed timing summary

    def timing(self):
        """(WNS in ns, the clock it was met at or the fastest it allows) from Vivado's
        routed timing summary, or None before Vivado has run."""
        path = self.root / self.timing_report
        if not self.timing_report or not path.exists():
            return None
        wns = worst_negative_slack(path.read_text())
        period = 1000.0 / self.clock_mhz
        return wns, 1000.0 / (period - min(wns, 0.0))


def worst_negative_slack(report: str) -> float:
    """WNS (ns) from the Design Timing Summary of Vivado's ``report_timing_summary``:
    the first number under its ``WNS(ns)`` heading."""
    lines = report.splitlines()
    for n, line in enumerate(lines):
        if line.split()[:1] == ["WNS(ns)"]:
            for row in lines[n + 1 :]:
                fields = row.split()
                if fields and not set(fields[0]) <= {"-"}:
                    try:
                        return float(fields[0])
                    except ValueError:
                        break
            break
    raise BuildError("no Design Timing Summary (WNS) in the timing report")


def _size(value):
    return f"{value // 1024}K" if value < 1 << 20 else f"{value >> 20}M"


def _accel_wrapper(wrapper, core_module):
    """Verilog top of the module reference: Vivado's port names (``s_axi_awaddr``, …)
    with X_INTERFACE_INFO on each, so the block design sees one AXI4-Lite and two
    AXI4-Stream interfaces on ``aclk`` and an active-low ``aresetn`` (UG994, "Inferring
    Interfaces"), around the Amaranth module, whose reset is synchronous active-high."""
    ports, conns = [], [".clk(aclk)", ".rst(~aresetn)"]
    kinds = {"s_axi": "aximm", "s_axis": "axis", "m_axis": "axis"}
    for path, member, value in wrapper.signature.flatten(wrapper):
        name = "_".join(str(p) for p in path)
        amaranth_name = "__".join(str(p) for p in path)
        direction = "input" if member.flow == In else "output"
        width = f"[{len(value) - 1}:0] " if len(value) > 1 else ""
        if path == ("s_axi", "awaddr"):
            ports.append(f'  (* X_INTERFACE_PARAMETER = "PROTOCOL AXI4LITE, DATA_WIDTH 32, ADDR_WIDTH {len(value)}" *)')
        if path[0] in kinds:
            ports.append(
                f'  (* X_INTERFACE_INFO = "xilinx.com:interface:{kinds[path[0]]}:1.0 {path[0]} {path[1].upper()}" *)'
            )
        else:  # irq
            ports += [
                '  (* X_INTERFACE_INFO = "xilinx.com:signal:interrupt:1.0 irq INTERRUPT" *)',
                '  (* X_INTERFACE_PARAMETER = "SENSITIVITY LEVEL_HIGH" *)',
            ]
        ports.append(f"  {direction} wire {width}{name},")
        conns.append(f".{amaranth_name}({name})")
    header = [
        f"module {ACCEL_MODULE} (",
        '  (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 aclk CLK" *)',
        '  (* X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF s_axi:s_axis:m_axis, ASSOCIATED_RESET aresetn" *)',
        "  input wire aclk,",
        '  (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 aresetn RST" *)',
        '  (* X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW" *)',
        "  input wire aresetn,",
    ]
    ports[-1] = ports[-1].rstrip(",")
    body = [");", f"  {core_module} core (", "    " + ",\n    ".join(conns), "  );", "endmodule", ""]
    return "\n".join(
        ["// Generated by licfpga.boards.vivado: the accelerator as Vivado sees it.", *header, *ports, *body]
    )


def _bd_tcl(clock_mhz, in_tdata, out_tdata):
    accel, dma = ADDRESS_MAP["accel"], ADDRESS_MAP["axi_dma"]
    return f"""\
# Generated by licfpga.boards.vivado: the block design (UG994; commands of UG835).
# Sourced by build.tcl inside the project; creates and validates '{BD_NAME}'.
create_bd_design {BD_NAME}

# Zynq UltraScale+ PS with the ZCU102 preset (DDR, MIO, clocks), then what the PL needs:
# M_AXI_HPM0_FPD for control, S_AXI_HP0_FPD for DMA traffic, pl_clk0, pl_ps_irq0.
set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e zynq_ps]
apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {{apply_board_preset "1"}} $ps
set_property -dict [list \\
  CONFIG.PSU__USE__M_AXI_GP0 {{1}} \\
  CONFIG.PSU__USE__M_AXI_GP1 {{0}} \\
  CONFIG.PSU__USE__M_AXI_GP2 {{0}} \\
  CONFIG.PSU__USE__S_AXI_GP2 {{1}} \\
  CONFIG.PSU__SAXIGP2__DATA_WIDTH {{128}} \\
  CONFIG.PSU__FPGA_PL0_ENABLE {{1}} \\
  CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ {{{clock_mhz:g}}} \\
  CONFIG.PSU__USE__IRQ0 {{1}} \\
] $ps

# AXI DMA in direct register mode (no scatter-gather): MM2S feeds the pixels, S2MM
# takes the output packet, which ends on the accelerator's TLAST (PG021).
set dma [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma axi_dma]
set_property -dict [list \\
  CONFIG.c_include_sg {{0}} \\
  CONFIG.c_sg_length_width {{26}} \\
  CONFIG.c_addr_width {{40}} \\
  CONFIG.c_m_axis_mm2s_tdata_width {{{in_tdata}}} \\
  CONFIG.c_s_axis_s2mm_tdata_width {{{out_tdata}}} \\
  CONFIG.c_m_axi_mm2s_data_width {{128}} \\
  CONFIG.c_m_axi_s2mm_data_width {{128}} \\
  CONFIG.c_mm2s_burst_size {{64}} \\
  CONFIG.c_s2mm_burst_size {{64}} \\
] $dma

set accel [create_bd_cell -type module -reference {ACCEL_MODULE} accel]

set ctrl [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect ctrl_sc]
set_property -dict [list CONFIG.NUM_SI {{1}} CONFIG.NUM_MI {{2}}] $ctrl
set mem [create_bd_cell -type ip -vlnv xilinx.com:ip:smartconnect mem_sc]
set_property -dict [list CONFIG.NUM_SI {{2}} CONFIG.NUM_MI {{1}}] $mem
set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset pl_reset]
set irq [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat irq_concat]
set_property CONFIG.NUM_PORTS {{3}} $irq

connect_bd_intf_net [get_bd_intf_pins zynq_ps/M_AXI_HPM0_FPD] [get_bd_intf_pins ctrl_sc/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins ctrl_sc/M00_AXI] [get_bd_intf_pins accel/s_axi]
connect_bd_intf_net [get_bd_intf_pins ctrl_sc/M01_AXI] [get_bd_intf_pins axi_dma/S_AXI_LITE]
connect_bd_intf_net [get_bd_intf_pins axi_dma/M_AXI_MM2S] [get_bd_intf_pins mem_sc/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins axi_dma/M_AXI_S2MM] [get_bd_intf_pins mem_sc/S01_AXI]
connect_bd_intf_net [get_bd_intf_pins mem_sc/M00_AXI] [get_bd_intf_pins zynq_ps/S_AXI_HP0_FPD]
connect_bd_intf_net [get_bd_intf_pins axi_dma/M_AXIS_MM2S] [get_bd_intf_pins accel/s_axis]
connect_bd_intf_net [get_bd_intf_pins accel/m_axis] [get_bd_intf_pins axi_dma/S_AXIS_S2MM]

# One clock (pl_clk0) and its synchronised resets for the whole PL.
connect_bd_net [get_bd_pins zynq_ps/pl_clk0] \\
  [get_bd_pins zynq_ps/maxihpm0_fpd_aclk] [get_bd_pins zynq_ps/saxihp0_fpd_aclk] \\
  [get_bd_pins ctrl_sc/aclk] [get_bd_pins mem_sc/aclk] [get_bd_pins accel/aclk] \\
  [get_bd_pins axi_dma/s_axi_lite_aclk] [get_bd_pins axi_dma/m_axi_mm2s_aclk] \\
  [get_bd_pins axi_dma/m_axi_s2mm_aclk] [get_bd_pins pl_reset/slowest_sync_clk]
connect_bd_net [get_bd_pins zynq_ps/pl_resetn0] [get_bd_pins pl_reset/ext_reset_in]
connect_bd_net [get_bd_pins pl_reset/peripheral_aresetn] \\
  [get_bd_pins accel/aresetn] [get_bd_pins axi_dma/axi_resetn]
connect_bd_net [get_bd_pins pl_reset/interconnect_aresetn] \\
  [get_bd_pins ctrl_sc/aresetn] [get_bd_pins mem_sc/aresetn]
connect_bd_net [get_bd_pins axi_dma/mm2s_introut] [get_bd_pins irq_concat/In0]
connect_bd_net [get_bd_pins axi_dma/s2mm_introut] [get_bd_pins irq_concat/In1]
connect_bd_net [get_bd_pins accel/irq] [get_bd_pins irq_concat/In2]
connect_bd_net [get_bd_pins irq_concat/dout] [get_bd_pins zynq_ps/pl_ps_irq0]

# The address map of licfpga.boards.vivado.ADDRESS_MAP (the host driver uses the same).
assign_bd_address -offset 0x{accel[0]:08X} -range {_size(accel[1])} \\
  -target_address_space [get_bd_addr_spaces zynq_ps/Data] [get_bd_addr_segs accel/s_axi/reg0] -force
assign_bd_address -offset 0x{dma[0]:08X} -range {_size(dma[1])} \\
  -target_address_space [get_bd_addr_spaces zynq_ps/Data] [get_bd_addr_segs axi_dma/S_AXI_LITE/Reg] -force
assign_bd_address -target_address_space [get_bd_addr_spaces axi_dma/Data_MM2S] \\
  [get_bd_addr_segs zynq_ps/SAXIGP2/HP0_DDR_LOW] -force
assign_bd_address -target_address_space [get_bd_addr_spaces axi_dma/Data_S2MM] \\
  [get_bd_addr_segs zynq_ps/SAXIGP2/HP0_DDR_LOW] -force

validate_bd_design
save_bd_design
puts "licfpga: pl_clk0 requested {clock_mhz:g} MHz, actual [get_property CONFIG.PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ $ps] MHz"
"""


def _build_tcl(jobs=2):
    return f"""\
# Generated by licfpga.boards.vivado. Run from anywhere:  vivado -mode batch -source build.tcl
# Project flow (UG895/UG893): project on the ZCU102 board part, block design from bd.tcl,
# its wrapper as top, synthesis, implementation, bitstream, reports, .xsa.
set here [file dirname [file normalize [info script]]]
cd $here
create_project -force {PS_PROJECT} vivado -part {PART}
# The board preset needs the ZCU102 board files (shipped with Vivado); take the newest.
set board [lindex [lsort [get_board_parts -quiet -latest_file_version xilinx.com:zcu102:*]] end]
if {{$board eq ""}} {{ error "licfpga: no ZCU102 board part in this Vivado (xilinx.com:zcu102)" }}
set_property board_part $board [current_project]

add_files -norecurse [list hdl/{ACCEL_MODULE}_core.v hdl/{ACCEL_MODULE}.v]
add_files -fileset constrs_1 -norecurse ps.xdc
update_compile_order -fileset sources_1

source bd.tcl
set wrapper [make_wrapper -files [get_files {BD_NAME}.bd] -top]
add_files -norecurse $wrapper
set_property top {BD_NAME}_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs synth_1 -jobs {jobs}
wait_on_run synth_1
if {{[get_property PROGRESS [get_runs synth_1]] ne "100%"}} {{ error "licfpga: synthesis failed" }}
launch_runs impl_1 -jobs {jobs}
wait_on_run impl_1
if {{[get_property PROGRESS [get_runs impl_1]] ne "100%"}} {{ error "licfpga: implementation failed" }}

open_run impl_1
file mkdir reports
report_utilization -file reports/utilization.rpt
report_utilization -hierarchical -file reports/utilization_hierarchical.rpt
report_timing_summary -max_paths 10 -file reports/timing_summary.rpt
write_bitstream -force {PS_PROJECT}.bit
write_hw_platform -fixed -include_bit -force -file {PS_PROJECT}.xsa
puts "licfpga: wrote {PS_PROJECT}.bit, {PS_PROJECT}.xsa, reports/"
"""


PS_XDC = """\
# Generated by licfpga.boards.vivado. The ps design has no PL pins: its clock and reset
# come from the PS (pl_clk0, pl_resetn0), whose timing the block design constrains.
set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]
"""


def _write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return sorted(files)


def ps_core(artefact, sha256=None, dsp_budget=None, model_id=0):
    """The encoder of the ``ps`` design: frames up to `PS_MAX`, MODEL reading ``model_id``."""
    return encoder_core(artefact, sha256, dsp_budget, max_frame=PS_MAX, model_id=model_id)


def ps_decoder_cores(artefact, sha256=None, model_id=0):
    """The two cores of the decoder's PL design (`DECODER_ADDRESS_MAP`; not built yet):
    the hyper-decoder within `PS_HYPER_DSP_BUDGET` DSPs and the decoder within the rest
    of the device's budget, both for images up to `PS_MAX`, MODEL reading ``model_id``."""
    return (
        hyper_core(artefact, PS_HYPER_DSP_BUDGET, sha256, PS_MAX, model_id=model_id),
        decoder_core(artefact, DEVICE.dsp_budget() - PS_HYPER_DSP_BUDGET, sha256, PS_MAX, model_id=model_id),
    )


def selftest_core(artefact, sha256=None, dsp_budget=None):
    """The encoder of the ``selftest`` design: line buffers for its ROM frame only."""
    return encoder_core(artefact, sha256, dsp_budget, max_frame=SELFTEST_FRAME)


def _report(core, estimate, clock_mhz):
    return (
        f"# {estimate.design}: {core.describe()}\n\n## Whole-PL resource estimate ({PART})\n\n"
        f"{estimate.markdown()}\n## The encoder's plan\n\n{markdown(plan_report(core.design.plan, clock_mhz))}"
    )


def _model_json(core):
    a, plan = core.design.artefact, core.design.plan
    return {
        "model": a.name,
        "N": a.N,
        "M": a.M,
        "npz_sha256": core.design.artefact_sha256,
        "model_id": core.model_id,
        "objective": plan.objective,
        "dsp": plan.dsp,
        "cycles_per_pixel": plan.interval() / (plan.width * plan.height),
        "plan_frame": [plan.width, plan.height],
    }


def ps_tree(out, core, clock_mhz=300.0, synth=None):
    """Writes the ``ps`` tree of ``core`` (`ps_core`) under ``out``: hdl/ (the wrapped
    encoder and its Vivado top), bd.tcl, build.tcl, ps.xdc, REGISTERS.md, report.md,
    manifest.json. ``synth``: the encoder's `gen.synth` report, for the estimate."""
    root = Path(out)
    wrapper = core.wrapper()
    core_module = f"{ACCEL_MODULE}_core"
    estimate = estimate_ps(core, synth)
    files = {
        f"hdl/{core_module}.v": verilog.convert(wrapper, name=core_module, emit_src=False),
        f"hdl/{ACCEL_MODULE}.v": _accel_wrapper(wrapper, core_module),
        "bd.tcl": _bd_tcl(clock_mhz, core.in_tdata, core.out_tdata),
        "build.tcl": _build_tcl(),
        "ps.xdc": PS_XDC,
        "REGISTERS.md": f"# {ACCEL_MODULE} registers (base 0x{ADDRESS_MAP['accel'][0]:08X})\n\n" + register_markdown(),
        "report.md": _report(core, estimate, clock_mhz),
    }
    max_size = core.max_size
    manifest = {
        "design": "ps",
        "part": PART,
        "core": _model_json(core),
        "clock_mhz": clock_mhz,
        "max_width": max_size[0],
        "max_height": max_size[1],
        "in_tdata": core.in_tdata,
        "out_tdata": core.out_tdata,
        "stream": {
            "in": f"one pixel per beat: {PIXEL_BYTES} × uint8 (R, G, B) in bits 0–23",
            "out": f"one int{OUT_BITS} element per beat: ŷ, ẑ, then the scale indices, TLAST on the frame's last",
        },
        "address_map": {k: {"base": v[0], "range": v[1]} for k, v in ADDRESS_MAP.items()},
        "resources": estimate.as_json(),
        "outputs": [f"{PS_PROJECT}.bit", f"{PS_PROJECT}.xsa", "reports/"],
    }
    files["manifest.json"] = json.dumps(manifest, indent=1) + "\n"
    return Tree(
        root,
        _write(root, files),
        ["vivado", "-mode", "batch", "-source", "build.tcl"],
        f"ps: {core.describe()} behind AXI DMA on the ZCU102 PS, pl_clk0 {clock_mhz:g} MHz (assumed "
        f"until the timing report confirms it)",
        estimate,
        clock_mhz,
        "reports/timing_summary.rpt",
    )


def selftest_design(core, size=SELFTEST_FRAME, seed=1):
    """The self-test of ``core`` (`selftest_core`) on a ROM frame of ``size``: a factory
    of `SelfTest` and the expected (elements, checksum), from the integer golden model. The
    factory takes the UART's bit time and the report period, and optionally the
    ``component`` to test (default: a new encoder) and the ``expected`` pair (default:
    the golden model's)."""
    width, height = size
    core.design.check_frame(width, height)
    frame = rom_frame(width, height, PIXEL_BYTES, seed)
    reference = core.reference(frame)
    golden = (len(reference), checksum(reference.reshape(-1, 1), OUT_BITS))

    def make(clocks_per_bit, repeat_cycles, component=None, expected=golden):
        return SelfTest(core.make() if component is None else component, frame, expected, clocks_per_bit, repeat_cycles)

    return make, golden


def _check_selftest_clock(clock_mhz):
    if clock_mhz not in (None, SELFTEST_CLOCK_MHZ):
        raise BuildError(
            f"selftest runs on the ZCU102's fixed {SELFTEST_CLOCK_MHZ:g} MHz "
            f"clock (CLK_125); --clock-mhz {clock_mhz:g} applies to --design ps"
        )


def selftest_tree(out, core, clock_mhz=None, synth=None):
    """Writes the ``selftest`` tree of ``core`` (`selftest_core`) under ``out`` through
    Amaranth's Vivado back end (selftest.v, selftest.xdc, selftest.tcl: synthesis,
    placement, routing, reports of utilisation and timing, bitstream; build_selftest.sh
    runs it), with report.md and manifest.json. ``synth``: as in `ps_tree`."""
    _check_selftest_clock(clock_mhz)
    make, expected = selftest_design(core)
    top = SelfTestTop(make)
    clock = SELFTEST_CLOCK_MHZ * 1e6
    estimate = estimate_selftest(core, lambda stub: make(*top.timing(clock), component=stub), synth)
    root = Path(out)
    plan = ZCU102Platform().build(top, name="selftest", do_build=False)
    root.mkdir(parents=True, exist_ok=True)
    plan.extract(root)
    files = sorted(str(p.relative_to(root)) for p in root.iterdir() if p.is_file())
    manifest = {
        "design": "selftest",
        "part": PART,
        "core": _model_json(core),
        "clock_mhz": SELFTEST_CLOCK_MHZ,
        "frame": list(SELFTEST_FRAME),
        "expected_elements": expected[0],
        "expected_checksum": expected[1],
        "checksum_source": "integer golden model (model.golden)",
        "resources": estimate.as_json(),
        "outputs": ["selftest.bit"],
    }
    files += _write(
        root,
        {
            "manifest.json": json.dumps(manifest, indent=1) + "\n",
            "report.md": _report(core, estimate, SELFTEST_CLOCK_MHZ),
        },
    )
    return Tree(
        root,
        sorted(set(files)),
        ["sh", "build_selftest.sh"],
        f"selftest: {core.describe()} on a {SELFTEST_FRAME[0]}×{SELFTEST_FRAME[1]} ROM frame at "
        f"{SELFTEST_CLOCK_MHZ:g} MHz; LED0 PASS, LED1 FAIL, UART 115200 8N1",
        estimate,
        SELFTEST_CLOCK_MHZ,
        "selftest_timing.rpt",  # Amaranth's Vivado back end: {name}_timing.rpt
    )


def _synth(core, synth):
    if not synth:
        return None
    return synthesize_design(core.design)


def build(design, out, model=None, dsp_budget=None, clock_mhz=None, run=None, synth=False):
    """Writes the tree of ``design`` (``ps`` or ``selftest``) for the encoder of
    ``model`` (an integer artefact's registry name or path; default: the shipped default
    student's) within ``dsp_budget`` DSPs and runs Vivado on it if ``run`` (default:
    whether ``vivado`` is on PATH). With ``synth``, the encoder's resources in the
    estimate are Yosys' (`gen.synth`, cached; slow the first time for a large student).
    Returns the `Tree` and the exit status of Vivado (None when it did not run)."""
    if design not in ("ps", "selftest"):
        raise BuildError(f"unknown design {design!r} (ps or selftest)")
    if design == "selftest":
        _check_selftest_clock(clock_mhz)  # before the encoder is balanced
    artefact, sha256, model_id = load_model(model)
    if design == "ps":
        core = ps_core(artefact, sha256, dsp_budget, model_id)
        tree = ps_tree(out, core, 300.0 if clock_mhz is None else clock_mhz, _synth(core, synth))
    else:
        core = selftest_core(artefact, sha256, dsp_budget)
        tree = selftest_tree(out, core, clock_mhz, _synth(core, synth))
    if run is None:
        run = shutil.which("vivado") is not None
    status = subprocess.call(tree.command, cwd=tree.root) if run else None
    return tree, status
