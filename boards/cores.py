"""The streaming cores a board design can wrap, until the encoder is one of them.

Each entry builds an `rtl` component with a pixel input stream ``i``, an output stream
``o`` and ``width``/``height`` inputs, and says what it must emit for a frame (from
`sim.reference`), so that the self-test's checksum, the host driver's unpacking and
the benches agree on one description.
"""

from dataclasses import dataclass

import numpy as np

from ..rtl.axi import stream_bits
from ..rtl.config import LayerConfig
from ..rtl.window import SlidingWindow
from ..sim.reference import im2col

__all__ = ["CoreSpec", "CORES", "DEFAULT_CORE"]


@dataclass(frozen=True)
class CoreSpec:
    """A window generator as a stand-in core: uint8 pixels of ``c_in`` channels in,
    K·K·C_in windows out in beats of ``simd`` elements."""
    name: str
    doc: str
    kernel: int
    stride: int
    c_in: int
    simd: int

    def config(self, max_width, max_height):
        return LayerConfig(kernel=self.kernel, stride=self.stride, c_in=self.c_in, c_out=1,
                           pe=1, simd=self.simd, max_width=max_width, max_height=max_height,
                           in_signed=False)

    def make(self, max_width, max_height):
        return SlidingWindow(self.config(max_width, max_height))

    elem_bits = 8
    out_signed = False

    @property
    def in_tdata(self):
        return stream_bits(self.elem_bits * self.c_in)

    @property
    def out_tdata(self):
        return stream_bits(self.elem_bits * self.simd)

    def output_beats(self, width, height):
        """Output beats of a frame: a window of K·K·C_in / SIMD beats per output pixel."""
        w_out, h_out = self.config(width, height).out_size(width, height)
        return w_out * h_out * self.kernel * self.kernel * self.c_in // self.simd

    def reference(self, frame):
        """The output beats' elements, (beats, SIMD), for an (H, W, C_in) frame."""
        return im2col(np.asarray(frame), self.kernel, self.stride).reshape(-1, self.simd)


CORES = {c.name: c for c in (
    CoreSpec("window-k5s2c3", "the sliding-window generator of g_a's first layer "
             "(5×5, stride 2, RGB, 15 elements per beat)", 5, 2, 3, 15),
    CoreSpec("window-k3s1c3", "a 3×3 stride-1 window generator on RGB, 9 elements per beat",
             3, 1, 3, 9),
)}
DEFAULT_CORE = "window-k5s2c3"
