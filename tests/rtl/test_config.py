import pytest

from licfpga.rtl.config import LayerConfig

GOOD = dict(kernel=5, stride=2, c_in=3, c_out=8, pe=2, simd=15, max_width=64, max_height=64)


def test_derived_sizes():
    cfg = LayerConfig(**GOOD)
    assert (cfg.pad, cfg.window_len, cfg.window_beats) == (2, 75, 5)
    assert cfg.out_size(37, 23) == (19, 12)
    assert cfg.out_size(1, 1) == (1, 1)


@pytest.mark.parametrize(
    "change,message",
    [
        (dict(simd=7), r"SIMD=7 does not divide the window vector K·K·C_in=5·5·3=75"),
        (dict(pe=3), r"PE=3 does not divide C_out=8"),
        (dict(kernel=4, simd=1), r"kernel=4 must be odd"),
        (dict(stride=3), r"stride=3 must be 1 or 2"),
        (dict(kernel=1, simd=3), r"kernel=1 < stride=2"),
        (dict(max_width=0), r"max_width=0 must be a positive integer"),
        (dict(acc_bits=12), r"acc_bits=12 cannot hold one product"),
    ],
)
def test_rejects_impossible(change, message):
    with pytest.raises(ValueError, match=message):
        LayerConfig(**{**GOOD, **change})


def test_frozen():
    cfg = LayerConfig(**GOOD)
    with pytest.raises(AttributeError):
        cfg.simd = 5
