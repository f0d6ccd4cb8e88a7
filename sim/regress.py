"""The cocotb regression: every bench case of the RTL library, on either simulator.

``python -m licfpga.sim.regress [--sim verilator|icarus] [--seed N] [--waves] [--full]
[-k TEXT]`` runs the cases and ends with ``N passed, M failed``. The default set is
what CI runs (through tests/sim): small configurations on Verilator and a smoke subset
on Icarus, 30–60× slower but without a build step (the generated hyper-decoder runs on
both: its tiny ẑ frames take Icarus 20 s); ``--full`` runs the whole matrix on
both. Builds are cached by the hash of their Verilog (see `runner`), so a case whose
configuration was built before only simulates.
"""

import argparse
import sys
import time

from amaranth.hdl import signed

from ..rtl.glue import Abs, SkidBuffer, StreamFIFO, WidthConverter
from ..rtl.stream import beat_layout
from .benches import axi_case, conv_case, deconv_case, gdn_case, glue_case, saturated_abs, window_case
from .case import Case, run_case
from .decoder_bench import decoder_case, hyper_case
from .encoder_bench import axi_encoder_case, encoder_case
from .runner import SIMULATORS

__all__ = ["Case", "cases", "run_case", "main"]


# name: (frames, config): stride-2 transposed convolutions (the decoder's).
DECONVS = {
    "k5c2": ([[7, 5], [1, 1], [3, 1]], dict(kernel=5, c_in=2, c_out=4, pe=2, simd=9, max_width=8, max_height=6)),
    # Only in --full:
    "k3c4-addressed": ([[6, 4], [1, 1]], dict(kernel=3, c_in=4, c_out=3, pe=3, simd=2, max_width=8, max_height=6)),
}


# name: (frames, config); the first frame size is also the frame-interval check's.
CONVS = {
    # g_a's first layer in miniature: uint8 pixels, SIMD 15 across pixels, 37×23.
    "k5s2c3-first": (
        [[37, 23], [1, 1], [6, 1], [2, 3]],
        dict(kernel=5, stride=2, c_in=3, c_out=8, pe=4, simd=15, max_width=40, max_height=24, in_signed=False),
    ),
    # ReLU (uint8 out), word-addressed windows, NF=2 passes replayed from the buffer.
    "k3s2c4-relu": (
        [[13, 11], [1, 1], [5, 1]],
        dict(kernel=3, stride=2, c_in=4, c_out=6, pe=3, simd=2, max_width=16, max_height=12, out_signed=False),
    ),
    "k3s1c2-nf2": (
        [[9, 7], [1, 1], [1, 6]],
        dict(kernel=3, stride=1, c_in=2, c_out=4, pe=2, simd=6, max_width=16, max_height=12),
    ),
    # Only in --full:
    "k1s1c4-lanes": (
        [[9, 7], [1, 1], [3, 2]],
        dict(kernel=1, stride=1, c_in=4, c_out=4, pe=4, simd=4, max_width=12, max_height=9),
    ),
    "k5s2c8-addressed": (
        [[13, 11], [1, 1], [2, 3]],
        dict(kernel=5, stride=2, c_in=8, c_out=8, pe=8, simd=4, max_width=16, max_height=12),
    ),
    "k3s2c2-steps": (
        [[11, 9], [1, 1]],
        dict(kernel=3, stride=2, c_in=2, c_out=6, pe=6, simd=3, max_width=12, max_height=10),
    ),
}
# name: (frames, channels, PE, SIMD, in_bits, inverse)
GDNS = {
    "c4-gdn": ([[9, 7], [1, 1], [3, 2]], 4, 2, 2, 8, False),
    "c6-igdn": ([[9, 7], [1, 1], [3, 2]], 6, 3, 1, 8, True),
    # Only in --full:
    "c8-int16-gdn": ([[9, 7], [1, 1]], 8, 4, 8, 16, False),
    "c8-int16-igdn": ([[9, 7], [1, 1]], 8, 8, 2, 16, True),
    "c5-steps-gdn": ([[7, 5], [1, 1]], 5, 5, 1, 8, False),
}


# name: (frames, addressed, config); the first frame is also the throughput check.
WINDOWS = {
    # g_a's first layer: 3 channels, SIMD 15 (a window row per beat) does not divide C_in.
    "k5s2c3": (
        [[37, 23], [1, 1], [1, 6], [6, 1], [2, 3]],
        False,
        dict(kernel=5, stride=2, c_in=3, simd=15, max_width=40, max_height=24, in_signed=False),
    ),
    # Output-bound: 9 beats per window.
    "k3s1c4": (
        [[13, 11], [1, 1], [1, 5], [7, 2], [16, 12]],
        False,
        dict(kernel=3, stride=1, c_in=4, simd=4, max_width=16, max_height=12),
    ),
    # Input-bound: a whole window per beat, stride 2.
    "k3s2c2": (
        [[15, 9], [1, 1], [1, 4], [5, 1], [16, 12]],
        False,
        dict(kernel=3, stride=2, c_in=2, simd=18, max_width=16, max_height=12),
    ),
    # A wide layer in miniature, word-addressed: 2 beats of 4 channels per pixel.
    "k5s2c8-addressed": (
        [[13, 11], [1, 1], [1, 4], [5, 1], [16, 12]],
        True,
        dict(kernel=5, stride=2, c_in=8, simd=4, max_width=16, max_height=12),
    ),
    # Only in --full:
    "k5s1c3": (
        [[23, 17], [1, 1], [2, 2], [1, 7]],
        False,
        dict(kernel=5, stride=1, c_in=3, simd=5, max_width=24, max_height=18),
    ),
    "k3s1c3-simd27": (
        [[37, 23], [1, 1], [3, 1]],
        False,
        dict(kernel=3, stride=1, c_in=3, simd=27, max_width=40, max_height=24),
    ),
    "k5s2c2-simd1": (
        [[11, 9], [1, 1], [2, 5]],
        False,
        dict(kernel=5, stride=2, c_in=2, simd=1, max_width=12, max_height=10),
    ),
    "k3s1c8-addressed": (
        [[13, 11], [1, 1], [1, 4], [5, 1]],
        True,
        dict(kernel=3, stride=1, c_in=8, simd=8, max_width=16, max_height=12),
    ),
    "k3s2c6-addressed": (
        [[37, 23], [1, 1], [2, 1]],
        True,
        dict(kernel=3, stride=2, c_in=6, simd=2, max_width=40, max_height=24),
    ),
    "k5s1c4-addressed": (
        [[12, 9], [1, 1], [1, 3]],
        True,
        dict(kernel=5, stride=1, c_in=4, simd=1, max_width=12, max_height=10),
    ),
}
# name: (make, in_bits, out_bits, out_signed, simd_in, simd_out, reference)
GLUE = {
    "skid": (lambda: SkidBuffer(beat_layout(signed(8), 4)), 8, 8, True, 4, 4, None),
    "fifo": (lambda: StreamFIFO(beat_layout(signed(8), 4), 5), 8, 8, True, 4, 4, None),
    "abs": (lambda: Abs(16, 8, 4), 16, 8, False, 4, 4, saturated_abs),
    "gather": (lambda: WidthConverter(signed(8), 2, 6), 8, 8, True, 2, 6, None),
    "scatter": (lambda: WidthConverter(signed(8), 6, 2), 8, 8, True, 6, 2, None),
}
# name: (frames, window config); the AXI wrapper around a window generator, on the
# image side (uint8 pixels of 3 channels, like g_a's first layer).
AXI = {
    "k5s2c3": (
        [[11, 7], [6, 9]],
        dict(kernel=5, stride=2, c_in=3, simd=15, max_width=16, max_height=12, in_signed=False),
    ),
}
DEFAULT = {
    "verilator": [("window", n) for n in ("k5s2c3", "k3s1c4", "k3s2c2", "k5s2c8-addressed")]
    + [("glue", "abs"), ("glue", "gather")]
    + [("conv", "k5s2c3-first"), ("conv", "k3s2c4-relu"), ("gdn", "c4-gdn"), ("gdn", "c6-igdn")]
    + [("encoder", "tiny-student-int8"), ("decoder", "tiny-student-int8"), ("hyper", "tiny-student-int8")],
    "icarus": [("window", "k5s2c3")]
    + [("glue", n) for n in GLUE]
    + [("axi", "k5s2c3")]
    + [("conv", "k3s1c2-nf2"), ("gdn", "c4-gdn"), ("deconv", "k5c2")]
    + [("hyper", "tiny-student-int8")],  # the generated hyper-decoder: ẑ is small enough for Icarus
}


def _case(kind, name, simulator, smoke):
    # Icarus is slow: its smoke runs take the first two frame sizes.
    if kind == "glue":
        return glue_case(name, simulator, *GLUE[name])
    if kind == "conv":
        frames, config = CONVS[name]
        return conv_case(name, simulator, frames[:2] if smoke else frames, **config)
    if kind == "deconv":
        frames, config = DECONVS[name]
        return deconv_case(name, simulator, frames[:2] if smoke else frames, **config)
    if kind == "gdn":
        frames, *unit = GDNS[name]
        return gdn_case(name, simulator, frames[:2] if smoke else frames, *unit)
    if kind == "encoder":
        return encoder_case(simulator)
    if kind == "decoder":
        return decoder_case(simulator)
    if kind == "hyper":
        return hyper_case(simulator)
    if kind == "axi-encoder":  # CI runs it through tests/boards/test_core.py
        return axi_encoder_case(simulator)
    if kind == "axi":
        frames, config = AXI[name]
        return axi_case(name, simulator, frames, **config)
    frames, addressed, config = WINDOWS[name]
    return window_case(name, simulator, frames[:2] if smoke else frames, addressed, **config)


def cases(full=False, simulators=SIMULATORS):
    """The regression's cases: the default set, or with ``full`` the whole matrix."""
    out = []
    for simulator in simulators:
        if full:
            chosen = (
                [("window", n) for n in WINDOWS]
                + [("glue", n) for n in GLUE]
                + [("axi", n) for n in AXI]
                + [("conv", n) for n in CONVS]
                + [("gdn", n) for n in GDNS]
                + [("deconv", n) for n in DECONVS]
                + (
                    [
                        ("encoder", "tiny-student-int8"),
                        ("decoder", "tiny-student-int8"),
                        ("axi-encoder", "tiny-student-int8"),
                    ]
                    if simulator == "verilator"
                    else []
                )
                + [("hyper", "tiny-student-int8")]
            )
        else:
            chosen = DEFAULT[simulator]
        smoke = simulator == "icarus" and not full
        out += [_case(kind, name, simulator, smoke) for kind, name in chosen]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="licfpga regress", description=__doc__.splitlines()[0])
    parser.add_argument("--sim", choices=SIMULATORS, action="append", help="simulator (repeatable; default: both)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--waves", action="store_true", help="record waveforms (FST; VCD from Verilator without the lz4 headers)"
    )
    parser.add_argument("--full", action="store_true", help="the whole matrix")
    parser.add_argument("-k", dest="filter", default="", help="only cases whose id contains this")
    args = parser.parse_args(argv)
    chosen = [c for c in cases(args.full, args.sim or SIMULATORS) if args.filter in c.id]
    passed = failed = 0
    start = time.monotonic()
    for case in chosen:
        try:
            result = run_case(case, args.seed, args.waves)
        except AssertionError as error:
            failed += 1
            print(f"FAIL {case.id}: {str(error).splitlines()[0]}", flush=True)
            continue
        passed += 1
        waves = f", waves {result.waves}" if result.waves else ""
        summary = f"; {result.summary}" if result.summary else ""
        print(f"ok   {case.id}: build {result.build_s:.1f} s, run {result.run_s:.1f} s{waves}{summary}", flush=True)
    print(f"{passed} passed, {failed} failed ({time.monotonic() - start:.0f} s)")
    return 1 if failed or not chosen else 0


if __name__ == "__main__":
    sys.exit(main())
