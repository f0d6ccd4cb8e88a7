"""Which student fits which device: the paper's claim as a command (`licfpga plan`).

For a device, a frame rate, a resolution and an (assumed) clock, every student width N
is balanced for the target (:func:`balance.balance_fps`, fewest DSPs) and checked
against the device; the chosen N is the best-ranked one that fits. RD rank: larger N is
better (the students' published order), unless an evaluation report (`licfpga eval
--json`) gives BD-rates, which then rank the widths it measured.

Every plan is balanced within the device's DSPs and block RAM (less the margin), line
buffers moving to UltraRAM where the device has it; the devices are :mod:`.devices`'.
"""

from __future__ import annotations

from dataclasses import dataclass

from .balance import (
    DEFAULT_DSP_MARGIN,
    BalanceError,
    Plan,
    SharedPlan,
    balance_dsp,
    balance_fps,
    balance_shared,
    padded,
    place,
)
from .devices import DEVICES, Device
from .layers import decoder_topology, encoder_topology, hyper_topology
from .report import CLOCK_MHZ, RESOLUTIONS
from .system import ARM_FACTOR, DDR_USABLE, HostSpeed, hosts, hyper_interval, system_markdown, system_rows

__all__ = [
    "Device",
    "DEVICES",
    "Fit",
    "fit",
    "rd_ranking",
    "choose_width",
    "chosen_plan",
    "decoding_plans",
    "shared_plan",
    "system_of",
    "device_table",
    "table_markdown",
    "WIDTHS",
]

WIDTHS = (32, 64, 128)


@dataclass(frozen=True)
class Fit:
    """A plan against a device, each resource against its capacity less ``margin`` (the
    DSPs' margin of :data:`balance.DEFAULT_DSP_MARGIN`, the block RAMs' the same, for the
    DMA and the platform). ``bram36`` counts the engines' memories and the encoder's
    buffers (``buffers`` of it: the FIFOs between engines, the ŷ and ẑ buffers), after
    ``uram`` line buffers moved to UltraRAM, where the device has it, while block RAM
    was over."""

    device: Device
    dsp: int
    dsp_cap: int
    bram36: float
    bram36_cap: float
    uram: int
    buffers: float

    @property
    def problems(self) -> list[str]:
        out = []
        if self.dsp > self.dsp_cap:
            out.append(f"{self.dsp} DSPs > {self.dsp_cap}")
        if self.bram36 > self.bram36_cap:
            out.append(
                f"{self.bram36:g} RAMB36 > {self.bram36_cap:g}"
                + (f" (with {self.uram} of {self.device.uram} UltraRAMs for line buffers)" if self.device.uram else "")
            )
        return out

    @property
    def fits(self) -> bool:
        return not self.problems


def fit(plan: Plan, device: Device, margin: float = DEFAULT_DSP_MARGIN) -> Fit:
    bram_cap = device.bram36_budget(margin)
    placed = place(plan.memories(), bram_cap, device.uram)
    return Fit(
        device,
        plan.dsp,
        device.dsp_budget(margin),
        placed.bram36,
        bram_cap,
        placed.uram,
        sum(m.bram36 for m in plan.buffers().values()),
    )


def _budgets(device: Device, margin: float) -> dict:
    """The balancer's block-RAM arguments for ``device``."""
    return {"bram_budget": device.bram36_budget(margin), "uram": device.uram}


def rd_ranking(widths: tuple[int, ...], rd_report: dict | None) -> tuple[list[int], str]:
    """The widths best RD first, and how they were ranked. From a report: per N, the
    integer student's curve if there is one (else the float student's, else any), its
    BD-rate against the report's first anchor (JPEG where present); widths the report
    lacks rank after the measured ones, by N."""
    by_n = sorted(widths, reverse=True)
    if rd_report is None:
        return by_n, "ranked by N (larger is better RD); no --rd-report given"
    anchors = [c["label"] for c in rd_report.get("curves", []) if c.get("kind") == "anchor"]
    if not anchors:
        return by_n, "ranked by N: the RD report has no anchor curve to compare BD-rates against"
    anchor = "jpeg" if "jpeg" in anchors else anchors[0]
    bd = {
        e["test"]: e["bd_rate_pct"] for e in rd_report.get("bd", []) if e.get("anchor") == anchor and "bd_rate_pct" in e
    }
    measured = {}
    for n in widths:
        curves = [
            c for c in rd_report.get("curves", []) if c.get("kind") == "model" and c.get("N") == n and c["label"] in bd
        ]
        if curves:
            best = max(curves, key=lambda c: (c.get("integer", False), c.get("role") == "student"))
            measured[n] = (bd[best["label"]], best["label"])
    order = sorted(measured, key=lambda n: measured[n][0]) + [n for n in by_n if n not in measured]
    why = ", ".join(f"N={n} {measured[n][0]:+.1f}% ({measured[n][1]})" for n in sorted(measured, key=measured.get))
    rest = [n for n in by_n if n not in measured]
    return order, (
        f"ranked by BD-rate against {anchor} from the RD report: {why or 'none measured'}"
        + (f"; not in the report, ranked by N after those: {', '.join(map(str, rest))}" if rest else "")
    )


def _best_fps(n: int, m: int, device: Device, frame: tuple[int, int], clock_mhz: float, margin: float) -> float | str:
    """The highest frame rate the device's DSP and block-RAM budgets give N on ``frame``
    (line buffers for ``frame``), or why there is none."""
    try:
        plan = balance_dsp(encoder_topology(n, m), device.dsp_budget(margin), frame, frame, **_budgets(device, margin))
    except BalanceError as exc:
        return str(exc)
    return clock_mhz * 1e6 / plan.interval()


def choose_width(
    device: Device,
    fps: float,
    resolution: tuple[int, int],
    clock_mhz: float = CLOCK_MHZ,
    rd_report: dict | None = None,
    widths: tuple[int, ...] = WIDTHS,
    M: int = 192,
    margin: float = DEFAULT_DSP_MARGIN,
) -> dict:
    """The decision for ``device`` at ``fps`` on ``resolution`` (line buffers sized for
    it): per width the plan's needs and fit, the RD ranking, the chosen N (or None) and a
    sentence saying why."""
    order, ranking = rd_ranking(widths, rd_report)
    # Line buffers for the target frame: a device chosen for one resolution need not
    # carry the block RAM of a larger one.
    frame = padded(*resolution)
    candidates = {}
    for n in widths:
        entry: dict = {"N": n}
        try:
            plan = balance_fps(encoder_topology(n, M), fps, clock_mhz, frame, frame, **_budgets(device, margin))
        except BalanceError as exc:
            entry.update(meets=False, problems=[str(exc)])
        else:
            f = fit(plan, device, margin)
            entry.update(
                meets=f.fits,
                problems=f.problems,
                dsp=f.dsp,
                bram36=f.bram36,
                buffers_bram36=f.buffers,
                uram=f.uram,
                cycles_per_pixel=plan.interval() / (frame[0] * frame[1]),
                foldings=[[x.pe, x.simd] for x in plan.foldings],
            )
        entry["best_fps"] = _best_fps(n, M, device, frame, clock_mhz, margin)
        candidates[n] = entry
    chosen = next((n for n in order if candidates[n]["meets"]), None)
    target = (
        f"{fps:g} fps on {resolution[0]}×{resolution[1]} (padded {frame[0]}×{frame[1]}) at an assumed "
        f"{clock_mhz:g} MHz on {device.name} ({device.board})"
    )
    passed = []
    for n in order:
        if n == chosen:
            break
        c = candidates[n]
        best = c["best_fps"]
        most = f"; its best on this device is {best:.1f} fps" if isinstance(best, float) else f"; at any rate, {best}"
        lead = "ranks higher but does not fit" if chosen is not None else "does not fit"
        passed.append(f"N={n} {lead}: {'; '.join(c['problems'])}{most}")
    if chosen is None:
        why = f"no student width meets {target}. " + " ".join(p + "." for p in passed)
    else:
        c = candidates[chosen]
        why = (
            f"N={chosen}: the best-ranked width that meets {target}, with {c['dsp']} DSPs of {device.dsp_budget(margin)} "
            f"and {c['bram36']:g} RAMB36 of {device.bram36_budget(margin):g} ({c['buffers_bram36']:g} of them "
            f"the encoder's buffers"
            + (f"; +{c['uram']} UltraRAM" if c["uram"] else "")
            + "). "
            + " ".join(p + "." for p in passed)
        )
    return {
        "device": device.name,
        "board": device.board,
        "fps": fps,
        "resolution": list(resolution),
        "padded": list(frame),
        "clock_mhz": clock_mhz,
        "margin": margin,
        "ranking": ranking,
        "order": order,
        "candidates": [candidates[n] for n in widths],
        "chosen": chosen,
        "why": why.strip(),
    }


def chosen_plan(decision: dict, M: int = 192) -> Plan | None:
    """The balanced pipeline of :func:`choose_width`'s chosen width (None if none fits):
    the same balancing, so the same foldings as the decision's."""
    if decision["chosen"] is None:
        return None
    device, frame = DEVICES[decision["device"]], tuple(decision["padded"])
    margin = decision["margin"]
    plan = balance_fps(
        encoder_topology(decision["chosen"], M),
        decision["fps"],
        decision["clock_mhz"],
        frame,
        frame,
        **_budgets(device, margin),
    )
    chosen = next(c for c in decision["candidates"] if c["N"] == decision["chosen"])
    assert [[f.pe, f.simd] for f in plan.foldings] == chosen["foldings"], "re-balancing gave other foldings"
    return plan


def decoding_plans(decision: dict, M: int = 192) -> tuple[Plan, Plan] | BalanceError | None:
    """The decoding device of :func:`choose_width`'s chosen width, for the decision's frame
    rate on a device of the same kind: the hyper-decoder (h_s, `gen.hyper`) with the
    fewest DSPs for the rate, then the g_s decoder within what it leaves (None if no
    width was chosen; the `BalanceError` where they do not fit)."""
    if decision["chosen"] is None:
        return None
    device, frame = DEVICES[decision["device"]], tuple(decision["padded"])
    budgets = _budgets(device, decision["margin"])
    try:
        hyper = _hyper_plan(decision, M, budgets["bram_budget"])
        return (
            balance_fps(
                decoder_topology(decision["chosen"], M),
                decision["fps"],
                decision["clock_mhz"],
                frame,
                frame,
                bram_budget=budgets["bram_budget"] - hyper.bram36,
                uram=budgets["uram"],
            ),
            hyper,
        )
    except BalanceError as exc:
        return exc


def _hyper_plan(decision: dict, M: int, bram_budget: float) -> Plan:
    """The hyper-decoder of the chosen width with the fewest DSPs for the decision's rate
    (`hyper_interval`: its engines and its one index per cycle out)."""
    frame = tuple(decision["padded"])
    hyper = hyper_topology(decision["chosen"], M)
    plan = balance_fps(hyper, decision["fps"], decision["clock_mhz"], frame, frame, bram_budget=bram_budget)
    if hyper_interval(plan) > decision["clock_mhz"] * 1e6 / decision["fps"]:
        raise BalanceError(
            f"the hyper-decoder sends one scale index per cycle: {hyper_interval(plan)} cycles per frame, "
            f"above the {decision['fps']:g} fps target at {decision['clock_mhz']:g} MHz"
        )
    return plan


def shared_plan(decision: dict, M: int = 192) -> tuple[SharedPlan, Plan] | BalanceError | None:
    """The encoder, the decoder and the hyper-decoder of :func:`choose_width`'s chosen
    width on one device of the decision's kind: the hyper-decoder with the fewest DSPs for
    the decision's rate, then the rest split between encoder and decoder by
    `balance.balance_shared` (None if no width was chosen; the `BalanceError` where they
    do not fit together)."""
    if decision["chosen"] is None:
        return None
    device, frame = DEVICES[decision["device"]], tuple(decision["padded"])
    margin = decision["margin"]
    try:
        hyper = _hyper_plan(decision, M, device.bram36_budget(margin))
        shared = balance_shared(
            encoder_topology(decision["chosen"], M),
            decoder_topology(decision["chosen"], M),
            device.dsp_budget(margin) - hyper.dsp,
            frame,
            frame,
            device.bram36_budget(margin) - hyper.bram36,
            device.uram,
        )
    except BalanceError as exc:
        return exc
    return shared, hyper


def system_of(
    decision: dict,
    speed: HostSpeed,
    arm_factor: float = ARM_FACTOR,
    host_cores: int = 1,
    ddr_usable: float = DDR_USABLE,
    M: int = 192,
) -> dict:
    """The whole system (:mod:`.system`) around :func:`choose_width`'s chosen pipeline:
    encode and decode fps at 720p, 1080p and the decision's resolution, on this machine
    and on the ZCU102's Cortex-A53, each path's bottleneck; ``markdown`` holds the
    table. Without a chosen width, or with host rates measured on another width, no
    rows and ``why`` says so."""
    plan = chosen_plan(decision, M)
    if plan is None:
        why = "No system table: no student width meets the target."
        return {"rows": [], "why": why, "markdown": why + "\n"}
    resolutions = dict(RESOLUTIONS)
    if tuple(decision["resolution"]) not in resolutions.values():
        resolutions["{}x{}".format(*decision["resolution"])] = tuple(decision["resolution"])
    if (speed.N, speed.M) != (decision["chosen"], M):
        why = (
            f"No system table: the host's rates were measured with {speed.model} (N={speed.N}, M={speed.M}), not the "
            f"chosen N={decision['chosen']}, M={M}; measure that width's integer model "
            "(benchmarks/host_speed.py --model) and pass it as --host-speed."
        )
        return {"rows": [], "why": why, "markdown": why + "\n"}
    decoding = decoding_plans(decision, M)
    shared = shared_plan(decision, M)
    host_list, clock, frame = (
        hosts(speed, arm_factor, host_cores),
        decision["clock_mhz"],
        "{}×{}".format(*decision["padded"]),
    )
    pl = decoding if isinstance(decoding, tuple) else (None, None)
    rows = system_rows(plan, resolutions, host_list, clock, M, decision["chosen"], ddr_usable, *pl)
    if isinstance(decoding, tuple):
        decoder, hyper = decoding
        decoder_line = (
            f"PL g_s and h_s: the N={decision['chosen']} decoder and hyper-decoder alone on a {decision['device']} "
            f"for the same target: g_s {decoder.dsp} DSPs and {decoder.bram36:g} RAMB36, h_s {hyper.dsp} and "
            f"{hyper.bram36:g} (`licfpga generate --part decoder|hyper`).\n"
        )
        decoder_json = {
            "decoder": {"dsp": decoder.dsp, "bram36": decoder.bram36},
            "hyper": {"dsp": hyper.dsp, "bram36": hyper.bram36},
        }
    else:
        decoder_line = (
            f"No PL g_s: the decoder and hyper-decoder do not meet the target alone on a {decision['device']}: "
            f"{decoding}\n"
        )
        decoder_json = {"error": str(decoding)}
    if isinstance(shared, tuple):
        shared, hyper = shared
        (pe, pd) = shared.placements()
        shared_rows = system_rows(
            shared.encoder, resolutions, host_list, clock, M, decision["chosen"], ddr_usable, shared.decoder, hyper
        )
        urams = f" and {pe.uram + pd.uram} UltraRAMs" if pe.uram + pd.uram else ""
        shared_md = (
            f"\nEncoder, decoder and hyper-decoder on one {decision['device']} (the hyper-decoder's {hyper.dsp} DSPs "
            f"and {hyper.bram36:g} RAMB36 for the target first; `balance.balance_shared` splits the rest, "
            f"{shared.dsp_budget} DSPs and {shared.bram_budget:g} RAMB36, at the shortest frame interval both "
            f"meet): encoder {shared.encoder.dsp} DSPs and {pe.bram36:g} RAMB36, decoder {shared.decoder.dsp} and "
            f"{pd.bram36:g}{urams}; encoder and decoder each {clock * 1e6 / shared.interval():.1f} fps on {frame} "
            f"at {clock:g} MHz:\n\n" + system_markdown(shared_rows, speed, clock, ddr_usable, shared=True)
        )
        shared_json = {
            "encoder": {"dsp": shared.encoder.dsp, "bram36": pe.bram36, "uram": pe.uram},
            "decoder": {"dsp": shared.decoder.dsp, "bram36": pd.bram36, "uram": pd.uram},
            "hyper": {"dsp": hyper.dsp, "bram36": hyper.bram36},
            "fps": clock * 1e6 / shared.interval(),
            "rows": shared_rows,
        }
    elif shared is None:
        shared_md, shared_json = "", None
    else:
        shared_md = f"\nNo encoder, decoder and hyper-decoder on one {decision['device']}: {shared}.\n"
        shared_json = {"error": str(shared)}
    return {
        "N": decision["chosen"],
        "host_speed": {**speed.as_json(), "source": speed.source},
        "arm_factor": arm_factor,
        "host_cores": host_cores,
        "ddr_usable": ddr_usable,
        "rows": rows,
        "decoder": decoder_json,
        "shared": shared_json,
        "markdown": system_markdown(rows, speed, clock, ddr_usable) + "\n" + decoder_line + shared_md,
    }


def device_table(
    clock_mhz: float = CLOCK_MHZ, widths: tuple[int, ...] = WIDTHS, M: int = 192, margin: float = DEFAULT_DSP_MARGIN
) -> list[dict]:
    """Per device and width: the pipeline balanced for the device's DSP and block-RAM
    budgets (less the margin) on 720p, its DSPs, RAMB36 (engines and buffers; and
    UltraRAM) and whether they fit, and the frame rates at 720p and 1080p."""
    rows = []
    for device in DEVICES.values():
        for n in widths:
            row = {"device": device.name, "N": n}
            try:
                plan = balance_dsp(
                    encoder_topology(n, M),
                    device.dsp_budget(margin),
                    objective=f"{device.name} DSP budget",
                    **_budgets(device, margin),
                )
            except BalanceError as exc:
                row["error"] = str(exc)
                rows.append(row)
                continue
            f = fit(plan, device, margin)
            row.update(
                dsp=f.dsp,
                bram36=f.bram36,
                buffers_bram36=f.buffers,
                uram=f.uram,
                fits=f.fits,
                problems=f.problems,
                cycles_per_pixel=plan.interval() / (plan.width * plan.height),
            )
            for label, (w, h) in RESOLUTIONS.items():
                row[f"fps_{label}"] = clock_mhz * 1e6 / plan.interval(w, h)
            rows.append(row)
    return rows


def table_markdown(rows: list[dict], clock_mhz: float = CLOCK_MHZ, margin: float = DEFAULT_DSP_MARGIN) -> str:
    """:func:`device_table` as Markdown (the README's table)."""
    lines = [
        "| device | N | DSP | RAMB36 (buffers) | URAM | fits | cycles/px (720p) | fps 720p | fps 1080p |",
        "|---|--:|--:|--:|--:|---|--:|--:|--:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['device']} | {r['N']} | — | — | — | no: {r['error']} | | | |")
            continue
        fits = "yes" if r["fits"] else "no: " + "; ".join(r["problems"])
        lines.append(
            f"| {r['device']} | {r['N']} | {r['dsp']} | {r['bram36']:g} ({r['buffers_bram36']:g}) | "
            f"{r['uram'] or '—'} | {fits} | "
            f"{r['cycles_per_pixel']:.2f} | {r['fps_720p']:.1f} | {r['fps_1080p']:.1f} |"
        )
    return "\n".join(lines) + (
        f"\n\nBalanced per device within its DSPs and block RAM less {margin:.0%} on 720p "
        f"(padded 1280×768), line buffers for 1920×1088; RAMB36 counts the engines and "
        f"the encoder's buffers (in brackets: the FIFOs, ŷ and ẑ buffers), after line buffers "
        f"moved to UltraRAM; fps at an assumed {clock_mhz:g} MHz, frames padded to 64.\n"
    )
