"""licfpga: learned image compression on an FPGA. Compress and decompress images, train,
quantize and evaluate the models, plan, generate and check the encoder's hardware."""

# The command is a thin package: one module per command group registers its subcommands
# (argument parsing and printing only; the work lives in the library). A library error
# of the user's making (`licfpga.errors.UserError`) or a path of theirs that cannot be
# opened becomes one line on stderr and exit status 2, here and nowhere else.

from __future__ import annotations

import argparse
import sys

from ..errors import UserError
from . import board, codec, evaluation, hardware, training

GROUPS = (codec, training, evaluation, hardware, board)

#: The errors of a path the user gave: reported as one line, not as a traceback.
PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="licfpga", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv[:1] == ["regress"]:  # its own parser: --sim, --seed, --waves, --full, -k
            return hardware.regress(argv[1:])
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UserError as exc:
        message = str(exc)
    except PATH_ERRORS as exc:
        message = f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
    print(f"licfpga: error: {message}", file=sys.stderr)
    return 2
