"""The encoder as the hardware sees it: one description per engine, from an integer
artefact or, for planning before any weights exist, from (N, M) alone.

The encoder is g_a (four convolutions, three GDN units) then |ŷ| then h_a (three
convolutions whose ReLUs are folded into unsigned requantization) then h_s (two
stride-2 transposed convolutions and a 3×3 convolution whose output is the scale index
of every ŷ element, not a requantized value). The decoder is g_s (four stride-2
transposed convolutions, three inverse GDN units); the hyper-decoder is h_s again, as a
core of its own on the decoding side (:class:`HyperSpec`). All entry points go through one
function (:func:`_describe`), fed with the artefact's own layer specs or with
:func:`model.artefact.topology`'s, so planning and generation cannot disagree on the
shapes.

These descriptions hold shapes (every spec's ``shape`` is a `licfpga.shape.LayerShape`,
which derives sizes and MACs) and number formats, never weights: the generator looks
the integers up in the artefact by ``name``. A convolution becomes the RTL's
:class:`rtl.config.LayerConfig` once the balancer has chosen its folding
(:meth:`ConvSpec.layer_config`); the GDN unit has no RTL config yet, so its folding
stays here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

from ..formats import (
    GDN_ACC_BITS,
    GDN_COEF_BITS,
    GDN_SQUARE_BITS,
    SCALE_LEVELS,
    WEIGHT_BITS,
    accumulator_bits,
    index_bits,
)
from ..model.artefact import Artefact, ConvLayer, GDNLayer, LayerSpec, topology
from ..model.topology import ALIGNMENT
from ..rtl.config import LayerConfig
from ..shape import LayerShape

__all__ = [
    "ConvSpec",
    "GDNSpec",
    "AbsSpec",
    "EncoderSpec",
    "DecoderSpec",
    "HyperSpec",
    "encoder_from_artefact",
    "encoder_topology",
    "decoder_from_artefact",
    "decoder_topology",
    "hyper_from_artefact",
    "hyper_topology",
    "ENCODER_TRANSFORMS",
    "DECODER_TRANSFORMS",
    "HYPER_TRANSFORMS",
    "SERIAL_TRANSFORMS",
]

ENCODER_TRANSFORMS = ("g_a", "h_a", "h_s")
DECODER_TRANSFORMS = ("g_s",)
#: The hyper-decoder's: h_s as a core of its own on the decoding side (`HyperSpec`).
HYPER_TRANSFORMS = ("h_s",)
#: The engines that run between two frames' ŷ (`rtl.encoder.Encoder`): h_s computes a
#: frame's scale indexes from its whole ẑ while the output waits for them.
SERIAL_TRANSFORMS = ("h_s",)


@dataclass(frozen=True, kw_only=True)
class ConvSpec(LayerShape):
    """A convolution engine: the `LayerShape` ``nn.Conv2d(c_in, c_out, kernel, stride,
    padding=kernel//2)`` (or its transposed form) on ``in_bits`` activations
    (``in_signed``) and int8 weights, then requantization to ``out_bits``
    (``out_signed``; unsigned folds a ReLU).

    ``acc_bits`` is the accumulator register of the artefact (32); ``acc_bound_bits`` is
    what the layer can actually reach, ``taps·x_max·127 + max|bias|`` as a signed width
    (:func:`intops.accumulator_bits`): it decides whether the requantizer's ``acc·M``
    fits one DSP48E2 (A port, 27 bits) or needs two.

    ``levels`` > 0 marks h_s's last layer: its accumulator (bias included) becomes a
    scale index 0…levels−1 by integer thresholds (``out_bits`` is the index width,
    `formats.index_bits`). ``serial`` marks an engine of h_s, which the encoder runs
    between two frames' ŷ (`SERIAL_TRANSFORMS`; the balancer gives it a share of the
    frame interval).
    """

    name: str
    in_bits: int
    in_signed: bool
    out_bits: int
    out_signed: bool
    acc_bits: int
    acc_bound_bits: int
    levels: int = 0
    serial: bool = False

    @property
    def kind(self) -> str:
        return "deconv" if self.transposed else "conv"

    @property
    def shape(self) -> LayerShape:
        return self

    def layer_config(self, pe: int, simd: int, max_width: int, max_height: int) -> LayerConfig:
        """The RTL's config for this layer at a folding and a built-in maximum input frame."""
        return LayerConfig(
            kernel=self.kernel,
            stride=self.stride,
            c_in=self.c_in,
            c_out=self.c_out,
            transposed=self.transposed,
            pe=pe,
            simd=simd,
            max_width=max_width,
            max_height=max_height,
            in_bits=self.in_bits,
            in_signed=self.in_signed,
            weight_bits=WEIGHT_BITS,
            acc_bits=self.acc_bits,
        )


@dataclass(frozen=True)
class GDNSpec:
    """A GDN unit over ``channels`` (docs/number-formats.md §3): squares of ``in_bits``
    inputs (≤ 17 bits), the C×C γ-weighted sum with ``coef_bits`` coefficients into an
    ``acc_bits`` accumulator, rsqrt, the output multiply and requantization to ``out_bits``.
    PE folds the output channels i of ``N_i = β_i + Σ_j γ_ij·u_j``, SIMD the inputs j:
    as the MAC array of a 1×1 layer (``shape``). ``inverse``: g_s's inverse GDN, the
    same array and a tail that multiplies by the root rather than its reciprocal."""

    name: str
    channels: int
    in_bits: int
    out_bits: int
    coef_bits: int
    acc_bits: int
    inverse: bool = False

    serial = False

    @property
    def kind(self) -> str:
        return "igdn" if self.inverse else "gdn"

    @property
    def shape(self) -> LayerShape:
        return LayerShape(1, 1, self.channels, self.channels)

    @property
    def square_bits(self) -> int:
        """Width of a square u_j: exact for int8 (14 bits), rounded to 17 for int16."""
        return min(2 * self.in_bits - 2, GDN_SQUARE_BITS)

    def macs(self, width: int, height: int) -> int:
        """The γ-sum's C² MACs per pixel (the per-element work is not counted as MACs,
        as in :func:`model.hyperprior.macs_per_pixel`)."""
        return self.shape.macs(width, height)


@dataclass(frozen=True)
class AbsSpec:
    """h_a's input: ``saturate(|ŷ|, out_bits, unsigned)`` per element (:class:`rtl.glue.Abs`),
    a whole pixel per beat; no DSP, no memory."""

    name: str
    channels: int
    in_bits: int
    out_bits: int

    kind = "abs"
    serial = False

    @property
    def shape(self) -> LayerShape:
        return LayerShape(1, 1, self.channels, self.channels)

    def macs(self, width: int, height: int) -> int:
        return 0


Spec = ConvSpec | GDNSpec | AbsSpec


def _frames(layers, width: int, height: int) -> list[tuple[int, int]]:
    """The input frame of every layer of a chain whose first reads ``width``×``height``."""
    sizes = []
    for layer in layers:
        sizes.append((width, height))
        width, height = layer.shape.out_size(width, height)
    return sizes


class _Macs:
    """`macs` of a spec of ``layers`` and their ``frame_sizes``."""

    def macs(self, width: int, height: int) -> int:
        """MACs of every engine on one ``width``×``height`` frame (`frame_sizes`)."""
        return sum(layer.macs(w, h) for layer, (w, h) in zip(self.layers, self.frame_sizes(width, height)))


@dataclass(frozen=True)
class EncoderSpec(_Macs):
    """The encoder's engines in stream order, and where they came from (``source``: the
    artefact's name, or ``topology N=…, M=…``)."""

    N: int
    M: int
    layers: tuple[Spec, ...]
    source: str

    part: ClassVar[str] = "encoder"

    def frame_sizes(self, width: int, height: int) -> list[tuple[int, int]]:
        """The input frame size of every layer for an encoder input of ``width``×``height``."""
        return _frames(self.layers, width, height)


@dataclass(frozen=True)
class DecoderSpec(_Macs):
    """The decoder's engines (g_s) in stream order, and where they came from, as
    `EncoderSpec`.

    Its frames are the decoded image's, as the encoder's are its input image, so the
    planner pads them, and counts cycles per pixel and frame rates, the same way for
    both (`gen.balance`); the first engine reads ŷ of that frame (`latent_size`)."""

    N: int
    M: int
    layers: tuple[Spec, ...]
    source: str

    part: ClassVar[str] = "decoder"

    @property
    def upsampling(self) -> int:
        """The decoded frame's side over ŷ's: 2 per transposed convolution (16 for g_s)."""
        return math.prod(layer.shape.stride for layer in self.layers)

    @property
    def frame_scale(self) -> int:
        """The planned frame's side over the first engine's input's: `upsampling`."""
        return self.upsampling

    def latent_size(self, width: int, height: int) -> tuple[int, int]:
        """ŷ's frame for a decoded ``width``×``height`` frame: what the encoder's g_a makes
        of that frame, each side divided by `frame_scale`, rounded up."""
        return -(-width // self.frame_scale), -(-height // self.frame_scale)

    def frame_sizes(self, width: int, height: int) -> list[tuple[int, int]]:
        """The input frame size of every layer for a decoded frame of ``width``×``height``."""
        return _frames(self.layers, *self.latent_size(width, height))


@dataclass(frozen=True)
class HyperSpec(DecoderSpec):
    """The hyper-decoder's engines (h_s as a core of its own, `rtl.decoder.HyperDecoder`)
    in stream order: a chain, planned as `DecoderSpec`'s (`gen.balance` plans and counts
    any `DecoderSpec` as one). Its engines are not ``serial``: they are the whole core,
    not a pass between two frames of the encoder's.

    Its frames are the image's, as the encoder's and the decoder's, so that one frame
    plans all three: the first engine reads ẑ of that frame, a 64th of each side
    (`latent_size`), the last writes the scale index of every ŷ element, a 16th."""

    part: ClassVar[str] = "hyper"

    @property
    def frame_scale(self) -> int:
        """The image's side over ẑ's: 64 (the host pads the image to a multiple of it), so
        `latent_size` is ẑ's frame."""
        return ALIGNMENT


def _describe(
    specs: list[LayerSpec],
    bias_max: dict[str, int],
    gdn: dict[str, tuple[int, int]],
    levels: dict[str, int],
    transforms: tuple[str, ...] = ENCODER_TRANSFORMS,
) -> tuple[Spec, ...]:
    """Engines of ``transforms`` from the integer network's layer specs: the encoder's
    g_a, |ŷ|, h_a and h_s, or the decoder's g_s (`DECODER_TRANSFORMS`).

    ``bias_max`` gives max|bias| per convolution (0 when planning: a trained bias sits far
    below the product bound, and the artefact path uses the real one); ``gdn`` gives a GDN
    layer's (coef_bits, acc_bits), ``levels`` the scale levels of a layer whose output is
    a scale index (its ``out_type`` is None)."""
    out: list[Spec] = []
    for s in specs:
        if s.transform not in transforms:
            continue
        if s.kind in ("conv", "deconv"):
            x_max = s.in_type.range[1]
            transposed = s.kind == "deconv"
            # A transposed layer runs as its 3×3 phase convolution (`rtl.deconv`).
            taps = (
                LayerShape(3, 1, s.c_in, 4 * s.c_out) if transposed else LayerShape(s.kernel, s.stride, s.c_in, s.c_out)
            )
            taps = taps.window_len
            bound = accumulator_bits(taps, x_max, 127, bias_max.get(s.name, 0))
            if s.transform == "h_a" and not any(layer.kind == "abs" for layer in out):
                # |ŷ| between g_a's int16 ŷ and h_a's uint8 input: the only glue engine.
                prev = out[-1]
                out.append(AbsSpec("abs", prev.shape.c_out, prev.out_bits, s.in_type.bits))
            out.append(
                ConvSpec(
                    name=s.name,
                    kernel=s.kernel,
                    stride=s.stride,
                    c_in=s.c_in,
                    c_out=s.c_out,
                    transposed=transposed,
                    in_bits=s.in_type.bits,
                    in_signed=s.in_type.signed,
                    out_bits=s.out_type.bits if s.out_type else index_bits(levels[s.name]),
                    out_signed=bool(s.out_type and s.out_type.signed),
                    acc_bits=s.acc_bits,
                    acc_bound_bits=bound,
                    levels=0 if s.out_type else levels[s.name],
                    serial=s.transform in SERIAL_TRANSFORMS,
                )
            )
        elif s.kind in ("gdn", "igdn"):
            coef_bits, acc_bits = gdn[s.name]
            out.append(GDNSpec(s.name, s.c_in, s.in_type.bits, s.out_type.bits, coef_bits, acc_bits, s.kind == "igdn"))
        else:
            raise ValueError(f"layer {s.name}: kind {s.kind!r} has no engine")
    return tuple(out)


def _from_artefact(artefact: Artefact, transforms: tuple[str, ...]) -> tuple[Spec, ...]:
    """The engines of ``transforms`` of a trained integer artefact (its types, biases and
    GDN widths)."""
    bias_max = {
        layer.name: int(abs(layer.bias).max())
        for layer in artefact.layers
        if isinstance(layer, ConvLayer) and layer.bias.size
    }
    gdn = {
        layer.name: (layer.params.coef_bits, layer.params.acc_bits)
        for layer in artefact.layers
        if isinstance(layer, GDNLayer)
    }
    levels = {
        layer.name: layer.thresholds.shape[1]
        for layer in artefact.layers
        if isinstance(layer, ConvLayer) and layer.thresholds is not None
    }
    return _describe([layer.spec for layer in artefact.layers], bias_max, gdn, levels, transforms)


def _from_topology(N: int, M: int, gdn_in_bits: int, transforms: tuple[str, ...]) -> tuple[Spec, ...]:
    """The engines of ``transforms`` of a student of width N before training: the
    topology's types, no biases, GDN32 widths."""
    specs = topology(N, M, gdn_in_bits)
    gdn = {s.name: (GDN_COEF_BITS, GDN_ACC_BITS) for s in specs if s.kind in ("gdn", "igdn")}
    levels = {s.name: SCALE_LEVELS for s in specs if s.out_type is None}
    return _describe(specs, {}, gdn, levels, transforms)


def encoder_from_artefact(artefact: Artefact) -> EncoderSpec:
    """The encoder of a trained integer artefact (its types, biases and GDN widths)."""
    return EncoderSpec(artefact.N, artefact.M, _from_artefact(artefact, ENCODER_TRANSFORMS), artefact.name)


def encoder_topology(N: int, M: int = 192, gdn_in_bits: int = 8) -> EncoderSpec:
    """The encoder of a student of width N before training: the topology's types, no
    biases, GDN32 widths."""
    return EncoderSpec(N, M, _from_topology(N, M, gdn_in_bits, ENCODER_TRANSFORMS), f"topology N={N}, M={M}")


def decoder_from_artefact(artefact: Artefact) -> DecoderSpec:
    """The decoder (g_s) of a trained integer artefact."""
    return DecoderSpec(artefact.N, artefact.M, _from_artefact(artefact, DECODER_TRANSFORMS), artefact.name)


def decoder_topology(N: int, M: int = 192, gdn_in_bits: int = 8) -> DecoderSpec:
    """The decoder (g_s) of a student of width N before training."""
    return DecoderSpec(N, M, _from_topology(N, M, gdn_in_bits, DECODER_TRANSFORMS), f"topology N={N}, M={M}")


def hyper_from_artefact(artefact: Artefact) -> HyperSpec:
    """The hyper-decoder (h_s) of a trained integer artefact: the encoder's h_s engines, not
    serial."""
    layers = tuple(replace(s, serial=False) for s in _from_artefact(artefact, HYPER_TRANSFORMS))
    return HyperSpec(artefact.N, artefact.M, layers, artefact.name)


def hyper_topology(N: int, M: int = 192, gdn_in_bits: int = 8) -> HyperSpec:
    """The hyper-decoder (h_s) of a student of width N before training."""
    layers = tuple(replace(s, serial=False) for s in _from_topology(N, M, gdn_in_bits, HYPER_TRANSFORMS))
    return HyperSpec(N, M, layers, f"topology N={N}, M={M}")
