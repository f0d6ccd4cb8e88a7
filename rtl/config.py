"""Frozen per-layer configuration from which every engine of a layer is built.

`gen/` derives these from a trained artefact; `rtl/` only reads them (it knows no
torch). A `LayerConfig` is a `licfpga.shape.LayerShape`, whose sizes (output frame,
window length, line-buffer rows) it inherits. A config that no hardware can implement
is rejected here, once, with a message that names the offending values.
"""

from dataclasses import dataclass

import numpy as np
from amaranth.hdl import signed, unsigned

from ..formats import ACC_BITS, WEIGHT_BITS
from ..shape import LayerShape, positive_problems

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


@dataclass(frozen=True, kw_only=True)
class LayerConfig(LayerShape):
    """One convolution layer as the hardware sees it: a `LayerShape` (``kernel``,
    ``stride``, ``c_in``, ``c_out``, ``transposed``), its folding and number formats.

    ``simd`` folds the window vector K·K·C_in (as FINN's MVAU does) and ``pe`` the output
    channels. ``in_bits``/``in_signed`` give the activation elements (the image is
    unsigned 8-bit, later layers signed), ``weight_bits`` and ``acc_bits`` the MAC array.
    ``max_width``/``max_height`` bound the (input) frame size that is set at run time.

    A transposed layer (``rtl.deconv``, stride 2, K 3 or 5) runs as `phases`, a
    stride-1 3×3 convolution of 4·C_out phase channels: ``simd`` folds its window 3·3·C_in
    and ``pe`` its channels, and PE must divide C_out so that no beat mixes two phases.
    """

    pe: int
    simd: int
    max_width: int
    max_height: int
    in_bits: int = 8
    in_signed: bool = True
    weight_bits: int = WEIGHT_BITS
    acc_bits: int = ACC_BITS

    def __post_init__(self):
        problems = positive_problems(
            self,
            ("kernel", "c_in", "c_out", "pe", "simd", "max_width", "max_height", "in_bits", "weight_bits", "acc_bits"),
        )
        if problems:
            raise ValueError("; ".join(problems))
        problems = self.shape_problems()
        if self.transposed:
            if self.kernel not in (3, 5):
                problems.append(f"kernel={self.kernel}: the sub-pixel phases cover kernels 3 and 5")
            if self.c_out % self.pe:
                problems.append(f"PE={self.pe} does not divide C_out={self.c_out} (a beat would mix phases)")
            if problems:
                raise ValueError("; ".join(problems))
            _ = self.phases  # checks the folding and the formats
            return
        if self.window_len % self.simd:
            problems.append(
                f"SIMD={self.simd} does not divide the window vector "
                f"K·K·C_in={self.kernel}·{self.kernel}·{self.c_in}={self.window_len}"
            )
        if self.c_out % self.pe:
            problems.append(f"PE={self.pe} does not divide C_out={self.c_out}")
        if self.acc_bits < self.in_bits + self.weight_bits:
            problems.append(
                f"acc_bits={self.acc_bits} cannot hold one product of "
                f"in_bits={self.in_bits} and weight_bits={self.weight_bits}"
            )
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def window_beats(self):
        """Beats per window at the window generator's output, K·K·C_in / SIMD."""
        return self.window_len // self.simd

    @property
    def in_shape(self):
        return signed(self.in_bits) if self.in_signed else unsigned(self.in_bits)
