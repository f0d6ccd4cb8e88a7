from amaranth.hdl import Shape, signed, unsigned

from licfpga.rtl.stream import MARKERS, beat_layout, beat_signature


def test_beat_layout_fields():
    layout = beat_layout(signed(8), 5)
    assert Shape.cast(layout).width == 5 * 8 + len(MARKERS)
    assert layout["data"].shape.length == 5
    assert layout["data"].shape.elem_shape == signed(8)
    assert [name for name, _ in layout] == ["data", *MARKERS]


def test_signature_shared():
    assert beat_signature(unsigned(8), 3) == beat_signature(unsigned(8), 3)
    assert beat_signature(unsigned(8), 3).members["payload"].shape == beat_layout(unsigned(8), 3)
