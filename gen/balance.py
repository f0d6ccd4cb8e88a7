"""The folding balancer: PE and SIMD for every engine, so that the slowest engine (which
sets the frame rate of the whole dataflow pipeline) is as fast as a DSP budget allows,
or so that every engine meets a target frame rate with the fewest DSPs; in both cases
within a block-RAM budget.

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

h_s runs between two frames' ŷ (the output sends ŷ, ẑ, then the scale indexes h_s makes
from the whole ẑ): its engines are weighed at `SERIAL_SPEEDUP` times their frame cycles
(`pace`), so they get that share of the interval, and the ŷ buffer holds what g_a makes
meanwhile. A plan's interval is its slowest other engine's, or the output's (one element
of ŷ, ẑ and the indexes per cycle) where it is longer (`Plan.interval`).

Block RAM
---------
A plan's block RAM is its engines' (weight ROMs, line buffers, …) plus the encoder's
own buffers (:mod:`.buffers`: the FIFO behind every engine, the ŷ and two ẑ buffers), with
line buffers moved to UltraRAM where a device has it and block RAM is short
(:func:`place`). When the plan above exceeds ``bram_budget`` (higher PE splits the
weights into more, shallower ROMs, which waste block RAM), the balancer trades speed
for block RAM: it takes the shortest interval (of the engines' own frame cycles) at
which some allocation fits both budgets, trying them in turn from the fastest, and there the allocation
with the fewest DSPs whose block RAM fits. A dynamic programme over DSPs (and, on a
device with UltraRAM, over UltraRAMs too: each folding may also put its line buffers
there) gives, per DSP count, the allocation of the least block RAM, each engine's
memories counted with the buffers that follow from its own folding (the FIFO behind it;
the ẑ buffer behind h_a's last engine). Those allocations, by rising DSPs and falling
memory, are then checked whole, in turn (with the ŷ buffer, which depends on several
engines: g_a's last one's pace and h_a's flush, and with line buffers placed by
:func:`place`), and the first that fits is taken. When none does at any interval,
:class:`BalanceError` names the block RAM of the least-memory allocation (within the
DSP budget, at the slowest interval).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from ..errors import UserError
from .buffers import decoder_buffers, encoder_buffers, encoder_interval, engine_buffers
from .cost import Folding, LayerCost, Memory, layer_cost, legal_foldings
from .devices import DEFAULT_DEVICE, DEFAULT_MARGIN
from .layers import DecoderSpec, EncoderSpec

__all__ = [
    "BalanceError",
    "Plan",
    "Placement",
    "place",
    "balance_dsp",
    "balance_fps",
    "balance_interval",
    "balance_shared",
    "SharedPlan",
    "padded",
    "DEFAULT_DSP_MARGIN",
    "DEFAULT_BRAM_BUDGET",
    "PAD",
    "DEFAULT_MAX_FRAME",
    "DEFAULT_PLAN_FRAME",
    "SERIAL_SPEEDUP",
    "pace",
    "chain_interval",
]

#: DSPs (and block RAMs) kept free of a device's total by default (`devices.DEFAULT_MARGIN`).
DEFAULT_DSP_MARGIN = DEFAULT_MARGIN
#: RAMB36 a plan may take by default: the XCZU9EG's less the margin.
DEFAULT_BRAM_BUDGET = DEFAULT_DEVICE.bram36_budget(DEFAULT_MARGIN)
#: The host pads frames to a multiple of this (g_a and h_a halve the frame six times).
PAD = 64
#: The built-in maximum frame (line buffers): 1080p, padded.
DEFAULT_MAX_FRAME = (1920, 1088)
#: The frame the balancer plans on by default: 720p, padded.
DEFAULT_PLAN_FRAME = (1280, 768)
#: h_s runs between two frames' ŷ (`rtl.encoder.Encoder`), while g_a's ŷ waits in the
#: ŷ buffer: the balancer folds its engines for an eighth of the frame interval (their
#: frame cycles count this many times), trading its DSPs against that buffer's block RAM.
#: Measured on the N=64 student at the default budget (720p plan, 1080p buffers): 4 gives
#: 9.375 cycles/pixel, 8 gives 9.0, 16 gives 12.0 (block RAM binds in all three).
SERIAL_SPEEDUP = 8


def pace(c: LayerCost) -> int:
    """An engine's frame cycles as the balancer weighs them (`SERIAL_SPEEDUP`)."""
    return c.cycles * SERIAL_SPEEDUP if c.spec.serial else c.cycles


def chain_interval(costs: list[LayerCost]) -> int:
    """The frame interval of a decoder (`layers.DecoderSpec`, a chain of engines, ``costs``
    every engine's on one frame): its slowest engine's, or its input's, one ŷ element per
    cycle, where that is slower."""
    first = costs[0]
    return max(max(c.cycles for c in costs), first.width * first.height * first.shape.c_in)


class BalanceError(UserError, ValueError):
    """A budget, a target or a frame that no folding can meet; the message says what would."""


def padded(width: int, height: int) -> tuple[int, int]:
    """The frame the host sends: each side rounded up to a multiple of 64."""
    if width < 1 or height < 1:
        raise BalanceError(f"frame {width}×{height} is empty")
    return PAD * math.ceil(width / PAD), PAD * math.ceil(height / PAD)


@dataclass(frozen=True)
class Placement:
    """Where a plan's memories go: ``bram36`` RAMB36 and ``uram`` UltraRAMs."""

    bram36: float
    uram: int


def place(memories: Iterable[Memory], bram_budget: float, uram: int = 0) -> Placement:
    """Block RAM of ``memories``, with line buffers moved to UltraRAM (of which ``uram``
    are free; line buffers are written at run time, so they need no initial contents):
    the fewest UltraRAMs that bring the block RAM within ``bram_budget``, or, when none
    do, the most block RAM the UltraRAMs can take (an exact knapsack over the line
    buffers)."""
    memories = list(memories)
    bram = sum(m.bram36 for m in memories)
    lines = [m for m in memories if m.role == "line buffer" and m.bram36 and m.uram <= uram]
    if not lines or bram <= bram_budget:
        return Placement(bram, 0)
    saved = np.zeros(uram + 1)  # saved[u]: the most RAMB36 that u UltraRAMs take
    for m in lines:
        shifted = np.concatenate([np.full(m.uram, -np.inf), saved[: uram + 1 - m.uram] + m.bram36])
        saved = np.maximum(saved, shifted)
    enough = np.flatnonzero(bram - saved <= bram_budget)
    used = int(enough[0]) if enough.size else int(np.argmax(saved))
    return Placement(bram - float(saved[used]), used)


@dataclass(frozen=True)
class Plan:
    """An encoder with a folding per engine, its built-in maximum input frame and the
    frame it was balanced on (both padded). ``objective`` says what was asked. The
    decoder's plans hold a `layers.DecoderSpec` in ``encoder``; their frames are the
    decoded image's."""

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
        return [
            layer_cost(spec, f, w, h, mw)
            for spec, f, (w, h), (mw, _) in zip(
                self.encoder.layers, self.foldings, self.encoder.frame_sizes(width, height), maxima
            )
        ]

    def interval(self, width: int | None = None, height: int | None = None) -> int:
        """Cycles between frames: an encoder's `buffers.encoder_interval`, a decoder's
        `chain_interval`."""
        costs = self.costs(width, height)
        if isinstance(self.encoder, DecoderSpec):
            return chain_interval(costs)
        return encoder_interval(self.encoder, costs)

    @property
    def dsp(self) -> int:
        return sum(c.dsp for c in self.costs())

    def buffers(self) -> dict[str, Memory]:
        """The encoder's own buffers (:func:`buffers.encoder_buffers`; a decoder's:
        :func:`buffers.decoder_buffers`)."""
        costs = self.costs(self.max_width, self.max_height)
        if isinstance(self.encoder, DecoderSpec):
            return decoder_buffers(self.encoder, costs)
        return encoder_buffers(self.encoder, costs)

    def memories(self) -> list[Memory]:
        """The engines' memories and the encoder's buffers."""
        return [m for c in self.costs() for m in c.memories] + list(self.buffers().values())

    @property
    def bram36(self) -> float:
        """RAMB36 of the engines and the buffers, all in block RAM."""
        return sum(m.bram36 for m in self.memories())


def _check_frame(width: int, height: int, max_width: int, max_height: int) -> None:
    if width > max_width:
        raise BalanceError(
            f"frame width {width} (after padding to a multiple of {PAD}) exceeds the built-in "
            f"line-buffer maximum of {max_width}: build with a larger maximum width"
        )
    if height > max_height:
        raise BalanceError(
            f"frame height {height} (after padding to a multiple of {PAD}) exceeds the built-in maximum of {max_height}"
        )


def _all_costs(encoder: EncoderSpec, width: int, height: int, max_width: int, max_height: int) -> list[list[LayerCost]]:
    """Every legal folding of every engine, costed, by rising DSPs (then the frontier's ties)."""
    _check_frame(width, height, max_width, max_height)
    return [
        sorted(
            (layer_cost(spec, f, w, h, mw) for f in legal_foldings(spec)),
            key=lambda c: (c.dsp, pace(c), c.bram36, c.lut_mem, -c.simd),
        )
        for spec, (w, h), (mw, _) in zip(
            encoder.layers, encoder.frame_sizes(width, height), encoder.frame_sizes(max_width, max_height)
        )
    ]


def _frontier(costs: list[LayerCost]) -> list[LayerCost]:
    frontier = []
    for c in costs:
        if not frontier or pace(c) < pace(frontier[-1]):
            frontier.append(c)
    return frontier


def _cheapest_within(frontier: list[LayerCost], cycles: int) -> LayerCost | None:
    return next((c for c in frontier if pace(c) <= cycles), None)


def _frame(width: int, height: int, max_frame: tuple[int, int]) -> tuple[int, int, int, int]:
    (w, h), (mw, mh) = padded(width, height), padded(*max_frame)
    return w, h, mw, mh


#: The dynamic programme's memory for a DSP count no allocation reaches.
_UNREACHABLE = 1 << 40


class _Memory:
    """The block-RAM side of one balancing problem: each folding's memory in RAMB18 units
    (its own memories and the buffers its folding alone sizes), the budget, and plans
    checked whole. Where the device has UltraRAM, each folding also comes with its line
    buffers in UltraRAM (fewer RAMB18, some UltraRAMs), and the programme runs over DSPs
    and UltraRAMs."""

    def __init__(
        self,
        encoder: EncoderSpec,
        costs: list[list[LayerCost]],
        max_frame: tuple[int, int],
        bram_budget: float,
        uram: int,
        make_plan,
    ):
        self.costs, self.budget, self.uram, self.make_plan = costs, bram_budget, uram, make_plan
        self.variants = []  # per engine, per folding: [(RAMB18 units, UltraRAMs), …]
        for i, cs in enumerate(costs):
            per = []
            for c in cs:
                buffers = sum(m.bram36 for m in engine_buffers(encoder, i, c.pe, *max_frame).values())
                lines = [m for m in c.memories if m.role == "line buffer" and m.bram36]
                units = round(2 * (c.bram36 + buffers))
                per.append(
                    [(units, 0)]
                    + (
                        [(units - round(2 * sum(m.bram36 for m in lines)), sum(m.uram for m in lines))]
                        if lines and uram
                        else []
                    )
                )
            self.variants.append(per)

    def placed(self, plan: Plan, budget: float | None = None) -> Placement:
        return place(plan.memories(), self.budget if budget is None else budget, self.uram)

    def fits(self, plan: Plan) -> bool:
        return self.placed(plan).bram36 <= self.budget

    def _options(self, cycles: int, dsp_budget: int | None):
        """Per engine, (DSPs, RAMB18 units, UltraRAMs, cost) of the foldings within
        ``cycles`` that no other beats on all three, by rising DSPs, and the DSP cap worth
        searching; None when an engine has no folding that fast, or the DSPs cannot take
        the cheapest."""
        out = []
        for cs, variants in zip(self.costs, self.variants):
            within = sorted(
                (
                    (c.dsp, units, u, c)
                    for c, vs in zip(cs, variants)
                    if pace(c) <= cycles
                    for units, u in vs
                    if u <= self.uram
                ),
                key=lambda o: (o[0], o[1], o[2], pace(o[3]), o[3].lut_mem, -o[3].simd),
            )
            if not within:
                return None
            kept = []
            for o in within:
                if not any(k[1] <= o[1] and k[2] <= o[2] for k in kept):
                    kept.append(o)
            out.append(kept)
        cap = sum(min(opts, key=lambda o: (o[1], o[0]))[0] for opts in out)  # every engine at its least memory
        cap = cap if dsp_budget is None else min(dsp_budget, cap)
        return (out, cap) if sum(opts[0][0] for opts in out) <= cap else None

    def _programme(self, options, dsp_cap: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """least[d, u]: the least RAMB18 units of an allocation of at most d DSPs and u
        UltraRAMs; the choices."""
        shape = (dsp_cap + 1, self.uram + 1)
        least = np.zeros(shape, dtype=np.int64)
        picks = []
        for opts in options:
            new = np.full(shape, _UNREACHABLE, dtype=np.int64)
            pick = np.full(shape, -1, dtype=np.int32)
            for k, (dsp, units, u, _) in enumerate(opts):
                if dsp > dsp_cap:
                    break
                cand = np.full(shape, _UNREACHABLE, dtype=np.int64)
                cand[dsp:, u:] = least[: dsp_cap + 1 - dsp, : self.uram + 1 - u] + units
                better = cand < new
                new[better], pick[better] = cand[better], k
            least = np.minimum(new, _UNREACHABLE)
            picks.append(pick)
        return least, picks

    def _allocation(self, options, picks, d: int) -> Plan:
        chosen, u = [], self.uram
        for opts, pick in zip(reversed(options), reversed(picks)):
            dsp, _, used, c = opts[int(pick[d, u])]
            chosen.append(c)
            d, u = d - dsp, u - used
        return self.make_plan(chosen[::-1])

    def within(self, cycles: int, dsp_budget: int | None) -> Plan | None:
        """The allocation within ``cycles`` and ``dsp_budget`` with the fewest DSPs whose
        block RAM fits (module docstring), or None."""
        found = self._options(cycles, dsp_budget)
        if found is None:
            return None
        options, cap = found
        least, picks = self._programme(options, cap)
        least = least[:, self.uram]
        # The allocations worth trying: where the least memory drops, by rising DSPs (so
        # by falling memory), those whose counted memories already fit.
        drops = np.flatnonzero(np.diff(least, prepend=least[0] + 1) < 0)
        drops = drops[least[drops] <= math.floor(2 * self.budget)]
        # Whether one fits is not monotone in the DSPs (the ŷ buffer grows as h_a
        # slows), so they are tried in turn (about a millisecond each).
        for d in drops:
            plan = self._allocation(options, picks, int(d))
            if self.fits(plan):
                return plan
        return None

    def pareto(self, cycles: int, dsp_budget: int | None) -> list[tuple[int, float, Plan]]:
        """(DSPs, RAMB36 placed whole, plan) of the programme's allocations within
        ``cycles`` and ``dsp_budget``: by rising DSPs, each with less block RAM than all
        before it (line buffers in UltraRAM as far as it goes)."""
        found = self._options(cycles, dsp_budget)
        if found is None:
            return []
        options, cap = found
        least, picks = self._programme(options, cap)
        least = least[:, self.uram]
        drops = np.flatnonzero(np.diff(least, prepend=least[0] + 1) < 0)
        out = []
        for d in drops[least[drops] < _UNREACHABLE]:
            plan = self._allocation(options, picks, int(d))
            bram = self.placed(plan, 0).bram36
            if not out or bram < out[-1][1]:
                out.append((plan.dsp, bram, plan))
        return out

    def smallest(self, intervals: Iterable[int], dsp_budget: int | None) -> float:
        """The least RAMB36 (line buffers in UltraRAM as far as it goes) of the
        allocations within any of ``intervals`` and ``dsp_budget`` that the programme
        offers (every interval: a faster h_s can need less, `balance_dsp`)."""
        return min((p[-1][1] for p in (self.pareto(c, dsp_budget) for c in intervals) if p), default=math.inf)


def _planner(
    encoder: EncoderSpec, costs, frame: tuple[int, int, int, int], objective: str, bram_budget: float | None, uram: int
):
    """A balancing run's ``make_plan(chosen[, why])`` (its frame and objective) and its
    block-RAM checker (`_Memory`; None without a block-RAM budget)."""
    w, h, mw, mh = frame

    def make_plan(chosen, why=objective):
        return Plan(encoder, tuple(Folding(c.pe, c.simd) for c in chosen), w, h, mw, mh, why)

    if bram_budget is None:
        return make_plan, None
    return make_plan, _Memory(
        encoder,
        costs,
        (mw, mh),
        bram_budget,
        uram,
        lambda chosen: make_plan(chosen, f"{objective}, {bram_budget:g} RAMB36"),
    )


def balance_dsp(
    encoder: EncoderSpec,
    dsp_budget: int,
    frame: tuple[int, int] = DEFAULT_PLAN_FRAME,
    max_frame: tuple[int, int] = DEFAULT_MAX_FRAME,
    objective: str | None = None,
    bram_budget: float | None = DEFAULT_BRAM_BUDGET,
    uram: int = 0,
) -> Plan:
    """The fastest pipeline within ``dsp_budget`` DSPs and ``bram_budget`` RAMB36 (None:
    no limit; ``uram`` UltraRAMs may take line buffers) on ``frame`` (module docstring).
    Raises :class:`BalanceError` naming the smallest DSP budget, or the smallest block
    RAM, that fits."""
    w, h, mw, mh = _frame(*frame, max_frame)
    costs = _all_costs(encoder, w, h, mw, mh)
    frontiers = [_frontier(cs) for cs in costs]
    at = [0] * len(frontiers)
    total = sum(f[0].dsp for f in frontiers)
    if total > dsp_budget:
        raise BalanceError(
            f"a DSP budget of {dsp_budget} is below the smallest that fits: {total} DSPs "
            f"(every engine of {encoder.source} at its cheapest folding)"
        )
    while True:
        slowest = max(range(len(at)), key=lambda i: (pace(frontiers[i][at[i]]), -i))
        if at[slowest] + 1 == len(frontiers[slowest]):
            break
        step = frontiers[slowest][at[slowest] + 1].dsp - frontiers[slowest][at[slowest]].dsp
        if total + step > dsp_budget:
            break
        at[slowest] += 1
        total += step
    interval = max(pace(f[i]) for f, i in zip(frontiers, at))
    objective = objective or f"DSP budget {dsp_budget}"
    make_plan, memory = _planner(encoder, costs, (w, h, mw, mh), objective, bram_budget, uram)
    plan = make_plan([_cheapest_within(f, interval) for f in frontiers])
    if memory is None or memory.fits(plan):
        return plan
    # Trade speed for block RAM: the shortest interval at which an allocation fits. Not
    # a bisection: whether one fits is not monotone in the interval (a slower h_s, which
    # the least-memory allocations prefer, needs a larger ŷ buffer), so the intervals are
    # tried in turn from the fastest (a few hundredths of a second each).
    steps = sorted({interval} | {pace(c) for cs in costs for c in cs if pace(c) > interval})
    for cycles in steps:
        found = memory.within(cycles, dsp_budget)
        if found is not None:
            return found
    need = memory.smallest(steps, dsp_budget)
    raise BalanceError(
        f"a block-RAM budget of {bram_budget:g} RAMB36 is below the smallest that fits: "
        f"{need:g} RAMB36 (engines and buffers of {encoder.source} within {dsp_budget} DSPs"
        + (f" and {uram} UltraRAMs" if uram else "")
        + ")"
    )


def balance_fps(
    encoder: EncoderSpec,
    fps: float,
    clock_mhz: float,
    frame: tuple[int, int] = DEFAULT_PLAN_FRAME,
    max_frame: tuple[int, int] = DEFAULT_MAX_FRAME,
    bram_budget: float | None = DEFAULT_BRAM_BUDGET,
    uram: int = 0,
) -> Plan:
    """The fewest DSPs that stream ``frame`` at ``fps`` at ``clock_mhz`` within
    ``bram_budget`` RAMB36 (None: no limit; ``uram`` UltraRAMs may take line buffers).
    Raises :class:`BalanceError` naming the engine that cannot keep up even fully
    unfolded, or the smallest block RAM at this rate."""
    if fps <= 0 or clock_mhz <= 0:
        raise BalanceError(f"fps ({fps}) and clock ({clock_mhz} MHz) must be positive")
    w, h, _, _ = _frame(*frame, max_frame)
    return balance_interval(
        encoder,
        math.floor(clock_mhz * 1e6 / fps),
        frame,
        max_frame,
        bram_budget,
        uram,
        objective=f"{fps:g} fps on {w}×{h} at {clock_mhz:g} MHz",
        too_slow=lambda cycles: f"at most {clock_mhz * 1e6 / cycles:.1f} fps at {clock_mhz:g} MHz, not {fps:g}",
    )


def balance_interval(
    encoder: EncoderSpec,
    interval: int,
    frame: tuple[int, int] = DEFAULT_PLAN_FRAME,
    max_frame: tuple[int, int] = DEFAULT_MAX_FRAME,
    bram_budget: float | None = DEFAULT_BRAM_BUDGET,
    uram: int = 0,
    objective: str | None = None,
    too_slow: Callable[[int], str] | None = None,
) -> Plan:
    """The fewest DSPs whose engines each take at most ``interval`` cycles per ``frame``
    (`pace`) within ``bram_budget`` RAMB36: `balance_fps` in cycles. ``too_slow(cycles)``
    words the limit of an engine that needs ``cycles`` even fully unfolded."""
    w, h, mw, mh = _frame(*frame, max_frame)
    objective = objective or f"{interval} cycles per {w}×{h} frame"
    costs = _all_costs(encoder, w, h, mw, mh)
    chosen = []
    for spec, frontier in zip(encoder.layers, (_frontier(cs) for cs in costs)):
        best = _cheapest_within(frontier, interval)
        if best is None:
            fastest = pace(frontier[-1])
            serial = f" (h_s: its frame cycles ×{SERIAL_SPEEDUP}, as it runs between frames)" if spec.serial else ""
            limit = too_slow(fastest) if too_slow else f"not {interval}"
            raise BalanceError(
                f"{spec.name} of {encoder.source} needs at least {fastest} cycles per {w}×{h} frame{serial} "
                f"even fully unfolded: {limit}"
            )
        chosen.append(best)
    make_plan, memory = _planner(encoder, costs, (w, h, mw, mh), objective, bram_budget, uram)
    plan = make_plan(chosen)
    if memory is None or memory.fits(plan):
        return plan
    found = memory.within(interval, None)
    if found is None:
        raise BalanceError(
            f"a block-RAM budget of {bram_budget:g} RAMB36 is below the smallest that fits "
            f"{encoder.source} at {objective}: {memory.smallest([interval], None):g} RAMB36"
            + (f" (with {uram} UltraRAMs)" if uram else "")
        )
    return found


@dataclass(frozen=True)
class SharedPlan:
    """An encoder and a decoder on one device (`balance_shared`): both plans, on the same
    frame, the budgets they share and the UltraRAMs each may take."""

    encoder: Plan
    decoder: Plan
    dsp_budget: int
    bram_budget: float
    uram: tuple[int, int] = (0, 0)

    @property
    def dsp(self) -> int:
        return self.encoder.dsp + self.decoder.dsp

    def placements(self) -> tuple[Placement, Placement]:
        """Each plan's memories placed (line buffers in its share of UltraRAM as far as
        that brings it within the block RAM the other leaves)."""
        e = place(self.encoder.memories(), self.bram_budget - self.decoder.bram36, self.uram[0])
        return e, place(self.decoder.memories(), self.bram_budget - e.bram36, self.uram[1])

    @property
    def bram36(self) -> float:
        return sum(p.bram36 for p in self.placements())

    def interval(self, width: int | None = None, height: int | None = None) -> int:
        """Cycles per frame of the slower of the two (both run at once, on their own streams)."""
        return max(self.encoder.interval(width, height), self.decoder.interval(width, height))


def balance_shared(
    encoder: EncoderSpec,
    decoder: DecoderSpec,
    dsp_budget: int,
    frame: tuple[int, int] = DEFAULT_PLAN_FRAME,
    max_frame: tuple[int, int] = DEFAULT_MAX_FRAME,
    bram_budget: float = DEFAULT_BRAM_BUDGET,
    uram: int = 0,
) -> SharedPlan:
    """The encoder and the decoder on one device: the shortest frame interval both meet
    together within ``dsp_budget`` DSPs and ``bram_budget`` RAMB36, and there the pair
    of plans with the fewest DSPs. At an interval, each side's allocations that trade
    DSPs for block RAM (`_Memory.pareto`: a faster h_s shrinks the ŷ buffer, a slower g_a
    too, a smaller PE packs weight ROMs better) are paired, the pairs within both budgets
    kept. UltraRAMs split evenly (the encoder takes an odd one).

    The interval is bisected between the faster of the two alone within the whole
    budgets and the first doubling at which a pair fits: a search, on the assumption
    that a longer interval never needs more, which holds for DSPs and, except near the
    block-RAM limit (`balance_dsp`'s note on h_s and the ŷ buffer), for block RAM.
    Raises :class:`BalanceError` where no interval up to the slowest foldings' fits."""
    w, h, mw, mh = _frame(*frame, max_frame)
    sides = []
    for spec, u in ((encoder, (uram + 1) // 2), (decoder, uram // 2)):
        costs = _all_costs(spec, w, h, mw, mh)
        memory = _planner(spec, costs, (w, h, mw, mh), "", bram_budget, u)[1]
        sides.append((spec, costs, memory))
    slowest = max(pace(c) for _, costs, _ in sides for cs in costs for c in cs)

    least = [math.inf, math.inf]  # each side's least RAMB36 within the DSP budget at the intervals tried

    def pair(cycles: int) -> tuple[Plan, Plan] | None:
        (_, _, me), (_, _, md) = sides
        encoders = me.pareto(cycles, dsp_budget)
        fits = []
        for de, be, pe in encoders:
            decoders = md.pareto(cycles, dsp_budget - de)
            least[1] = min([least[1]] + [b for _, b, _ in decoders])
            fits += [(de + dd, pe, pd) for dd, bd, pd in decoders if be + bd <= bram_budget]
        least[0] = min([least[0]] + [b for _, b, _ in encoders])
        return min(fits, key=lambda f: f[0])[1:] if fits else None

    try:
        fastest = [
            balance_dsp(spec, dsp_budget, frame, max_frame, bram_budget=bram_budget, uram=m.uram).interval()
            for spec, _, m in sides
        ]
    except BalanceError:
        fastest = [1, 1]
    low, high = max(fastest) - 1, max(fastest)  # low: shorter than either alone manages
    found = pair(high)
    while found is None:
        if high > slowest:
            raise BalanceError(
                f"{encoder.source} and its decoder do not fit one device together at any frame rate: within "
                f"{dsp_budget} DSPs the encoder takes at least {least[0]:g} RAMB36 and the decoder {least[1]:g} "
                f"({least[0] + least[1]:g} together, of {bram_budget:g}"
                + (f"; {uram} UltraRAMs split between them" if uram else "")
                + ")"
            )
        low, high = high, 2 * high
        found = pair(high)
    while high - low > max(1, high // 1000):  # to 0.1%
        mid = (low + high) // 2
        got = pair(mid)
        if got is None:
            low = mid
        else:
            high, found = mid, got
    e, d = found
    objective = f"sharing {dsp_budget} DSPs and {bram_budget:g} RAMB36"
    return SharedPlan(
        replace(e, objective=f"encoder {objective} with its decoder"),
        replace(d, objective=f"decoder {objective} with its encoder"),
        dsp_budget,
        bram_budget,
        (sides[0][2].uram, sides[1][2].uram),
    )
