"""The codec's ``rtl-sim`` analysis backend: ŷ and ẑ from the generated encoder running in
Verilator (`licfpga compress --backend rtl-sim`), the same symbols as the golden model's.

For each image size the encoder is generated with line buffers for exactly that (padded)
frame and balanced within ``dsp_budget`` DSPs, then built (cached by its Verilog's hash,
see `runner`) and run by `sim.tb_encoder_run`. A small budget keeps the Verilog and the
build small; the simulation then takes a few cycles per pixel more, which only costs
time. The shipped N=64 students build for many minutes: this backend is for checking
files bit for bit on small images and small models.
"""

import tempfile
from pathlib import Path

import numpy as np

from .runner import run_bench

__all__ = ["RtlSimBackend", "DSP_BUDGET"]

#: Enough for the cheapest folding of every engine of the N=8…64 students.
DSP_BUDGET = 100


class RtlSimBackend:
    """`model.codec.AnalysisBackend` on the generated encoder of ``artefact`` in ``simulator``."""

    def __init__(self, artefact, dsp_budget: int = DSP_BUDGET, simulator: str = "verilator"):
        self.artefact, self.dsp_budget, self.simulator = artefact, dsp_budget, simulator
        self.cycles = None          # of the last frame, from its first input beat to its packet's end

    def design(self, width: int, height: int):
        from ..gen.balance import balance_dsp
        from ..gen.encoder import design
        from ..gen.layers import encoder_from_artefact

        plan = balance_dsp(encoder_from_artefact(self.artefact), self.dsp_budget, frame=(width, height),
                           max_frame=(width, height))
        return design(self.artefact, plan, None)

    def analyse(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from ..gen.balance import BalanceError
        from ..model.codec import CodecError

        height, width = x.shape[:2]
        try:
            d = self.design(width, height)
        except BalanceError as exc:
            raise CodecError(f"rtl-sim: {exc}") from None
        (yw, yh), (zw, zh) = d.config.latent_sizes(width, height)
        M, N = self.artefact.M, self.artefact.N
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "packet.npz"
            run_bench(d.component(), f"encoder_{self.artefact.name}", "licfpga.sim.tb_encoder_run",
                      {"width": width, "height": height, "elements": d.packet_length(width, height),
                       "out": str(out)},
                      arrays={"pixels": np.ascontiguousarray(x, dtype=np.uint8)}, simulator=self.simulator)
            with np.load(out) as result:
                packet, self.cycles = result["packet"].astype(np.int64), int(result["cycles"])
        y = packet[:yw * yh * M].reshape(yh, yw, M).transpose(2, 0, 1)
        z = packet[yw * yh * M:].reshape(zh, zw, N).transpose(2, 0, 1)
        return y, z
