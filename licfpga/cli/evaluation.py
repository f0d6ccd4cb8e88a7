"""Measuring the models: ``eval`` (RD curves through the codec, with anchors) and
``bdrate`` (BD-rates between the curves of eval reports)."""

from __future__ import annotations

import sys
from pathlib import Path


def cmd_eval(args) -> int:
    # light CLI: loaded when used (SciPy, torch for float models)
    from licfpga.model.evaluate import ANCHOR_QUALITIES, evaluate, plot_rd, summary_lines, write_report

    anchors = () if args.anchors == "none" else tuple(a.strip() for a in args.anchors.split(",") if a.strip())
    report = evaluate(
        Path(args.images),
        args.model,
        anchors=anchors,
        limit=args.limit,
        bd_method=args.bd_method,
        anchor_qualities=tuple(args.anchor_qualities or ANCHOR_QUALITIES),
    )
    if args.json:
        write_report(report, Path(args.json))
    if args.plot:
        plot_rd(report, Path(args.plot))
    print("\n".join(summary_lines(report)))
    return 0


def cmd_bdrate(args) -> int:
    from licfpga.model.evaluate import bd_lines, bd_table, read_report  # light CLI: loaded when used (SciPy)

    anchor = read_report(Path(args.anchor))
    test = read_report(Path(args.test)) if args.test else anchor
    if [i["sha256"] for i in anchor["dataset"]["images"]] != [i["sha256"] for i in test["dataset"]["images"]]:
        print("licfpga: warning: the two reports cover different images", file=sys.stderr)
    anchors = [c for c in anchor["curves"] if not args.anchor_curve or c["label"] in args.anchor_curve]
    tests = [c for c in test["curves"] if not args.test_curve or c["label"] in args.test_curve]
    print("\n".join(bd_lines(bd_table(anchors, tests, args.method))))
    return 0


def register(sub) -> None:
    p = sub.add_parser("eval", help="RD evaluation of models through the codec, with JPEG/WebP anchors")
    p.add_argument("images", help="folder of PNG/JPEG images (e.g. Kodak)")
    p.add_argument("--model", action="append", default=[], help="registry name or weights .pt; repeat for more")
    p.add_argument("--json", help="write the full report (per image, means, curves, BD-rates) here")
    p.add_argument("--plot", help="write the RD plot (PNG) here")
    p.add_argument("--limit", type=int, help="only the first K images (sorted by name)")
    p.add_argument("--anchors", default="jpeg,webp", help="comma-separated anchor codecs (jpeg, webp) or 'none'")
    p.add_argument(
        "--anchor-qualities",
        type=int,
        nargs="+",
        metavar="Q",
        help="the anchors' quality sweep (default: 10 20 … 90 95)",
    )
    p.add_argument("--bd-method", choices=["pchip", "cubic"], default="pchip")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bdrate", help="BD-rate of the curves of one eval report against those of another")
    p.add_argument("anchor", help="eval report (JSON) with the anchor curves")
    p.add_argument("test", nargs="?", help="eval report with the test curves (default: the anchor report)")
    p.add_argument("--anchor-curve", action="append", help="only this anchor curve label; repeat for more")
    p.add_argument("--test-curve", action="append", help="only this test curve label; repeat for more")
    p.add_argument("--method", choices=["pchip", "cubic"], default="pchip")
    p.set_defaults(func=cmd_bdrate)
