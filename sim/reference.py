"""Python references for the stream blocks: what the RTL must emit, beat for beat.

The arithmetic (rounding, saturation, requantization) lives in `model.intops` only;
this module merely reorders data the way the hardware streams it.
"""

import numpy as np

from ..rtl.stream import beat_layout

__all__ = ["im2col", "pixel_beats", "window_beats", "window_cycles", "pack", "unpack", "to_bytes", "from_bytes"]


def im2col(frame, kernel, stride):
    """Window vectors of ``nn.Conv2d(kernel, stride, padding=kernel//2)`` on an (H, W, C)
    frame: an (H_out, W_out, K·K·C) array in (ky, kx, c) order, c fastest."""
    h, w, c = frame.shape
    p = kernel // 2
    padded = np.zeros((h + 2 * p, w + 2 * p, c), dtype=frame.dtype)
    padded[p : p + h, p : p + w] = frame
    h_out, w_out = (h - 1) // stride + 1, (w - 1) // stride + 1
    out = np.empty((h_out, w_out, kernel * kernel * c), dtype=frame.dtype)
    for oy in range(h_out):
        for ox in range(w_out):
            y, x = oy * stride, ox * stride
            out[oy, ox] = padded[y : y + kernel, x : x + kernel].reshape(-1)
    return out


def pixel_beats(frame, simd):
    """The beats of an (H, W, V) array of per-pixel vectors, folded by ``simd``: a list of
    dicts with ``data`` (a list of ``simd`` ints) and the markers."""
    h, w, v = frame.shape
    if v % simd:
        raise ValueError(f"SIMD={simd} does not divide the vector length {v}")
    n = v // simd
    beats = []
    for y in range(h):
        for x in range(w):
            for b in range(n):
                end = b == n - 1
                beats.append(
                    {
                        "data": [int(e) for e in frame[y, x, b * simd : (b + 1) * simd]],
                        "first": int(y == 0 and x == 0 and b == 0),
                        "last": int(end and y == h - 1 and x == w - 1),
                        "eol": int(end and x == w - 1),
                        "eop": int(end),
                    }
                )
    return beats


def window_beats(frame, kernel, stride, simd):
    """The beats a sliding-window generator emits for an (H, W, C) frame."""
    return pixel_beats(im2col(frame, kernel, stride), simd)


def window_cycles(cfg, width, height, beats_per_pixel=1):
    """Stall-free cycles of a window generator for one frame, from the first input beat
    to the last output beat, without its few cycles of pipeline latency.

    The input takes a beat per cycle (``beats_per_pixel``: 1 for `SlidingWindow`, G for
    `AddressedWindow`); an output row starts once its last input row is complete and
    the previous output row is out, and takes max(B, p+1) cycles for its first pixel
    and max(B, s) for each other one (B = beats per window; `AddressedWindow`'s B is
    never below either)."""
    s, p, b = cfg.stride, cfg.pad, cfg.window_beats
    w_out, h_out = cfg.out_size(width, height)
    row = max(b, p + 1) + (w_out - 1) * max(b, s)
    end = 0
    for oy in range(h_out):
        ready = (min(oy * s + p, height - 1) + 1) * width * beats_per_pixel
        end = max(end, ready) + row
    return end


def pack(beat, shape, simd):
    """A beat dict as the integer on a flattened payload port."""
    return beat_layout(shape, simd).const(beat).as_value().value


def unpack(value, shape, simd):
    """The integer on a flattened payload port as a beat dict."""
    layout = beat_layout(shape, simd)
    view = layout.from_bits(value)
    return {
        "data": [int(e) for e in view.data],
        **{name: int(getattr(view, name)) for name in ("first", "last", "eol", "eop")},
    }


def to_bytes(values, bits):
    """Packed ``bits``-bit payloads (ints) as a (beats, bytes) uint8 array, little-endian:
    how they travel to and from the simulator in an .npz (numpy has no wider integers)."""
    width = -(-bits // 8)
    return np.frombuffer(b"".join(v.to_bytes(width, "little") for v in values), dtype=np.uint8).reshape(-1, width)


def from_bytes(rows):
    """The inverse of `to_bytes`: the packed payloads as ints."""
    return [int.from_bytes(row.tobytes(), "little") for row in rows]
