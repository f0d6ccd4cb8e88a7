"""The folding balancer: PE and SIMD for every engine, so that the slowest engine (which
sets the frame rate of the whole dataflow pipeline) is as fast as a DSP budget allows,
or so that every engine meets a target frame rate with the fewest DSPs.

Per engine, every legal folding is costed (:mod:`.cost`) on the planning frame and
reduced to its *frontier*: the foldings no other folding beats on both DSPs and cycles,
by rising DSPs and falling cycles (ties: fewer RAMB36, fewer LUTs as memory, then the larger SIMD, which keeps
the cheaper addressed window generator and fewer weight ROMs).

DSP budget (FINN's SetFolding, made exact): start every engine at its cheapest folding;
while the DSPs allow, move the bottleneck engine (the one with the most cycles per
frame) to its next frontier point, the cheapest that is faster. When the bottleneck's
next point does not fit, no allocation within the budget is faster: every engine sits
at its cheapest folding faster than an interval at least the final one, so anything
faster costs at least the bottleneck's step more. Last, every engine gives back what it
does not need: it takes its cheapest folding within the bottleneck's interval.

Target frame rate: the interval is clock/fps cycles; every engine takes its cheapest
folding within it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .cost import Folding, LayerCost, layer_cost, legal_foldings
from .layers import EncoderSpec

__all__ = ["BalanceError", "Plan", "balance_dsp", "balance_fps", "padded", "DEFAULT_DSP_MARGIN", "PAD",
           "DEFAULT_MAX_FRAME", "DEFAULT_PLAN_FRAME"]

#: DSPs kept free of a device's total by default: room for placement and routing of a
#: nearly full DSP column set, and for the platform's own arithmetic (DMA, counters).
DEFAULT_DSP_MARGIN = 0.10
#: The host pads frames to a multiple of this (g_a and h_a halve the frame six times).
PAD = 64
#: The built-in maximum frame (line buffers): 1080p, padded.
DEFAULT_MAX_FRAME = (1920, 1088)
#: The frame the balancer plans on by default: 720p, padded.
DEFAULT_PLAN_FRAME = (1280, 768)


class BalanceError(ValueError):
    """A budget, a target or a frame that no folding can meet; the message says what would."""


def padded(width: int, height: int) -> tuple[int, int]:
    """The frame the host sends: each side rounded up to a multiple of 64."""
    if width < 1 or height < 1:
        raise BalanceError(f"frame {width}×{height} is empty")
    return PAD * math.ceil(width / PAD), PAD * math.ceil(height / PAD)


@dataclass(frozen=True)
class Plan:
    """An encoder with a folding per engine, its built-in maximum input frame and the
    frame it was balanced on (both padded). ``objective`` says what was asked."""

    encoder: EncoderSpec
    foldings: tuple[Folding, ...]
    width: int
    height: int
    max_width: int
    max_height: int
    objective: str

    def costs(self, width: int | None = None, height: int | None = None) -> list[LayerCost]:
        """Every engine's cost for an input frame (the planning frame by default), after
        the host's padding; a frame beyond the built-in maximum is refused."""
        width, height = (self.width, self.height) if width is None else padded(width, height)
        _check_frame(width, height, self.max_width, self.max_height)
        maxima = self.encoder.frame_sizes(self.max_width, self.max_height)
        return [layer_cost(spec, f, w, h, mw) for spec, f, (w, h), (mw, _) in
                zip(self.encoder.layers, self.foldings, self.encoder.frame_sizes(width, height), maxima)]

    def interval(self, width: int | None = None, height: int | None = None) -> int:
        """Cycles between frames: the slowest engine's."""
        return max(c.cycles for c in self.costs(width, height))

    @property
    def dsp(self) -> int:
        return sum(c.dsp for c in self.costs())


def _check_frame(width: int, height: int, max_width: int, max_height: int) -> None:
    if width > max_width:
        raise BalanceError(f"frame width {width} (after padding to a multiple of {PAD}) exceeds the built-in "
                           f"line-buffer maximum of {max_width}: build with a larger maximum width")
    if height > max_height:
        raise BalanceError(f"frame height {height} (after padding to a multiple of {PAD}) exceeds the built-in "
                           f"maximum of {max_height}")


def _frontiers(encoder: EncoderSpec, width: int, height: int, max_width: int, max_height: int) \
        -> list[list[LayerCost]]:
    _check_frame(width, height, max_width, max_height)
    out = []
    for spec, (w, h), (mw, _) in zip(encoder.layers, encoder.frame_sizes(width, height),
                                     encoder.frame_sizes(max_width, max_height)):
        costs = sorted((layer_cost(spec, f, w, h, mw) for f in legal_foldings(spec)),
                       key=lambda c: (c.dsp, c.cycles, c.bram36, c.lut_mem, -c.simd))
        frontier = []
        for c in costs:
            if not frontier or c.cycles < frontier[-1].cycles:
                frontier.append(c)
        out.append(frontier)
    return out


def _cheapest_within(frontier: list[LayerCost], cycles: int) -> LayerCost | None:
    return next((c for c in frontier if c.cycles <= cycles), None)


def _frame(width: int, height: int, max_frame: tuple[int, int]) -> tuple[int, int, int, int]:
    (w, h), (mw, mh) = padded(width, height), padded(*max_frame)
    return w, h, mw, mh


def balance_dsp(encoder: EncoderSpec, dsp_budget: int, frame: tuple[int, int] = DEFAULT_PLAN_FRAME,
                max_frame: tuple[int, int] = DEFAULT_MAX_FRAME, objective: str | None = None) -> Plan:
    """The fastest pipeline within ``dsp_budget`` DSPs on ``frame`` (module docstring).
    Raises :class:`BalanceError` naming the smallest budget that fits."""
    w, h, mw, mh = _frame(*frame, max_frame)
    frontiers = _frontiers(encoder, w, h, mw, mh)
    at = [0] * len(frontiers)
    total = sum(f[0].dsp for f in frontiers)
    if total > dsp_budget:
        raise BalanceError(f"a DSP budget of {dsp_budget} is below the smallest that fits: {total} DSPs "
                           f"(every engine of {encoder.source} at its cheapest folding)")
    while True:
        slowest = max(range(len(at)), key=lambda i: (frontiers[i][at[i]].cycles, -i))
        if at[slowest] + 1 == len(frontiers[slowest]):
            break
        step = frontiers[slowest][at[slowest] + 1].dsp - frontiers[slowest][at[slowest]].dsp
        if total + step > dsp_budget:
            break
        at[slowest] += 1
        total += step
    interval = max(f[i].cycles for f, i in zip(frontiers, at))
    chosen = [_cheapest_within(f, interval) for f in frontiers]
    return Plan(encoder, tuple(Folding(c.pe, c.simd) for c in chosen), w, h, mw, mh,
                objective or f"DSP budget {dsp_budget}")


def balance_fps(encoder: EncoderSpec, fps: float, clock_mhz: float, frame: tuple[int, int] = DEFAULT_PLAN_FRAME,
                max_frame: tuple[int, int] = DEFAULT_MAX_FRAME) -> Plan:
    """The fewest DSPs that stream ``frame`` at ``fps`` at ``clock_mhz``. Raises
    :class:`BalanceError` naming the engine that cannot keep up even fully unfolded."""
    if fps <= 0 or clock_mhz <= 0:
        raise BalanceError(f"fps ({fps}) and clock ({clock_mhz} MHz) must be positive")
    w, h, mw, mh = _frame(*frame, max_frame)
    interval = math.floor(clock_mhz * 1e6 / fps)
    chosen = []
    for spec, frontier in zip(encoder.layers, _frontiers(encoder, w, h, mw, mh)):
        best = _cheapest_within(frontier, interval)
        if best is None:
            fastest = frontier[-1].cycles
            raise BalanceError(f"{spec.name} of {encoder.source} needs at least {fastest} cycles per {w}×{h} frame "
                               f"even fully unfolded: at most {clock_mhz * 1e6 / fastest:.1f} fps at {clock_mhz:g} MHz, "
                               f"not {fps:g}")
        chosen.append(best)
    return Plan(encoder, tuple(Folding(c.pe, c.simd) for c in chosen), w, h, mw, mh,
                f"{fps:g} fps on {w}×{h} at {clock_mhz:g} MHz")
