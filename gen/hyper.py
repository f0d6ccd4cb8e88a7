"""From a trained integer artefact and a folding plan to the hyper-decoder's RTL: h_s as a
core of its own on the decoding side (`rtl.decoder.HyperDecoder`: ẑ in, the scale index
of every ŷ element out; `rtl.decoder` says why it is not a pass of the g_s decoder), its
Verilog, a manifest and the plan's report (`licfpga generate --part hyper`).

Its engines are the encoder's h_s, built the same way (`gen.stages`); its plan is
`gen.balance`'s, on a `layers.HyperSpec` (`hyper_from_artefact`), a chain as the
decoder's: frames are the image's, padded to a multiple of 64, and the RTL's frame is
ẑ's, a 64th of that on each side (`HyperSpec.latent_size`).

The generated tree (:func:`generate`) is a function of its inputs only, byte for byte:
``licfpga_hyper.v``, ``manifest.json`` and ``report.md``/``report.json``, as the
decoder's (`gen.decoder`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..model.artefact import Artefact
from ..model.golden import GoldenModel
from ..rtl.decoder import HyperConfig, HyperDecoder
from .balance import BalanceError, Plan, chain_interval
from .encoder import default_model, load, write_tree
from .layers import hyper_from_artefact
from .report import CLOCK_MHZ
from .stages import ChainDesign, balanced, stage, stage_json

__all__ = [
    "hyper_from_artefact",
    "hyper_config",
    "HyperDesign",
    "design",
    "generate",
    "plan_design",
    "golden_indexes",
    "TOP",
    "MANIFEST_FORMAT",
]

TOP = "licfpga_hyper"
MANIFEST_FORMAT = "licfpga-hyper-1"


def hyper_config(artefact: Artefact, plan: Plan) -> HyperConfig:
    """The hyper-decoder of ``artefact`` folded as ``plan`` (made for this artefact's
    `hyper_from_artefact`), with line buffers for the ẑ of the plan's maximum frame."""
    hyper = hyper_from_artefact(artefact)
    if hyper != plan.encoder:
        raise ValueError(f"the plan was made for {plan.encoder.source}, not for the hyper-decoder of {artefact.name}")
    maxima = hyper.frame_sizes(plan.max_width, plan.max_height)
    stages = tuple(stage(artefact, spec, f, size) for spec, f, size in zip(hyper.layers, plan.foldings, maxima))
    return HyperConfig(stages, *maxima[0])


@dataclass(frozen=True, eq=False)
class HyperDesign(ChainDesign):
    """An artefact, its hyper-decoder's plan and the core they make; ``artefact_sha256``
    as `gen.encoder.EncoderDesign`'s. Frames here are ẑ's, as the RTL's ports take them."""

    config: HyperConfig

    top = TOP

    def check_frame(self, width: int, height: int) -> None:
        """Raises `BalanceError` for a ẑ frame the built-in line buffers cannot take."""
        for what, size, limit in (("width", width, self.config.max_width), ("height", height, self.config.max_height)):
            if size > limit:
                raise BalanceError(
                    f"ẑ frame {what} {size} exceeds the hyper-decoder's built-in maximum of {limit} "
                    f"(an image {what} of {self.plan.encoder.frame_scale * limit}): generate it with a larger "
                    "--max-frame"
                )

    def out_elements(self, width: int, height: int) -> int:
        """Scale indexes of a width×height ẑ frame: M per pixel of 4× its size."""
        w, h = self.config.out_size(width, height)
        return w * h * self.config.stages[-1].c_out

    def model_cycles(self, width: int, height: int) -> int:
        """`gen.cost`'s frame interval for a width×height ẑ frame: the chain's
        (`balance.chain_interval`: its slowest engine, or ẑ's one element per cycle in),
        or ``o``'s one index per cycle where that is slower. The balancer's `Plan.interval`
        counts the chain only: the output binds once the index convolution's PE·SIMD
        reaches 9·N (nine taps of N channels per index), far above the small budgets the
        hyper-decoder takes."""
        return max(chain_interval(self.costs(width, height)), self.out_elements(width, height))

    def component(self) -> HyperDecoder:
        return HyperDecoder(self.config)

    def manifest(self, verilog_sha256: str | None = None) -> dict:
        a = self.artefact
        return {
            "format": MANIFEST_FORMAT,
            "top": TOP,
            "artefact": {"name": a.name, "N": a.N, "M": a.M, "npz_sha256": self.artefact_sha256},
            "objective": self.plan.objective,
            "plan_frame": [self.plan.width, self.plan.height],
            "max_frame": [self.plan.max_width, self.plan.max_height],
            "max_latent": [self.config.max_width, self.config.max_height],
            "ports": {
                "i": "one int8 element of ẑ per beat: N channels per pixel, pixels in raster order",
                "width/height": "the ẑ frame size, set while the core is empty",
                "o": f"one scale index per beat (uint{self.config.stages[-1].out_shape.width}): M per pixel, "
                "raster order, 4·width × 4·height (ŷ's grid); first/last mark the frame",
            },
            "engines": [stage_json(s) for s in self.config.stages],
            "fifos": self.buffers(),
            "fifo_rule": "behind every engine but the last: two output pixels, 2·C_out/PE beats (at least 3), "
            "and behind a transposed convolution one output row more (rtl.decoder.decoder_fifo_depth)",
            **({"verilog_sha256": verilog_sha256} if verilog_sha256 else {}),
        }


def golden_indexes(artefact: Artefact, z) -> np.ndarray:
    """What the hyper-decoder emits for ẑ given as an (h, w, N) array (pixels in raster
    order, channel fastest: ``i``'s element order), from the integer golden model: the
    scale indexes as a (4h, 4w, M) array, whose raster order is the output beats'."""
    z = np.ascontiguousarray(z).transpose(2, 0, 1)[None].astype(np.int64)
    return GoldenModel(artefact).h_s(z)[0].transpose(1, 2, 0)


def design(artefact: Artefact, plan: Plan, artefact_sha256: str | None) -> HyperDesign:
    return HyperDesign(artefact, plan, hyper_config(artefact, plan), artefact_sha256)


def generate(d: HyperDesign, out: Path, clock_mhz: float = CLOCK_MHZ) -> dict[str, Path]:
    """Writes the tree into ``out``; returns the written files by role."""
    return write_tree(d, out, TOP, clock_mhz)


def plan_design(
    model: str | None = None,
    dsp_budget: int | None = None,
    fps: float | None = None,
    clock_mhz: float = CLOCK_MHZ,
    resolution: tuple[int, int] = (1280, 720),
    max_frame: tuple[int, int] | None = None,
) -> HyperDesign:
    """The hyper-decoder `licfpga generate --part hyper` makes, with the options of
    `gen.encoder.plan_design` (frames are the image's)."""
    artefact, sha256 = load(model or default_model())
    plan = balanced(hyper_from_artefact(artefact), dsp_budget, fps, clock_mhz, resolution, max_frame)
    return design(artefact, plan, sha256)
