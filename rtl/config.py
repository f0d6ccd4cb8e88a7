"""Frozen per-layer configuration from which every engine of a layer is built.

`gen/` derives these from a trained artefact; `rtl/` only reads them (it knows no
torch). A config that no hardware can implement is rejected here, once, with a
message that names the offending values.
"""

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import signed, unsigned

__all__ = ["LayerConfig", "freeze_integer_arrays"]


def freeze_integer_arrays(config, names):
    """Turn the fields ``names`` of a frozen dataclass into read-only int64 arrays,
    refusing anything that does not hold integers (so ROM contents are exact)."""
    for name in names:
        value = np.asarray(getattr(config, name))
        if value.dtype.kind not in "iu":
            raise ValueError(f"{type(config).__name__}.{name} must hold integers, got {value.dtype}")
        value = value.astype(np.int64)
        value.setflags(write=False)
        object.__setattr__(config, name, value)


@dataclass(frozen=True)
class LayerConfig:
    """One convolution layer as the hardware sees it.

    ``kernel`` and ``stride`` are those of ``nn.Conv2d(kernel, stride, padding=kernel//2)``.
    ``simd`` folds the window vector K·K·C_in (as FINN's MVAU does) and ``pe`` the output
    channels. ``in_bits``/``in_signed`` give the activation elements (the image is
    unsigned 8-bit, later layers signed), ``weight_bits`` and ``acc_bits`` the MAC array.
    ``max_width``/``max_height`` bound the frame size that is set at run time.
    """
    kernel: int
    stride: int
    c_in: int
    c_out: int
    pe: int
    simd: int
    max_width: int
    max_height: int
    in_bits: int = 8
    in_signed: bool = True
    weight_bits: int = 8
    acc_bits: int = 32

    def __post_init__(self):
        problems = []
        for name in ("kernel", "c_in", "c_out", "pe", "simd", "max_width", "max_height",
                     "in_bits", "weight_bits", "acc_bits"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name}={value!r} must be a positive integer")
        if problems:
            raise ValueError("; ".join(problems))
        if self.kernel % 2 == 0:
            problems.append(f"kernel={self.kernel} must be odd (padding kernel//2 keeps the frame centred)")
        if self.stride not in (1, 2):
            problems.append(f"stride={self.stride} must be 1 or 2")
        elif self.kernel < self.stride:
            problems.append(f"kernel={self.kernel} < stride={self.stride} would skip whole input rows")
        if self.window_len % self.simd:
            problems.append(f"SIMD={self.simd} does not divide the window vector "
                            f"K·K·C_in={self.kernel}·{self.kernel}·{self.c_in}={self.window_len}")
        if self.c_out % self.pe:
            problems.append(f"PE={self.pe} does not divide C_out={self.c_out}")
        if self.acc_bits < self.in_bits + self.weight_bits:
            problems.append(f"acc_bits={self.acc_bits} cannot hold one product of "
                            f"in_bits={self.in_bits} and weight_bits={self.weight_bits}")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def pad(self):
        return self.kernel // 2

    @property
    def window_len(self):
        """Length of the window vector, K·K·C_in."""
        return self.kernel * self.kernel * self.c_in

    @property
    def window_beats(self):
        """Beats per window at the window generator's output, K·K·C_in / SIMD."""
        return self.window_len // self.simd

    @property
    def in_shape(self):
        return signed(self.in_bits) if self.in_signed else unsigned(self.in_bits)

    def out_size(self, width, height):
        """Output frame size of ``nn.Conv2d(padding=kernel//2)`` for an input frame."""
        return ((width - 1) // self.stride + 1, (height - 1) // self.stride + 1)
