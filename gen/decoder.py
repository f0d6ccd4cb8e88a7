"""From a trained integer artefact and a folding plan to the decoder's RTL: the
`rtl.decoder.DecoderConfig` (every g_s engine's config and integers), its Verilog, a
manifest and the plan's report (`licfpga generate --part decoder`).

The decoder's plan is `gen.balance`'s, on a `layers.DecoderSpec` (`decoder_from_artefact`):
its frames are the decoded image's, padded to a multiple of 64 as the encoder's input,
and the RTL's frame is ŷ's, a sixteenth of that on each side (`DecoderSpec.latent_size`).

The generated tree (:func:`generate`) is a function of its inputs only, byte for byte:
``licfpga_decoder.v`` (one top-level module; weight ROMs initialised inside it),
``manifest.json`` (the artefact and its hash, the maximum frame, every engine's config
and folding, the FIFO depths, the ports) and ``report.md``/``report.json`` (`gen.report`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..formats import OUT_BITS
from ..model.artefact import Artefact
from ..model.golden import GoldenModel
from ..rtl.decoder import Decoder, DecoderConfig
from .balance import BalanceError, Plan, chain_interval
from .encoder import default_model, load, write_tree
from .layers import decoder_from_artefact, decoder_topology
from .report import CLOCK_MHZ
from .stages import ChainDesign, balanced, stage, stage_json

__all__ = [
    "decoder_from_artefact",
    "decoder_topology",
    "decoder_config",
    "DecoderDesign",
    "design",
    "generate",
    "plan_design",
    "golden_latent",
    "golden_decoded",
    "TOP",
    "MANIFEST_FORMAT",
]

TOP = "licfpga_decoder"
MANIFEST_FORMAT = "licfpga-decoder-1"


def decoder_config(artefact: Artefact, plan: Plan) -> DecoderConfig:
    """The decoder of ``artefact`` folded as ``plan`` (made for this artefact's
    `decoder_from_artefact`), with line buffers for the ŷ of the plan's maximum frame."""
    decoder = decoder_from_artefact(artefact)
    if decoder != plan.encoder:
        raise ValueError(f"the plan was made for {plan.encoder.source}, not for the decoder of {artefact.name}")
    maxima = decoder.frame_sizes(plan.max_width, plan.max_height)
    stages = tuple(stage(artefact, spec, f, size) for spec, f, size in zip(decoder.layers, plan.foldings, maxima))
    return DecoderConfig(stages, *maxima[0])


@dataclass(frozen=True, eq=False)
class DecoderDesign(ChainDesign):
    """An artefact, its decoder's plan and the decoder they make; ``artefact_sha256`` as
    `gen.encoder.EncoderDesign`'s. Frames here are ŷ's, as the RTL's ports take them."""

    config: DecoderConfig

    top = TOP

    def check_frame(self, width: int, height: int) -> None:
        """Raises `BalanceError` for a ŷ frame the built-in line buffers cannot take."""
        for what, size, limit in (("width", width, self.config.max_width), ("height", height, self.config.max_height)):
            if size > limit:
                raise BalanceError(
                    f"ŷ frame {what} {size} exceeds the decoder's built-in maximum of {limit} "
                    f"(a decoded {what} of {self.plan.encoder.upsampling * limit}): generate it with a larger "
                    f"--max-frame"
                )

    def model_cycles(self, width: int, height: int) -> int:
        """`gen.cost`'s frame interval for a width×height ŷ frame (`balance.chain_interval`)."""
        return chain_interval(self.costs(width, height))

    def component(self) -> Decoder:
        return Decoder(self.config)

    def manifest(self, verilog_sha256: str | None = None) -> dict:
        a = self.artefact
        up = self.plan.encoder.upsampling
        return {
            "format": MANIFEST_FORMAT,
            "top": TOP,
            "artefact": {"name": a.name, "N": a.N, "M": a.M, "npz_sha256": self.artefact_sha256},
            "objective": self.plan.objective,
            "plan_frame": [self.plan.width, self.plan.height],
            "max_frame": [self.plan.max_width, self.plan.max_height],
            "max_latent": [self.config.max_width, self.config.max_height],
            "ports": {
                "i": f"one int{OUT_BITS} element of ŷ per beat: M channels per pixel, pixels in raster order "
                "(the encoder's ŷ)",
                "width/height": "the ŷ frame size, set while the decoder is empty",
                "o": f"one decoded pixel per beat: 3 × uint8 (R, G, B), raster order, {up}·width × {up}·height; "
                "first/last mark the frame",
            },
            "engines": [stage_json(s) for s in self.config.stages],
            "fifos": self.buffers(),
            "fifo_rule": "behind every engine but the last: two output pixels, 2·C_out/PE beats (at least 3), "
            "and behind a transposed convolution one output row more (rtl.decoder.decoder_fifo_depth)",
            **({"verilog_sha256": verilog_sha256} if verilog_sha256 else {}),
        }


def golden_latent(artefact: Artefact, frame) -> np.ndarray:
    """The decoder's input for an (H, W, 3) uint8 frame (H and W multiples of 16): ŷ from
    the integer golden g_a, as an (H/16, W/16, M) array in ``i``'s element order (the
    encoder's)."""
    x = np.ascontiguousarray(frame).transpose(2, 0, 1)[None].astype(np.int64)
    return GoldenModel(artefact).g_a(x)[0].transpose(1, 2, 0)


def golden_decoded(artefact: Artefact, y) -> np.ndarray:
    """What the decoder emits for ŷ given as an (h, w, M) array (pixels in raster order,
    channel fastest: ``i``'s element order), from the integer golden model: x̂ as a
    (16h, 16w, 3) uint8 array, whose raster order is the output beats'."""
    y = np.ascontiguousarray(y).transpose(2, 0, 1)[None].astype(np.int64)
    return GoldenModel(artefact).g_s(y)[0].transpose(1, 2, 0).astype(np.uint8)


def design(artefact: Artefact, plan: Plan, artefact_sha256: str | None) -> DecoderDesign:
    return DecoderDesign(artefact, plan, decoder_config(artefact, plan), artefact_sha256)


def generate(d: DecoderDesign, out: Path, clock_mhz: float = CLOCK_MHZ) -> dict[str, Path]:
    """Writes the tree into ``out``; returns the written files by role."""
    return write_tree(d, out, TOP, clock_mhz)


def plan_design(
    model: str | None = None,
    dsp_budget: int | None = None,
    fps: float | None = None,
    clock_mhz: float = CLOCK_MHZ,
    resolution: tuple[int, int] = (1280, 720),
    max_frame: tuple[int, int] | None = None,
) -> DecoderDesign:
    """The decoder `licfpga generate --part decoder` makes, with the options of
    `gen.encoder.plan_design` (frames are the decoded image's)."""
    artefact, sha256 = load(model or default_model())
    plan = balanced(decoder_from_artefact(artefact), dsp_budget, fps, clock_mhz, resolution, max_frame)
    return design(artefact, plan, sha256)
