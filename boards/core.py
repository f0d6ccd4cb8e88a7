"""The accelerator's core: the generated encoder (`gen.encoder`) of an integer artefact
behind the AXI wrapper (`rtl.axi`), and how its frames look on the wire, so that the
board designs (`boards.vivado`, `boards.selftest`), the host driver (`boards.host`) and
the benches agree on one description.

On the wire: one input beat per pixel, R, G, B as uint8 in bits 0–23 of a 32-bit TDATA;
one output beat per element, int16 TDATA: per frame one packet of ŷ (M channels per
latent pixel, raster order, channel fastest) then ẑ (N channels), TLAST on its last beat.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..formats import OUT_BITS
from ..gen.balance import DEFAULT_MAX_FRAME, DEFAULT_PLAN_FRAME, balance_dsp
from ..gen.devices import DEVICES
from ..gen.encoder import EncoderDesign, default_model, design, golden_packet
from ..gen.layers import encoder_from_artefact
from ..model.artefact import read_manifest
from ..model.registry import load_integer_model, model_id
from ..rtl.axi import AXIWrapper, model_register, stream_bits

__all__ = ["EncoderCore", "encoder_core", "load_model", "DEVICE"]

#: The ZCU102's device, whose capacities bound the budget and the resource check.
DEVICE = DEVICES["XCZU9EG"]
PIXEL_BYTES = 3


def load_model(name=None):
    """An integer artefact by registry name or path (default: the shipped default
    student's), its tensors' sha256 and its MODEL register value (`rtl.axi.model_register`)."""
    artefact, info = load_integer_model(name or default_model())
    return artefact, read_manifest(Path(info.path))["npz"]["sha256"], model_register(model_id(info))


@dataclass(frozen=True, eq=False)
class EncoderCore:
    """The generated encoder of ``design`` as the AXI-wrapped core; ``model_id``: what its
    MODEL register reads (`rtl.axi.model_register`; 0: not recorded)."""

    design: EncoderDesign
    model_id: int = 0

    def __post_init__(self):
        if not isinstance(self.model_id, int) or not 0 <= self.model_id < 1 << 32:
            raise ValueError(
                f"EncoderCore: model_id={self.model_id!r} must be an integer in 0…2**32 − 1 (the MODEL register)"
            )

    @property
    def name(self):
        return self.design.artefact.name

    @property
    def max_size(self):
        return self.design.config.max_width, self.design.config.max_height

    in_tdata = stream_bits(8 * PIXEL_BYTES)
    out_tdata = stream_bits(OUT_BITS)

    def describe(self):
        a, plan = self.design.artefact, self.design.plan
        return (
            f"the encoder of {a.name} (N={a.N}, M={a.M}; {plan.objective}, {plan.dsp} DSPs, "
            f"frames up to {self.max_size[0]}×{self.max_size[1]})"
        )

    def make(self):
        """The encoder component (ports ``i``, ``o``, ``width``, ``height``)."""
        return self.design.component()

    def wrapper(self):
        """The encoder behind `rtl.axi.AXIWrapper`, for frames up to `max_size`."""
        return AXIWrapper(self.make(), *self.max_size, self.model_id)

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


def encoder_core(artefact, sha256=None, dsp_budget=None, max_frame=DEFAULT_MAX_FRAME, plan_frame=None, model_id=0):
    """The `EncoderCore` of ``artefact`` balanced within ``dsp_budget`` DSPs (default: the
    XCZU9EG's less the balancer's margin, as ``licfpga generate`` takes them) and the
    balancer's block-RAM budget on ``plan_frame`` (default: 720p padded, or ``max_frame``
    when that is smaller), with line buffers for ``max_frame``, its MODEL register
    reading ``model_id``. Raises `gen.balance.BalanceError` for a budget or frame it
    cannot meet."""
    if plan_frame is None:
        plan_frame = tuple(min(p, m) for p, m in zip(DEFAULT_PLAN_FRAME, max_frame))
    budget = DEVICE.dsp_budget() if dsp_budget is None else dsp_budget
    plan = balance_dsp(encoder_from_artefact(artefact), budget, frame=plan_frame, max_frame=max_frame)
    return EncoderCore(design(artefact, plan, sha256), model_id)
