"""The geometry of one layer, and every size derived from it, each in one place.

A layer is ``nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel//2)`` or, transposed,
``nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding=kernel//2,
output_padding=stride−1)``; a per-pixel unit (GDN, |ŷ|) is a 1×1 layer of stride 1.
`rtl.config.LayerConfig` (the engine's config) and `gen.layers.ConvSpec` (the layer
before folding) are such shapes; the cost model, the RTL and the benches ask them for
output sizes, window lengths, line-buffer rows and MACs rather than recomputing them.

This module imports nothing of the package: `model/`, `rtl/`, `gen/` and `sim/` may all
use it.
"""

from dataclasses import dataclass, replace

__all__ = ["LayerShape", "positive_problems"]


def positive_problems(obj, names) -> list[str]:
    """A message for every field of ``names`` that is not a positive integer."""
    problems = []
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"{name}={value!r} must be a positive integer")
    return problems


@dataclass(frozen=True)
class LayerShape:
    """``kernel``×``kernel`` taps (odd: padding kernel//2 keeps the frame centred),
    ``stride`` 1 or 2 (2 for a transposed layer), ``c_in`` → ``c_out`` channels.

    Rejects an impossible shape with a message naming the values (a subclass adds its
    own fields' problems through :meth:`shape_problems`)."""

    kernel: int
    stride: int
    c_in: int
    c_out: int
    transposed: bool = False

    def __post_init__(self):
        problems = positive_problems(self, ("kernel", "c_in", "c_out")) or self.shape_problems()
        if problems:
            raise ValueError("; ".join(problems))

    def shape_problems(self) -> list[str]:
        """What no layer of this geometry can be (the fields are positive integers)."""
        problems = []
        if self.kernel % 2 == 0:
            problems.append(f"kernel={self.kernel} must be odd (padding kernel//2 keeps the frame centred)")
        if self.stride not in (1, 2):
            problems.append(f"stride={self.stride} must be 1 or 2")
        elif self.kernel < self.stride:
            problems.append(f"kernel={self.kernel} < stride={self.stride} would skip whole input rows")
        elif self.transposed and self.stride != 2:
            problems.append(f"stride={self.stride}: a transposed layer upsamples by 2")
        return problems

    @property
    def pad(self) -> int:
        return self.kernel // 2

    @property
    def window_len(self) -> int:
        """Length of the window vector a convolution's MAC array folds, K·K·C_in."""
        return self.kernel * self.kernel * self.c_in

    @property
    def phases(self):
        """A transposed layer's engine (`rtl.deconv`): the stride-1 3×3 convolution of its
        four sub-pixel phases, 4·C_out channels on the same input frame (the same kind of
        object, so a config's phases are a config)."""
        return replace(self, kernel=3, stride=1, c_out=4 * self.c_out, transposed=False)

    @property
    def line_buffer_rows(self) -> int:
        """Input rows a window generator keeps, K+s: the K rows of the current output row
        and the s rows the input writes for the next one meanwhile."""
        return self.kernel + self.stride

    def addressed(self, simd: int) -> bool:
        """Whether a MAC array folded by ``simd`` takes its window from `AddressedWindow`
        (SIMD divides C_in: every beat is SIMD channels of one pixel) rather than
        `SlidingWindow` (beats straddle pixels)."""
        return self.c_in % simd == 0

    def line_buffers(self, max_width: int, simd: int) -> tuple[int, int, int]:
        """The window generator's line buffers for inputs up to ``max_width`` wide, as
        (memories, words each, elements per word): K+s memories of ``max_width`` whole
        pixels (`SlidingWindow`), or one ring of (K+s)·max_width·C_in/SIMD words of SIMD
        elements (`AddressedWindow`)."""
        rows = self.line_buffer_rows
        if self.addressed(simd):
            return 1, rows * max_width * (self.c_in // simd), simd
        return rows, max_width, self.c_in

    def out_size(self, width, height):
        """The output frame for a ``width``×``height`` input: ⌊(W−1)/s⌋+1 × ⌊(H−1)/s⌋+1
        (s·W × s·H transposed). Written as a shift, so that it also sizes Amaranth values
        (a run-time frame) without a divider."""
        if self.transposed:
            return width * self.stride, height * self.stride
        if self.stride == 1:
            return width, height
        shift = self.stride.bit_length() - 1
        return ((width - 1) >> shift) + 1, ((height - 1) >> shift) + 1

    def macs(self, width: int, height: int) -> int:
        """Multiply-accumulates of one frame whose input is ``width``×``height``:
        H_out·W_out·K²·C_in·C_out, padding taps included (the hardware multiplies them by
        zero too); transposed, every input pixel's K²·C_in·C_out."""
        w, h = (width, height) if self.transposed else self.out_size(width, height)
        return w * h * self.window_len * self.c_out
