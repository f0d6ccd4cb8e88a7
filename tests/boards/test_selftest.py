"""The self-test design in simulation (cocotb, `boards.selftest_tb`, on Icarus): the tiny
student's encoder (small budget) streams the ROM frame; with the checksum the integer
golden model gives, the UART line and the LEDs say PASS; with a corrupted checksum or
element count, FAIL. And the checksum itself, on a hand-made case."""

import numpy as np
import pytest

from licfpga.boards.selftest import checksum
from licfpga.boards.vivado import SELFTEST_FRAME, selftest_core, selftest_design
from licfpga.model.artefact import load_artefact
from licfpga.sim.encoder_bench import BUDGET, tiny_student
from licfpga.sim.runner import run_bench

BIT = 4  # clock cycles per UART bit in simulation


@pytest.fixture(scope="module")
def design():
    core = selftest_core(load_artefact(tiny_student()), dsp_budget=BUDGET)
    assert all(f <= m for f, m in zip(SELFTEST_FRAME, core.max_size))
    return core, *selftest_design(core)


@pytest.mark.icarus
@pytest.mark.parametrize("verdict, wrong", [("PASS", None), ("FAIL", "checksum"), ("FAIL", "elements")])
def test_selftest_verdict(design, verdict, wrong):
    core, make, (elements, total) = design
    expected = {None: (elements, total), "checksum": (elements, total ^ 1 << 7), "elements": (elements + 1, total)}[
        wrong
    ]
    run_bench(
        make(BIT, 100, expected=expected),
        f"selftest_{core.name}",
        "licfpga.boards.selftest_tb",
        {"bit": BIT, "verdict": verdict, "elements": elements, "limit": 100_000},
        simulator="icarus",
    )


def test_checksum_folds_and_rotates():
    # two 16-bit elements: -1 → 0xFFFF, then 2: rotl(0xFFFF) ^ 2 = 0x1FFFC
    assert checksum(np.array([[-1], [2]]), 16) == 0x1FFFC
    # a 40-bit beat folds its 32-bit chunks by XOR
    assert checksum([[0x12, 0x34, 0x56, 0x78, 0x9A]], 8) == 0x78563412 ^ 0x9A
