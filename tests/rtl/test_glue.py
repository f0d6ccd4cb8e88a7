# amaranth: UnusedElaboratable=no
import pytest
from amaranth.hdl import signed, unsigned
from streamsim import run_stream

from licfpga.model.intops import absolute, saturate
from licfpga.rtl.glue import Abs, SkidBuffer, StreamFIFO, WidthConverter
from licfpga.rtl.stream import beat_layout
from licfpga.sim.reference import pixel_beats

HANDSHAKES = [(0.0, 0.0), (0.3, 0.3), (0.0, 0.6), (0.6, 0.0)]


def frame(rng, height=3, width=5, channels=6):
    return rng.integers(-128, 128, (height, width, channels))


@pytest.mark.parametrize("idle,stall", HANDSHAKES)
def test_skid_buffer(idle, stall, rng):
    beats = pixel_beats(frame(rng), 3)
    got, cycles = run_stream(SkidBuffer(beat_layout(signed(8), 3)), beats, len(beats), rng, idle, stall)
    assert got == beats
    if not idle and not stall:
        assert cycles[-1] == len(beats) + 1


@pytest.mark.parametrize("idle,stall", HANDSHAKES)
@pytest.mark.parametrize("depth", [2, 3, 7])
def test_fifo(depth, idle, stall, rng):
    beats = pixel_beats(frame(rng), 2)
    got, cycles = run_stream(StreamFIFO(beat_layout(signed(8), 2), depth), beats, len(beats), rng, idle, stall)
    assert got == beats
    if not idle and not stall and depth >= 3:
        assert cycles[-1] <= len(beats) + 2


@pytest.mark.parametrize("idle,stall", HANDSHAKES)
@pytest.mark.parametrize("in_bits,out_bits", [(16, 8), (8, 8)])
def test_abs(in_bits, out_bits, idle, stall, rng):
    top = (1 << (in_bits - 1)) - 1
    f = rng.integers(-top, top + 1, (3, 5, 6))
    edges = [-top, top, -255, 256, -256, 255]
    f[0, 0] = [e if abs(e) <= top else 0 for e in edges]
    beats = pixel_beats(f, 3)
    got, _ = run_stream(Abs(in_bits, out_bits, 3), beats, len(beats), rng, idle, stall)
    assert got == pixel_beats(saturate(absolute(f), out_bits, signed=False), 3)


@pytest.mark.parametrize("idle,stall", HANDSHAKES)
@pytest.mark.parametrize("simd_in,simd_out", [(2, 6), (6, 2), (1, 3), (3, 1), (3, 3)])
def test_width_converter(simd_in, simd_out, idle, stall, rng):
    f = frame(rng)
    got, cycles = run_stream(
        WidthConverter(signed(8), simd_in, simd_out), pixel_beats(f, simd_in), f.size // simd_out, rng, idle, stall
    )
    assert got == pixel_beats(f, simd_out)
    if not idle and not stall:
        assert cycles[-1] <= f.size // min(simd_in, simd_out) + 2


def test_width_converter_rejects():
    with pytest.raises(ValueError, match=r"SIMD 4 → 6: neither divides the other"):
        WidthConverter(unsigned(8), 4, 6)
