"""The ``licfpga`` command. Each subcommand is a small function; the work lives in the packages."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_models(args) -> int:
    from licfpga.model.registry import list_models

    models = list_models()
    if args.json:
        print(json.dumps([{k: v for k, v in m.as_json().items() if k not in ("path", "training")} for m in models], indent=2))
        return 0
    print(f"{'name':24} {'role':8} {'N':>4} {'M':>4} {'q':>2} {'lambda':>8} {'KD':>3} {'int':>3} {'params':>9} {'MAC/px':>8}")
    for m in models:
        print(f"{m.name:24} {m.role:8} {m.N:4d} {m.M:4d} {m.quality:2d} {m.lmbda:8.4f} {'yes' if m.distilled else 'no':>3} "
              f"{'yes' if m.integer else 'no':>3} {m.params:9,d} {m.macs_per_pixel:8,.0f}")
    return 0


def cmd_pack(args) -> int:
    from licfpga.model.data import build_pack

    summary = build_pack(Path(args.images), Path(args.out), tile=args.tile, max_mib=args.max_mib, seed=args.seed)
    print(f"{args.out}: {summary['tiles']} tiles of {args.tile}px from {summary['images']} images, "
          f"{summary['bytes'] / 2**20:.1f} MiB")
    return 0


def _train_config(args, teacher: str | None):
    from licfpga.model.train import TrainConfig

    return TrainConfig(data=args.data, out=args.out, N=args.N, M=args.M, lmbda=args.lmbda, steps=args.steps,
                       batch=args.batch, crop=args.crop, lr=args.lr, lr_drops=tuple(args.lr_drops), seed=args.seed,
                       device=args.device, bf16=args.bf16, channels_last=args.channels_last, compile=args.compile, init=args.init, teacher=teacher,
                       kd_start=getattr(args, "kd_start", 0.5), kd_latent=getattr(args, "kd_latent", 1.0),
                       kd_image=getattr(args, "kd_image", 1.0), time_limit_min=args.time_limit,
                       checkpoint_every=args.checkpoint_every)


def cmd_train(args) -> int:
    from licfpga.model.train import train

    print(train(_train_config(args, None)))
    return 0


def cmd_distill(args) -> int:
    from licfpga.model.train import train

    print(train(_train_config(args, args.teacher)))
    return 0


def _deadline(text: str) -> float:
    """``HH:MM`` (today, or tomorrow when already past) or ``+MIN`` → a ``time.time()``."""
    import datetime as dt
    import time

    try:
        if text.startswith("+"):
            return time.time() + 60 * float(text[1:])
        hour, minute = (int(part) for part in text.split(":"))
        now = dt.datetime.now()
        when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return (when if when > now else when + dt.timedelta(days=1)).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(f"--deadline must be HH:MM or +MINUTES, got {text!r}") from None


def cmd_campaign(args) -> int:
    from licfpga.model import campaign

    weights = Path(args.weights) if args.weights else None
    if args.export or args.report or args.needs is not None or args.adopt:
        camp = campaign.Campaign(args.runs, weights=weights) if weights else campaign.Campaign(args.runs)
        if args.adopt:
            print("adopted: " + (", ".join(camp.adopt(Path(args.adopt))) or "nothing"))
        if args.needs is not None:
            print("\n".join(str(p) for p in camp.needs(args.needs)))
        if args.export:
            for stage in camp.plan:
                if stage.ship and (out := camp.export(stage.name, Path(args.export_dir or camp.weights))):
                    print(out)
        if args.report:
            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
            kodak = json.loads(Path(args.kodak).read_text()) if args.kodak else None
            Path(args.report).write_text(campaign.report(camp, kodak))
            print(args.report)
        return 0
    if args.deadline is None:
        print("licfpga: error: campaign: give --deadline (or --export / --report)", file=sys.stderr)
        return 2
    try:
        campaign.run(Path(args.runs), Path(args.data), args.deadline, stage=args.stage, segment_min=args.segment,
                     batch=args.batch, crop=args.crop, device=args.device, bf16=not args.fp32,
                     channels_last=not args.fp32, compile=args.compile, **({"weights": weights} if weights else {}))
    except (ValueError, FileNotFoundError) as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_export(args) -> int:
    import torch

    from licfpga.model.hyperprior import ScaleHyperprior, load_state_dict_strict
    from licfpga.model.registry import WEIGHTS_DIR, model_name, save_weights

    state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    cfg = state["config"]
    model = ScaleHyperprior(cfg["N"], cfg["M"])
    load_state_dict_strict(model, state["model"])
    role = "student" if cfg.get("teacher") or args.role == "student" else "teacher"
    distilled = bool(cfg.get("teacher"))
    name = args.name or model_name(role, cfg["N"], args.quality, distilled)
    out = Path(args.out_dir or WEIGHTS_DIR) / f"{name}.pt"
    last = state["history"][-1] if state["history"] else {}
    training = {"steps": state["step"], "seconds": round(last.get("seconds", 0.0)), "lmbda": cfg["lmbda"],
                "batch": cfg["batch"], "crop": cfg["crop"], "device": cfg["device"], "init": cfg.get("init"),
                "teacher": cfg.get("teacher"), "data": Path(cfg["data"]).name, "history": state["history"]}
    save_weights(model, out, name=name, role=role, quality=args.quality, lmbda=cfg["lmbda"], distilled=distilled,
                 training=training)
    print(out)
    return 0


def _float_backend(codec):
    from licfpga.model.codec import CodecError, FloatBackend, IntegerCodec

    if isinstance(codec, IntegerCodec):
        raise CodecError(f"{codec.name} is an integer model: its encoder is --backend golden (or the hardware)")
    return FloatBackend(codec.model)


def _golden_backend(codec):
    from licfpga.model.codec import CodecError, IntegerCodec
    from licfpga.model.golden import GoldenBackend

    if not isinstance(codec, IntegerCodec):
        raise CodecError(f"{codec.name} is a float model: --backend golden runs integer models "
                         f"(e.g. {codec.name}-int8, made by licfpga quantize)")
    return GoldenBackend(codec.artefact)


def _hardware_backend(name, factory):
    """A backend of the AXI-wrapped encoder (`boards.host`): ``factory(artefact, MODEL)``."""
    def make(codec):
        from licfpga.model.codec import CodecError, IntegerCodec

        if not isinstance(codec, IntegerCodec):
            raise CodecError(f"{codec.name} is a float model: --backend {name} runs the encoder generated from an "
                             f"integer model (e.g. {codec.name}-int8)")
        from licfpga.boards import host
        from licfpga.rtl.axi import model_register

        return getattr(host, factory)(codec.artefact, model_register(codec.model_id))
    return make


#: Analysis backends of ``compress --backend``: name -> factory(codec) -> AnalysisBackend. Hardware
#: backends are added here, so that ``model/`` never imports hardware code. Without --backend a
#: codec uses its own default (``Codec.default_backend_name``: golden for integer models).
BACKENDS = {"float": _float_backend, "golden": _golden_backend,
            "rtl-sim": _hardware_backend("rtl-sim", "rtl_sim_analysis"),
            "board": _hardware_backend("board", "board_analysis")}


def _report_errors(action) -> int:
    """Run ``action``; a codec, model, image or file error becomes one line on stderr and exit status 1."""
    from PIL import Image, UnidentifiedImageError

    from licfpga.model.codec import CodecError
    from licfpga.model.registry import ModelError

    try:
        return action()
    except (CodecError, ModelError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        message = str(exc)
    except OSError as exc:
        message = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
    print(f"licfpga: error: {message}", file=sys.stderr)
    return 1


def _use_threads(count: int | None) -> None:
    """``--threads``: the BLAS threads of the integer layers' GEMMs, set before numpy
    loads; None keeps all cores. The output does not depend on it."""
    import os

    if count is not None:
        if count < 1:
            raise SystemExit(f"licfpga: error: --threads must be at least 1, got {count}")
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(count)


def cmd_compress(args) -> int:
    import time

    _use_threads(args.threads)
    from licfpga.model.codec import Codec, compress
    from licfpga.model.registry import default_codec_model

    def run() -> int:
        start = time.perf_counter()
        codec = Codec.load(args.model or default_codec_model())
        summary = compress(args.input, args.output, codec, BACKENDS[args.backend or codec.default_backend_name](codec),
                           verify=args.verify)
        print(f"{args.output}: {summary.bytes} bytes, {summary.bpp:.4f} bpp ({summary.width}×{summary.height}), "
              f"{time.perf_counter() - start:.2f} s")
        return 0

    return _report_errors(run)


def cmd_decompress(args) -> int:
    _use_threads(args.threads)
    from licfpga.model.codec import decompress

    def run() -> int:
        image = decompress(args.input, args.output, args.model)
        print(f"{args.output}: {image.shape[1]}×{image.shape[0]} {'gray' if image.ndim == 2 else 'RGB'}")
        return 0

    return _report_errors(run)


def cmd_demo(args) -> int:
    """Compress and decompress the bundled sample photo with a shipped model."""
    import time
    from importlib.resources import files

    from licfpga.model.codec import Codec, compress, decompress, read_image
    from licfpga.model.metrics import ms_ssim, psnr
    from licfpga.model.registry import default_codec_model

    def run() -> int:
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
        print(f"model {codec.name}, backend {backend}: kodim23 crop {summary.width}×{summary.height} → "
              f"{out / 'sample.lic'} ({summary.bytes} bytes, {summary.bpp:.3f} bpp), "
              f"PSNR {psnr(original, decoded):.2f} dB, MS-SSIM {ms_ssim(original, decoded):.4f}, "
              f"encode {encoded - start:.2f} s, decode {done - encoded:.2f} s → {out / 'sample-decoded.png'}")
        return 0

    return _report_errors(run)


def cmd_learning_curve(args) -> int:
    from licfpga.model.curves import curve, plot_curves
    from licfpga.model.registry import list_models, model_info

    # Integer artefacts carry no training history of their own (QAT is logged by quantize).
    infos = [model_info(name) for name in args.models] if args.models else [i for i in list_models() if not i.integer]
    curves = [curve(info) for info in infos]
    if args.plot:
        plot_curves(curves, args.plot)
        print(f"wrote {args.plot}")
    for c in curves:
        if not c["minutes"]:
            print(f"{c['name']:24} no training history")
            continue
        fit = c["fit"]
        extrapolation = f", loss at 10× compute ≈ {fit['loss_at_10x']:.3f}" if fit else ""
        print(f"{c['name']:24} {c['step'][-1]:6.0f} steps {c['minutes'][-1]:6.1f} min  loss {c['loss'][-1]:.3f}  "
              f"bpp {c['bpp'][-1]:.3f}  PSNR {c['psnr'][-1]:.2f} dB{extrapolation}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(curves, f, indent=1)
    return 0


def cmd_eval(args) -> int:
    from licfpga.model.evaluate import ANCHOR_QUALITIES, EvalError, evaluate, plot_rd, summary_lines, write_report
    from licfpga.model.registry import ModelError

    anchors = () if args.anchors == "none" else tuple(a.strip() for a in args.anchors.split(",") if a.strip())
    try:
        report = evaluate(Path(args.images), args.model, anchors=anchors, limit=args.limit, bd_method=args.bd_method,
                          anchor_qualities=tuple(args.anchor_qualities or ANCHOR_QUALITIES))
        if args.json:
            write_report(report, Path(args.json))
        if args.plot:
            plot_rd(report, Path(args.plot))
    except (EvalError, ModelError, OSError) as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(summary_lines(report)))
    return 0


def cmd_bdrate(args) -> int:
    from licfpga.model.evaluate import EvalError, bd_lines, bd_table, read_report

    try:
        anchor = read_report(Path(args.anchor))
        test = read_report(Path(args.test)) if args.test else anchor
    except EvalError as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 1
    if [i["sha256"] for i in anchor["dataset"]["images"]] != [i["sha256"] for i in test["dataset"]["images"]]:
        print("licfpga: warning: the two reports cover different images", file=sys.stderr)
    anchors = [c for c in anchor["curves"] if not args.anchor_curve or c["label"] in args.anchor_curve]
    tests = [c for c in test["curves"] if not args.test_curve or c["label"] in args.test_curve]
    print("\n".join(bd_lines(bd_table(anchors, tests, args.method))))
    return 0


def cmd_plan(args) -> int:
    from licfpga.gen.balance import BalanceError
    from licfpga.gen.plan import DEVICES, choose_width, device_table, table_markdown
    from licfpga.model.evaluate import EvalError, read_report

    try:
        if args.table:
            rows = device_table(args.clock_mhz)
            result, text = rows, table_markdown(rows, args.clock_mhz)
        else:
            device = DEVICES.get(args.device.upper())
            if device is None:
                raise BalanceError(f"unknown device {args.device!r} (known: {', '.join(DEVICES)})")
            width, _, height = args.resolution.lower().partition("x")
            if not (width.isdigit() and height.isdigit()):
                raise BalanceError(f"--resolution {args.resolution!r} is not WIDTHxHEIGHT")
            rd = read_report(Path(args.rd_report)) if args.rd_report else None
            result = choose_width(device, args.fps, (int(width), int(height)), args.clock_mhz, rd)
            text = result["why"]
    except (BalanceError, EvalError) as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(text)
    return 0


def cmd_synth(args) -> int:
    from licfpga.gen.balance import BalanceError
    from licfpga.gen.synth import DEFAULT_CACHE, SynthError, markdown, synthesize_design
    from licfpga.model.registry import ModelError

    try:
        report = synthesize_design(_design_args(args), Path(args.cache or DEFAULT_CACHE), args.jobs)
    except (BalanceError, ModelError, SynthError, ValueError) as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_json(), indent=1) + "\n")
    print(markdown(report))
    return 0


def _frame_arg(text: str, option: str) -> tuple[int, int]:
    from licfpga.gen.balance import BalanceError

    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise BalanceError(f"{option} {text!r} is not WIDTHxHEIGHT")
    return int(width), int(height)


def cmd_generate(args) -> int:
    import time

    from licfpga.gen.balance import BalanceError
    from licfpga.gen.encoder import generate
    from licfpga.model.registry import ModelError

    try:
        d = _design_args(args)
        start = time.perf_counter()
        files = generate(d, Path(args.out), args.clock_mhz)
    except (BalanceError, ModelError, ValueError) as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 1
    plan = d.plan
    print(f"{args.out}: encoder of {d.artefact.name} ({plan.objective}, {plan.dsp} DSPs, "
          f"{plan.interval() / (plan.width * plan.height):.3f} cycles/px on {plan.width}×{plan.height}), "
          f"generated in {time.perf_counter() - start:.1f} s: {', '.join(p.name for p in files.values())}")
    return 0


def _design_args(args):
    """The `gen.encoder.plan_design` of generate's (and bench-rtl's) options."""
    from licfpga.gen.encoder import plan_design

    return plan_design(args.model, args.dsp_budget, args.fps, args.clock_mhz,
                       _frame_arg(args.resolution, "--resolution"),
                       _frame_arg(args.max_frame, "--max-frame") if args.max_frame else None)


def _add_design_args(p) -> None:
    p.add_argument("--model", help="integer artefact: registry name or .json (default: the shipped default student's)")
    p.add_argument("--dsp-budget", type=int, help="DSPs to balance within (default: the XCZU9EG's less 10%%)")
    p.add_argument("--fps", type=float, help="instead of a budget: the fewest DSPs for this frame rate")
    p.add_argument("--clock-mhz", type=float, default=300.0, help="assumed clock (only a timing report confirms one)")
    p.add_argument("--resolution", default="1280x720", help="WIDTHxHEIGHT the plan is balanced on (padded to 64)")
    p.add_argument("--max-frame", help="WIDTHxHEIGHT of the line buffers (default 1920x1088)")


def cmd_bench_rtl(args) -> int:
    import json

    from licfpga.gen.balance import BalanceError
    from licfpga.model.registry import ModelError
    from licfpga.sim.frame_bench import bench, bench_frame, bench_summary
    from licfpga.sim.runner import BenchFailure

    try:
        d = _design_args(args)
        frame, source = bench_frame(args.image)
        result = bench(d, frame, frames=args.frames, jobs=args.jobs,
                       log=lambda line: print(line, file=sys.stderr))
    except (BalanceError, ModelError, ValueError, OSError, BenchFailure) as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 1
    result["image"] = source
    if not args.no_synth:
        from licfpga.gen.synth import synthesize_design

        report = synthesize_design(d)
        result.update(report.total)
        result.update({"resources": f"yosys synth_xilinx -family xcup, per engine, summed ({report.yosys})",
                       "capacity": report.capacity, "fits": report.fits,
                       # "DSPs used" as synthesis maps them, not as the plan counts them
                       "dsp_efficiency": result["macs_per_frame"] / (result["interval_cycles"] * report.total["dsp"])})
    else:
        result.update({"dsp": result["plan_dsp"], "bram36": result["plan_bram36"], "lut": None, "ff": None,
                       "resources": "analytical (--no-synth)"})
    print(bench_summary(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["bit_exact"] else 2


def cmd_quantize(args) -> int:
    from licfpga.model.artefact import ArtefactError
    from licfpga.model.quantize import QuantizeConfig, quantize
    from licfpga.model.registry import WEIGHTS_DIR, ModelError

    cfg = QuantizeConfig(model=args.model, data=args.data, out_dir=args.out or str(WEIGHTS_DIR), name=args.name,
                         steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr, gdn_in_bits=args.gdn_bits,
                         gdn_coef_bits=args.gdn_coef_bits, percentile=args.percentile,
                         calib_images=args.calib_images, seed=args.seed, device=args.device,
                         checkpoint=args.checkpoint)

    def run() -> int:
        try:
            print(quantize(cfg))
        except ArtefactError as exc:  # e.g. an accumulator or ẑ table that does not fit: one line
            raise ModelError(str(exc)) from None
        return 0

    return _report_errors(run)


def cmd_quant_ablation(args) -> int:
    from licfpga.model.evaluate import EvalError, bd_lines, write_report
    from licfpga.model.quantize import ablation
    from licfpga.model.registry import ModelError

    try:
        report = ablation(Path(args.images), args.model, calib=Path(args.calib),
                          limit=args.limit, calib_images=args.calib_images, percentile=args.percentile)
        if args.json:
            write_report(report, Path(args.json))
    except (EvalError, ModelError, OSError) as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(bd_lines(report["bd"]) + [f"note: {note}" for note in report["notes"]]))
    return 0


def cmd_build(args) -> int:
    from licfpga.boards.vivado import build
    from licfpga.gen.balance import BalanceError
    from licfpga.gen.synth import SynthError
    from licfpga.model.registry import ModelError

    try:
        tree, status = build(args.design, Path(args.out), args.model, args.dsp_budget, args.clock_mhz,
                             synth=args.synth)
    except (BalanceError, ModelError, SynthError, ValueError) as exc:
        print(f"licfpga: error: {exc}", file=sys.stderr)
        return 1
    print(f"{tree.root}: {tree.summary}")
    print(tree.resources.markdown(), end="")
    print(f"{tree.resources.summary()} (details: {tree.root / 'report.md'})")
    if status is None:
        print(f"vivado is not on PATH: the tree is ready; to build it, run\n"
              f"  cd {tree.root} && {' '.join(tree.command)}")
        return 0
    print(f"vivado exited with status {status}")
    return status


def _add_training_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="folder of photos or a patch pack (.npz)")
    p.add_argument("--out", required=True, help="checkpoint; resumed when it exists")
    p.add_argument("--N", type=int, default=128)
    p.add_argument("--M", type=int, default=192)
    p.add_argument("--lmbda", type=float, default=0.0067)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lr-drops", type=float, nargs="*", default=[0.75], help="fractions of --steps where lr falls 3x")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast of the wide convolutions (y, GDN, hyper path, entropy models stay fp32)")
    p.add_argument("--channels-last", action="store_true", help="NHWC activations (faster on the CPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile the network (CPU: +23%% steps/s after a "
                                                          "~50 s compile)")
    p.add_argument("--init", help="start from these weights (registry name or .pt)")
    p.add_argument("--time-limit", type=float, help="minutes; checkpoint and stop when reached")
    p.add_argument("--checkpoint-every", type=int, default=200)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="licfpga", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list the shipped models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("pack", help="cut a folder of photos into one compact patch pack")
    p.add_argument("images")
    p.add_argument("out")
    p.add_argument("--tile", type=int, default=256)
    p.add_argument("--max-mib", type=float, default=40.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("train", help="RD-train a model (the teacher)")
    _add_training_arguments(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("distill", help="train a student: RD first, then with distillation terms")
    _add_training_arguments(p)
    p.add_argument("--teacher", required=True, help="teacher weights (registry name or .pt)")
    p.add_argument("--kd-start", type=float, default=0.5, help="fraction of --steps before distillation terms join")
    p.add_argument("--kd-latent", type=float, default=1.0)
    p.add_argument("--kd-image", type=float, default=1.0)
    p.set_defaults(N=64, func=cmd_distill)

    p = sub.add_parser("campaign", help="continue the RD training campaign (model/campaign.py) until a deadline")
    p.add_argument("--data", default="../shared/data/train", help="folder of training photos or a patch pack")
    p.add_argument("--runs", default="runs/campaign", help="checkpoints and state (resumed)")
    p.add_argument("--deadline", type=_deadline, help="HH:MM or +MINUTES: checkpoint and stop then")
    p.add_argument("--stage", help="train this stage of the plan now instead of the first unfinished one")
    p.add_argument("--segment", type=float, default=5.0, help="minutes between checkpoint + validation")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--device", default="cpu")
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast / channels_last")
    p.add_argument("--compile", action="store_true", help="torch.compile the network once per stage "
                                                          "(CPU: +23%% steps/s after a ~50 s compile)")
    p.add_argument("--weights", help="folder of the shipped weights stages start from (default: the package's)")
    p.add_argument("--needs", type=int, metavar="K", help="list the weight files the next K unfinished stages start "
                                                           "or learn from (what a GPU run carries)")
    p.add_argument("--adopt", metavar="DIR", help="continue from the stage weights in DIR (a GPU run's export)")
    p.add_argument("--export", action="store_true", help="write the fp16 weights of every trained stage")
    p.add_argument("--export-dir", help="where --export writes (default: the shipped weights folder)")
    p.add_argument("--report", help="write the campaign's Markdown table here (e.g. results/campaign.md)")
    p.add_argument("--kodak", help="with --report: an eval report (results/kodak.json) whose Kodak bpp/PSNR join "
                                   "the table where they are of the stage's current weights")
    p.set_defaults(func=cmd_campaign)

    p = sub.add_parser("demo", help="compress and decompress the bundled sample photo (Kodak kodim23, cropped)")
    p.add_argument("--model", help="registry name or weight file (default: the shipped default student's integer artefact)")
    p.add_argument("--backend", choices=sorted(BACKENDS), help="default: golden for integer models, else float")
    p.add_argument("--out", default="demo-output", help="folder for the .lic file and the decoded PNG")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("learning-curve", help="training curves of shipped models, with a log-time extrapolation")
    p.add_argument("models", nargs="*", help="model names (default: all shipped float models)")
    p.add_argument("--plot", help="PNG to write")
    p.add_argument("--json", help="JSON to write")
    p.set_defaults(func=cmd_learning_curve)

    p = sub.add_parser("export", help="turn a training checkpoint into shipped fp16 weights")
    p.add_argument("checkpoint")
    p.add_argument("--quality", type=int, required=True, help="rate index, 1 = lowest rate")
    p.add_argument("--role", choices=["teacher", "student"], default="teacher")
    p.add_argument("--name")
    p.add_argument("--out-dir")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("quantize", help="integer artefact of a float model: calibration, QAT fine-tune, export")
    p.add_argument("--model", required=True, help="float model: registry name or weights .pt")
    p.add_argument("--data", required=True, help="folder of photos or a patch pack (.npz): calibration and QAT crops")
    p.add_argument("--steps", type=int, default=1000, help="QAT steps; 0 = post-training quantization only")
    p.add_argument("--out", help="folder for NAME.npz and NAME.json (default: the shipped models' folder)")
    p.add_argument("--name", help="default: the float model's name + '-int8'")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--gdn-bits", type=int, choices=[8, 16], default=8, help="precision entering each GDN (b_g)")
    p.add_argument("--gdn-coef-bits", type=int, default=26, help="GDN coefficient width (26 = GDN32)")
    p.add_argument("--percentile", type=float, default=99.99, help="of |activation| for its range (100 = max)")
    p.add_argument("--calib-images", type=int, default=16, help="calibration crops")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--checkpoint", help="QAT training checkpoint, resumed when it exists (default runs/NAME-qat.pt)")
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("quant-ablation", help="BD-rate of the integer variants (QAT hybrid, PTQ, int8 GDN) "
                                              "against their float model")
    p.add_argument("images", help="folder of evaluation images (e.g. Kodak)")
    p.add_argument("--model", action="append", required=True, help="float model at one rate; repeat for each rate")
    p.add_argument("--json", help="write the report here")
    p.add_argument("--calib", required=True,
                   help="photos (or a patch pack) for the PTQ variants' calibration: training data, never the evaluation images")
    p.add_argument("--calib-images", type=int, default=16)
    p.add_argument("--percentile", type=float, default=99.99)
    p.add_argument("--limit", type=int, help="only the first K images (sorted by name)")
    p.set_defaults(func=cmd_quant_ablation)

    p = sub.add_parser("compress", help="compress an image into a .lic file")
    p.add_argument("input", help="image file (RGB, grayscale, palette, or opaque RGBA)")
    p.add_argument("output", help=".lic file")
    p.add_argument("--model", help="registry name, weights .pt or artefact .json (default: the shipped default student's integer artefact)")
    p.add_argument("--backend", choices=sorted(BACKENDS),
                   help="what runs the analysis transform (default: golden for integer models, else float)")
    p.add_argument("--threads", type=int, help="threads (default: all cores; the file is the same for any count)")
    p.add_argument("--verify", action="store_true", help="also decode the file (g_s, the decoder's work) and check it "
                                                         "gives the encoder's reconstruction exactly")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="decode a .lic file into an image")
    p.add_argument("input", help=".lic file")
    p.add_argument("output", help="image file; the format follows the extension")
    p.add_argument("--model", help="weights .pt or registry name (default: the model named in the file)")
    p.add_argument("--threads", type=int, help="threads (default: all cores; the image is the same for any count)")
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("eval", help="RD evaluation of models through the codec, with JPEG/WebP anchors")
    p.add_argument("images", help="folder of PNG/JPEG images (e.g. Kodak)")
    p.add_argument("--model", action="append", default=[], help="registry name or weights .pt; repeat for more")
    p.add_argument("--json", help="write the full report (per image, means, curves, BD-rates) here")
    p.add_argument("--plot", help="write the RD plot (PNG) here")
    p.add_argument("--limit", type=int, help="only the first K images (sorted by name)")
    p.add_argument("--anchors", default="jpeg,webp", help="comma-separated anchor codecs (jpeg, webp) or 'none'")
    p.add_argument("--anchor-qualities", type=int, nargs="+", metavar="Q",
                   help="the anchors' quality sweep (default: 10 20 … 90 95)")
    p.add_argument("--bd-method", choices=["pchip", "cubic"], default="pchip")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bdrate", help="BD-rate of the curves of one eval report against those of another")
    p.add_argument("anchor", help="eval report (JSON) with the anchor curves")
    p.add_argument("test", nargs="?", help="eval report with the test curves (default: the anchor report)")
    p.add_argument("--anchor-curve", action="append", help="only this anchor curve label; repeat for more")
    p.add_argument("--test-curve", action="append", help="only this test curve label; repeat for more")
    p.add_argument("--method", choices=["pchip", "cubic"], default="pchip")
    p.set_defaults(func=cmd_bdrate)

    p = sub.add_parser("synth", help="resource estimate of the generated encoder: every engine synthesized by "
                                     "Yosys (synth_xilinx -family xcup), cached, summed against the XCZU9EG")
    _add_design_args(p)
    p.add_argument("--json", help="write the report here as JSON")
    p.add_argument("--jobs", type=int, default=1, help="Yosys processes at once")
    p.add_argument("--cache", help="folder of cached results (default: build/synth)")
    p.set_defaults(func=cmd_synth)

    sub.add_parser("regress", add_help=False,
                   help="cocotb regression of the RTL blocks on Verilator and Icarus (licfpga regress --help)")

    p = sub.add_parser("plan", help="the student width N that meets a frame rate on a device (analytical model); "
                                    "--table: N × DSP × BRAM × fps per device")
    p.add_argument("--device", default="XCZU9EG", help="XCZU9EG (ZCU102), XCZU7EV (ZCU104) or XCZU3EG")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--resolution", default="1280x720", help="WIDTHxHEIGHT; padded to a multiple of 64")
    p.add_argument("--clock-mhz", type=float, default=300.0, help="assumed clock (only a timing report confirms one)")
    p.add_argument("--rd-report", help="an eval report (licfpga eval --json): rank N by its BD-rates")
    p.add_argument("--table", action="store_true", help="print the table for every device and N instead")
    p.add_argument("--json", help="write the decision (or the table) here as JSON")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("generate", help="the encoder's Verilog, manifest and report from an integer artefact")
    p.add_argument("--out", required=True, help="folder for licfpga_encoder.v, manifest.json, report.md/.json")
    _add_design_args(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("bench-rtl", help="one Kodak-size frame through the generated encoder in Verilator: "
                                         "cycles/px vs the model, DSP efficiency, bit-exact check, Yosys resources")
    _add_design_args(p)
    p.add_argument("--image", help="the frame (default: the bundled Kodak crop, resized to 768x512)")
    p.add_argument("--frames", type=int, default=2, help="frames streamed back to back (2: steady-state interval)")
    p.add_argument("--jobs", type=int, default=1, help="compiler jobs of the Verilator build")
    p.add_argument("--no-synth", action="store_true", help="skip Yosys; report the analytical resources")
    p.add_argument("--json", help="write the measurements here")
    p.set_defaults(func=cmd_bench_rtl)

    p = sub.add_parser("build", help="write the Vivado tree of a board design (and run Vivado if it is on PATH)")
    p.add_argument("--board", choices=["zcu102"], default="zcu102")
    p.add_argument("--design", choices=["ps", "selftest"], default="ps",
                   help="ps: behind AXI DMA in a Zynq UltraScale+ block design; selftest: ROM frame, verdict on LEDs/UART")
    p.add_argument("--model", help="integer artefact whose encoder is the core: registry name or .json (default: the "
                                   "shipped default student's)")
    p.add_argument("--dsp-budget", type=int, help="DSPs the encoder is balanced within (default: the XCZU9EG's less 10%%)")
    p.add_argument("--synth", action="store_true", help="the estimate's encoder figures from Yosys (licfpga synth's, "
                                                         "cached; slow the first time for a large student)")
    p.add_argument("--clock-mhz", type=float, help="PL clock of ps (default 300, assumed until timing confirms it); "
                                                   "selftest runs at the board's 125 MHz")
    p.add_argument("--out", required=True, help="folder for the tree")
    p.set_defaults(func=cmd_build)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["regress"]:  # its own parser: --sim, --seed, --waves, --full, -k
        from licfpga.sim.regress import main as regress

        return regress(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
