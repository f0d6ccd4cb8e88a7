"""The board: ``build`` writes the Vivado tree of a ZCU102 design (and runs Vivado when
it is on PATH). The handler imports the board package inside: the other commands and
``--help`` stay light."""

from __future__ import annotations

from pathlib import Path


def cmd_build(args) -> int:
    from licfpga.boards.vivado import build  # light CLI: loaded when used (amaranth)

    tree, status = build(args.design, Path(args.out), args.model, args.dsp_budget, args.clock_mhz, synth=args.synth)
    print(f"{tree.root}: {tree.summary}")
    print(tree.resources.markdown(), end="")
    print(f"{tree.resources.summary()} (details: {tree.root / 'report.md'})")
    if status is None:
        print(
            f"vivado is not on PATH: the tree is ready; to build it, run\n  cd {tree.root} && {' '.join(tree.command)}"
        )
        return 0
    print(f"vivado exited with status {status}")
    timing = tree.timing() if status == 0 else None
    if timing is not None:
        wns, fmax = timing
        verdict = "met" if wns >= 0 else f"not met: the routed design allows about {fmax:.0f} MHz"
        print(f"timing at {tree.clock_mhz:g} MHz: WNS {wns:+.3f} ns, {verdict} ({tree.root / tree.timing_report})")
        return 0 if wns >= 0 else 1
    return status


def register(sub) -> None:
    p = sub.add_parser("build", help="write the Vivado tree of a board design (and run Vivado if it is on PATH)")
    p.add_argument("--board", choices=["zcu102"], default="zcu102")
    p.add_argument(
        "--design",
        choices=["ps", "selftest"],
        default="ps",
        help="ps: behind AXI DMA in a Zynq UltraScale+ block design; selftest: ROM frame, verdict on LEDs/UART",
    )
    p.add_argument(
        "--model",
        help="integer artefact whose encoder is the core: registry name or .json (default: the "
        "shipped default student's)",
    )
    p.add_argument(
        "--dsp-budget", type=int, help="DSPs the encoder is balanced within (default: the XCZU9EG's less 10%%)"
    )
    p.add_argument(
        "--synth",
        action="store_true",
        help="the estimate's encoder figures from Yosys (licfpga synth's, "
        "cached; slow the first time for a large student)",
    )
    p.add_argument(
        "--clock-mhz",
        type=float,
        help="PL clock of ps (default 300, assumed until timing confirms it); selftest runs at the board's 125 MHz",
    )
    p.add_argument("--out", required=True, help="folder for the tree")
    p.set_defaults(func=cmd_build)
