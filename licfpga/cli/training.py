"""Making the models: ``pack``, ``train``, ``distill``, ``campaign``, ``export``,
``learning-curve``, ``quantize``, ``quant-ablation``. The handlers import the library
(torch) inside, so that the other commands and ``--help`` stay light."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import UserError
from .args import deadline


def cmd_pack(args) -> int:
    from licfpga.model.data import build_pack  # light CLI: torch loads only here

    summary = build_pack(Path(args.images), Path(args.out), tile=args.tile, max_mib=args.max_mib, seed=args.seed)
    print(
        f"{args.out}: {summary['tiles']} tiles of {args.tile}px from {summary['images']} images, "
        f"{summary['bytes'] / 2**20:.1f} MiB"
    )
    return 0


def _train_config(args, teacher: str | None):
    from licfpga.model.train import TrainConfig  # light CLI: torch loads only here

    return TrainConfig(
        data=args.data,
        out=args.out,
        N=args.N,
        M=args.M,
        lmbda=args.lmbda,
        steps=args.steps,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        lr_drops=tuple(args.lr_drops),
        seed=args.seed,
        device=args.device,
        bf16=args.bf16,
        channels_last=args.channels_last,
        compile=args.compile,
        init=args.init,
        teacher=teacher,
        kd_start=getattr(args, "kd_start", 0.5),
        kd_latent=getattr(args, "kd_latent", 1.0),
        kd_image=getattr(args, "kd_image", 1.0),
        time_limit_min=args.time_limit,
        checkpoint_every=args.checkpoint_every,
    )


def cmd_train(args) -> int:
    from licfpga.model.train import train  # light CLI: torch loads only here

    print(train(_train_config(args, None)))
    return 0


def cmd_distill(args) -> int:
    from licfpga.model.train import train  # light CLI: torch loads only here

    print(train(_train_config(args, args.teacher)))
    return 0


def cmd_campaign(args) -> int:
    from licfpga.model import campaign  # light CLI: torch loads only here

    weights = {"weights": Path(args.weights)} if args.weights else {}
    if args.export or args.report or args.needs is not None or args.adopt:
        camp = campaign.Campaign(args.runs, **weights)
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
        raise UserError("campaign: give --deadline (or --export / --report)")
    campaign.run(
        Path(args.runs),
        Path(args.data),
        args.deadline,
        stage=args.stage,
        segment_min=args.segment,
        batch=args.batch,
        crop=args.crop,
        device=args.device,
        bf16=not args.fp32,
        channels_last=not args.fp32,
        compile=args.compile,
        **weights,
    )
    return 0


def cmd_export(args) -> int:
    from licfpga.model.train import export_checkpoint  # light CLI: torch loads only here

    print(export_checkpoint(args.checkpoint, args.quality, args.role, args.name, args.out_dir))
    return 0


def cmd_learning_curve(args) -> int:
    # light CLI: loaded when used
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
        print(
            f"{c['name']:24} {c['step'][-1]:6.0f} steps {c['minutes'][-1]:6.1f} min  loss {c['loss'][-1]:.3f}  "
            f"bpp {c['bpp'][-1]:.3f}  PSNR {c['psnr'][-1]:.2f} dB{extrapolation}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(curves, f, indent=1)
    return 0


def cmd_quantize(args) -> int:
    # light CLI: torch loads only here
    from licfpga.model.quantize import QuantizeConfig, quantize
    from licfpga.model.registry import WEIGHTS_DIR

    print(
        quantize(
            QuantizeConfig(
                model=args.model,
                data=args.data,
                out_dir=args.out or str(WEIGHTS_DIR),
                name=args.name,
                steps=args.steps,
                batch=args.batch,
                crop=args.crop,
                lr=args.lr,
                gdn_in_bits=args.gdn_bits,
                gdn_coef_bits=args.gdn_coef_bits,
                percentile=args.percentile,
                calib_images=args.calib_images,
                seed=args.seed,
                device=args.device,
                checkpoint=args.checkpoint,
            )
        )
    )
    return 0


def cmd_quant_ablation(args) -> int:
    # light CLI: torch loads only here
    from licfpga.model.evaluate import bd_lines, write_report
    from licfpga.model.quantize import ablation

    report = ablation(
        Path(args.images),
        args.model,
        calib=Path(args.calib),
        limit=args.limit,
        calib_images=args.calib_images,
        percentile=args.percentile,
    )
    if args.json:
        write_report(report, Path(args.json))
    print("\n".join(bd_lines(report["bd"]) + [f"note: {note}" for note in report["notes"]]))
    return 0


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
    p.add_argument(
        "--bf16",
        action="store_true",
        help="bf16 autocast of the wide convolutions (y, GDN, hyper path, entropy models stay fp32)",
    )
    p.add_argument("--channels-last", action="store_true", help="NHWC activations (faster on the CPU)")
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the network (CPU: +23%% steps/s after a ~50 s compile)"
    )
    p.add_argument("--init", help="start from these weights (registry name or .pt)")
    p.add_argument("--time-limit", type=float, help="minutes; checkpoint and stop when reached")
    p.add_argument("--checkpoint-every", type=int, default=200)


def register(sub) -> None:
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
    p.add_argument("--deadline", type=deadline, help="HH:MM or +MINUTES: checkpoint and stop then")
    p.add_argument("--stage", help="train this stage of the plan now instead of the first unfinished one")
    p.add_argument("--segment", type=float, default=5.0, help="minutes between checkpoint + validation")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--device", default="cpu")
    p.add_argument("--fp32", action="store_true", help="no bf16 autocast / channels_last")
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the network once per stage (CPU: +23%% steps/s after a ~50 s compile)",
    )
    p.add_argument("--weights", help="folder of the shipped weights stages start from (default: the package's)")
    p.add_argument(
        "--needs",
        type=int,
        metavar="K",
        help="list the weight files the next K unfinished stages start or learn from (what a GPU run carries)",
    )
    p.add_argument("--adopt", metavar="DIR", help="continue from the stage weights in DIR (a GPU run's export)")
    p.add_argument("--export", action="store_true", help="write the fp16 weights of every trained stage")
    p.add_argument("--export-dir", help="where --export writes (default: the shipped weights folder)")
    p.add_argument("--report", help="write the campaign's Markdown table here (e.g. results/campaign.md)")
    p.add_argument(
        "--kodak",
        help="with --report: an eval report (results/kodak.json) whose Kodak bpp/PSNR join "
        "the table where they are of the stage's current weights",
    )
    p.set_defaults(func=cmd_campaign)

    p = sub.add_parser("export", help="turn a training checkpoint into shipped fp16 weights")
    p.add_argument("checkpoint")
    p.add_argument("--quality", type=int, required=True, help="rate index, 1 = lowest rate")
    p.add_argument("--role", choices=["teacher", "student"], default="teacher")
    p.add_argument("--name")
    p.add_argument("--out-dir")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("learning-curve", help="training curves of shipped models, with a log-time extrapolation")
    p.add_argument("models", nargs="*", help="model names (default: all shipped float models)")
    p.add_argument("--plot", help="PNG to write")
    p.add_argument("--json", help="JSON to write")
    p.set_defaults(func=cmd_learning_curve)

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

    p = sub.add_parser(
        "quant-ablation", help="BD-rate of the integer variants (QAT hybrid, PTQ, int8 GDN) against their float model"
    )
    p.add_argument("images", help="folder of evaluation images (e.g. Kodak)")
    p.add_argument("--model", action="append", required=True, help="float model at one rate; repeat for each rate")
    p.add_argument("--json", help="write the report here")
    p.add_argument(
        "--calib",
        required=True,
        help="photos (or a patch pack) for the PTQ variants' calibration: training data, never the evaluation images",
    )
    p.add_argument("--calib-images", type=int, default=16)
    p.add_argument("--percentile", type=float, default=99.99)
    p.add_argument("--limit", type=int, help="only the first K images (sorted by name)")
    p.set_defaults(func=cmd_quant_ablation)
