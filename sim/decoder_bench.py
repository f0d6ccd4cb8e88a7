"""The cases of the generated decoder's two cores: the tiny trained student of
`sim.encoder_bench`, its g_s (`decoder_case`) and its h_s (`hyper_case`) at small DSP
budgets, the integer golden encoder's ŷ and ẑ of small real crops, and what the golden
decoder makes of them (`gen.decoder.golden_decoded`, `gen.hyper.golden_indexes`).
"""

from functools import lru_cache
from pathlib import Path

import numpy as np
from amaranth.hdl import signed, unsigned

from ..gen import hyper
from ..gen.balance import balance_dsp
from ..gen.decoder import decoder_from_artefact, design, golden_decoded, golden_latent
from ..gen.layers import hyper_from_artefact
from ..model.artefact import load_artefact, read_manifest
from ..model.golden import GoldenModel
from .case import Beats, Case, Run, StreamBench, Transfer
from .encoder_bench import ARTEFACT, crops, tiny_student
from .reference import pixel_beats

__all__ = [
    "BUDGET",
    "MAX_FRAME",
    "HYPER_BUDGET",
    "HYPER_MAX_FRAME",
    "tiny_decoder",
    "tiny_hyper",
    "hyper_latent",
    "decoder_case",
    "hyper_case",
]

#: A DSP budget that keeps the tiny decoder near 4.5 cycles per decoded pixel (64×64).
BUDGET = 150
#: The decoded frame the plan is balanced on and the line buffers hold: ŷ of 4×4.
MAX_FRAME = (64, 64)
#: The tiny hyper-decoder's budget: h_s's 3×3 convolution at 9 MACs a cycle.
HYPER_BUDGET = 20
#: The image frame the hyper-decoder is planned on and its line buffers hold: ẑ of 2×2.
HYPER_MAX_FRAME = (128, 128)


@lru_cache(maxsize=None)
def tiny_decoder(manifest: Path, budget: int = BUDGET, max_frame: tuple[int, int] = MAX_FRAME):
    """The generated decoder of an artefact at ``budget`` DSPs, planned on ``max_frame``."""
    artefact = load_artefact(manifest)
    plan = balance_dsp(decoder_from_artefact(artefact), budget, frame=max_frame, max_frame=max_frame)
    return design(artefact, plan, read_manifest(manifest)["npz"]["sha256"])


@lru_cache(maxsize=None)
def tiny_hyper(manifest: Path, budget: int = HYPER_BUDGET, max_frame: tuple[int, int] = HYPER_MAX_FRAME):
    """The generated hyper-decoder of an artefact at ``budget`` DSPs, planned on ``max_frame``."""
    artefact = load_artefact(manifest)
    plan = balance_dsp(hyper_from_artefact(artefact), budget, frame=max_frame, max_frame=max_frame)
    return hyper.design(artefact, plan, read_manifest(manifest)["npz"]["sha256"])


def hyper_latent(artefact, frame) -> np.ndarray:
    """ẑ of an (H, W, 3) uint8 frame from the golden g_a and h_a, as an (h, w, N) array: the
    hyper-decoder's input, in its element order."""
    golden = GoldenModel(artefact)
    x = np.ascontiguousarray(frame).transpose(2, 0, 1)[None].astype(np.int64)
    return golden.h_a(golden.g_a(x))[0].transpose(1, 2, 0)


def decoder_case(simulator="verilator"):
    """The tiny student's decoder (`Case`): ŷ of Kodak crops and gradients of five sizes
    (ŷ 4×4 to 1×1) one after another, the size set before each while the decoder is
    empty, with random source idle and sink back-pressure; two 4×4 frames back to back
    while the sink refuses the output for 3,000 cycles three times (mid-frame, on the
    second frame's first pixel, and in it); and the same two at full rate, their interval
    within 2% of `gen.cost`'s plus one decoded row.

    Measured (two frames' ends apart, gen.cost's interval): 32,768 and 32,768 cycles at
    100 DSPs, 18,240 and 18,304 at 150 (the case's budget), 14,176 and 14,272 at 200;
    with FIFOs of two pixels only behind the transposed convolutions, 23,520 at 150
    (`rtl.decoder.decoder_fifo_depth` says why)."""
    sizes = [(64, 64), (32, 48), (48, 16), (16, 16), (64, 32), (64, 64), (64, 64)]  # decoded; ŷ a sixteenth
    sequence, pair, tolerance = [0, 1, 2, 3, 4], [5, 6], 0.02

    def prepare(rng):
        d = tiny_decoder(tiny_student())
        frames = []
        for frame in crops(rng, sizes):
            y = golden_latent(d.artefact, frame)
            d.check_frame(y.shape[1], y.shape[0])
            frames.append((y, golden_decoded(d.artefact, y)))

        def transfer(indexes, **handshake):
            height, width = frames[indexes[0]][0].shape[:2]
            return Transfer(
                f"ŷ {width}×{height}" + (f" ×{len(indexes)}" if len(indexes) > 1 else ""),
                [b for n in indexes for b in pixel_beats(frames[n][0], 1)],
                [b for n in indexes for b in pixel_beats(frames[n][1], 3)],
                ports={"width": width, "height": height},
                frames=len(indexes),
                **handshake,
            )

        y, x = frames[pair[0]]
        pixels = x.shape[0] * x.shape[1]
        interval = d.model_cycles(y.shape[1], y.shape[0])
        # Two frames' ends are an interval apart once the slowest engine runs without a
        # pause; a frame's last row leaves the last row shuffle one pixel per cycle.
        row = x.shape[1]
        return StreamBench(
            d.component(),
            Beats(signed(16), 1),
            Beats(unsigned(8), 3),
            (
                Run("frames_random_handshake", tuple(transfer([n], idle=0.3, stall=0.3) for n in sequence)),
                Run(
                    "long_sink_stall",
                    (
                        transfer(
                            pair,
                            stall=0.1,
                            long_stalls=((pixels // 3, 3000), (pixels, 3000), (pixels + pixels // 2, 3000)),
                        ),
                    ),
                ),
                Run(
                    "throughput",
                    (
                        transfer(
                            pair,
                            cycle_limit=interval * (1 + tolerance) + row,
                            cycle_model=f"gen.cost's {interval} ·(1 + {tolerance}) + a row of {row} pixels",
                        ),
                    ),
                ),
            ),
            patience=20_000,
            drain=16,
        )

    return Case(f"decoder/{ARTEFACT}", simulator, prepare)


def hyper_case(simulator="verilator"):
    """The tiny student's hyper-decoder (`Case`): ẑ of Kodak crops and gradients of four
    sizes (2×2 to 1×1) one after another, the size set before each while the core is
    empty, with random source idle and sink back-pressure; two 2×2 frames back to back
    while the sink refuses the output for 3,000 cycles three times (mid-frame, on the
    second frame's first index, and in it); and the same two at full rate, their
    interval within 2% of `gen.hyper`'s model plus one output row of indexes."""
    sizes = [(128, 128), (64, 64), (128, 64), (64, 128), (128, 128), (128, 128)]  # images; ẑ a 64th
    sequence, pair, tolerance = [0, 1, 2, 3], [4, 5], 0.02

    def prepare(rng):
        d = tiny_hyper(tiny_student())
        frames = []
        for frame in crops(rng, sizes):
            z = hyper_latent(d.artefact, frame)
            d.check_frame(z.shape[1], z.shape[0])
            frames.append((z, hyper.golden_indexes(d.artefact, z)))

        def transfer(indexes, **handshake):
            height, width = frames[indexes[0]][0].shape[:2]
            return Transfer(
                f"ẑ {width}×{height}" + (f" ×{len(indexes)}" if len(indexes) > 1 else ""),
                [b for n in indexes for b in pixel_beats(frames[n][0], 1)],
                [b for n in indexes for b in pixel_beats(frames[n][1], 1)],
                ports={"width": width, "height": height},
                frames=len(indexes),
                **handshake,
            )

        z, s = frames[pair[0]]
        elements = s.size
        interval = d.model_cycles(z.shape[1], z.shape[0])
        # A frame's last output row leaves the index convolution after the interval.
        row = s.shape[1] * s.shape[2]
        last = d.config.stages[-1]
        return StreamBench(
            d.component(),
            Beats(d.config.stages[0].in_shape, 1),
            Beats(last.out_shape, 1),
            (
                Run("frames_random_handshake", tuple(transfer([n], idle=0.3, stall=0.3) for n in sequence)),
                Run(
                    "long_sink_stall",
                    (
                        transfer(
                            pair,
                            stall=0.1,
                            long_stalls=((elements // 3, 3000), (elements, 3000), (elements + elements // 2, 3000)),
                        ),
                    ),
                ),
                Run(
                    "throughput",
                    (
                        transfer(
                            pair,
                            cycle_limit=interval * (1 + tolerance) + row,
                            cycle_model=f"gen.hyper's {interval} ·(1 + {tolerance}) + a row of {row} indexes",
                        ),
                    ),
                ),
            ),
            patience=20_000,
            drain=16,
        )

    return Case(f"hyper/{ARTEFACT}", simulator, prepare)
