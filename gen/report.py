"""The plan's report: a row per engine and totals, the bottleneck, and the analysis
transform's frame rate at 720p and 1080p, as JSON-able data and as Markdown.

Frame rates are ``clock / interval`` for the padded frame at an **assumed** clock (only
a timing report confirms one), with frames streamed back to back; MACs per cycle and
DSP efficiency are at the pipeline's pace (every engine moves at the bottleneck's
interval), efficiency = useful MACs per cycle ÷ all DSPs of the engine (its
requantizers and GDN tails included).

Block RAM: ``totals.bram36`` and ``lut_mem`` are the engines' (line buffers, weight
ROMs, …); the encoder's own buffers (:mod:`.buffers`: the FIFOs between engines, the ŷ
and ẑ buffers) are rows of ``buffers`` and ``totals.buffers_bram36``;
``totals.bram36_total`` is both, the figure the Markdown table's total row shows.

A decoder's plan (a `layers.DecoderSpec`, ``part`` "decoder") reports the same way, per
decoded pixel; its buffers are the FIFOs behind its engines. So does a hyper-decoder's
(a `layers.HyperSpec`, ``part`` "hyper"), per image pixel.
"""

from __future__ import annotations

from typing import NamedTuple

from .balance import BalanceError, Plan, balance_dsp, padded
from .cost import LUT_MAX_DEPTH

__all__ = ["plan_report", "budget_sweep", "markdown", "CLOCK_MHZ", "RESOLUTIONS", "REPORT_FORMAT"]

REPORT_FORMAT = "licfpga-plan-1"
CLOCK_MHZ = 300.0
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}

#: How the report speaks of a plan's buffers (one line of `ASSUMPTIONS`).
ENCODER_BUFFERS = (
    "the encoder's buffers (gen.buffers): a FIFO of two output pixels behind every engine, ŷ's buffer (what g_a "
    "makes while h_a flushes a frame) and the ẑ buffer (a whole ẑ frame), each one memory of depth × beat bits"
)
ASSUMPTIONS = (
    "cycles/frame = max(H_out·row, input beats), row = max(NF·SF, p+1) + (W_out−1)·max(NF·SF, s), "
    "NF = C_out/PE, SF = K²·C_in/SIMD; GDN: H·W·(C/PE)·(C/SIMD); frames back to back, fill latency excluded",
    "cycles per pixel count the input frame padded to a multiple of 64",
    "one DSP48E2 per int8 product lane (no packing); requantizer: 1 DSP per lane (2 above a 27-bit "
    "accumulator), ⌈PE/SF⌉ lanes; GDN: 1 DSP per γ·u lane, 1 per squarer lane, 6 per tail lane",
    "block RAM: line buffers of K+s rows × max width, one weight ROM per PE (NF·SF × SIMD·8 bits), "
    f"simple-dual-port RAMB18/RAMB36 shapes; memories of ≤ {LUT_MAX_DEPTH} words in LUTs",
    ENCODER_BUFFERS,
    "the clock is assumed, not a timing result",
)


class _Part(NamedTuple):
    """What differs between an encoder's report and a decoder's (`layers.EncoderSpec.part`)."""

    interval: str  # what sets the interval when no engine's cycles do (`Plan.interval`)
    buffers: str  # what the buffers row holds
    pixel: str  # whose pixels the per-pixel figures count
    assumption: str  # the buffers' line of `ASSUMPTIONS`


_PARTS = {
    "encoder": _Part(
        "output (ŷ, then ẑ and the scale indexes)", "behind the engines, ŷ, ẑ", "input pixel", ENCODER_BUFFERS
    ),
    "decoder": _Part(
        "input (ŷ, one element per cycle)",
        "behind the engines",
        "decoded pixel",
        "the decoder's buffers (gen.buffers): a FIFO of two output pixels behind every engine but the last, "
        "one output row more behind a transposed convolution, each one memory of depth × beat bits",
    ),
    "hyper": _Part(
        "input (ẑ, one element per cycle)",
        "behind the engines",
        "image pixel",
        "the hyper-decoder's buffers (gen.buffers): as the decoder's, a FIFO of two output pixels behind every "
        "engine but the last, one output row more behind a transposed convolution; its output (one scale index "
        "per cycle) is not counted",
    ),
}


def budget_sweep(plan: Plan, fractions=(1, 1 / 2, 1 / 4)) -> list[dict]:
    """The same encoder (or decoder) re-balanced (`balance.balance_dsp`, default block-RAM
    budget) within each fraction of ``plan``'s DSPs, on its frame: how the cycles per
    pixel scale with the budget (halving it about doubles them while the foldings divide
    evenly)."""
    rows = []
    for fraction in fractions:
        budget = int(plan.dsp * fraction)
        entry = {"fraction": fraction, "dsp_budget": budget}
        try:
            p = balance_dsp(plan.encoder, budget, (plan.width, plan.height), (plan.max_width, plan.max_height))
        except BalanceError as exc:
            entry["error"] = str(exc)
        else:
            entry.update(dsp=p.dsp, cycles_per_pixel=p.interval() / (plan.width * plan.height))
        rows.append(entry)
    return rows


def plan_report(plan: Plan, clock_mhz: float = CLOCK_MHZ, sweep: list[dict] | None = None) -> dict:
    """The report of ``plan`` on its planning frame, with the frame rates of
    :data:`RESOLUTIONS` at ``clock_mhz`` and, if given, a :func:`budget_sweep`."""
    costs = plan.costs()
    interval = plan.interval()
    pixels = plan.width * plan.height
    rows = []
    for c in costs:
        macs_per_cycle = c.macs / interval
        rows.append(
            {
                "name": c.name,
                "kind": c.kind,
                "kernel": c.shape.kernel,
                "stride": c.shape.stride,
                "c_in": c.shape.c_in,
                "c_out": c.shape.c_out,
                "pe": c.pe,
                "simd": c.simd,
                "window": c.window,
                "cycles_per_frame": c.cycles,
                "cycles_per_pixel": c.cycles / pixels,
                "dsp": c.dsp,
                "dsp_mac": c.dsp_mac,
                "bram36": c.bram36,
                "lut_mem": c.lut_mem,
                "macs_per_cycle": macs_per_cycle,
                "efficiency": macs_per_cycle / c.dsp if c.dsp else None,
                "memories": [
                    {
                        "role": m.role,
                        "depth": m.depth,
                        "width": m.width,
                        "copies": m.copies,
                        "bram36": m.bram36,
                        "luts": m.luts,
                    }
                    for m in c.memories
                ],
            }
        )
    buffers = [
        {"name": name, "role": m.role, "depth": m.depth, "width": m.width, "bram36": m.bram36, "luts": m.luts}
        for name, m in plan.buffers().items()
    ]
    bram_engines, bram_buffers = sum(c.bram36 for c in costs), sum(b["bram36"] for b in buffers)
    # An engine, or the encoder's output (ŷ, then serially ẑ and the indexes), or the
    # decoder's input (`Plan.interval`).
    part = _PARTS[plan.encoder.part]
    bottleneck = next((c for c in costs if c.cycles == interval), None)
    dsp = sum(c.dsp for c in costs)
    total_macs = sum(c.macs for c in costs) / interval
    fps = {}
    for label, (w, h) in RESOLUTIONS.items():
        entry = {"frame": [w, h], "padded": list(padded(w, h))}
        try:
            frame_interval = plan.interval(w, h)
        except BalanceError as exc:
            entry["error"] = str(exc)
        else:
            entry.update(
                cycles_per_pixel=frame_interval / (entry["padded"][0] * entry["padded"][1]),
                fps=clock_mhz * 1e6 / frame_interval,
            )
        fps[label] = entry
    return {
        "format": REPORT_FORMAT,
        "part": plan.encoder.part,
        "encoder": {"source": plan.encoder.source, "N": plan.encoder.N, "M": plan.encoder.M},
        "objective": plan.objective,
        "frame": [plan.width, plan.height],
        "max_frame": [plan.max_width, plan.max_height],
        "clock_mhz": clock_mhz,
        "layers": rows,
        "buffers": buffers,
        "totals": {
            "dsp": dsp,
            "dsp_mac": sum(c.dsp_mac for c in costs),
            "bram36": bram_engines,
            "lut_mem": sum(c.lut_mem for c in costs),
            "buffers_bram36": bram_buffers,
            "buffers_luts": sum(b["luts"] for b in buffers),
            "bram36_total": bram_engines + bram_buffers,
            "macs_per_cycle": total_macs,
            "efficiency": total_macs / dsp,
            "cycles_per_frame": interval,
            "cycles_per_pixel": interval / pixels,
        },
        "bottleneck": {
            "name": bottleneck.name if bottleneck else part.interval,
            "cycles_per_frame": interval,
            "cycles_per_pixel": interval / pixels,
            "tied": [c.name for c in costs if c.cycles == interval and c is not bottleneck],
        },
        "fps": fps,
        **({"budget_sweep": sweep} if sweep is not None else {}),
        "assumptions": [part.assumption if a == ENCODER_BUFFERS else a for a in ASSUMPTIONS],
    }


def markdown(report: dict) -> str:
    """The report as a Markdown section: the per-engine table, totals, bottleneck, fps."""
    w, h = report["frame"]
    part = _PARTS[report["part"]]
    lines = [
        f"### {report['part'].capitalize()} of {report['encoder']['source']}: {report['objective']}",
        "",
        f"Cycles per pixel on the {w}×{h} (padded) frame; line buffers for up to "
        f"{report['max_frame'][0]}×{report['max_frame'][1]}.",
        "",
        "| layer | K | s | C_in | C_out | PE | SIMD | cycles/frame | cycles/px | DSP | RAMB36 | MAC/cycle | eff. |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in report["layers"]:
        eff = "—" if r["efficiency"] is None else f"{r['efficiency']:.0%}"
        lines.append(
            f"| {r['name']} ({r['kind']}) | {r['kernel']} | {r['stride']} | {r['c_in']} | {r['c_out']} | "
            f"{r['pe']} | {r['simd']} | {r['cycles_per_frame']:,} | {r['cycles_per_pixel']:.3f} | {r['dsp']} | "
            f"{r['bram36']:g} | {r['macs_per_cycle']:.1f} | {eff} |"
        )
    t = report["totals"]
    lines.append(
        f"| buffers ({len(report['buffers'])} FIFOs: {part.buffers}) | | | | | | | | | | {t['buffers_bram36']:g} | | |"
    )
    lines.append(
        f"| **total** | | | | | | | {t['cycles_per_frame']:,} | {t['cycles_per_pixel']:.3f} | {t['dsp']} | "
        f"{t['bram36_total']:g} | {t['macs_per_cycle']:.1f} | {t['efficiency']:.0%} |"
    )
    b = report["bottleneck"]
    tied = f" (tied: {', '.join(b['tied'])})" if b["tied"] else ""
    lines += [
        "",
        f"Bottleneck: **{b['name']}**{tied}, {b['cycles_per_frame']:,} cycles per frame "
        f"({b['cycles_per_pixel']:.3f} per {part.pixel}). LUTs used as memory: {t['lut_mem']:,}.",
        "",
    ]
    for label, entry in report["fps"].items():
        fw, fh = entry["frame"]
        pw, ph = entry["padded"]
        if "error" in entry:
            lines.append(f"- {label} ({fw}×{fh}): {entry['error']}")
        else:
            lines.append(
                f"- {label} ({fw}×{fh}, padded {pw}×{ph}): {entry['cycles_per_pixel']:.3f} cycles/px, "
                f"**{entry['fps']:.1f} fps** at {report['clock_mhz']:g} MHz (assumed clock)"
            )
    if report.get("budget_sweep"):
        lines += [
            "",
            f"The same {report['part']} re-balanced within a fraction of these DSPs:",
            "",
            "| DSP budget | DSPs used | cycles/px |",
            "|--:|--:|--:|",
        ]
        for e in report["budget_sweep"]:
            lines.append(
                f"| {e['dsp_budget']:,} ({e['fraction']:g}×) | "
                + (f"— | {e['error']} |" if "error" in e else f"{e['dsp']:,} | {e['cycles_per_pixel']:.3f} |")
            )
    lines += ["", "Model assumptions:"] + [f"- {a}" for a in report["assumptions"]]
    return "\n".join(lines) + "\n"
