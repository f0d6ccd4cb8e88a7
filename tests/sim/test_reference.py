"""The references the benches compare against are themselves checked against torch."""

import numpy as np
import pytest
import torch

from licfpga.sim.reference import from_bytes, im2col, pixel_beats, to_bytes


@pytest.mark.parametrize("kernel,stride", [(3, 1), (3, 2), (5, 1), (5, 2)])
@pytest.mark.parametrize("width,height", [(37, 23), (1, 1), (1, 6), (6, 1), (4, 5)])
def test_im2col_is_conv2d_padding(kernel, stride, width, height, rng):
    c_in, c_out = 3, 4
    frame = rng.integers(-128, 128, (height, width, c_in))
    weight = rng.integers(-128, 128, (c_out, c_in, kernel, kernel))
    conv = torch.nn.functional.conv2d(
        torch.from_numpy(frame).permute(2, 0, 1)[None].double(),
        torch.from_numpy(weight).double(),
        stride=stride,
        padding=kernel // 2,
    )
    # (ky, kx, c) order, c fastest: the weights are laid out to match.
    flat = weight.transpose(0, 2, 3, 1).reshape(c_out, -1)
    ours = im2col(frame, kernel, stride) @ flat.T
    np.testing.assert_array_equal(ours, conv[0].permute(1, 2, 0).numpy().astype(np.int64))


def test_pixel_beats_markers():
    frame = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    beats = pixel_beats(frame, 2)
    assert len(beats) == 12
    assert beats[0] == {"data": [0, 1], "first": 1, "last": 0, "eol": 0, "eop": 0}
    assert beats[1]["eop"] == 1 and beats[1]["eol"] == 0
    assert beats[5]["eol"] == 1 and beats[5]["last"] == 0
    assert beats[11] == {"data": [22, 23], "first": 0, "last": 1, "eol": 1, "eop": 1}


@pytest.mark.parametrize("bits", [1, 8, 28, 148])
def test_bytes_round_trip(bits, rng):
    values = [int(v) for v in rng.integers(0, 1 << min(bits, 62), 5)] + [(1 << bits) - 1, 0]
    rows = to_bytes(values, bits)
    assert rows.dtype == np.uint8 and rows.shape == (7, -(-bits // 8))
    assert from_bytes(rows) == values
    assert from_bytes(to_bytes([], bits)) == []
