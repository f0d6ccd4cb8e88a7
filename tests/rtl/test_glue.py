# amaranth: UnusedElaboratable=no
import numpy as np
import pytest
from amaranth.hdl import signed, unsigned

from licfpga.rtl.glue import Abs, SkidBuffer, StreamFIFO, WidthConverter
from licfpga.rtl.stream import beat_layout
from licfpga.sim.reference import pixel_beats
from streamsim import run_stream

HANDSHAKES = [(0.0, 0.0), (0.3, 0.3), (0.0, 0.6), (0.6, 0.0)]


def frame(rng, height=3, width=5, channels=6):
    return rng.integers(-128, 128, (height, width, channels))


@pytest.mark.parametrize("idle,stall", HANDSHAKES)
def test_skid_buffer(idle, stall, rng):
    beats = pixel_beats(frame(rng), 3)
    got, cycles = run_stream(SkidBuffer(beat_layout(signed(8), 3)), beats, len(beats),
                             rng, idle, stall)
    assert got == beats
    if not idle and not stall:
        assert cycles[-1] == len(beats) + 1


@pytest.mark.parametrize("idle,stall", HANDSHAKES)
@pytest.mark.parametrize("depth", [2, 3, 7])
def test_fifo(depth, idle, stall, rng):
    beats = pixel_beats(frame(rng), 2)
    got, cycles = run_stream(StreamFIFO(beat_layout(signed(8), 2), depth), beats, len(beats),
                             rng, idle, stall)
    assert got == beats
    if not idle and not stall and depth >= 3:
        assert cycles[-1] <= len(beats) + 2


@pytest.mark.parametrize("idle,stall", HANDSHAKES)
def test_abs(idle, stall, rng):
    f = frame(rng)
    f[0, 0, :2] = [-128, 127]
    beats = pixel_beats(f, 3)
    got, _ = run_stream(Abs(8, 3), beats, len(beats), rng, idle, stall)
    assert got == pixel_beats(np.abs(f), 3)


@pytest.mark.parametrize("idle,stall", HANDSHAKES)
@pytest.mark.parametrize("simd_in,simd_out", [(2, 6), (6, 2), (1, 3), (3, 1), (3, 3)])
def test_width_converter(simd_in, simd_out, idle, stall, rng):
    f = frame(rng)
    got, cycles = run_stream(WidthConverter(signed(8), simd_in, simd_out),
                             pixel_beats(f, simd_in), f.size // simd_out, rng, idle, stall)
    assert got == pixel_beats(f, simd_out)
    if not idle and not stall:
        assert cycles[-1] <= f.size // min(simd_in, simd_out) + 2


def test_width_converter_rejects():
    with pytest.raises(ValueError, match=r"SIMD 4 → 6: neither divides the other"):
        WidthConverter(unsigned(8), 4, 6)
