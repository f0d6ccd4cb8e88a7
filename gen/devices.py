"""The devices a plan is checked against, and the share of each kept free.

Device resources are those of AMD/Xilinx DS891, *Zynq UltraScale+ MPSoC Data Sheet:
Overview*, device feature tables (EG and EV devices): system logic LUTs, flip-flops,
DSP48E2 slices, 36 Kb block RAMs and 288 Kb UltraRAMs. (Not re-checked online when this
was written: the table below carries the numbers the design brief quotes, which are
DS891's.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Device", "DEVICES", "DEFAULT_MARGIN", "DEFAULT_DEVICE"]

#: Share of a device's DSPs and block RAMs kept free by default: room for placement and
#: routing of a nearly full column set, and for the platform's own arithmetic and
#: buffers (DMA, counters).
DEFAULT_MARGIN = 0.10


@dataclass(frozen=True)
class Device:
    name: str
    board: str
    luts: int
    ffs: int
    dsp: int
    bram36: int
    uram: int

    def dsp_budget(self, margin: float = DEFAULT_MARGIN) -> int:
        """DSPs a plan may take: the device's less ``margin``."""
        return math.floor(self.dsp * (1 - margin))

    def bram36_budget(self, margin: float = DEFAULT_MARGIN) -> float:
        """RAMB36 a plan may take (in halves: a RAMB18 is half): the device's less ``margin``."""
        return math.floor(2 * self.bram36 * (1 - margin)) / 2


DEVICES = {
    d.name: d
    for d in (
        Device("XCZU9EG", "ZCU102", 274_080, 548_160, 2_520, 912, 0),
        Device("XCZU7EV", "ZCU104", 230_400, 460_800, 1_728, 312, 96),
        Device("XCZU3EG", "Ultra96", 70_560, 141_120, 360, 216, 0),
    )
}
#: The design brief's target device (ZCU102): the default budgets come from it.
DEFAULT_DEVICE = DEVICES["XCZU9EG"]
