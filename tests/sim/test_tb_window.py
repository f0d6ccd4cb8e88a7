"""The window-generator bench of sim/tb_window.py through sim/runner.py: a few small
configurations on Verilator, a smoke run on Icarus. One build per configuration serves
every frame size (they are set at run time)."""

import pytest

from licfpga.rtl.config import LayerConfig
from licfpga.rtl.window import AddressedWindow, SlidingWindow
from licfpga.sim.runner import run_bench

CONFIGS = {
    # g_a's first layer: 3 channels, SIMD 15 (a window row per beat) does not divide C_in.
    "k5s2c3": dict(kernel=5, stride=2, c_in=3, c_out=4, pe=1, simd=15, max_width=40,
                   max_height=24, in_signed=False),
    # Output-bound: 9 beats per window.
    "k3s1c4": dict(kernel=3, stride=1, c_in=4, c_out=4, pe=1, simd=4, max_width=16, max_height=12),
    # Input-bound: a whole window per beat, stride 2.
    "k3s2c2": dict(kernel=3, stride=2, c_in=2, c_out=4, pe=1, simd=18, max_width=16, max_height=12),
    # A wide layer in miniature, word-addressed: 2 beats of 4 channels per pixel.
    "k5s2c8-addressed": dict(kernel=5, stride=2, c_in=8, c_out=4, pe=1, simd=4, max_width=16,
                             max_height=12),
}
FRAMES = {
    "k5s2c3": [[37, 23], [1, 1], [1, 6], [6, 1], [2, 3]],
    "k3s1c4": [[13, 11], [1, 1], [1, 5], [7, 2], [16, 12]],
    "k3s2c2": [[15, 9], [1, 1], [1, 4], [5, 1], [16, 12]],
    "k5s2c8-addressed": [[13, 11], [1, 1], [1, 4], [5, 1], [16, 12]],
}
CASES = [(name, "verilator") for name in CONFIGS] + [("k5s2c3", "icarus")]


@pytest.mark.parametrize("name,simulator", CASES)
def test_window_bench(name, simulator):
    config = CONFIGS[name]
    frames = FRAMES[name] if simulator == "verilator" else FRAMES[name][:2]
    addressed = name.endswith("-addressed")
    generator = AddressedWindow if addressed else SlidingWindow
    run_bench(generator(LayerConfig(**config)), f"window_{name}", "licfpga.sim.tb_window",
              {"config": config, "in_simd": config["simd"] if addressed else config["c_in"],
               "frames": frames, "idle": 0.3, "stall": 0.3, "throughput": frames[0]},
              simulator=simulator, seed=7)
