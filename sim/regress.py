"""The cocotb regression: every bench case of the RTL library, on either simulator.

``python -m licfpga.sim.regress [--sim verilator|icarus] [--seed N] [--waves] [--full]
[-k TEXT]`` runs the cases and ends with ``N passed, M failed``. The default set is
what CI runs (through tests/sim): small configurations on Verilator and a smoke subset
on Icarus, 30–60× slower but without a build step; ``--full`` runs the whole matrix on
both. Builds are cached by the hash of their Verilog (see `runner`), so a case whose
configuration was built before only simulates.
"""

import argparse
import sys
import time
import zlib
from dataclasses import dataclass, field

import numpy as np
from amaranth.hdl import signed

from ..rtl.axi import AXIWrapper
from ..rtl.config import LayerConfig
from ..rtl.conv import ConvLayer
from ..rtl.deconv import TransposedConvLayer
from ..rtl.gdn import GDN
from ..rtl.glue import Abs, SkidBuffer, StreamFIFO, WidthConverter
from ..rtl.stream import beat_layout
from ..rtl.window import AddressedWindow, SlidingWindow
from .runner import SIMULATORS, run_bench

__all__ = ["Case", "cases", "run_case", "main"]


@dataclass(frozen=True)
class Case:
    """One bench run: ``make()`` builds the component, ``params`` go to the bench and
    ``arrays(rng)`` (if given) computes the arrays it needs in this process."""
    name: str
    simulator: str
    make: object
    bench: str
    params: dict = field(hash=False)
    arrays: object = None

    @property
    def id(self):
        return f"{self.name}-{self.simulator}"


def _window_case(name, simulator, frames, addressed=False, **config):
    config = {"c_out": 4, "pe": 1, **config}
    generator = AddressedWindow if addressed else SlidingWindow
    return Case(
        f"window/{name}", simulator, lambda: generator(LayerConfig(**config)),
        "licfpga.sim.tb_window",
        {"config": config, "in_simd": config["simd"] if addressed else config["c_in"],
         "frames": frames, "idle": 0.3, "stall": 0.3, "throughput": frames[0]})


def _axi_case(name, simulator, frames, **config):
    config = {"c_out": 4, "pe": 1, **config}
    return Case(
        f"axi/{name}", simulator,
        lambda: AXIWrapper(SlidingWindow(LayerConfig(**config)), config["max_width"],
                           config["max_height"]),
        "licfpga.sim.tb_axi", {"config": config, "frames": frames, "idle": 0.2, "stall": 0.3})


def _glue_case(name, simulator, make, in_bits, out_bits, out_signed, simd_in, simd_out,
               reference=None):
    def arrays(rng):
        top = (1 << (in_bits - 1)) - 1
        inputs = rng.integers(-top, top + 1, (3, 5, 7, 12))
        return {"inputs": inputs, "outputs": np.asarray(reference(inputs) if reference else inputs)}
    return Case(f"glue/{name}", simulator, make, "licfpga.sim.tb_glue",
                dict(in_bits=in_bits, in_signed=True, out_bits=out_bits, out_signed=out_signed,
                     simd_in=simd_in, simd_out=simd_out, idle=0.3, stall=0.3), arrays)


def _saturated_abs(frames):
    from ..model.intops import absolute, saturate  # torch: only when this case runs
    return saturate(absolute(frames), 8, signed=False)


def _glue(name, simulator):
    return {
        "skid": lambda: _glue_case(name, simulator, lambda: SkidBuffer(beat_layout(signed(8), 4)),
                                   8, 8, True, 4, 4),
        "fifo": lambda: _glue_case(name, simulator, lambda: StreamFIFO(beat_layout(signed(8), 4), 5),
                                   8, 8, True, 4, 4),
        "abs": lambda: _glue_case(name, simulator, lambda: Abs(16, 8, 4), 16, 8, False, 4, 4,
                                  _saturated_abs),
        "gather": lambda: _glue_case(name, simulator, lambda: WidthConverter(signed(8), 2, 6),
                                     8, 8, True, 2, 6),
        "scatter": lambda: _glue_case(name, simulator, lambda: WidthConverter(signed(8), 6, 2),
                                      8, 8, True, 6, 2),
    }[name]()


def _fixed_rng(name):
    # The weights are in the Verilog: the same ones for every seed keep one build per case.
    return np.random.default_rng(zlib.crc32(name.encode()))


def _engine_case(name, simulator, make, frames, arrays, params):
    """A case of `tb_engine`: ``frames`` ([width, height] each) stream with random
    handshakes, then two more of the first size back to back for the frame interval;
    ``arrays(rng, width, height)`` gives (input frame, expected output frame)."""
    def all_arrays(rng):
        out = {}
        for n, (w, h) in enumerate(list(frames) + [frames[0]] * 2):
            out[f"in{n}"], out[f"out{n}"] = arrays(rng, w, h)
        return out
    return Case(name, simulator, make, "licfpga.sim.tb_engine",
                {**params, "frames": list(range(len(frames))),
                 "throughput": [len(frames), len(frames) + 1], "idle": 0.3, "stall": 0.3, "slack": 2},
                all_arrays)


def _conv_case(name, simulator, frames, out_signed=True, **config):
    from ..gen.cost import Folding, layer_cost
    from ..gen.layers import ConvSpec
    from .stimuli import conv_expected, conv_frame, conv_params
    cfg = LayerConfig(**config)
    params = conv_params(cfg, _fixed_rng(name), out_signed=out_signed)
    addressed = cfg.c_in % cfg.simd == 0
    spec = ConvSpec(name=name, kernel=cfg.kernel, stride=cfg.stride, c_in=cfg.c_in, c_out=cfg.c_out,
                    in_bits=cfg.in_bits, in_signed=cfg.in_signed, out_bits=params.out_bits, out_signed=out_signed,
                    acc_bits=cfg.acc_bits, acc_bound_bits=cfg.acc_bits)
    width, height = frames[0]

    def arrays(rng, w, h):
        frame = conv_frame(cfg, rng, w, h)
        return frame, conv_expected(cfg, params, frame)

    return _engine_case(
        f"conv/{name}", simulator, lambda: ConvLayer(cfg, params), frames, arrays,
        dict(in_bits=cfg.in_bits, in_signed=cfg.in_signed, out_bits=params.out_bits,
             out_signed=out_signed, simd_in=cfg.simd if addressed else cfg.c_in, simd_out=cfg.pe,
             sized=True,
             interval=layer_cost(spec, Folding(cfg.pe, cfg.simd), width, height, cfg.max_width).cycles))


def _gdn_case(name, simulator, frames, channels, pe, simd, in_bits, inverse):
    from ..gen.cost import Folding, layer_cost
    from ..gen.layers import GDNSpec
    from .stimuli import gdn_config, gdn_expected, gdn_frame, gdn_params
    params = gdn_params(_fixed_rng(name), channels, inverse, in_bits)
    cfg = gdn_config(params, pe, simd)
    spec = GDNSpec(name, channels, in_bits, params.out_bits, params.coef_bits, params.acc_bits)
    width, height = frames[0]

    def arrays(rng, w, h):
        frame = gdn_frame(rng, w, h, channels, in_bits)
        return frame, gdn_expected(params, frame)

    return _engine_case(
        f"gdn/{name}", simulator, lambda: GDN(cfg), frames, arrays,
        dict(in_bits=in_bits, in_signed=True, out_bits=params.out_bits, out_signed=True,
             simd_in=simd, simd_out=pe, sized=False,
             interval=layer_cost(spec, Folding(pe, simd), width, height, width).cycles))


def _deconv_case(name, simulator, frames, **config):
    from ..gen.cost import Folding, layer_cost
    from ..gen.layers import ConvSpec
    from .stimuli import deconv_expected, deconv_params
    cfg = LayerConfig(**config, stride=2, transposed=True)
    params = deconv_params(cfg, _fixed_rng(name))
    phase = cfg.phase_config
    spec = ConvSpec(name=name, kernel=phase.kernel, stride=phase.stride, c_in=phase.c_in, c_out=phase.c_out,
                    in_bits=cfg.in_bits, in_signed=cfg.in_signed, out_bits=8, out_signed=True, acc_bits=cfg.acc_bits,
                    acc_bound_bits=cfg.acc_bits)
    width, height = frames[0]
    # The phase convolution's frame plus 2·G cycles per input pixel for the odd rows.
    interval = layer_cost(spec, Folding(cfg.pe, cfg.simd), width, height, cfg.max_width).cycles \
        + 2 * (cfg.c_out // cfg.pe) * width * height

    def arrays(rng, w, h):
        frame = rng.integers(-127, 128, (h, w, cfg.c_in))
        return frame, deconv_expected(cfg, params, frame)

    return _engine_case(
        f"deconv/{name}", simulator, lambda: TransposedConvLayer(cfg, params), frames, arrays,
        dict(in_bits=cfg.in_bits, in_signed=True, out_bits=8, out_signed=True,
             simd_in=cfg.simd if cfg.c_in % cfg.simd == 0 else cfg.c_in, simd_out=cfg.pe,
             sized=True, interval=interval))


# name: (frames, config): stride-2 transposed convolutions (the decoder's).
DECONVS = {
    "k5c2": ([[7, 5], [1, 1], [3, 1]],
             dict(kernel=5, c_in=2, c_out=4, pe=2, simd=9, max_width=8, max_height=6)),
    # Only in --full:
    "k3c4-addressed": ([[6, 4], [1, 1]],
                       dict(kernel=3, c_in=4, c_out=3, pe=3, simd=2, max_width=8, max_height=6)),
}


# name: (frames, config); the first frame size is also the frame-interval check's.
CONVS = {
    # g_a's first layer in miniature: uint8 pixels, SIMD 15 across pixels, 37×23.
    "k5s2c3-first": ([[37, 23], [1, 1], [6, 1], [2, 3]],
                     dict(kernel=5, stride=2, c_in=3, c_out=8, pe=4, simd=15, max_width=40,
                          max_height=24, in_signed=False)),
    # ReLU (uint8 out), word-addressed windows, NF=2 passes replayed from the buffer.
    "k3s2c4-relu": ([[13, 11], [1, 1], [5, 1]],
                    dict(kernel=3, stride=2, c_in=4, c_out=6, pe=3, simd=2, max_width=16,
                         max_height=12, out_signed=False)),
    "k3s1c2-nf2": ([[9, 7], [1, 1], [1, 6]],
                   dict(kernel=3, stride=1, c_in=2, c_out=4, pe=2, simd=6, max_width=16, max_height=12)),
    # Only in --full:
    "k1s1c4-lanes": ([[9, 7], [1, 1], [3, 2]],
                     dict(kernel=1, stride=1, c_in=4, c_out=4, pe=4, simd=4, max_width=12, max_height=9)),
    "k5s2c8-addressed": ([[13, 11], [1, 1], [2, 3]],
                         dict(kernel=5, stride=2, c_in=8, c_out=8, pe=8, simd=4, max_width=16,
                              max_height=12)),
    "k3s2c2-steps": ([[11, 9], [1, 1]],
                     dict(kernel=3, stride=2, c_in=2, c_out=6, pe=6, simd=3, max_width=12,
                          max_height=10)),
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
    "k5s2c3": ([[37, 23], [1, 1], [1, 6], [6, 1], [2, 3]], False,
               dict(kernel=5, stride=2, c_in=3, simd=15, max_width=40, max_height=24,
                    in_signed=False)),
    # Output-bound: 9 beats per window.
    "k3s1c4": ([[13, 11], [1, 1], [1, 5], [7, 2], [16, 12]], False,
               dict(kernel=3, stride=1, c_in=4, simd=4, max_width=16, max_height=12)),
    # Input-bound: a whole window per beat, stride 2.
    "k3s2c2": ([[15, 9], [1, 1], [1, 4], [5, 1], [16, 12]], False,
               dict(kernel=3, stride=2, c_in=2, simd=18, max_width=16, max_height=12)),
    # A wide layer in miniature, word-addressed: 2 beats of 4 channels per pixel.
    "k5s2c8-addressed": ([[13, 11], [1, 1], [1, 4], [5, 1], [16, 12]], True,
                         dict(kernel=5, stride=2, c_in=8, simd=4, max_width=16, max_height=12)),
    # Only in --full:
    "k5s1c3": ([[23, 17], [1, 1], [2, 2], [1, 7]], False,
               dict(kernel=5, stride=1, c_in=3, simd=5, max_width=24, max_height=18)),
    "k3s1c3-simd27": ([[37, 23], [1, 1], [3, 1]], False,
                      dict(kernel=3, stride=1, c_in=3, simd=27, max_width=40, max_height=24)),
    "k5s2c2-simd1": ([[11, 9], [1, 1], [2, 5]], False,
                     dict(kernel=5, stride=2, c_in=2, simd=1, max_width=12, max_height=10)),
    "k3s1c8-addressed": ([[13, 11], [1, 1], [1, 4], [5, 1]], True,
                         dict(kernel=3, stride=1, c_in=8, simd=8, max_width=16, max_height=12)),
    "k3s2c6-addressed": ([[37, 23], [1, 1], [2, 1]], True,
                         dict(kernel=3, stride=2, c_in=6, simd=2, max_width=40, max_height=24)),
    "k5s1c4-addressed": ([[12, 9], [1, 1], [1, 3]], True,
                         dict(kernel=5, stride=1, c_in=4, simd=1, max_width=12, max_height=10)),
}
GLUE = ("skid", "fifo", "abs", "gather", "scatter")
# name: (frames, window config); the AXI wrapper around a window generator, on the
# image side (uint8 pixels of 3 channels, like g_a's first layer).
AXI = {
    "k5s2c3": ([[11, 7], [6, 9]], dict(kernel=5, stride=2, c_in=3, simd=15, max_width=16,
                                         max_height=12, in_signed=False)),
}
DEFAULT = {
    "verilator": [("window", n) for n in ("k5s2c3", "k3s1c4", "k3s2c2", "k5s2c8-addressed")]
    + [("glue", "abs"), ("glue", "gather")]
    + [("conv", "k5s2c3-first"), ("conv", "k3s2c4-relu"), ("gdn", "c4-gdn"), ("gdn", "c6-igdn")]
    + [("encoder", "tiny-student-int8")],
    "icarus": [("window", "k5s2c3")] + [("glue", n) for n in GLUE] + [("axi", "k5s2c3")]
    + [("conv", "k3s1c2-nf2"), ("gdn", "c4-gdn"), ("deconv", "k5c2")],
}


def _case(kind, name, simulator, smoke):
    # Icarus is slow: its smoke runs take the first two frame sizes.
    if kind == "glue":
        return _glue(name, simulator)
    if kind == "conv":
        frames, config = CONVS[name]
        return _conv_case(name, simulator, frames[:2] if smoke else frames, **config)
    if kind == "deconv":
        frames, config = DECONVS[name]
        return _deconv_case(name, simulator, frames[:2] if smoke else frames, **config)
    if kind == "gdn":
        frames, *unit = GDNS[name]
        return _gdn_case(name, simulator, frames[:2] if smoke else frames, *unit)
    if kind == "encoder":
        from .encoder_bench import encoder_case  # trains the tiny student on first use
        return encoder_case(simulator)
    if kind == "axi-encoder":      # CI runs it through tests/boards/test_core.py
        from .encoder_bench import axi_encoder_case
        return axi_encoder_case(simulator)
    if kind == "axi":
        frames, config = AXI[name]
        return _axi_case(name, simulator, frames, **config)
    frames, addressed, config = WINDOWS[name]
    return _window_case(name, simulator, frames[:2] if smoke else frames, addressed, **config)


def cases(full=False, simulators=SIMULATORS):
    """The regression's cases: the default set, or with ``full`` the whole matrix."""
    out = []
    for simulator in simulators:
        if full:
            chosen = ([("window", n) for n in WINDOWS] + [("glue", n) for n in GLUE]
                      + [("axi", n) for n in AXI] + [("conv", n) for n in CONVS]
                      + [("gdn", n) for n in GDNS] + [("deconv", n) for n in DECONVS]
                      + ([("encoder", "tiny-student-int8"), ("axi-encoder", "tiny-student-int8")]
                         if simulator == "verilator" else []))
        else:
            chosen = DEFAULT[simulator]
        smoke = simulator == "icarus" and not full
        out += [_case(kind, name, simulator, smoke) for kind, name in chosen]
    return out


def run_case(case, seed=1, waves=False):
    rng = np.random.default_rng(seed)
    arrays = case.arrays(rng) if case.arrays else None
    return run_bench(case.make(), case.name.replace("/", "_"), case.bench, case.params,
                     arrays=arrays, simulator=case.simulator, seed=seed, waves=waves)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="licfpga regress", description=__doc__.splitlines()[0])
    parser.add_argument("--sim", choices=SIMULATORS, action="append",
                        help="simulator (repeatable; default: both)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--waves", action="store_true", help="record waveforms (FST; VCD "
                        "from Verilator without the lz4 headers)")
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
        print(f"ok   {case.id}: build {result.build_s:.1f} s, run {result.run_s:.1f} s{waves}",
              flush=True)
    print(f"{passed} passed, {failed} failed ({time.monotonic() - start:.0f} s)")
    return 1 if failed or not chosen else 0


if __name__ == "__main__":
    sys.exit(main())
