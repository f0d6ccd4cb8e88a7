"""The accelerator's cores, each a generated design of an integer artefact behind the AXI
wrapper (`rtl.axi`), and how their frames look on the wire, so that the board designs
(`boards.vivado`, `boards.selftest`), the host driver (`boards.host`) and the benches
agree on one description:

`EncoderCore` (`gen.encoder`: g_a, h_a, h_s)
    in: one beat per pixel, R, G, B as uint8 in bits 0–23 of a 32-bit TDATA; out: one
    int16 element per beat, per frame one packet of ŷ (M channels per latent pixel,
    raster order, channel fastest), ẑ (N channels), then the scale index of every ŷ
    element, TLAST on its last beat.
`HyperCore` (`gen.hyper`: the decoder's h_s)
    in: ẑ, one int8 element per beat (N beats per pixel, raster order, channel fastest);
    out: the scale indexes of ŷ's grid, one uint8 per beat (M per pixel), TLAST on the
    last.
`DecoderCore` (`gen.decoder`: g_s)
    in: ŷ, one int16 element per beat (M beats per pixel); out: the decoded pixels, one
    per beat, R, G, B as uint8 in bits 0–23 of a 32-bit TDATA, TLAST on the last.

The frame registers (WIDTH, HEIGHT) hold the core's input frame: the image's for the
encoder, ẑ's for the hyper-decoder, ŷ's for the decoder. Every core turns one input
array into a frame on the wire (`job`) and the output bytes back into an array
(`output`), which is all `boards.host.Accelerator` needs of it.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..formats import OUT_BITS
from ..gen import decoder, hyper
from ..gen.balance import DEFAULT_MAX_FRAME, DEFAULT_PLAN_FRAME, balance_dsp
from ..gen.devices import DEVICES
from ..gen.encoder import EncoderDesign, default_model, design, golden_packet
from ..gen.layers import decoder_from_artefact, encoder_from_artefact, hyper_from_artefact
from ..model.artefact import read_manifest
from ..model.registry import load_integer_model, model_id
from ..rtl.axi import AXIWrapper, model_register, stream_bits
from ..rtl.decoder import PIXEL_CHANNELS

__all__ = [
    "EncoderCore",
    "HyperCore",
    "DecoderCore",
    "encoder_core",
    "hyper_core",
    "decoder_core",
    "load_model",
    "DEVICE",
]

#: The ZCU102's device, whose capacities bound the budget and the resource check.
DEVICE = DEVICES["XCZU9EG"]
PIXEL_BYTES = 3


def load_model(name=None):
    """An integer artefact by registry name or path (default: the shipped default
    student's), its tensors' sha256 and its MODEL register value (`rtl.axi.model_register`)."""
    artefact, info = load_integer_model(name or default_model())
    return artefact, read_manifest(Path(info.path))["npz"]["sha256"], model_register(model_id(info))


@dataclass(frozen=True, eq=False)
class _Core:
    """A generated design (``design``: its ``component()``, ``config`` and ``artefact``)
    as an AXI-wrapped core; ``model_id``: what its MODEL register reads
    (`rtl.axi.model_register`; 0: not recorded). A subclass says what it is (``part``),
    how many beats a pixel of its input frame takes, and its wire format."""

    design: object
    model_id: int = 0

    #: The design's kind (`gen.encoder`, `gen.hyper`, `gen.decoder`), as builds are named.
    part = ""
    #: Input beats per pixel of the input frame (`rtl.axi.AXIWrapper`).
    beats_per_pixel = 1

    def __post_init__(self):
        if not isinstance(self.model_id, int) or not 0 <= self.model_id < 1 << 32:
            raise ValueError(
                f"{type(self).__name__}: model_id={self.model_id!r} must be an integer in 0…2**32 − 1 "
                f"(the MODEL register)"
            )

    @property
    def name(self):
        return self.design.artefact.name

    @property
    def max_size(self):
        """The largest input frame (WIDTH, HEIGHT) of the core."""
        return self.design.config.max_width, self.design.config.max_height

    def make(self):
        """The core's component (ports ``i``, ``o``, ``width``, ``height``)."""
        return self.design.component()

    def wrapper(self):
        """The core behind `rtl.axi.AXIWrapper`, for frames up to `max_size`."""
        return AXIWrapper(self.make(), *self.max_size, self.model_id, self.beats_per_pixel)

    def _describe(self, what):
        a, plan = self.design.artefact, self.design.plan
        return (
            f"the {what} of {a.name} (N={a.N}, M={a.M}; {plan.objective}, {plan.dsp} DSPs, "
            f"frames up to {self.max_size[0]}×{self.max_size[1]})"
        )


@dataclass(frozen=True, eq=False)
class EncoderCore(_Core):
    """The generated encoder of ``design`` (a `gen.encoder.EncoderDesign`) as the
    AXI-wrapped core."""

    design: EncoderDesign

    part = "encoder"

    in_tdata = stream_bits(8 * PIXEL_BYTES)
    out_tdata = stream_bits(OUT_BITS)

    def describe(self):
        return self._describe("encoder")

    def pixels(self, frame):
        """TDATA bytes of an (H, W, 3) uint8 frame: one 32-bit little-endian word per pixel."""
        frame = np.asarray(frame, dtype=np.uint8)
        if frame.ndim != 3 or frame.shape[2] != PIXEL_BYTES:
            raise ValueError(f"a frame is (H, W, {PIXEL_BYTES}) uint8, not {frame.shape}")
        words = np.zeros(frame.shape[:2] + (self.in_tdata // 8,), dtype=np.uint8)
        words[..., :PIXEL_BYTES] = frame
        return words.tobytes()

    def capacity(self, width, height):
        """Bytes of a width×height frame's output packet."""
        return self.design.packet_length(width, height) * self.out_tdata // 8

    def job(self, frame):
        """An (H, W, 3) uint8 frame on the wire: (WIDTH, HEIGHT, TDATA bytes)."""
        return frame.shape[1], frame.shape[0], self.pixels(frame)

    def output(self, data, width, height):
        """The packet's elements from its TDATA bytes."""
        return self.elements(data)

    def elements(self, data):
        """The packet's elements from its TDATA bytes."""
        return np.frombuffer(data, dtype="<i2").astype(np.int64)

    def reference(self, frame):
        """The packet's elements for an (H, W, 3) frame, from the integer golden model."""
        return golden_packet(self.design.artefact, frame)[0]

    def latents(self, packet, width, height):
        """ŷ (M, h_y, w_y), ẑ (N, h_z, w_z) and the scale index of every ŷ element (M, h_y,
        w_y; the encoder's index frame cropped to ŷ's) from a width×height frame's packet."""
        (yw, yh), (zw, zh), (sw, sh) = self.design.config.latent_sizes(width, height)
        a = self.design.artefact
        sizes = (yw * yh * a.M, zw * zh * a.N, sw * sh * a.M)
        if len(packet) != sum(sizes):
            raise ValueError(f"a {width}×{height} frame's packet has {sum(sizes)} elements, not {len(packet)}")
        y, z, s = np.split(np.asarray(packet), np.cumsum(sizes)[:2])
        y = y.reshape(yh, yw, a.M).transpose(2, 0, 1)
        z = z.reshape(zh, zw, a.N).transpose(2, 0, 1)
        s = s.reshape(sh, sw, a.M).transpose(2, 0, 1)[:, :yh, :yw]
        return y, z, s


def _latent_bytes(values, channels, bits, what):
    """TDATA bytes of a latent frame (``channels``, h, w): one little-endian element of
    ``bits`` (a whole TDATA word: int8 ẑ, int16 ŷ) per beat, pixels in raster order,
    channel fastest. `ValueError` for values outside the element type (only a crafted
    file has them)."""
    values = np.asarray(values)
    if values.ndim != 3 or values.shape[0] != channels or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{what} is integers of shape ({channels}, h, w), not {values.dtype} {values.shape}")
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if values.size and (values.min() < low or values.max() > high):
        raise ValueError(f"{what} spans [{values.min()}, {values.max()}], outside int{bits}")
    return values.transpose(1, 2, 0).astype(f"<i{bits // 8}").tobytes()


@dataclass(frozen=True, eq=False)
class HyperCore(_Core):
    """The generated hyper-decoder of ``design`` (a `gen.hyper.HyperDesign`: the decoder's
    h_s) as the AXI-wrapped core: ẑ in, the scale index of every ŷ element out."""

    design: hyper.HyperDesign

    part = "hyper"

    @property
    def beats_per_pixel(self):
        return self.design.artefact.N  # one ẑ element per beat

    @property
    def in_tdata(self):
        return stream_bits(self.design.config.stages[0].in_shape.width)

    @property
    def out_tdata(self):
        return stream_bits(self.design.config.stages[-1].out_shape.width)

    def describe(self):
        return self._describe("hyper-decoder")

    def job(self, z_hat):
        """ẑ (N, h, w) on the wire: (WIDTH, HEIGHT, TDATA bytes); `ValueError` for values
        outside int8."""
        return z_hat.shape[2], z_hat.shape[1], _latent_bytes(z_hat, self.design.artefact.N, self.in_tdata, "ẑ")

    def capacity(self, width, height):
        """Bytes of a width×height ẑ frame's indexes."""
        return self.design.out_elements(width, height) * self.out_tdata // 8

    def output(self, data, width, height):
        """The scale indexes (M, 4·height, 4·width) from their TDATA bytes."""
        w, h = self.design.config.out_size(width, height)
        m = self.design.artefact.M
        indexes = np.frombuffer(data, dtype=f"<u{self.out_tdata // 8}").astype(np.int64)
        if indexes.size != w * h * m:
            raise ValueError(f"a {width}×{height} ẑ frame has {w * h * m} scale indexes, not {indexes.size}")
        return indexes.reshape(h, w, m).transpose(2, 0, 1)

    def reference(self, z_hat):
        """The scale indexes of ẑ (N, h, w), from the integer golden model."""
        return hyper.golden_indexes(self.design.artefact, np.asarray(z_hat).transpose(1, 2, 0)).transpose(2, 0, 1)


@dataclass(frozen=True, eq=False)
class DecoderCore(_Core):
    """The generated decoder of ``design`` (a `gen.decoder.DecoderDesign`: g_s) as the
    AXI-wrapped core: ŷ in, the decoded pixels out."""

    design: decoder.DecoderDesign

    part = "decoder"

    in_tdata = stream_bits(OUT_BITS)
    out_tdata = stream_bits(8 * PIXEL_CHANNELS)

    @property
    def beats_per_pixel(self):
        return self.design.artefact.M  # one ŷ element per beat

    def describe(self):
        return self._describe("decoder")

    def job(self, y_hat):
        """ŷ (M, h, w) on the wire: (WIDTH, HEIGHT, TDATA bytes); `ValueError` for values
        outside int16."""
        return y_hat.shape[2], y_hat.shape[1], _latent_bytes(y_hat, self.design.artefact.M, OUT_BITS, "ŷ")

    def capacity(self, width, height):
        """Bytes of the decoded frame of a width×height ŷ frame."""
        w, h = self.design.config.out_size(width, height)
        return w * h * self.out_tdata // 8

    def output(self, data, width, height):
        """The decoded frame, (3, 16·height, 16·width) uint8, from its TDATA bytes."""
        w, h = self.design.config.out_size(width, height)
        words = np.frombuffer(data, dtype=np.uint8).reshape(-1, self.out_tdata // 8)
        if len(words) != w * h:
            raise ValueError(f"a {width}×{height} ŷ frame decodes to {w * h} pixels, not {len(words)}")
        return np.ascontiguousarray(words[:, :PIXEL_CHANNELS].reshape(h, w, PIXEL_CHANNELS).transpose(2, 0, 1))

    def reference(self, y_hat):
        """The decoded frame of ŷ (M, h, w), (3, 16h, 16w) uint8, from the integer golden model."""
        return decoder.golden_decoded(self.design.artefact, np.asarray(y_hat).transpose(1, 2, 0)).transpose(2, 0, 1)


def _plan_frames(max_frame, plan_frame):
    """The plan frame: ``plan_frame``, by default 720p padded, or ``max_frame`` when that is smaller."""
    if plan_frame is None:
        plan_frame = tuple(min(p, m) for p, m in zip(DEFAULT_PLAN_FRAME, max_frame))
    return plan_frame


def encoder_core(artefact, sha256=None, dsp_budget=None, max_frame=DEFAULT_MAX_FRAME, plan_frame=None, model_id=0):
    """The `EncoderCore` of ``artefact`` balanced within ``dsp_budget`` DSPs (default: the
    XCZU9EG's less the balancer's margin, as ``licfpga generate`` takes them) and the
    balancer's block-RAM budget on ``plan_frame`` (default: 720p padded, or ``max_frame``
    when that is smaller), with line buffers for ``max_frame``, its MODEL register
    reading ``model_id``. Raises `gen.balance.BalanceError` for a budget or frame it
    cannot meet."""
    budget = DEVICE.dsp_budget() if dsp_budget is None else dsp_budget
    plan = balance_dsp(
        encoder_from_artefact(artefact), budget, frame=_plan_frames(max_frame, plan_frame), max_frame=max_frame
    )
    return EncoderCore(design(artefact, plan, sha256), model_id)


def hyper_core(artefact, dsp_budget, sha256=None, max_frame=DEFAULT_MAX_FRAME, plan_frame=None, model_id=0):
    """The `HyperCore` of ``artefact`` as `encoder_core` makes the encoder's, within
    ``dsp_budget`` DSPs (frames are the image's: ẑ is a 64th of them)."""
    plan = balance_dsp(
        hyper_from_artefact(artefact), dsp_budget, frame=_plan_frames(max_frame, plan_frame), max_frame=max_frame
    )
    return HyperCore(hyper.design(artefact, plan, sha256), model_id)


def decoder_core(artefact, dsp_budget, sha256=None, max_frame=DEFAULT_MAX_FRAME, plan_frame=None, model_id=0):
    """The `DecoderCore` of ``artefact`` as `encoder_core` makes the encoder's, within
    ``dsp_budget`` DSPs (frames are the decoded image's: ŷ is a 16th of them)."""
    plan = balance_dsp(
        decoder_from_artefact(artefact), dsp_budget, frame=_plan_frames(max_frame, plan_frame), max_frame=max_frame
    )
    return DecoderCore(decoder.design(artefact, plan, sha256), model_id)
