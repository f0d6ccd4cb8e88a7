"""The hardware: ``plan`` (the student width a device affords), ``generate`` (Verilog,
manifest, report; ``--part decoder|hyper``: the decoder's g_s or h_s core), ``synth``
(Yosys resources), ``bench-rtl`` (a full frame in Verilator; ``--part decoder``: through
g_s) and ``regress`` (the cocotb regression). The handlers import the hardware packages
inside, so that the codec commands and ``--help`` stay light."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .args import frame, positive_float, positive_int


def cmd_plan(args) -> int:
    if "numpy" not in sys.modules:
        # The host's rates are per core: where they are measured now, one BLAS thread
        # (numpy reads the count when it loads; a value the user set is kept).
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
    # light CLI: loaded when used
    from licfpga.gen.balance import BalanceError
    from licfpga.gen.plan import DEVICES, choose_width, device_table, system_of, table_markdown
    from licfpga.model.evaluate import read_report
    from licfpga.model.hostspeed import load_or_measure

    if args.table:
        result = device_table(args.clock_mhz)
        text = table_markdown(result, args.clock_mhz)
    else:
        device = DEVICES.get(args.device.upper())
        if device is None:
            raise BalanceError(f"unknown device {args.device!r} (known: {', '.join(DEVICES)})")
        rd = read_report(Path(args.rd_report)) if args.rd_report else None
        result = choose_width(device, args.fps, args.resolution, args.clock_mhz, rd)
        text = result["why"]
        if result["chosen"] is not None:
            speed = load_or_measure(args.host_speed, args.measure_host)
            system = system_of(result, speed, args.arm_factor, args.host_cores)
            result["system"] = {k: v for k, v in system.items() if k != "markdown"}
            head = "The whole system around it (encode: PL + host + DDR; decode: host + PL h_s, g_s + DDR):\n\n"
            text += "\n\n" + (head if system["rows"] else "") + system["markdown"]
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    print(text)
    return 0


def _part(name):
    """The generator module of a ``--part``: `gen.encoder`, `gen.decoder` or `gen.hyper`."""
    if name == "decoder":
        from licfpga.gen import decoder as part  # light CLI: loaded when used
    elif name == "hyper":
        from licfpga.gen import hyper as part  # light CLI: loaded when used
    else:
        from licfpga.gen import encoder as part  # light CLI: loaded when used
    return part


def _design(args):
    """The ``plan_design`` of the design options (`_add_design_args`) of the generator of
    ``--part`` (the encoder's where a command has none)."""
    plan_design = _part(getattr(args, "part", "encoder")).plan_design
    return plan_design(args.model, args.dsp_budget, args.fps, args.clock_mhz, args.resolution, args.max_frame)


def cmd_generate(args) -> int:
    design = _design(args)
    start = time.perf_counter()
    files = _part(args.part).generate(design, Path(args.out), args.clock_mhz)
    plan = design.plan
    print(
        f"{args.out}: {args.part} of {design.artefact.name} ({plan.objective}, {plan.dsp} DSPs, "
        f"{plan.interval() / (plan.width * plan.height):.3f} cycles/px on {plan.width}×{plan.height}), "
        f"generated in {time.perf_counter() - start:.1f} s: {', '.join(p.name for p in files.values())}"
    )
    return 0


def cmd_synth(args) -> int:
    from licfpga.gen.synth import DEFAULT_CACHE, markdown, synthesize_design  # light CLI: loaded when used

    report = synthesize_design(_design(args), Path(args.cache or DEFAULT_CACHE), args.jobs, clock_mhz=args.clock_mhz)
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_json(), indent=1) + "\n")
    print(markdown(report))
    return 0


def cmd_bench_rtl(args) -> int:
    # light CLI: loaded when used
    from licfpga.gen.synth import synthesize_design
    from licfpga.sim.frame_bench import add_resources, bench, bench_frame, bench_summary

    design = _design(args)
    image, source = bench_frame(args.image)
    result = bench(design, image, frames=args.frames, jobs=args.jobs, log=lambda line: print(line, file=sys.stderr))
    result["image"] = source
    add_resources(result, None if args.no_synth else synthesize_design(design))
    print(bench_summary(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["bit_exact"] else 1


def regress(argv: list[str]) -> int:
    """``licfpga regress ...``: the regression parses its own options (`sim.regress`)."""
    from licfpga.sim.regress import main  # light CLI: loaded when used (cocotb)

    return main(argv)


def _add_design_args(p) -> None:
    p.add_argument("--model", help="integer artefact: registry name or .json (default: the shipped default student's)")
    p.add_argument("--dsp-budget", type=int, help="DSPs to balance within (default: the XCZU9EG's less 10%%)")
    p.add_argument("--fps", type=float, help="instead of a budget: the fewest DSPs for this frame rate")
    p.add_argument("--clock-mhz", type=float, default=300.0, help="assumed clock (only a timing report confirms one)")
    p.add_argument(
        "--resolution", type=frame, default="1280x720", help="WIDTHxHEIGHT the plan is balanced on (padded to 64)"
    )
    p.add_argument("--max-frame", type=frame, help="WIDTHxHEIGHT of the line buffers (default 1920x1088)")


def register(sub) -> None:
    p = sub.add_parser(
        "plan",
        help="the student width N that meets a frame rate on a device (analytical model); "
        "--table: N × DSP × BRAM × fps per device",
    )
    p.add_argument("--device", default="XCZU9EG", help="XCZU9EG (ZCU102), XCZU7EV (ZCU104) or XCZU3EG")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--resolution", type=frame, default="1280x720", help="WIDTHxHEIGHT; padded to a multiple of 64")
    p.add_argument("--clock-mhz", type=float, default=300.0, help="assumed clock (only a timing report confirms one)")
    p.add_argument("--rd-report", help="an eval report (licfpga eval --json): rank N by its BD-rates")
    p.add_argument("--table", action="store_true", help="print the table for every device and N instead")
    p.add_argument(
        "--host-speed",
        help="the host's measured rates (benchmarks/host_speed.py's JSON; default: results/host-speed.json "
        "of the source tree, measured now where it is absent)",
    )
    p.add_argument("--measure-host", action="store_true", help="measure the host's rates now instead of reading them")
    p.add_argument(
        "--arm-factor",
        type=positive_float,
        default=10.0,
        help="how many times slower a Cortex-A53 core is assumed (default 10)",
    )
    p.add_argument("--host-cores", type=positive_int, default=1, help="host cores working on different frames")
    p.add_argument("--json", help="write the decision (or the table) here as JSON")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser(
        "generate", help="the encoder's (or decoder's) Verilog, manifest and report from an integer artefact"
    )
    p.add_argument(
        "--out",
        required=True,
        help="folder for licfpga_encoder.v (licfpga_decoder.v, licfpga_hyper.v), manifest.json, report.md/.json",
    )
    p.add_argument(
        "--part",
        choices=("encoder", "decoder", "hyper"),
        default="encoder",
        help="encoder: g_a, h_a, h_s (pixels in, ŷ/ẑ/scale indexes out); decoder: g_s (ŷ in, pixels out; "
        "frames are the decoded image's); hyper: the decoder's h_s (ẑ in, scale indexes out; frames are the "
        "image's)",
    )
    _add_design_args(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "synth",
        help="resource and Fmax estimate of the generated encoder: every engine synthesized by "
        "Yosys (synth_xilinx -family xcup), cached, summed against the XCZU9EG; the longest "
        "register-to-register path per engine under gen.timing's delay model",
    )
    _add_design_args(p)
    p.add_argument("--json", help="write the report here as JSON")
    p.add_argument("--jobs", type=int, default=1, help="Yosys processes at once")
    p.add_argument("--cache", help="folder of cached results (default: build/synth)")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "bench-rtl",
        help="one Kodak-size frame through the generated encoder (or decoder) in Verilator: "
        "cycles/px vs the model, DSP efficiency, bit-exact check, Yosys resources",
    )
    p.add_argument(
        "--part",
        choices=("encoder", "decoder"),
        default="encoder",
        help="encoder: the frame's pixels in; decoder: g_s on the golden encoder's ŷ of the frame (frames are "
        "the decoded image's)",
    )
    _add_design_args(p)
    p.add_argument("--image", help="the frame (default: the bundled Kodak crop, resized to 768x512)")
    p.add_argument(
        "--frames", type=positive_int, default=2, help="frames streamed back to back (2: steady-state interval)"
    )
    p.add_argument("--jobs", type=int, default=1, help="compiler jobs of the Verilator build")
    p.add_argument("--no-synth", action="store_true", help="skip Yosys; report the analytical resources")
    p.add_argument("--json", help="write the measurements here")
    p.set_defaults(func=cmd_bench_rtl)

    # Registered for the command list only: main() hands `regress ...` to `regress` before parsing.
    sub.add_parser(
        "regress",
        add_help=False,
        help="cocotb regression of the RTL blocks on Verilator and Icarus (licfpga regress --help)",
    )
