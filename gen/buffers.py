"""The encoder's own buffers, as `gen.cost.Memory` objects, from a folding alone (no
artefact): the FIFO behind every engine, ŷ's buffer on its way to the output and the ẑ
buffer (`rtl.encoder.Encoder`). They come on top of the engines' memories.

Their sizes are `rtl.encoder`'s and `gen.encoder`'s own functions (`pipe_fifo_depth`,
`z_buffer_depth`, `gen.encoder.y_buffer_depth`) applied to the specs, so the plan
counts what `licfpga generate` builds (the names and depths match
`EncoderConfig.fifo_depths`, the widths `EncoderConfig.fifo_bits`). A FIFO of ``depth``
beats is costed as one ``depth`` × payload-bits memory (block RAM above 64 words).

Only the ŷ buffer depends on more than one engine's folding (it holds what g_a's last
engine makes while h_a flushes a frame); every other buffer follows from the folding of
the engine in front of it (:func:`engine_buffers`), which lets the balancer count them
per engine.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from amaranth.hdl import signed, unsigned

from ..rtl.encoder import pipe_fifo_depth, z_buffer_depth
from ..rtl.stream import beat_layout
from .cost import Memory
from .layers import AbsSpec, ConvSpec, EncoderSpec

if TYPE_CHECKING:
    from .balance import Plan

__all__ = ["engine_buffers", "y_buffer", "encoder_buffers"]


def _out_shape(spec):
    if isinstance(spec, ConvSpec):
        return signed(spec.out_bits) if spec.out_signed else unsigned(spec.out_bits)
    return signed(spec.out_bits)


def _fifo(role: str, depth: int, shape, pe: int) -> Memory:
    return Memory(role, depth, beat_layout(shape, pe).size, 1, rom=False)


def engine_buffers(encoder: EncoderSpec, index: int, pe: int, max_width: int, max_height: int) \
        -> dict[str, Memory]:
    """The buffers behind engine ``index`` of ``encoder`` folded with ``pe``, by the name
    `EncoderConfig.fifo_depths` gives them: the FIFO of two output pixels (behind |ŷ|
    for g_a's last engine; none behind |ŷ| itself, nor behind h_a's last), and the ẑ
    buffer of the largest ẑ frame behind h_a's last."""
    layers = encoder.layers
    spec = layers[index]
    if isinstance(spec, AbsSpec):
        return {}
    producer = SimpleNamespace(c_out=spec.c_out, pe=pe)
    if index == len(layers) - 1:
        size = encoder.frame_sizes(max_width, max_height)[index]
        return {"z": _fifo("z buffer", z_buffer_depth(spec.out_size(*size), spec.c_out, pe), _out_shape(spec), pe)}
    after = layers[index + 1]
    shape = unsigned(after.out_bits) if isinstance(after, AbsSpec) else _out_shape(spec)
    return {spec.name: _fifo("fifo", pipe_fifo_depth(producer), shape, pe)}


def y_buffer(plan: Plan) -> Memory:
    """ŷ's buffer between the fork and the output (`gen.encoder.y_buffer_depth`)."""
    from .encoder import y_buffer_depth  # gen.encoder imports gen.balance, which imports this module

    layers = plan.encoder.layers
    n = max(i for i, spec in enumerate(layers) if spec.name.startswith("g_a"))
    pe = plan.foldings[n].pe
    return _fifo("y buffer", y_buffer_depth(plan, pe), _out_shape(layers[n]), pe)


def encoder_buffers(plan: Plan) -> dict[str, Memory]:
    """Every buffer of the encoder ``plan`` describes, by `EncoderConfig.fifo_depths`' names."""
    out = {}
    for index, folding in enumerate(plan.foldings):
        out.update(engine_buffers(plan.encoder, index, folding.pe, plan.max_width, plan.max_height))
    z = out.pop("z")
    return {**out, "y": y_buffer(plan), "z": z}
