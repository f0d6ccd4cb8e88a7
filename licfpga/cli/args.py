"""Argument types shared by the command groups: they reject a malformed value with
argparse's usage message (exit status 2) before any work starts."""

from __future__ import annotations

import argparse
import datetime as dt
import time


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--threads``, ``--frames``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer of at least 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (``--arm-factor``)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def frame(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` → (width, height)."""
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT")
    return int(width), int(height)


def deadline(text: str) -> float:
    """``HH:MM`` (today, or tomorrow when already past) or ``+MIN`` → a ``time.time()``."""
    try:
        if text.startswith("+"):
            return time.time() + 60 * float(text[1:])
        hour, minute = (int(part) for part in text.split(":"))
        now = dt.datetime.now()
        when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return (when if when > now else when + dt.timedelta(days=1)).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(f"--deadline must be HH:MM or +MINUTES, got {text!r}") from None
