"""The integer golden model: g_a, h_a, h_s and g_s computed from an artefact with the
primitives of :mod:`.intops` only — the reference the RTL is compared with, bit for bit.

Every method takes numpy arrays or torch tensors of integers (N, C, H, W) and returns
the same kind, as int64 holding the stated widths. Both libraries run the same
integer code (only the convolutions have one implementation each, both exact), so the
results are identical across libraries, machines and thread counts.

* :meth:`GoldenModel.g_a`: uint8 pixels → ŷ int16 (symmetric, unit grid).
* :meth:`GoldenModel.h_a`: ŷ → ẑ int8, reading ``saturate(|ŷ|, 8, unsigned)``.
* :meth:`GoldenModel.h_s`: ẑ → scale indexes 0..L−1 (integer thresholds, no float).
* :meth:`GoldenModel.g_s`: ŷ → x̂ uint8, in integers too: the last requantization to
  uint8 at scale 1/255 is the reconstruction's clamp and rounding, so a decoded image
  is the same on every machine.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import fastint, intops
from .artefact import Artefact, ConvLayer, Layer


class GoldenModel:
    """The integer network of one artefact, computed by ``ops``: :mod:`.intops` (the
    reference, numpy or torch; default) or :mod:`.fastint` (numpy, fast; the codec's),
    which give the same integers."""

    def __init__(self, artefact: Artefact, ops: ModuleType = intops):
        self.artefact = artefact
        self.ops = ops

    def layer(self, layer: Layer, x):
        """One layer: exact convolution into its accumulator (``acc_bits``), then
        requantization to its output type (or scale indexes for h_s's last layer); or
        GDN32 / inverse GDN32. Rounding half up, saturation symmetric (intops)."""
        ops = self.ops
        if isinstance(layer, ConvLayer):
            if layer.kind == "deconv":
                acc = ops.conv_transpose2d_int(
                    x,
                    layer.weight,
                    layer.bias,
                    layer.stride,
                    layer.padding,
                    layer.output_padding,
                    acc_bits=layer.acc_bits,
                )
            else:
                acc = ops.conv2d_int(x, layer.weight, layer.bias, layer.stride, layer.padding, acc_bits=layer.acc_bits)
            if layer.thresholds is not None:
                return ops.scale_index(acc, layer.thresholds)
            return ops.requantize(acc, layer.multiplier, layer.shift, layer.out_type.bits, layer.out_type.signed)
        return (ops.igdn32 if layer.params.inverse else ops.gdn32)(x, layer.params)

    def run(self, transform: str, x, trace: dict | None = None):
        """All layers of ``transform``; ``trace`` (a dict) receives every layer's output by name."""
        first = self.artefact.transform(transform)[0]
        lo, hi = first.in_type.range
        empty = (x.numel() if hasattr(x, "numel") else np.size(x)) == 0
        if not empty and (int(x.min()) < lo or int(x.max()) > hi):
            raise ValueError(
                f"{transform} input spans [{int(x.min())}, {int(x.max())}], outside its type's [{lo}, {hi}]"
            )
        for layer in self.artefact.transform(transform):
            x = self.layer(layer, x)
            if trace is not None:
                trace[layer.name] = x
        return x

    def g_a(self, x, trace: dict | None = None):
        """uint8 pixels (N, 3, H, W), H and W multiples of 16 → ŷ int16 (N, M, H/16, W/16)."""
        return self.run("g_a", x, trace)

    def h_a(self, y_hat, trace: dict | None = None):
        """ŷ → ẑ int8 (N, N_ch, H/4, W/4) of ŷ's size, through ``min(|ŷ|, 255)`` as uint8."""
        return self.run("h_a", self.ops.saturate(self.ops.absolute(y_hat), 8, signed=False), trace)

    def h_s(self, z_hat, trace: dict | None = None):
        """ẑ int8 → the ŷ table index of every latent element (N, M, 4·h, 4·w), 0..L−1."""
        return self.run("h_s", z_hat, trace)

    def g_s(self, y_hat, trace: dict | None = None):
        """ŷ int16 → x̂ uint8 (N, 3, 16·h, 16·w)."""
        return self.run("g_s", y_hat, trace)


class GoldenBackend:
    """The codec's analysis backend on the integer golden model (the encoder the
    hardware reproduces), computed by :mod:`.fastint`."""

    def __init__(self, artefact: Artefact):
        self.golden = GoldenModel(artefact, fastint)

    def analyse(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pixels = np.ascontiguousarray(x).transpose(2, 0, 1)[None].astype(np.int64)
        y_hat = self.golden.g_a(pixels)
        z_hat = self.golden.h_a(y_hat)
        return y_hat[0], z_hat[0]


class GoldenSynthesis:
    """The codec's synthesis backend on the integer golden model (h_s and g_s, the decoder
    the hardware reproduces), computed by :mod:`.fastint`."""

    def __init__(self, artefact: Artefact):
        self.golden = GoldenModel(artefact, fastint)

    def indexes(self, z_hat: np.ndarray) -> np.ndarray:
        """ẑ (N, h, w) → the scale indexes (M, 4h, 4w); ``ValueError`` for ẑ outside int8."""
        return self.golden.h_s(np.asarray(z_hat, dtype=np.int64)[None])[0]

    def reconstruct(self, y_hat: np.ndarray) -> np.ndarray:
        """ŷ (M, h, w) → x̂ (3, 16h, 16w) uint8; ``ValueError`` for ŷ outside int16."""
        return self.golden.g_s(np.asarray(y_hat, dtype=np.int64)[None])[0].astype(np.uint8)


def gray_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """Integer mean of the three uint8 channels (axis 0): ``(r + g + b + 1) // 3``, i.e.
    round to nearest (a third never ties). Used for grayscale files of integer models."""
    total = rgb.astype(np.int64).sum(axis=0)
    return ((total + 1) // 3).astype(np.uint8)
