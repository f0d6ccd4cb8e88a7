"""An Fmax estimate from Yosys' UltraScale+ netlist, without Vivado (`licfpga synth`).

:func:`longest_path` walks the netlist ``write_json`` writes after ``synth_xilinx
-family xcup`` and finds the longest register-to-register path under the delay model
:data:`MODEL`: the cells on it (LUT levels, CARRY8/CARRY4 blocks, MUXF7/8/9, DSP48E2 and
block-RAM stages, LUT RAM) and its delay, whence ``fmax_mhz = 1000 / ns``.

Where a path starts and ends
----------------------------
- Flip-flops (FDRE/FDSE/FDCE/FDPE, latches): Q starts a path; D, CE and the set/reset
  pins end one.
- DSP48E2: its register parameters say where it cuts a path. Yosys (0.70, as 0.5x)
  maps a product for xcup without AREG/BREG/MREG/PREG, leaving the registers around it
  in fabric (for xc7's DSP48E1 it packs them: `tests/gen/test_timing.py` shows both),
  where Vivado's synthesis packs them into the slice (UG901, DSP block inference;
  UG579, the DSP48E2's A/B/C/D, M and P registers). The estimate does that packing
  itself (:func:`dsp_absorption`): a register (FDRE: the slice's registers reset
  synchronously to 0) that alone drives a DSP input port counts as that port's
  register (AREG, BREG, CREG, DREG), and registers that alone take all of P count as
  PREG; their own setup and clock-to-out become the slice's. Anything else (logic
  between, a shared register, a set/async-reset flip-flop) stays in fabric.
  The model splits the slice into input → multiplier → ALU → output: a port with its
  register (AREG, BREG, CREG, DREG, INMODEREG, OPMODEREG, ALUMODEREG, CARRYINREG) ends a
  path at the port and starts one inside; MREG cuts between multiplier and ALU; PREG
  makes P (and PCOUT) a start. With ``USE_MULT = "NONE"`` the multiplier stage costs
  nothing (A:B go to the ALU).
- Block RAM (RAMB18E2/RAMB36E2): inputs end a path, data outputs start one (slower
  without the output register DOA_REG/DOB_REG); the array's own cycle bounds the
  period from below.
- LUT RAM and shift registers (RAM32M/RAM64M/…, SRL*): the read address goes through
  like a LUT; data and write enables end a path; the outputs also start one (the
  stored contents).
- Top-level ports: assumed registered on the other side (an engine is synthesized out
  of context), so an input starts a path and an output ends one; a combinational path
  across two engines' ports is not seen.
- Anything else (the glue's black-box engines): inputs end a path, outputs start one.

Every net into a cell costs a routing allowance, except dedicated connections: the
carry chain (CI, CI_TOP), MUXF data inputs, DSP cascades (ACIN, BCIN, PCIN, CARRYCASCIN,
MULTSIGNIN) and a LUT driving a CARRY's S/DI (packed in the same slice).

The delay model
---------------
:data:`MODEL` holds every constant with its source. Xilinx DS925 (Zynq UltraScale+
MPSoC data sheet: DC and AC switching characteristics), -2 speed grade (the ZCU102's
XCZU9EG-2FFVB1156E). Only the two DSP48E2 figures come from that table as quoted in
issue 13 (about 775 MHz with A/B, M and P registers, about 410 MHz with none); the rest
are **assumptions** of the order DS925 and Vivado timing reports give for this family,
written here from memory without the table at hand. The estimate says what Yosys'
structure allows under those figures; only Vivado's implementation (placement, real
routing, fanout) gives a timing closure.

API
---
``longest_path(netlist, top, model=MODEL) -> dict``: ``ns``, ``fmax_mhz``, ``levels``
(counts along the path: ``lut``, ``carry``, ``muxf``, ``dsp``, ``bram``, ``lutram``,
``other``), ``start``, ``end`` (the cells or ports), ``nets`` (the first net's name and
the last one's, a flip-flop's by its Q: which RTL signals) and ``cells`` (the cell types in order).
``model_json(model)``: the constants and their sources, for a report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

__all__ = ["Delay", "MODEL", "TimingError", "longest_path", "model_json", "dsp_registers", "dsp_absorption"]


@dataclass(frozen=True)
class Delay:
    """One constant of the model, in ns, and where it comes from."""

    ns: float
    source: str


_DS925 = "DS925 (Zynq UltraScale+ switching characteristics), -2"
_ASSUMED = "assumption, of the order of " + _DS925 + " and Vivado reports; not read from the table"

#: The delay model (ns, -2 speed grade). The DSP48E2 stages are chosen so that a fully
#: pipelined slice runs at 775 MHz (its slowest stage, the multiplier: 1/775 MHz) and one
#: with no register at about 410 MHz, read as the slice's own port-to-port delay
#: (dsp_in + dsp_mult + dsp_alu + dsp_out = 1/410 MHz); fabric registers and routing
#: around it come on top.
MODEL: dict[str, Delay] = {
    "ff_clk_to_q": Delay(0.10, _ASSUMED + " (T_CKO of a CLB flip-flop)"),
    "ff_setup": Delay(0.05, _ASSUMED + " (setup of a CLB flip-flop's D/CE/SR)"),
    "lut": Delay(0.13, _ASSUMED + " (LUT6 input to output, T_ILO)"),
    "route": Delay(0.40, _ASSUMED + " (a routing allowance per net: per LUT level; Vivado's nets are 0.2–0.6 ns)"),
    "carry8": Delay(0.15, _ASSUMED + " (one CARRY8 block, input/CI to CO/O)"),
    "carry4": Delay(
        0.075, "assumption: half a CARRY8 (Yosys maps xcup carries to CARRY4; Vivado packs two in a CARRY8)"
    ),
    "muxf": Delay(0.10, _ASSUMED + " (MUXF7/F8/F9 input to output)"),
    "lutram_clk_to_out": Delay(0.70, _ASSUMED + " (LUT RAM/SRL clock to output)"),
    "lutram_setup": Delay(0.20, _ASSUMED + " (LUT RAM/SRL data and write-enable setup)"),
    "dsp_in": Delay(0.20, "assumption: DSP48E2 input port to the multiplier/ALU (sets the 410 MHz total)"),
    "dsp_mult": Delay(1000 / 775, _DS925 + ": DSP48E2 Fmax with A/B, M and P registers, about 775 MHz (issue 13)"),
    "dsp_alu": Delay(0.75, "assumption: DSP48E2 M to P through the ALU"),
    "dsp_out": Delay(
        1000 / 410 - 0.20 - 1000 / 775 - 0.75,
        _DS925 + ": DSP48E2 with no register about 410 MHz (issue 13), less dsp_in, dsp_mult and dsp_alu",
    ),
    "dsp_clk_to_out": Delay(0.30, _ASSUMED + " (DSP48E2 clock to P with PREG)"),
    "bram_clk_to_out": Delay(0.90, _ASSUMED + " (RAMB36E2 clock to DOUT without the output register)"),
    "bram_clk_to_out_reg": Delay(0.35, _ASSUMED + " (RAMB36E2 clock to DOUT with DO*_REG)"),
    "bram_setup": Delay(0.40, _ASSUMED + " (RAMB36E2 address/data/enable setup)"),
    "bram_period": Delay(1000 / 737, _ASSUMED + " (RAMB36E2 Fmax about 737 MHz: a floor on the period)"),
}

FF_TYPES = ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")
BRAM_TYPES = ("RAMB18E2", "RAMB36E2")
#: DSP48E2 inputs through the multiplier, and their register parameter.
DSP_MULT_IN = {"A": "AREG", "B": "BREG", "D": "DREG", "INMODE": "INMODEREG", "ACIN": "AREG", "BCIN": "BREG"}
#: DSP48E2 inputs into the ALU, and their register parameter (None: none).
DSP_ALU_IN = {
    "C": "CREG",
    "OPMODE": "OPMODEREG",
    "ALUMODE": "ALUMODEREG",
    "CARRYIN": "CARRYINREG",
    "CARRYINSEL": "CARRYINSELREG",
    "PCIN": None,
    "CARRYCASCIN": None,
    "MULTSIGNIN": None,
}
DEDICATED = {"CI", "CI_TOP", "ACIN", "BCIN", "PCIN", "CARRYCASCIN", "MULTSIGNIN"}
DSP_REGS = ("AREG", "BREG", "CREG", "DREG", "ADREG", "MREG", "PREG")


class TimingError(RuntimeError):
    """The netlist has a combinational loop, or is not a Yosys JSON netlist."""


def _param(cell: dict, name: str, default=0):
    """A cell parameter as an int (Yosys writes binary strings) or a string."""
    value = cell.get("parameters", {}).get(name, default)
    if isinstance(value, str) and value and set(value) <= {"0", "1", "x", "z"}:
        return int(value.replace("x", "0").replace("z", "0"), 2)
    return value


def dsp_registers(cell: dict) -> dict[str, int]:
    """A DSP48E2 cell's pipeline registers (AREG … PREG), as Yosys set them."""
    return {r: _param(cell, r) for r in DSP_REGS}


#: DSP48E2 inputs whose register Vivado fills from a fabric register.
ABSORBED_INPUTS = {"A": "AREG", "B": "BREG", "C": "CREG", "D": "DREG"}


def dsp_absorption(module: dict) -> tuple[dict[str, dict[str, int]], set[str], set[str]]:
    """The registers Vivado packs into each DSP48E2 (module docstring): ``(params, ins,
    outs)`` with ``params[dsp]`` the register parameters it then has (only those that
    change), ``ins`` the flip-flops that become input registers and ``outs`` those that
    become its P register."""
    drivers, loads = {}, defaultdict(list)
    for name, cell in module["cells"].items():
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            for b in bits:
                if isinstance(b, int):
                    if dirs.get(port) == "output":
                        drivers[b] = (name, port)
                    else:
                        loads[b].append((name, port))
    port_bits = {b for port in module.get("ports", {}).values() for b in port["bits"] if isinstance(b, int)}

    def plain_ff(name):
        return module["cells"][name]["type"] == "FDRE"

    params, ins, outs = {}, set(), set()
    for name, cell in module["cells"].items():
        if cell["type"] != "DSP48E2":
            continue
        changed = {}
        for port, reg in ABSORBED_INPUTS.items():
            bits = _bits(cell, port)
            if _param(cell, reg) or not bits:
                continue
            ffs = []
            for b in bits:
                ff, q = drivers.get(b, (None, None))
                if ff is None or q != "Q" or not plain_ff(ff) or b in port_bits:
                    break
                if any(load != (name, port) for load in loads[b]):
                    break
                ffs.append(ff)
            else:
                changed[reg] = 1
                ins.update(ffs)
        p_bits = [b for port, x in cell["port_directions"].items() if x == "output" for b in _bits(cell, port)]
        p_loads = [load for b in p_bits for load in loads[b]]
        if (
            not _param(cell, "PREG")
            and p_loads
            and not any(b in port_bits for b in p_bits)
            and all(plain_ff(ff) and port == "D" for ff, port in p_loads)
        ):
            changed["PREG"] = 1
            outs |= {ff for ff, _ in p_loads}
        if changed:
            params[name] = changed
    return params, ins, outs


def _is_lutram(kind: str) -> bool:
    return kind.startswith(("RAM32", "RAM64", "RAM128", "RAM256", "RAM512", "SRL"))


def _lutram_read(port: str) -> bool:
    """A LUT RAM's or SRL's read-address input (combinational to the output)."""
    return port.startswith(("ADDR", "DPRA", "RADR")) or (port[:1] == "A" and port[1:].isdigit()) or port == "A"


class _Graph:
    def __init__(self):
        self.edges = defaultdict(list)  # src node -> [(dst, delay, step)]
        self.starts = {}  # node -> (time, step)
        self.ends = []  # (node, delay, step)

    def edge(self, src, dst, ns, step):
        self.edges[src].append((dst, ns, step))

    def start(self, node, ns, step):
        if node not in self.starts or self.starts[node][0] < ns:
            self.starts[node] = (ns, step)


def _build(module: dict, model: dict[str, Delay]) -> tuple[_Graph, float]:
    d = {k: v.ns for k, v in model.items()}
    g = _Graph()
    driver = {}
    for cell in module["cells"].values():
        dirs = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            if dirs.get(port) == "output":
                for b in bits:
                    driver[b] = cell["type"]

    def routed(cell, port, bit):
        """The routing allowance of ``bit`` into ``port`` of ``cell``."""
        if port in DEDICATED or (cell["type"].startswith("MUXF") and port in ("I0", "I1")):
            return 0.0
        if port in ("S", "DI") and cell["type"].startswith("CARRY") and driver.get(bit, "").startswith("LUT"):
            return 0.0
        return d["route"]

    floor = 0.0
    for port_name, port in module.get("ports", {}).items():
        for b in port["bits"]:
            if not isinstance(b, int):
                continue
            if port["direction"] == "input":
                g.start(b, d["ff_clk_to_q"], f"port {port_name}")
            else:
                g.ends.append((b, d["route"] + d["ff_setup"], f"port {port_name}"))
    absorbed, ins, outs = dsp_absorption(module)
    for name, cell in module["cells"].items():
        if name in absorbed:
            params = {**cell.get("parameters", {}), **{k: "1" for k in absorbed[name]}}
            cell = {**cell, "parameters": params}
        setup = d["dsp_in"] if name in ins else d["ff_setup"]
        clk_to_q = d["dsp_clk_to_out"] if name in outs else d["ff_clk_to_q"]
        floor = max(floor, _add_cell(g, name, cell, d, routed, setup, clk_to_q))
    return g, floor


def _bits(cell, port):
    return [b for b in cell["connections"].get(port, []) if isinstance(b, int)]


def _add_cell(g: _Graph, name: str, cell: dict, d: dict[str, float], routed, setup: float, clk_to_q: float) -> float:
    """Adds one cell's edges, starts and ends (a flip-flop's with ``setup`` and
    ``clk_to_q``: its own, or the DSP48E2's that absorbs it); returns the least period
    its own internal cycle needs (0 for all but block RAM)."""
    floor = 0.0
    kind = cell["type"]
    dirs = cell.get("port_directions")
    if dirs is None:
        raise TimingError(f"cell {name} ({kind}) has no port directions: write_json after synth_xilinx")
    ins = [p for p, x in dirs.items() if x == "input"]
    outs = [p for p, x in dirs.items() if x == "output"]
    step = (kind, name)

    def end_all(ports, setup):
        for p in ports:
            for b in _bits(cell, p):
                g.ends.append((b, routed(cell, p, b) + setup, step))

    def start_all(ports, ns):
        for p in ports:
            for b in _bits(cell, p):
                g.start(b, ns, step)

    def through(in_ports, out_ports, ns):
        for p in in_ports:
            for b in _bits(cell, p):
                for q in out_ports:
                    for o in _bits(cell, q):
                        g.edge(b, o, routed(cell, p, b) + ns, step)

    if kind in FF_TYPES:
        end_all([p for p in ins if p not in ("C", "G")], setup)
        start_all(outs, clk_to_q)
    elif kind.startswith(("LUT", "INV")):
        through(ins, outs, d["lut"])
    elif kind in ("CARRY4", "CARRY8"):
        through(ins, outs, d[kind.lower()])
    elif kind.startswith("MUXF"):
        through(ins, outs, d["muxf"])
    elif kind in ("BUFG", "BUFGCE", "IBUF", "OBUF"):
        through(ins, outs, 0.0)
    elif kind == "DSP48E2":
        _dsp(g, cell, step, routed, d)
    elif kind in BRAM_TYPES:
        floor = d["bram_period"]
        end_all([p for p in ins if not p.startswith("CLK")], d["bram_setup"])
        reg = _param(cell, "DOA_REG") or _param(cell, "DOB_REG")
        start_all(outs, d["bram_clk_to_out_reg" if reg else "bram_clk_to_out"])
    elif _is_lutram(kind):
        read = [p for p in ins if _lutram_read(p)]
        end_all([p for p in ins if not _lutram_read(p) and not p.startswith(("WCLK", "CLK"))], d["lutram_setup"])
        through(read, outs, d["lut"])
        start_all(outs, d["lutram_clk_to_out"])
    else:
        end_all(ins, d["ff_setup"])
        start_all(outs, d["ff_clk_to_q"])
    return floor


def _dsp(g: _Graph, cell, step, routed, d) -> None:
    """A DSP48E2's internal stages (see the module docstring)."""
    name = step[1]
    mult, alu = ("dsp", name, "mult"), ("dsp", name, "alu")
    regs = {k: _param(cell, k) for k in set(DSP_MULT_IN.values()) | {r for r in DSP_ALU_IN.values() if r}}
    mreg, preg = _param(cell, "MREG"), _param(cell, "PREG")
    for ports, node in ((DSP_MULT_IN, mult), (DSP_ALU_IN, alu)):
        for port, reg in ports.items():
            for b in _bits(cell, port):
                if reg and regs[reg]:
                    g.ends.append((b, routed(cell, port, b) + d["dsp_in"], step))
                    g.start(node, 0.0, step)
                else:
                    g.edge(b, node, routed(cell, port, b) + d["dsp_in"], step)
    mult_ns = 0.0 if _param(cell, "USE_MULT", "MULTIPLY") == "NONE" else d["dsp_mult"]
    if mreg:
        mult_end = ("dsp", name, "mreg")
        g.edge(mult, mult_end, mult_ns, step)
        g.ends.append((mult_end, 0.0, step))
        g.start(alu, 0.0, step)
    else:
        g.edge(mult, alu, mult_ns, step)
    outs = [p for p, x in cell["port_directions"].items() if x == "output"]
    out_bits = [b for p in outs for b in _bits(cell, p)]
    if preg:
        p_end = ("dsp", name, "preg")
        g.edge(alu, p_end, d["dsp_alu"], step)
        g.ends.append((p_end, 0.0, step))
        for b in out_bits:
            g.start(b, d["dsp_clk_to_out"], step)
    else:
        for b in out_bits:
            g.edge(alu, b, d["dsp_alu"] + d["dsp_out"], step)


def longest_path(netlist: dict, top: str, model: dict[str, Delay] = MODEL) -> dict:
    """The longest register-to-register path of ``top`` in a Yosys JSON netlist under
    ``model`` (module docstring). A design with no path (no registers, no ports) gets
    ``ns`` 0 and ``fmax_mhz`` None."""
    try:
        module = netlist["modules"][top]
    except KeyError as exc:
        raise TimingError(f"no module {top} in the netlist") from exc
    g, floor = _build(module, model)
    indeg = defaultdict(int)
    nodes = set(g.starts) | set(g.edges)
    for outs in g.edges.values():
        for dst, _, _ in outs:
            indeg[dst] += 1
            nodes.add(dst)
    for node, _, _ in g.ends:
        nodes.add(node)
    arrival = {n: g.starts[n][0] for n in g.starts}
    back = {n: (None, g.starts[n][1]) for n in g.starts}
    ready = [n for n in nodes if indeg[n] == 0]
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        if n in arrival:
            t = arrival[n]
            for dst, ns, step in g.edges.get(n, ()):
                if dst not in arrival or arrival[dst] < t + ns:
                    arrival[dst] = t + ns
                    back[dst] = (n, step)
        for dst, _, _ in g.edges.get(n, ()):
            indeg[dst] -= 1
            if indeg[dst] == 0:
                ready.append(dst)
    if seen != len(nodes):
        raise TimingError(f"{top}: combinational loop through {len(nodes) - seen} nets")
    best = None
    for node, ns, step in g.ends:
        if node in arrival and (best is None or arrival[node] + ns > best[0]):
            best = (arrival[node] + ns, node, step)
    levels = dict.fromkeys(("lut", "carry", "muxf", "dsp", "bram", "lutram", "other"), 0)
    if best is None and not floor:
        return {"ns": 0.0, "fmax_mhz": None, "levels": levels, "start": None, "end": None, "cells": [], "nets": []}
    cells, start, nets = [], None, []
    if best is not None:
        steps = [best[2]]
        node = first = best[1]
        while node is not None:
            prev, step = back[node]
            steps.append(step)
            first, node = node, prev
        last = best[1]
        if isinstance(best[2], tuple) and best[2][0] in FF_TYPES:
            last = module["cells"][best[2][1]]["connections"]["Q"][0]  # the register, not its D net
        nets = [_net_name(module, first), _net_name(module, last)]
        steps.reverse()
        start = _describe(steps[0])
        # One entry per cell traversed (a DSP's internal stages count once).
        for step in steps:
            if isinstance(step, tuple) and (not cells or cells[-1] != step):
                cells.append(step)
    for i, (kind, _) in enumerate(cells):
        # Flip-flops and black boxes where the path starts or ends are no stage of it.
        if kind not in FF_TYPES and not (_level(kind) == "other" and i in (0, len(cells) - 1)):
            levels[_level(kind)] += 1
    ns = best[0] if best else 0.0
    bounded_by = "path"
    if floor > ns:
        ns, bounded_by = floor, "block RAM cycle"
    return {
        "ns": round(ns, 4),
        "fmax_mhz": round(1000 / ns, 1),
        "levels": levels,
        "start": start,
        "end": _describe(best[2]) if best else None,
        "cells": [kind for kind, _ in cells],
        "nets": nets,
        "bounded_by": bounded_by,
    }


def _net_name(module: dict, node) -> str:
    """The netlist's name of a net bit (a named signal before Yosys' own ``$`` names),
    or a DSP48E2's internal stage."""
    if not isinstance(node, int):
        return f"{node[1]} ({node[2]})"
    names = [
        (n.startswith("$"), n, info["bits"].index(node))
        for n, info in module.get("netnames", {}).items()
        if node in info["bits"]
    ]
    if not names:
        return str(node)
    _, name, index = min(names)
    return f"{name}[{index}]"


def _describe(step) -> str:
    return step if isinstance(step, str) else f"{step[0]} {step[1]}"


def _level(kind: str) -> str:
    if kind.startswith(("LUT", "INV")):
        return "lut"
    if kind.startswith("CARRY"):
        return "carry"
    if kind.startswith("MUXF"):
        return "muxf"
    if kind == "DSP48E2":
        return "dsp"
    if kind in BRAM_TYPES:
        return "bram"
    if _is_lutram(kind):
        return "lutram"
    return "other"


def model_json(model: dict[str, Delay] = MODEL) -> dict:
    """The model's constants and sources, for a report."""
    return {k: {"ns": round(v.ns, 4), "source": v.source} for k, v in model.items()}
