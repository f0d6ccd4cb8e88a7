"""From a trained integer artefact and a folding plan to the encoder's RTL: the
`rtl.encoder.EncoderConfig` (every engine's config and integers), its Verilog, a
manifest and the plan's report (`licfpga generate`).

The generated tree (:func:`generate`) is a function of its inputs only, byte for byte:
``encoder.v`` (one top-level module ``licfpga_encoder``; the weight ROMs are initialised
inside it, so there are no separate memory files), ``manifest.json`` (the artefact and
its hash, the maximum frame, every engine's config and folding, the FIFO depths, the
output packet format) and ``report.md``/``report.json`` (:mod:`.report`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from ..formats import OUT_BITS
from ..model.artefact import Artefact, read_manifest
from ..model.golden import GoldenModel
from ..model.registry import DEFAULT_MODEL, ModelError, list_models, load_integer_model
from ..rtl.encoder import Encoder, EncoderConfig
from .balance import BalanceError, Plan
from .buffers import encoder_interval, y_buffer_depth
from .cost import layer_cost
from .layers import AbsSpec, encoder_from_artefact
from .report import CLOCK_MHZ, budget_sweep, markdown, plan_report
from .stages import balanced, fifo_report, stage, stage_json

__all__ = [
    "encoder_config",
    "EncoderDesign",
    "design",
    "generate",
    "write_tree",
    "default_model",
    "load",
    "golden_packet",
    "TOP",
    "MANIFEST_FORMAT",
]

TOP = "licfpga_encoder"
MANIFEST_FORMAT = "licfpga-encoder-1"


def encoder_config(artefact: Artefact, plan: Plan) -> EncoderConfig:
    """The encoder of ``artefact`` folded as ``plan`` (made for this artefact's
    `gen.layers.encoder_from_artefact`), with line buffers for the plan's maximum frame."""
    encoder = encoder_from_artefact(artefact)
    if encoder != plan.encoder:
        raise ValueError(f"the plan was made for {plan.encoder.source}, not for the artefact {artefact.name}")
    chains = {"g_a": [], "h_a": [], "h_s": []}
    maxima = encoder.frame_sizes(plan.max_width, plan.max_height)
    for spec, folding, size in zip(encoder.layers, plan.foldings, maxima):
        if isinstance(spec, AbsSpec):  # |ŷ|: the encoder's own glue between g_a and h_a
            abs_bits = spec.out_bits
            continue
        chains[spec.name.split(".")[0]].append(stage(artefact, spec, folding, size))
    return EncoderConfig(
        tuple(chains["g_a"]),
        tuple(chains["h_a"]),
        tuple(chains["h_s"]),
        plan.max_width,
        plan.max_height,
        y_buffer_depth(encoder, plan.costs(plan.max_width, plan.max_height)),
        abs_bits,
    )


@dataclass(frozen=True, eq=False)
class EncoderDesign:
    """An artefact, its plan and the encoder they make; ``artefact_sha256`` identifies the
    artefact in the manifest (the sha256 of its tensors, as its own manifest records
    them; ``None`` for an artefact held in memory only)."""

    artefact: Artefact
    plan: Plan
    config: EncoderConfig
    artefact_sha256: str | None

    top = TOP

    def check_frame(self, width: int, height: int) -> None:
        """Raises `BalanceError` for a frame the built-in line buffers cannot take."""
        if width > self.config.max_width:
            raise BalanceError(
                f"frame width {width} exceeds the encoder's built-in line-buffer maximum of "
                f"{self.config.max_width} pixels: generate it with a larger --max-frame"
            )
        if height > self.config.max_height:
            raise BalanceError(
                f"frame height {height} exceeds the encoder's built-in maximum of "
                f"{self.config.max_height} rows: generate it with a larger --max-frame"
            )

    def packet_length(self, width: int, height: int) -> int:
        """Output elements of one frame: ŷ, ẑ, then the scale indexes."""
        (yw, yh), (zw, zh), (sw, sh) = self.config.latent_sizes(width, height)
        c = self.config
        return yw * yh * c.analysis[-1].c_out + zw * zh * c.hyper[-1].c_out + sw * sh * c.synthesis[-1].c_out

    def costs(self, width: int, height: int) -> list:
        """`gen.cost`'s `LayerCost` of every engine for a width×height input (unpadded:
        what is streamed), with the line buffers of the plan's maximum frame."""
        encoder = self.plan.encoder
        maxima = encoder.frame_sizes(self.plan.max_width, self.plan.max_height)
        return [
            layer_cost(spec, f, w, h, mw)
            for spec, f, (w, h), (mw, _) in zip(
                encoder.layers, self.plan.foldings, encoder.frame_sizes(width, height), maxima
            )
        ]

    def model_cycles(self, width: int, height: int) -> int:
        """`gen.cost`'s frame interval for a width×height input (unpadded: what is
        streamed): `gen.buffers.encoder_interval`."""
        return encoder_interval(self.plan.encoder, self.costs(width, height))

    def buffers(self) -> dict:
        """Every FIFO's depth, payload bits and memory (`gen.stages.fifo_report`)."""
        return fifo_report(self.config)

    def component(self) -> Encoder:
        return Encoder(self.config)

    def verilog(self) -> str:
        return verilog.convert(self.component(), name=TOP, emit_src=False)

    def manifest(self, verilog_sha256: str | None = None) -> dict:
        a = self.artefact
        return {
            "format": MANIFEST_FORMAT,
            "top": TOP,
            "artefact": {"name": a.name, "N": a.N, "M": a.M, "npz_sha256": self.artefact_sha256},
            "objective": self.plan.objective,
            "plan_frame": [self.plan.width, self.plan.height],
            "max_frame": [self.config.max_width, self.config.max_height],
            "ports": {
                "i": "one pixel per beat: 3 × uint8 (R, G, B)",
                "width/height": "input frame size, set while the encoder is empty",
                "o": f"one int{OUT_BITS} element per beat: per frame ŷ (M channels, raster order), then ẑ "
                f"(N channels, sign-extended int8), then the scale index of every ŷ element (M per pixel of "
                f"4× ẑ's frame, zero-extended); first/last mark the frame's packet",
            },
            "engines": [stage_json(s) for s in self.config.analysis]
            + [{"name": "abs", "engine": "abs", "bits": self.config.abs_bits}]
            + [stage_json(s) for s in self.config.hyper]
            + [stage_json(s) for s in self.config.synthesis],
            "fifos": self.buffers(),
            "fifo_rule": "behind every engine: two output pixels, 2·C_out/PE beats (at least 3); ŷ to the "
            "output: what g_a makes while the output waits for a frame's ẑ and scale indexes "
            "(gen.buffers.y_buffer_depth); ẑ buffers (to the output, to h_s): the largest ẑ frame each",
            **({"verilog_sha256": verilog_sha256} if verilog_sha256 else {}),
        }


def golden_packet(artefact: Artefact, frame) -> tuple:
    """What the encoder emits for an (H, W, 3) uint8 frame, from the integer golden model:
    the packet's elements (ŷ, ẑ, then the scale indexes, each pixel by pixel in raster
    order, channel fastest) and the three parts' [w, h, channels]."""
    golden = GoldenModel(artefact)
    x = np.ascontiguousarray(frame).transpose(2, 0, 1)[None].astype(np.int64)
    y = golden.g_a(x)
    z = golden.h_a(y)
    indexes = golden.h_s(z)
    parts = [t[0].transpose(1, 2, 0) for t in (y, z, indexes)]
    shapes = tuple([p.shape[1], p.shape[0], p.shape[2]] for p in parts)
    return np.concatenate([p.reshape(-1) for p in parts]), *shapes


def design(artefact: Artefact, plan: Plan, artefact_sha256: str | None) -> EncoderDesign:
    return EncoderDesign(artefact, plan, encoder_config(artefact, plan), artefact_sha256)


def generate(d: EncoderDesign, out: Path, clock_mhz: float = CLOCK_MHZ) -> dict[str, Path]:
    """Writes the tree into ``out``; returns the written files by role."""
    return write_tree(d, out, TOP, clock_mhz)


def write_tree(d, out: Path, top: str, clock_mhz: float) -> dict[str, Path]:
    """A design's tree (an encoder's or a decoder's: ``verilog()``, ``manifest()``,
    ``plan``) in ``out``: ``top``.v, manifest.json, report.md/.json; the files by role."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    text = d.verilog()
    files = {
        "verilog": out / f"{top}.v",
        "manifest": out / "manifest.json",
        "report_md": out / "report.md",
        "report_json": out / "report.json",
    }
    files["verilog"].write_text(text)
    files["manifest"].write_text(json.dumps(d.manifest(hashlib.sha256(text.encode()).hexdigest()), indent=1) + "\n")
    report = plan_report(d.plan, clock_mhz, budget_sweep(d.plan))
    files["report_json"].write_text(json.dumps(report, indent=1) + "\n")
    files["report_md"].write_text(markdown(report))
    return files


def default_model() -> str:
    """The shipped default student's integer artefact (``registry.DEFAULT_MODEL`` + ``-int8``),
    else the newest ``student-n64-q?-int8``."""
    integer = [m for m in list_models() if m.integer]
    names = {m.name for m in integer}
    if f"{DEFAULT_MODEL}-int8" in names:
        return f"{DEFAULT_MODEL}-int8"
    fallback = [m for m in integer if re.fullmatch(r"student-n64-q\d+-int8", m.name)]
    if not fallback:
        raise ModelError(
            f"no integer artefact of the default student ({DEFAULT_MODEL}-int8, or any "
            f"student-n64-q?-int8) is shipped: make one with licfpga quantize, or name one with --model"
        )
    return max(fallback, key=lambda m: Path(m.path).stat().st_mtime).name


def load(name_or_path: str) -> tuple[Artefact, str]:
    """An integer artefact by registry name or path, and its tensors' sha256."""
    artefact, info = load_integer_model(name_or_path)
    return artefact, read_manifest(Path(info.path))["npz"]["sha256"]


def plan_design(
    model: str | None = None,
    dsp_budget: int | None = None,
    fps: float | None = None,
    clock_mhz: float = CLOCK_MHZ,
    resolution: tuple[int, int] = (1280, 720),
    max_frame: tuple[int, int] | None = None,
) -> EncoderDesign:
    """The encoder `licfpga generate` makes: ``model`` (default: the shipped default
    student) planned by `gen.stages.balanced` (within ``dsp_budget`` DSPs, default the
    XCZU9EG's less the margin, or with the fewest DSPs for ``fps`` at ``clock_mhz``) on a
    ``resolution`` frame, with line buffers for ``max_frame`` (default 1920×1088)."""
    artefact, sha256 = load(model or default_model())
    plan = balanced(encoder_from_artefact(artefact), dsp_budget, fps, clock_mhz, resolution, max_frame)
    return design(artefact, plan, sha256)
