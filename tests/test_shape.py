"""licfpga.shape: the one place output sizes, window lengths, line-buffer rows and MACs
are derived."""

import pytest
from amaranth import Signal
from amaranth.hdl import Value

from licfpga.shape import LayerShape


def test_derived_sizes():
    conv = LayerShape(5, 2, 3, 8)
    assert (conv.pad, conv.window_len, conv.line_buffer_rows) == (2, 75, 7)
    assert conv.out_size(37, 23) == (19, 12) and conv.out_size(1, 1) == (1, 1)
    assert conv.macs(37, 23) == 19 * 12 * 75 * 8
    assert LayerShape(3, 1, 4, 4).out_size(37, 23) == (37, 23)
    up = LayerShape(5, 2, 4, 3, transposed=True)
    assert up.out_size(7, 5) == (14, 10) and up.macs(7, 5) == 7 * 5 * 25 * 4 * 3


def test_line_buffers():
    """K+s rows of the widest input: whole pixels per word, or SIMD-element words where
    SIMD divides C_in."""
    shape = LayerShape(5, 2, 6, 8)
    assert shape.addressed(3) and not shape.addressed(4)
    assert shape.line_buffers(64, 3) == (1, 7 * 64 * 2, 3)
    assert shape.line_buffers(64, 4) == (7, 64, 6)


@pytest.mark.parametrize("width", range(1, 20))
def test_out_size_is_conv2d(width):
    """⌊(W + 2p − K)/s⌋ + 1, nn.Conv2d's rule with padding K//2."""
    for kernel, stride in [(1, 1), (3, 1), (3, 2), (5, 2)]:
        want = (width + 2 * (kernel // 2) - kernel) // stride + 1
        assert LayerShape(kernel, stride, 1, 1).out_size(width, width) == (want, want)


def test_out_size_sizes_signals():
    w, h = LayerShape(5, 2, 3, 8).out_size(Signal(8), Signal(8))
    assert isinstance(w, Value) and isinstance(h, Value)


@pytest.mark.parametrize(
    "args, message",
    [
        ((4, 1, 3, 8), r"kernel=4 must be odd"),
        ((5, 3, 3, 8), r"stride=3 must be 1 or 2"),
        ((1, 2, 3, 8), r"kernel=1 < stride=2"),
        ((5, 2, 0, 8), r"c_in=0 must be a positive integer"),
        ((5, 1, 3, 8, True), r"stride=1: a transposed layer upsamples by 2"),
    ],
)
def test_rejects_impossible(args, message):
    with pytest.raises(ValueError, match=message):
        LayerShape(*args)


def test_frozen():
    with pytest.raises(AttributeError):
        LayerShape(5, 2, 3, 8).kernel = 3
