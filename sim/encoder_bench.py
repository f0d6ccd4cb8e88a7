"""The cases of the generated encoder (`encoder_case`, `axi_encoder_case`): a tiny trained
student, its generated encoder at a small DSP budget, small real image crops and the
integer golden model's packets for them (`gen.encoder.golden_packet`).

The tiny student (N=8, M=16) is trained for 200 steps on crops of the bundled Kodak
photo and smooth noisy gradients (about 5 s on one core), then quantized after
training (PTQ) and exported. Training is seeded and single-threaded, so the same
machine makes the same artefact, hence the same Verilog and one cached Verilator
build for every run of the bench; the artefact is kept under the build folder.
"""

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch
from amaranth.hdl import signed, unsigned
from PIL import Image

from ..gen.balance import balance_dsp
from ..gen.encoder import design, golden_packet
from ..gen.layers import encoder_from_artefact
from ..model.artefact import load_artefact, read_manifest
from ..model.data import CropSampler
from ..model.hyperprior import ScaleHyperprior, load_state_dict_strict
from ..model.quantize import QuantizedHyperprior, calibrate, export
from ..model.registry import load_integer_model, model_id
from ..model.train import TrainConfig, train
from ..rtl.axi import AXIWrapper, model_register
from .case import AXI_BENCH, Beats, Case, CocotbBench, Run, StreamBench, Transfer
from .reference import pixel_beats
from .runner import BUILD_ROOT

__all__ = [
    "TINY",
    "BUDGET",
    "MAX_FRAME",
    "tiny_student",
    "tiny_design",
    "tiny_model_register",
    "crops",
    "encoder_case",
    "axi_encoder_case",
]

TINY = {"N": 8, "M": 16}
#: A DSP budget that keeps the tiny encoder near 5 cycles per pixel (64×64 plan frame).
BUDGET = 100
MAX_FRAME = (64, 64)
RECIPE = "tiny-student-v1"  # change when the recipe below changes: a new artefact
ARTEFACT = "tiny-student-int8"


def _gradient(rng, width, height):
    """A smooth colour gradient with mild noise."""
    yy, xx = np.mgrid[0:height, 0:width] / max(width, height)
    base = np.stack(
        [rng.uniform(0, 255) + rng.uniform(-200, 200) * (a * xx + (1 - a) * yy) for a in rng.uniform(0, 1, 3)], axis=-1
    )
    return (base + rng.normal(0, 6, base.shape)).clip(0, 255).astype(np.uint8)


def _kodak():
    with Image.open(files("licfpga") / "data" / "kodim23-crop.png") as im:
        return np.asarray(im.convert("RGB"))


def crops(rng, sizes):
    """One frame per (width, height): crops of the Kodak photo, every third a gradient."""
    photo = _kodak()
    out = []
    for n, (w, h) in enumerate(sizes):
        if n % 3 == 2:
            out.append(_gradient(rng, w, h))
        else:
            y0, x0 = rng.integers(0, photo.shape[0] - h + 1), rng.integers(0, photo.shape[1] - w + 1)
            out.append(photo[y0 : y0 + h, x0 : x0 + w].copy())
    return out


def tiny_student(folder: Path | None = None) -> Path:
    """The tiny student's artefact (manifest path), made once per ``folder``."""
    folder = Path(folder or BUILD_ROOT / "artefacts" / RECIPE)
    manifest = folder / "int" / f"{ARTEFACT}.json"
    if manifest.exists():
        return manifest
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    Image.fromarray(_kodak()).save(photos / "kodim23-crop.png")
    for n in range(4):
        Image.fromarray(_gradient(rng, 96, 96)).save(photos / f"gradient{n}.png")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        checkpoint = folder / "tiny-student.ckpt"
        train(
            TrainConfig(
                data=str(photos),
                out=str(checkpoint),
                **TINY,
                lmbda=0.05,
                steps=200,
                batch=4,
                crop=64,
                lr=3e-3,
                checkpoint_every=200,
                seed=0,
            )
        )
        model = ScaleHyperprior(**TINY)
        load_state_dict_strict(model, torch.load(checkpoint, weights_only=False)["model"])
        batch = CropSampler(photos, crop=64).batch(8, np.random.default_rng(1))
        q = QuantizedHyperprior.from_float(model, calibrate(model, batch))
        meta = {
            "role": "student",
            "quality": 1,
            "lmbda": 0.05,
            "distilled": False,
            "source": {"name": RECIPE},
            "quantization": {"method": "ptq"},
        }
        return export(q, ARTEFACT, meta).save(folder / "int")
    finally:
        torch.set_num_threads(threads)


@lru_cache(maxsize=None)
def tiny_design(manifest: Path, budget: int = BUDGET, max_frame: tuple[int, int] = MAX_FRAME):
    """The generated encoder of an artefact at ``budget`` DSPs, planned on ``max_frame``."""
    artefact = load_artefact(manifest)
    plan = balance_dsp(encoder_from_artefact(artefact), budget, frame=max_frame, max_frame=max_frame)
    return design(artefact, plan, read_manifest(manifest)["npz"]["sha256"])


def tiny_model_register(manifest: Path) -> int:
    """What the MODEL register of the tiny student's AXI-wrapped encoder reads: its
    fingerprint as the codec records it (`model.registry.model_id`)."""
    return model_register(model_id(load_integer_model(manifest)[1]))


def _packet_beats(elements, *parts):
    """The encoder's output beats of a frame's packet: one element each, the pixels of
    each part ([w, h, c]: ŷ, ẑ, the scale indexes) in turn, ``eop`` on each pixel's last
    channel, ``eol`` on each row's, ``first`` and ``last`` on the packet's ends."""
    beats = []
    for w, h, c in parts:
        for _ in range(h):
            for x in range(w):
                for ch in range(c):
                    end = ch == c - 1
                    beats.append(
                        {
                            "data": [int(elements[len(beats)])],
                            "first": 0,
                            "last": 0,
                            "eol": int(end and x == w - 1),
                            "eop": int(end),
                        }
                    )
    beats[0]["first"] = beats[-1]["last"] = 1
    return beats


def encoder_case(simulator="verilator"):
    """The tiny student's encoder (`Case`): Kodak crops and gradients of five sizes one
    after another (the size set before each while the encoder is empty) with random
    source idle and sink back-pressure; two frames of one size back to back while the
    sink refuses the output for 3,000 cycles mid-ŷ, on ẑ's first element, on the first
    scale index (the next frame's pixels keep coming) and in the second ŷ; and the same two at full rate,
    their interval within 2% of `gen.cost`'s plus the packet's beats."""
    sizes = [(64, 48), (32, 32), (40, 24), (16, 16), (48, 64), (64, 64), (64, 64)]
    sequence, pair, tolerance = [0, 1, 2, 3, 4], [5, 6], 0.02

    def prepare(rng):
        d = tiny_design(tiny_student())
        frames = []
        for frame in crops(rng, sizes):
            d.check_frame(frame.shape[1], frame.shape[0])
            elements, y, *rest = golden_packet(d.artefact, frame)
            frames.append(
                (frame, _packet_beats(elements, y, *rest), int(np.prod(y)), int(np.prod(y) + np.prod(rest[0])))
            )

        def transfer(indexes, **handshake):
            height, width = frames[indexes[0]][0].shape[:2]
            return Transfer(
                f"{width}×{height}" + (f" ×{len(indexes)}" if len(indexes) > 1 else ""),
                [b for n in indexes for b in pixel_beats(frames[n][0], 3)],
                [b for n in indexes for b in frames[n][1]],
                ports={"width": width, "height": height},
                frames=len(indexes),
                **handshake,
            )

        _, first, y_len, yz_len = frames[pair[0]]
        packet = len(first)
        interval = d.model_cycles(*sizes[pair[0]])
        return StreamBench(
            d.component(),
            Beats(unsigned(8), 3),
            Beats(signed(16), 1),
            (
                Run("frames_random_handshake", tuple(transfer([n], idle=0.3, stall=0.3) for n in sequence)),
                Run(
                    "long_sink_stall",
                    (
                        transfer(
                            pair,
                            stall=0.1,
                            long_stalls=(
                                (y_len // 3, 3000),
                                (y_len, 3000),
                                (yz_len, 3000),
                                (packet + y_len // 2, 3000),
                            ),
                        ),
                    ),
                ),
                Run(
                    "throughput",
                    (
                        transfer(
                            pair,
                            cycle_limit=interval * (1 + tolerance) + packet,
                            cycle_model=f"gen.cost's {interval} ·(1 + {tolerance}) + {packet} packet beats",
                        ),
                    ),
                ),
            ),
            patience=20_000,
            drain=16,
        )

    return Case(f"encoder/{ARTEFACT}", simulator, prepare)


def axi_encoder_case(simulator="verilator"):
    """The tiny student's encoder behind the AXI wrapper (`Case`), through the AXI bench
    (`sim.tb_axi`): its registers, two clean frames of different sizes, a frame with an early
    TLAST and one without TLAST, each followed by a clean one."""
    clean = [(64, 48), (40, 24)]
    early, missing = (48, 32), (32, 32)

    def prepare(rng):
        d = tiny_design(tiny_student())
        model = tiny_model_register(tiny_student())
        frames = crops(rng, clean + [early, missing])
        arrays = {}
        for n, frame in enumerate(frames[:2]):
            arrays[f"in{n}"], arrays[f"out{n}"] = frame.reshape(-1, 3), golden_packet(d.artefact, frame)[0]
        # early TLAST: the wrapper completes the frame with zero pixels
        short = frames[2].reshape(-1, 3)[:-5]
        padded = np.concatenate([short, np.zeros((5, 3), dtype=np.uint8)]).reshape(frames[2].shape)
        arrays["in2"], arrays["out2"] = short, golden_packet(d.artefact, padded)[0]
        # missing TLAST: three more pixels follow, dropped up to their TLAST
        extra = rng.integers(0, 256, (3, 3), dtype=np.uint8)
        arrays["in3"] = np.concatenate([frames[3].reshape(-1, 3), extra])
        arrays["out3"] = golden_packet(d.artefact, frames[3])[0]
        # one int16 element per output beat, a pixel in a 32-bit input word
        arrays.update({key: value.reshape(-1, 1) for key, value in arrays.items() if key.startswith("out")})
        params = {
            "max": list(MAX_FRAME),
            "model_id": model,
            "idle": 0.2,
            "stall": 0.3,
            "in": [3, 8, 32],
            "out": [1, 16, 16, True],
            "frames": [[w, h, n] for n, (w, h) in enumerate(clean)],
            "malformed": [[*early, 2, "early"], [*missing, 3, "missing"]],
        }
        return CocotbBench(AXIWrapper(d.component(), *MAX_FRAME, model), AXI_BENCH, params, arrays)

    # Named as boards.host.RtlSimBackend names its builds (axi_encoder_<artefact>), so that
    # the host driver's and the codec's rtl-sim tests on a 64×64 frame share this build.
    return Case(f"axi_encoder/{ARTEFACT}", simulator, prepare)
