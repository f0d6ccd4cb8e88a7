"""The bench cases of the RTL library's blocks, each a `case.Case` whose ``prepare`` makes
the block, its frames and their expected beats (from `sim.reference` and the golden
primitives of `model.intops`, through `sim.stimuli`); `case.run_case` runs them.

- window generators (`rtl.window`): frames of several sizes with random idle and
  back-pressure, then a stall-free frame within `reference.window_cycles`;
- glue blocks (`rtl.glue`): frames through the block, compared with a reference;
- compute engines (`rtl.conv`, `rtl.gdn`, `rtl.deconv`): frames of several sizes with
  random idle and back-pressure, then two frames back to back whose interval must stay
  within `gen.cost`'s;
- the AXI wrapper around a window generator (`rtl.axi`), through its own cocotb bench
  (`sim.tb_axi`: registers, back-pressure, malformed frames).
"""

import zlib
from dataclasses import replace

import numpy as np
from amaranth.hdl import Shape, signed

from ..gen.cost import Folding, layer_cost
from ..gen.layers import ConvSpec, GDNSpec
from ..model.intops import absolute, saturate
from ..rtl.axi import AXIWrapper, stream_bits
from ..rtl.config import LayerConfig
from ..rtl.conv import ConvLayer
from ..rtl.deconv import TransposedConvLayer
from ..rtl.gdn import GDN
from ..rtl.window import AddressedWindow, SlidingWindow
from .case import AXI_BENCH, Beats, Case, CocotbBench, Run, StreamBench, Transfer
from .reference import im2col, pixel_beats, window_beats, window_cycles
from .stimuli import (
    conv_expected,
    conv_frame,
    conv_params,
    deconv_expected,
    deconv_params,
    gdn_config,
    gdn_expected,
    gdn_frame,
    gdn_params,
)

__all__ = ["window_case", "glue_case", "saturated_abs", "conv_case", "gdn_case", "deconv_case", "axi_case"]

#: Source idle and sink stall probabilities of the random-handshake runs.
IDLE = STALL = 0.3
#: Cycles from a window generator's first offered input to an output row's first beat
#: beyond `reference.window_cycles`: the pipeline (issue, read, shadow, output register)
#: and the driver's sampling.
WINDOW_LATENCY = 6
#: Cycles a compute engine's frame interval may exceed `gen.cost`'s.
ENGINE_SLACK = 2


def _size(width, height):
    return f"{width}×{height}"


def _fixed_rng(name):
    # The weights are in the Verilog: the same ones for every seed keep one build per case.
    return np.random.default_rng(zlib.crc32(name.encode()))


def window_case(name, simulator, frames, addressed=False, **config):
    """A window generator (`AddressedWindow` if ``addressed``, else `SlidingWindow`) of
    the `LayerConfig` ``config`` (C_out 4, PE 1 unless given): ``frames`` ([width, height]
    each, the size set at run time) with random handshakes, then the first size again
    without idle or stall, within `reference.window_cycles` plus its latency."""
    cfg = LayerConfig(**{"c_out": 4, "pe": 1, **config})
    in_simd = cfg.simd if addressed else cfg.c_in
    lo, hi = (-(1 << (cfg.in_bits - 1)), 1 << (cfg.in_bits - 1)) if cfg.in_signed else (0, 1 << cfg.in_bits)

    def prepare(rng):
        def transfer(width, height, idle, stall):
            frame = rng.integers(lo, hi, (height, width, cfg.c_in))
            return Transfer(
                _size(width, height),
                pixel_beats(frame, in_simd),
                window_beats(frame, cfg.kernel, cfg.stride, cfg.simd),
                ports={"width": width, "height": height},
                idle=idle,
                stall=stall,
            )

        ideal = window_cycles(cfg, *frames[0], cfg.c_in // in_simd)
        throughput = replace(
            transfer(*frames[0], 0, 0),
            cycle_limit=ideal + WINDOW_LATENCY,
            cycle_model=f"window_cycles {ideal} + latency {WINDOW_LATENCY}",
        )
        return StreamBench(
            (AddressedWindow if addressed else SlidingWindow)(cfg),
            Beats(cfg.in_shape, in_simd),
            Beats(cfg.in_shape, cfg.simd),
            (
                Run("frames_random_handshake", tuple(transfer(w, h, IDLE, STALL) for w, h in frames)),
                Run("throughput", (throughput,)),
            ),
        )

    return Case(f"window/{name}", simulator, prepare)


def glue_case(name, simulator, make, in_bits, out_bits, out_signed, simd_in, simd_out, reference=None):
    """The glue block ``make()`` (signed ``in_bits`` elements, ``simd_in`` a beat, in;
    ``out_bits`` ones, ``simd_out`` a beat, out): three 7×5 frames of 12 channels with
    random handshakes, out as ``reference(frames)`` (the frames themselves without)."""

    def prepare(rng):
        top = (1 << (in_bits - 1)) - 1
        inputs = rng.integers(-top, top + 1, (3, 5, 7, 12))
        outputs = np.asarray(reference(inputs)) if reference else inputs
        return StreamBench(
            make(),
            Beats(signed(in_bits), simd_in),
            Beats(Shape(out_bits, out_signed), simd_out),
            (
                Run(
                    "stream_through",
                    tuple(
                        Transfer(
                            f"frame {n}", pixel_beats(x, simd_in), pixel_beats(y, simd_out), idle=IDLE, stall=STALL
                        )
                        for n, (x, y) in enumerate(zip(inputs, outputs))
                    ),
                ),
            ),
        )

    return Case(f"glue/{name}", simulator, prepare)


def saturated_abs(frames):
    """`rtl.glue.Abs`'s reference: |x| saturated to uint8."""
    return saturate(absolute(frames), 8, signed=False)


def _engine_bench(component, inputs, outputs, frames, sized, pair, interval):
    """A compute engine's runs: ``frames`` ([width, height, input, expected output] each)
    with random handshakes, then ``pair`` (two such frames of one size) back to back
    without idle or stall, their interval within ``interval`` (`gen.cost`'s) plus
    `ENGINE_SLACK`."""

    def transfer(group, **handshake):
        width, height = group[0][:2]
        return Transfer(
            _size(width, height),
            [b for *_, x, _ in group for b in pixel_beats(x, inputs.simd)],
            [b for *_, y in group for b in pixel_beats(y, outputs.simd)],
            ports={"width": width, "height": height} if sized else {},
            frames=len(group),
            **handshake,
        )

    throughput = transfer(
        pair, cycle_limit=interval + ENGINE_SLACK, cycle_model=f"gen.cost's interval {interval} + {ENGINE_SLACK}"
    )
    return StreamBench(
        component,
        inputs,
        outputs,
        (
            Run("frames_random_handshake", tuple(transfer([f], idle=IDLE, stall=STALL) for f in frames)),
            Run("throughput", (throughput,)),
        ),
    )


def _frames(sizes, make):
    """[width, height, input, expected output] of ``make(width, height)`` for each size."""
    return [[w, h, *make(w, h)] for w, h in sizes]


def conv_case(name, simulator, frames, out_signed=True, **config):
    """`rtl.conv.ConvLayer` of the `LayerConfig` ``config`` with random parameters (fixed
    per case) against `stimuli.conv_expected`; the frame interval of ``frames[0]``'s
    size against `gen.cost`."""

    def prepare(rng):
        cfg = LayerConfig(**config)
        params = conv_params(cfg, _fixed_rng(name), out_signed=out_signed)
        spec = ConvSpec(
            name=name,
            kernel=cfg.kernel,
            stride=cfg.stride,
            c_in=cfg.c_in,
            c_out=cfg.c_out,
            in_bits=cfg.in_bits,
            in_signed=cfg.in_signed,
            out_bits=params.out_bits,
            out_signed=out_signed,
            acc_bits=cfg.acc_bits,
            acc_bound_bits=cfg.acc_bits,
        )

        def make(w, h):
            frame = conv_frame(cfg, rng, w, h)
            return frame, conv_expected(cfg, params, frame)

        simd_in = cfg.simd if cfg.addressed(cfg.simd) else cfg.c_in
        interval = layer_cost(spec, Folding(cfg.pe, cfg.simd), *frames[0], cfg.max_width).cycles
        return _engine_bench(
            ConvLayer(cfg, params),
            Beats(cfg.in_shape, simd_in),
            Beats(Shape(params.out_bits, out_signed), cfg.pe),
            _frames(frames, make),
            True,
            _frames([frames[0]] * 2, make),
            interval,
        )

    return Case(f"conv/{name}", simulator, prepare)


def gdn_case(name, simulator, frames, channels, pe, simd, in_bits, inverse):
    """`rtl.gdn.GDN` (inverse: IGDN) of ``channels`` with random parameters (fixed per
    case) at PE/SIMD, against `stimuli.gdn_expected`; the frame interval of
    ``frames[0]``'s size against `gen.cost`."""

    def prepare(rng):
        params = gdn_params(_fixed_rng(name), channels, inverse, in_bits)
        spec = GDNSpec(name, channels, in_bits, params.out_bits, params.coef_bits, params.acc_bits)

        def make(w, h):
            frame = gdn_frame(rng, w, h, channels, in_bits)
            return frame, gdn_expected(params, frame)

        interval = layer_cost(spec, Folding(pe, simd), *frames[0], frames[0][0]).cycles
        return _engine_bench(
            GDN(gdn_config(params, pe, simd)),
            Beats(signed(in_bits), simd),
            Beats(signed(params.out_bits), pe),
            _frames(frames, make),
            False,
            _frames([frames[0]] * 2, make),
            interval,
        )

    return Case(f"gdn/{name}", simulator, prepare)


def deconv_case(name, simulator, frames, **config):
    """`rtl.deconv.TransposedConvLayer` of the transposed `rtl.config.LayerConfig` ``config`` with random
    parameters (fixed per case) against `stimuli.deconv_expected`; the frame interval of
    ``frames[0]``'s size against `gen.cost`'s of its phase convolution plus 2·G cycles
    per input pixel for the odd rows."""

    def prepare(rng):
        cfg = LayerConfig(**config, stride=2, transposed=True)
        params = deconv_params(cfg, _fixed_rng(name))
        phase = cfg.phases
        spec = ConvSpec(
            name=name,
            kernel=phase.kernel,
            stride=phase.stride,
            c_in=phase.c_in,
            c_out=phase.c_out,
            in_bits=cfg.in_bits,
            in_signed=cfg.in_signed,
            out_bits=8,
            out_signed=True,
            acc_bits=cfg.acc_bits,
            acc_bound_bits=cfg.acc_bits,
        )
        width, height = frames[0]
        interval = (
            layer_cost(spec, Folding(cfg.pe, cfg.simd), width, height, cfg.max_width).cycles
            + 2 * (cfg.c_out // cfg.pe) * width * height
        )

        def make(w, h):
            frame = rng.integers(-127, 128, (h, w, cfg.c_in))
            return frame, deconv_expected(cfg, params, frame)

        simd_in = cfg.simd if cfg.addressed(cfg.simd) else cfg.c_in
        return _engine_bench(
            TransposedConvLayer(cfg, params),
            Beats(signed(cfg.in_bits), simd_in),
            Beats(signed(8), cfg.pe),
            _frames(frames, make),
            True,
            _frames([frames[0]] * 2, make),
            interval,
        )

    return Case(f"deconv/{name}", simulator, prepare)


def axi_case(name, simulator, frames, **config):
    """`rtl.axi.AXIWrapper` around a `SlidingWindow` of ``config`` (C_out 4, PE 1 unless
    given), through `sim.tb_axi`: its registers; ``frames`` ([width, height] each) under
    random handshakes; a frame of the first size with TLAST 5 pixels early (completed
    with zeros), one with 3 pixels after its last, each followed by a clean one."""
    config = {"c_out": 4, "pe": 1, **config}

    def prepare(rng):
        cfg = LayerConfig(**config)
        c = cfg.c_in
        images = [rng.integers(0, 1 << cfg.in_bits, (h, w, c)) for w, h in [*frames, frames[0], frames[0]]]
        arrays = {}
        for n, image in enumerate(images):
            arrays[f"in{n}"] = image.reshape(-1, c)
            arrays[f"out{n}"] = im2col(image, cfg.kernel, cfg.stride).reshape(-1, cfg.simd)
        early, missing = len(frames), len(frames) + 1
        short = arrays[f"in{early}"][:-5]
        padded = np.concatenate([short, np.zeros((5, c), dtype=short.dtype)]).reshape(images[early].shape)
        arrays[f"in{early}"], arrays[f"out{early}"] = (
            short,
            im2col(padded, cfg.kernel, cfg.stride).reshape(-1, cfg.simd),
        )
        arrays[f"in{missing}"] = np.concatenate([arrays[f"in{missing}"], rng.integers(0, 1 << cfg.in_bits, (3, c))])
        params = {
            "max": [cfg.max_width, cfg.max_height],
            "model_id": 0,
            "idle": 0.2,
            "stall": 0.3,
            "in": [c, cfg.in_bits, stream_bits(cfg.in_bits * c)],
            "out": [cfg.simd, cfg.in_bits, stream_bits(cfg.in_bits * cfg.simd), False],
            "frames": [[w, h, n] for n, (w, h) in enumerate(frames)],
            "malformed": [[*frames[0], early, "early"], [*frames[0], missing, "missing"]],
        }
        return CocotbBench(AXIWrapper(SlidingWindow(cfg), cfg.max_width, cfg.max_height), AXI_BENCH, params, arrays)

    return Case(f"axi/{name}", simulator, prepare)
