"""Stream conventions shared by every block of the accelerator.

A stream is an `amaranth.lib.stream.Signature` (valid/ready handshake; a beat moves on
a clock edge where both are high) whose payload is a **beat**: ``SIMD`` elements plus
the markers that place it in the frame. Markers travel with the data, so no block ever
counts latencies to find a line or a frame end again:

``data``
    ``SIMD`` elements (an `ArrayLayout`); element ``j`` is vector index ``b·SIMD + j``
    of beat ``b`` of the pixel's vector.
``first``
    the first beat of a frame.
``last``
    the last beat of a frame.
``eol``
    the last beat of a line of pixels.
``eop``
    the last beat of a pixel's vector: its channels, or, at a window generator's
    output, its whole K·K·C_in window.

Pixels come in raster order; a pixel's vector is split into consecutive beats.
"""

from amaranth.hdl import Shape
from amaranth.lib import data, stream

__all__ = ["MARKERS", "beat_layout", "beat_signature"]

MARKERS = ("first", "last", "eol", "eop")


def beat_layout(shape, simd):
    """Payload layout of one beat: ``simd`` elements of ``shape`` and the markers."""
    shape = Shape.cast(shape)
    if simd < 1:
        raise ValueError(f"SIMD={simd} must be at least 1")
    return data.StructLayout(
        {
            "data": data.ArrayLayout(shape, simd),
            **{name: 1 for name in MARKERS},
        }
    )


def beat_signature(shape, simd):
    """The `stream.Signature` that producers and consumers of such beats share."""
    return stream.Signature(beat_layout(shape, simd))
