"""The encoder's own buffers, as `gen.cost.Memory` objects, from a folding alone (no
artefact): the FIFO behind every engine, ŷ's buffer on its way to the output and the two
ẑ buffers (`rtl.encoder.Encoder`). They come on top of the engines' memories.

Their sizes are `rtl.encoder`'s functions (`pipe_fifo_depth`, `z_buffer_depth`) and
:func:`y_buffer_depth` applied to the specs, so the plan counts what `licfpga
generate` builds (the names and depths match
`EncoderConfig.fifo_depths`, the widths `EncoderConfig.fifo_bits`). A FIFO of ``depth``
beats is costed as one ``depth`` × payload-bits memory (block RAM above 64 words).

Only the ŷ buffer depends on more than one engine's folding (it holds what g_a's last
engine makes while the output waits for a frame's ẑ and scale indexes); every other buffer follows from the folding of
the engine in front of it (:func:`engine_buffers`), which lets the balancer count them
per engine.

The decoder (`rtl.decoder.Decoder`, a `layers.DecoderSpec`) is a chain: its buffers are
the FIFOs behind its engines but the last (:func:`decoder_buffers`), of
`rtl.decoder.decoder_fifo_depth` (an output row more behind a transposed convolution).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from amaranth.hdl import signed, unsigned

from ..rtl.decoder import decoder_fifo_depth
from ..rtl.encoder import pipe_fifo_depth, z_buffer_depth
from ..rtl.stream import beat_layout
from .cost import LayerCost, Memory
from .layers import AbsSpec, ConvSpec, DecoderSpec, EncoderSpec

__all__ = [
    "engine_buffers",
    "serial_wait",
    "encoder_interval",
    "y_elements",
    "y_buffer_depth",
    "y_buffer",
    "encoder_buffers",
    "decoder_buffers",
]


def _out_shape(spec):
    if isinstance(spec, ConvSpec):
        return signed(spec.out_bits) if spec.out_signed else unsigned(spec.out_bits)
    return signed(spec.out_bits)


def _fifo(role: str, depth: int, shape, pe: int) -> Memory:
    return Memory(role, depth, beat_layout(shape, pe).size, 1, rom=False)


def _z_index(encoder: EncoderSpec) -> int:
    """h_a's last engine, the one in front of the ẑ fork."""
    return max(i for i, spec in enumerate(encoder.layers) if spec.name.startswith("h_a"))


def engine_buffers(encoder: EncoderSpec, index: int, pe: int, max_width: int, max_height: int) -> dict[str, Memory]:
    """The buffers behind engine ``index`` of ``encoder`` folded with ``pe``, by the name
    `EncoderConfig.fifo_depths` gives them: the FIFO of two output pixels (behind |ŷ|
    for g_a's last engine; none behind |ŷ| itself), and behind h_a's last the two ẑ
    buffers of the largest ẑ frame (to the output, and in front of h_s). Of a decoder,
    the FIFO behind every engine but the last (`DecoderConfig.fifo_depths`)."""
    layers = encoder.layers
    spec = layers[index]
    if isinstance(spec, AbsSpec):
        return {}
    shape = spec.shape
    producer = SimpleNamespace(c_out=shape.c_out, pe=pe)
    if isinstance(encoder, DecoderSpec):
        return _decoder_fifo(encoder, index, pe, encoder.frame_sizes(max_width, max_height)[index][0])
    if index == _z_index(encoder):
        size = encoder.frame_sizes(max_width, max_height)[index]
        z = _fifo("z buffer", z_buffer_depth(shape.out_size(*size), shape.c_out, pe), _out_shape(spec), pe)
        return {"z": z, "zs": z}
    after = layers[index + 1] if index + 1 < len(layers) else None
    element = unsigned(after.out_bits) if isinstance(after, AbsSpec) else _out_shape(spec)
    return {spec.name: _fifo("fifo", pipe_fifo_depth(producer), element, pe)}


def _y_index(encoder: EncoderSpec) -> int:
    """g_a's last engine, the one in front of the fork to ŷ's buffer."""
    return max(i for i, spec in enumerate(encoder.layers) if spec.name.startswith("g_a"))


def serial_wait(encoder: EncoderSpec, costs: list[LayerCost]) -> float:
    """Cycles the output spends on a frame between ŷ's last element and the next frame's
    ŷ (``costs``: every engine's on that frame): h_a's flush, ẑ, and the scale indexes
    (:func:`y_buffer_depth` says why)."""
    layers = encoder.layers
    flush = sum(
        c.cycles / spec.shape.out_size(c.width, c.height)[1]
        for spec, c in zip(layers, costs)
        if spec.name.startswith("h_a")
    )
    zi, last = _z_index(encoder), len(layers) - 1
    z_elements = math.prod(layers[zi].shape.out_size(costs[zi].width, costs[zi].height)) * layers[zi].shape.c_out
    index_elements = (
        math.prod(layers[last].shape.out_size(costs[last].width, costs[last].height)) * layers[last].shape.c_out
    )
    # h_s from a standing start: its slowest engine's frame, and each engine's first two
    # output rows before the next can finish its own (tiny frames: about the sum).
    serial = [(spec, c) for spec, c in zip(layers, costs) if spec.serial]
    h_s = max(c.cycles for _, c in serial) + sum(
        2 * c.cycles / spec.shape.out_size(c.width, c.height)[1] for spec, c in serial
    )
    return flush + z_elements + max(index_elements, h_s)


def encoder_interval(encoder: EncoderSpec, costs: list[LayerCost]) -> int:
    """The encoder's frame interval (``costs``: every engine's on that frame): the slowest
    engine's outside h_s (the ŷ buffer keeps g_a streaming through the serial wait), or
    the output's, which moves one element of ŷ, ẑ and the indexes per cycle, whichever
    is longer. (The wait itself, :func:`serial_wait`, is an upper bound that sizes the
    buffer: on the tiny encoder's 48×32 frames it is 1.7× what the bench measures.)"""
    engines = max(c.cycles for c in costs if not c.spec.serial)
    layers, zi, last = encoder.layers, _z_index(encoder), len(encoder.layers) - 1
    z_elements = math.prod(layers[zi].shape.out_size(costs[zi].width, costs[zi].height)) * layers[zi].shape.c_out
    index_elements = (
        math.prod(layers[last].shape.out_size(costs[last].width, costs[last].height)) * layers[last].shape.c_out
    )
    return max(engines, y_elements(encoder, costs) + z_elements + index_elements)


def y_elements(encoder: EncoderSpec, costs: list[LayerCost]) -> int:
    """ŷ's elements of a frame (``costs``: every engine's on it)."""
    n = _y_index(encoder)
    return math.prod(encoder.layers[n].shape.out_size(costs[n].width, costs[n].height)) * encoder.layers[n].shape.c_out


def y_buffer_depth(encoder: EncoderSpec, costs: list[LayerCost]) -> int:
    """Beats of ŷ (of g_a's last PE) that g_a can make while the output sends a frame's ẑ
    and scale indexes, on the largest frame (``costs``: every engine's on it).

    After ŷ's last element, h_a.0 computes its last output row, then h_a.2 and h_a.4
    theirs (each row needs the rows before it), so ẑ is complete about Σ (frame cycles /
    output rows) of h_a's engines later; the output sends its elements, one per cycle;
    then the indexes, one per cycle, as fast as h_s makes them: h_s has stalled on its
    full index FIFO since its first rows, so it computes about a whole frame meanwhile:
    its slowest engine's frame cycles, plus each engine's first two output rows (the next
    one's input) as a pipeline fill (the serial engines, `layers.SERIAL_TRANSFORMS`; on
    the tiny encoder, whose h_s frames are 1 to 4 rows, the bench measured the fill to
    within a few cycles).
    During all this g_a's last engine may make ŷ at its own pace (its input waits in the
    line buffers upstream), not just at the pipeline's: the buffer takes what it makes in
    that time at its own frame cycles, at most a whole ŷ frame, and two pixels more for
    the fork's handshake. (Sized by the pipeline's interval instead, the tiny encoder at
    200 DSPs ran 24% slower than the model on back-to-back frames; at this size, on the
    model.)"""
    layers = encoder.layers
    wait = serial_wait(encoder, costs)
    n = _y_index(encoder)
    w, h = layers[n].shape.out_size(costs[n].width, costs[n].height)
    pixel = layers[n].shape.c_out // costs[n].pe
    beats = w * h * pixel
    return min(beats, math.ceil(wait * beats / costs[n].cycles)) + 2 * pixel


def y_buffer(encoder: EncoderSpec, costs: list[LayerCost]) -> Memory:
    """ŷ's buffer between the fork and the output (:func:`y_buffer_depth`)."""
    n = _y_index(encoder)
    return _fifo("y buffer", y_buffer_depth(encoder, costs), _out_shape(encoder.layers[n]), costs[n].pe)


def encoder_buffers(encoder: EncoderSpec, costs: list[LayerCost]) -> dict[str, Memory]:
    """Every buffer of ``encoder`` folded as ``costs`` (every engine's cost on the
    built-in maximum frame), by `EncoderConfig.fifo_depths`' names."""
    max_width, max_height = costs[0].width, costs[0].height
    out = {}
    for index, c in enumerate(costs):
        out.update(engine_buffers(encoder, index, c.pe, max_width, max_height))
    z, zs = out.pop("z"), out.pop("zs")
    return {**out, "y": y_buffer(encoder, costs), "z": z, "zs": zs}


def _decoder_fifo(decoder: DecoderSpec, index: int, pe: int, max_width: int) -> dict[str, Memory]:
    """The FIFO behind engine ``index`` of ``decoder`` (none behind the last), whose
    largest input frame is ``max_width`` wide."""
    spec = decoder.layers[index]
    if index + 1 == len(decoder.layers):
        return {}
    producer = SimpleNamespace(shape=spec.shape, c_out=spec.shape.c_out, pe=pe)
    return {spec.name: _fifo("fifo", decoder_fifo_depth(producer, max_width), _out_shape(spec), pe)}


def decoder_buffers(decoder: DecoderSpec, costs: list[LayerCost]) -> dict[str, Memory]:
    """Every buffer of ``decoder`` folded as ``costs`` (every engine's cost on the
    built-in maximum frame), by `DecoderConfig.fifo_depths`' names."""
    out = {}
    for index, c in enumerate(costs):
        out.update(_decoder_fifo(decoder, index, c.pe, c.width))
    return out
