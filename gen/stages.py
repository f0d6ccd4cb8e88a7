"""What the encoder's, the decoder's and the hyper-decoder's generators share
(`gen.encoder`, `gen.decoder`, `gen.hyper`): a layer spec, its folding and its largest
input frame to the RTL's stage (`conv_stage`, `gdn_stage`, `stage`), a stage as the
manifest lists it (`stage_json`), a config's FIFOs as the manifest and the bench count
them (`fifo_report`), a plan from a DSP budget or a frame rate (`balanced`), and the
design of a chain of engines (`ChainDesign`: the decoder's two cores).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.back import verilog

from ..formats import RSQRT_TABLE, gdn_square_shift
from ..model.artefact import Artefact, ConvLayer, GDNLayer
from ..rtl.conv import ConvParams
from ..rtl.encoder import ConvStage, GDNStage
from ..rtl.gdn import GDNConfig
from .balance import DEFAULT_DSP_MARGIN, DEFAULT_MAX_FRAME, BalanceError, Plan, balance_dsp, balance_fps
from .cost import Folding, Memory, layer_cost
from .devices import DEVICES
from .layers import ConvSpec, GDNSpec

__all__ = ["conv_stage", "gdn_stage", "stage", "stage_json", "fifo_report", "balanced", "ChainDesign"]


def conv_stage(spec: ConvSpec, layer: ConvLayer, folding: Folding, max_size: tuple[int, int]) -> ConvStage:
    """The convolution engine of ``spec`` (its integers from the artefact's ``layer``) at
    ``folding``, with line buffers for a ``max_size`` input frame. h_s's last layer (with
    thresholds) outputs scale indexes, without requantization."""
    cfg = spec.layer_config(folding.pe, folding.simd, *max_size)
    if layer.kind == "deconv":
        # rtl.deconv wants (C_out, C_in, K, K); ConvTranspose2d's layout is (C_in, C_out, K, K).
        weight = layer.weight.transpose(1, 0, 2, 3)
    else:
        weight = layer.weight  # rtl.conv wants (C_out, C_in, K, K): the artefact's layout
    if layer.thresholds is not None:  # h_s's last: scale indexes, no requantization
        ones, zeros = np.ones(spec.c_out, dtype=np.int64), np.zeros(spec.c_out, dtype=np.int64)
        params = ConvParams(weight, layer.bias, ones, zeros, spec.out_bits, False, thresholds=layer.thresholds)
    else:
        params = ConvParams(
            weight, layer.bias, layer.multiplier, layer.shift, layer.out_type.bits, layer.out_type.signed
        )
    return ConvStage(spec.name, cfg, params)


def gdn_stage(spec: GDNSpec, layer: GDNLayer, folding: Folding) -> GDNStage:
    """The GDN unit (or inverse GDN unit) of ``spec`` at ``folding``, with the artefact's
    ``layer`` parameters and the shared rsqrt table."""
    params = layer.params
    cfg = GDNConfig.from_params(
        params,
        pe=folding.pe,
        simd=folding.simd,
        rsqrt_table=RSQRT_TABLE,
        square_shift=gdn_square_shift(params.in_bits),
    )
    return GDNStage(spec.name, cfg)


def stage(artefact: Artefact, spec: ConvSpec | GDNSpec, folding: Folding, max_size: tuple[int, int]):
    """The engine of ``spec`` (a convolution or a GDN unit of ``artefact``): `conv_stage`
    or `gdn_stage`."""
    if isinstance(spec, ConvSpec):
        return conv_stage(spec, artefact.layer(spec.name), folding, max_size)
    return gdn_stage(spec, artefact.layer(spec.name), folding)


def stage_json(stage: ConvStage | GDNStage) -> dict:
    """An engine as the manifests list it: its kind, shape, folding and number formats."""
    if isinstance(stage, ConvStage):
        c = stage.cfg
        return {
            "name": stage.name,
            "engine": "conv",
            "kernel": c.kernel,
            "stride": c.stride,
            "transposed": c.transposed,
            "c_in": c.c_in,
            "c_out": c.c_out,
            "pe": c.pe,
            "simd": c.simd,
            "window": "addressed" if c.addressed(c.simd) else "sliding",
            "max_width": c.max_width,
            "max_height": c.max_height,
            "in_bits": c.in_bits,
            "in_signed": c.in_signed,
            "acc_bits": c.acc_bits,
            "out_bits": stage.params.out_bits,
            "out_signed": stage.params.out_signed,
            **({"scale_levels": int(stage.params.thresholds.shape[1])} if stage.params.thresholds is not None else {}),
        }
    c = stage.cfg
    return {
        "name": stage.name,
        "engine": "igdn" if c.inverse else "gdn",
        "channels": c.channels,
        "pe": c.pe,
        "simd": c.simd,
        "in_bits": c.in_bits,
        "out_bits": c.out_bits,
        "coef_bits": c.coef_bits,
        "acc_bits": c.acc_bits,
    }


def fifo_report(config) -> dict:
    """Every FIFO of ``config`` (an encoder's, decoder's or hyper-decoder's: its
    ``fifo_depths`` and ``fifo_bits``) by name: depth, payload bits and memory
    (`gen.cost.Memory`: block RAM above 64 words, else LUTs). These come on top of the
    plan's per-engine estimate."""
    out = {}
    bits = config.fifo_bits
    for name, depth in config.fifo_depths.items():
        mem = Memory("fifo", depth, bits[name], 1, rom=False)
        out[name] = {"depth": depth, "bits": bits[name], "bram36": mem.bram36, "luts": mem.luts}
    return out


def balanced(
    spec,
    dsp_budget: int | None,
    fps: float | None,
    clock_mhz: float,
    resolution: tuple[int, int],
    max_frame: tuple[int, int] | None,
) -> Plan:
    """The plan `licfpga generate` makes of ``spec`` (an encoder's, decoder's or
    hyper-decoder's, `gen.layers`): balanced within ``dsp_budget`` DSPs (default: the
    XCZU9EG's less the margin) or, given ``fps``, with the fewest DSPs for that rate at
    ``clock_mhz``, on a ``resolution`` frame, with line buffers for ``max_frame``
    (default 1920×1088)."""
    if dsp_budget is not None and fps is not None:
        raise BalanceError("give a DSP budget or a frame rate, not both")
    max_frame = max_frame or DEFAULT_MAX_FRAME
    if fps is not None:
        return balance_fps(spec, fps, clock_mhz, resolution, max_frame)
    if dsp_budget is None:
        dsp_budget = int(DEVICES["XCZU9EG"].dsp * (1 - DEFAULT_DSP_MARGIN))
    return balance_dsp(spec, dsp_budget, resolution, max_frame)


@dataclass(frozen=True, eq=False)
class ChainDesign:
    """An artefact, a plan of a chain of engines (a `gen.layers.DecoderSpec`) and the
    config of the core they make (`rtl.decoder.DecoderConfig` or `HyperConfig`: its
    frames are its input's, as the RTL's ports take them); ``artefact_sha256`` as
    `gen.encoder.EncoderDesign`'s. A subclass names its ``top`` module and its
    ``component``."""

    artefact: Artefact
    plan: Plan
    config: object
    artefact_sha256: str | None

    top = ""

    def costs(self, width: int, height: int) -> list:
        """`gen.cost`'s `LayerCost` of every engine for a width×height input frame of the
        core (what is streamed), with the line buffers of the plan's maximum frame."""
        maxima = self.config.frame_sizes(self.config.max_width, self.config.max_height)
        return [
            layer_cost(spec, f, w, h, mw)
            for spec, f, (w, h), (mw, _) in zip(
                self.plan.encoder.layers, self.plan.foldings, self.config.frame_sizes(width, height), maxima
            )
        ]

    def buffers(self) -> dict:
        """Every FIFO's depth, payload bits and memory (`fifo_report`)."""
        return fifo_report(self.config)

    def component(self):
        raise NotImplementedError

    def verilog(self) -> str:
        return verilog.convert(self.component(), name=self.top, emit_src=False)
