"""Using the shipped models: ``models``, ``compress``, ``decompress``, ``demo``.

``compress`` and ``decompress`` of an integer model are the quick start: the handlers
import the library inside, so that ``--help`` loads none of it, and the integer path
loads neither torch nor the hardware packages (they load only for ``--backend rtl-sim``
or ``board``)."""

from __future__ import annotations

import json
import os
import sys
import time
from importlib.resources import files
from pathlib import Path

from .args import positive_int


def _float_backend(codec):
    from licfpga.model.codec import CodecError, FloatBackend, IntegerCodec  # light CLI: loaded when used

    if isinstance(codec, IntegerCodec):
        raise CodecError(f"{codec.name} is an integer model: its encoder is --backend golden (or the hardware)")
    return FloatBackend(codec.model)


def _integer(codec, name, runs):
    """Refuses a float ``codec`` for ``--backend name``, which ``runs`` something of an
    integer model."""
    from licfpga.model.codec import CodecError, IntegerCodec  # light CLI: loaded when used

    if not isinstance(codec, IntegerCodec):
        raise CodecError(f"{codec.name} is a float model: --backend {name} runs {runs} (e.g. {codec.name}-int8)")


def _golden_backend(codec):
    from licfpga.model.golden import GoldenBackend  # light CLI: loaded when used

    _integer(codec, "golden", "integer models, made by licfpga quantize")
    return GoldenBackend(codec.artefact)


def _golden_synthesis(codec):
    _integer(codec, "golden", "integer models, made by licfpga quantize")
    return codec.synthesis


def _hardware_backend(name, factory):
    """A backend of the AXI-wrapped cores (`boards.host`): ``factory(artefact, MODEL)``, the
    encoder's (analysis) or the decoder's (synthesis)."""

    def make(codec):
        _integer(codec, name, "the hardware generated from an integer model")
        # light CLI: the hardware packages load only for a hardware backend of an integer model
        from licfpga.boards import host
        from licfpga.rtl.axi import model_register

        return getattr(host, factory)(codec.artefact, model_register(codec.model_id))

    return make


#: Analysis backends of ``compress --backend``: name -> factory(codec) -> AnalysisBackend. Hardware
#: backends are added here, so that ``model/`` never imports hardware code. Without --backend a
#: codec uses its own default (``Codec.default_backend_name``: golden for integer models).
BACKENDS = {
    "float": _float_backend,
    "golden": _golden_backend,
    "rtl-sim": _hardware_backend("rtl-sim", "rtl_sim_analysis"),
    "board": _hardware_backend("board", "board_analysis"),
}


#: Synthesis backends of ``decompress --backend`` (h_s and g_s of an integer model): name ->
#: factory(codec) -> SynthesisBackend, wired in here as `BACKENDS`. Without --backend an integer
#: model decodes with the golden one and a float model with its own float network.
SYNTHESIS_BACKENDS = {
    "golden": _golden_synthesis,
    "rtl-sim": _hardware_backend("rtl-sim", "rtl_sim_synthesis"),
    "board": _hardware_backend("board", "board_synthesis"),
}


def _use_threads(count: int | None) -> None:
    """``--threads``: the BLAS threads of the integer layers' GEMMs, set before numpy
    loads; None keeps all cores. The output does not depend on it."""
    if count is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(count)


def cmd_models(args) -> int:
    from licfpga.model.registry import list_models  # light CLI: loaded when used

    models = list_models()
    if args.json:
        print(
            json.dumps(
                [{k: v for k, v in m.as_json().items() if k not in ("path", "training")} for m in models], indent=2
            )
        )
        return 0
    print(
        f"{'name':24} {'role':8} {'N':>4} {'M':>4} {'q':>2} {'lambda':>8} {'KD':>3} {'int':>3} {'params':>9} "
        f"{'MAC/px':>8}"
    )
    for m in models:
        print(
            f"{m.name:24} {m.role:8} {m.N:4d} {m.M:4d} {m.quality:2d} {m.lmbda:8.4f} {'yes' if m.distilled else 'no':>3} "
            f"{'yes' if m.integer else 'no':>3} {m.params:9,d} {m.macs_per_pixel:8,.0f}"
        )
    return 0


def cmd_compress(args) -> int:
    _use_threads(args.threads)
    # light CLI, and after --threads: numpy reads the thread count when it loads
    from licfpga.model.codec import Codec, VerifyError, compress
    from licfpga.model.registry import default_codec_model

    start = time.perf_counter()
    codec = Codec.load(args.model or default_codec_model())
    backend = BACKENDS[args.backend or codec.default_backend_name](codec)
    try:
        summary = compress(args.input, args.output, codec, backend, verify=args.verify)
    except VerifyError as exc:  # the codec's fault, not a user error: status 1, as a failed check
        print(f"licfpga: verify failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"{args.output}: {summary.bytes} bytes, {summary.bpp:.4f} bpp ({summary.width}×{summary.height}), "
        f"{time.perf_counter() - start:.2f} s"
    )
    return 0


def cmd_decompress(args) -> int:
    _use_threads(args.threads)
    # light CLI, and after --threads (see cmd_compress)
    from licfpga.model.codec import decompress, file_codec, read_header

    codec = file_codec(read_header(Path(args.input).read_bytes()), args.model)
    backend = SYNTHESIS_BACKENDS[args.backend](codec) if args.backend else None
    image = decompress(args.input, args.output, codec, backend)
    print(f"{args.output}: {image.shape[1]}×{image.shape[0]} {'gray' if image.ndim == 2 else 'RGB'}")
    return 0


def cmd_demo(args) -> int:
    # light CLI: loaded when used
    from licfpga.model.codec import Codec, compress, decompress, read_image
    from licfpga.model.metrics import ms_ssim, psnr
    from licfpga.model.registry import default_codec_model

    sample = files("licfpga") / "data" / "kodim23-crop.png"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    codec = Codec.load(args.model or default_codec_model())
    backend = args.backend or codec.default_backend_name
    start = time.perf_counter()
    summary = compress(sample, out / "sample.lic", codec, BACKENDS[backend](codec))
    encoded = time.perf_counter()
    decoded = decompress(out / "sample.lic", out / "sample-decoded.png", codec)
    done = time.perf_counter()
    original = read_image(sample)
    print(
        f"model {codec.name}, backend {backend}: kodim23 crop {summary.width}×{summary.height} → "
        f"{out / 'sample.lic'} ({summary.bytes} bytes, {summary.bpp:.3f} bpp), "
        f"PSNR {psnr(original, decoded):.2f} dB, MS-SSIM {ms_ssim(original, decoded):.4f}, "
        f"encode {encoded - start:.2f} s, decode {done - encoded:.2f} s → {out / 'sample-decoded.png'}"
    )
    return 0


def register(sub) -> None:
    p = sub.add_parser("models", help="list the shipped models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("compress", help="compress an image into a .lic file")
    p.add_argument("input", help="image file (RGB, grayscale, palette, or opaque RGBA)")
    p.add_argument("output", help=".lic file")
    p.add_argument(
        "--model",
        help="registry name, weights .pt or artefact .json (default: the shipped default student's integer artefact)",
    )
    p.add_argument(
        "--backend",
        choices=sorted(BACKENDS),
        help="what runs the analysis transform (default: golden for integer models, else float)",
    )
    p.add_argument(
        "--threads", type=positive_int, help="threads (default: all cores; the file is the same for any count)"
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="also decode the file (g_s, the decoder's work) and check it gives the encoder's reconstruction exactly",
    )
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decode a .lic file into an image")
    p.add_argument("input", help=".lic file")
    p.add_argument("output", help="image file; the format follows the extension")
    p.add_argument("--model", help="weights .pt or registry name (default: the model named in the file)")
    p.add_argument(
        "--backend",
        choices=sorted(SYNTHESIS_BACKENDS),
        help="what runs h_s and g_s of an integer model (default: golden; a float model decodes with its own "
        "float network)",
    )
    p.add_argument(
        "--threads", type=positive_int, help="threads (default: all cores; the image is the same for any count)"
    )
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("demo", help="compress and decompress the bundled sample photo (Kodak kodim23, cropped)")
    p.add_argument(
        "--model", help="registry name or weight file (default: the shipped default student's integer artefact)"
    )
    p.add_argument("--backend", choices=sorted(BACKENDS), help="default: golden for integer models, else float")
    p.add_argument("--out", default="demo-output", help="folder for the .lic file and the decoded PNG")
    p.set_defaults(func=cmd_demo)
