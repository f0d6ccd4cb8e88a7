"""The one sim case runner: a bench case is data, `run_case` does the rest.

A case's ``prepare(rng)`` is pure: it returns the component and, as data, what to
stream through it and what must come out (`StreamBench`), or, for a top that is not a
pair of beat streams (the AXI wrapper), the cocotb module, parameters and arrays of its
own bench (`CocotbBench`). `run_case` builds the component to Verilog and compiles it
through `runner`'s cache, drives a `StreamBench` with the one generic cocotb driver
(`sim.tb_stream`: random source idle, random and long sink back-pressure, each output
beat's cycle recorded), compares every output beat bit for bit with the expected one,
checks the measured cycles against their limits, and reports: a `runner.BenchFailure`
naming each mismatch by run, transfer and beat, or a `runner.BenchResult` whose
``summary`` gives the cycles measured.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from amaranth.hdl import Shape

from ..rtl.stream import beat_layout
from .reference import from_bytes, pack, to_bytes, unpack
from .runner import BenchFailure, run_bench

__all__ = ["STREAM_DRIVER", "AXI_BENCH", "Beats", "Transfer", "Run", "StreamBench", "CocotbBench", "Case", "run_case"]

#: The generic cocotb driver of every `StreamBench`.
STREAM_DRIVER = "licfpga.sim.tb_stream"
#: The cocotb bench of every `rtl.axi.AXIWrapper` top.
AXI_BENCH = "licfpga.sim.tb_axi"
#: Mismatches listed in a failure's message (all are counted).
SHOWN = 5


@dataclass(frozen=True)
class Beats:
    """The payload of a beat stream: ``simd`` elements of ``shape`` and the markers
    (`rtl.stream.beat_layout`)."""

    shape: Shape
    simd: int

    @property
    def bits(self):
        return beat_layout(self.shape, self.simd).size

    def pack(self, beat):
        return pack(beat, self.shape, self.simd)

    def unpack(self, value):
        return unpack(value, self.shape, self.simd)


@dataclass(frozen=True)
class Transfer:
    """One exchange on the top's ``i`` and ``o`` streams: the ``inputs`` (beat dicts) are
    offered, the source idle before each with probability ``idle``, until ``expected``
    (beat dicts) came out, the sink not ready with probability ``stall`` each cycle and
    for ``cycles`` in a row once output beat ``at`` is due, for each ``(at, cycles)`` of
    ``long_stalls``. ``ports`` are set on the top before it (a frame's ``width`` and
    ``height``). ``frames``: the equal frames the transfer holds; the cycles measured are
    the last output beat's (from the transfer's first cycle) for one frame, the interval
    between the last two frames' ends for more, and must not exceed ``cycle_limit``
    (``cycle_model`` says where it comes from)."""

    label: str
    inputs: list
    expected: list
    ports: dict = field(default_factory=dict)
    idle: float = 0.0
    stall: float = 0.0
    long_stalls: tuple = ()
    frames: int = 1
    cycle_limit: float | None = None
    cycle_model: str = ""

    def measured(self, cycles):
        """The cycles this transfer measures, from the cycle of each output beat."""
        if self.frames == 1:
            return int(cycles[-1])
        per_frame = len(self.expected) // self.frames
        return int(cycles[-1] - cycles[-1 - per_frame])


@dataclass(frozen=True)
class Run:
    """Transfers one after another from a reset: one cocotb test."""

    name: str
    transfers: tuple[Transfer, ...]


@dataclass(frozen=True)
class StreamBench:
    """A prepared case of a top with a beat stream in (``i``, ``inputs``' format) and one
    out (``o``, ``outputs``'). The driver fails a run when nothing moves for
    ``patience`` cycles or a beat beyond the expected ones leaves within ``drain``."""

    component: object
    inputs: Beats
    outputs: Beats
    runs: tuple[Run, ...]
    patience: int = 5_000
    drain: int = 8


@dataclass(frozen=True)
class CocotbBench:
    """A prepared case with its own cocotb bench ``module``, which reads ``params`` and
    ``arrays`` through `runner.bench_params` and `runner.bench_arrays` and compares."""

    component: object
    module: str
    params: dict
    arrays: dict | None = None


@dataclass(frozen=True)
class Case:
    """One bench case on one simulator: ``prepare(rng)`` gives its `StreamBench` or
    `CocotbBench`. The component must not depend on ``rng`` (it is compiled once for
    every seed); the stimuli do."""

    name: str
    simulator: str
    prepare: Callable[[np.random.Generator], StreamBench | CocotbBench]

    @property
    def id(self):
        return f"{self.name}-{self.simulator}"

    @property
    def kind(self):
        """The block the case tests: ``window``, ``conv``, ``encoder``..."""
        return self.name.split("/")[0]


def run_case(case, seed=1, waves=False):
    """Prepares ``case`` with a generator seeded by ``seed`` and runs it; raises
    `runner.BenchFailure` on any failure, returns the `runner.BenchResult` otherwise."""
    bench = case.prepare(np.random.default_rng(seed))
    name = case.name.replace("/", "_")
    if isinstance(bench, CocotbBench):
        return run_bench(
            bench.component,
            name,
            bench.module,
            bench.params,
            arrays=bench.arrays,
            simulator=case.simulator,
            seed=seed,
            waves=waves,
        )
    arrays = {
        f"in{r}_{t}": to_bytes([bench.inputs.pack(b) for b in transfer.inputs], bench.inputs.bits)
        for r, run in enumerate(bench.runs)
        for t, transfer in enumerate(run.transfers)
    }
    params = {
        "patience": bench.patience,
        "drain": bench.drain,
        "out_bits": bench.outputs.bits,
        "runs": [
            {
                "name": run.name,
                "transfers": [
                    {
                        "ports": t.ports,
                        "idle": t.idle,
                        "stall": t.stall,
                        "long_stalls": [list(s) for s in t.long_stalls],
                        "count": len(t.expected),
                    }
                    for t in run.transfers
                ],
            }
            for run in bench.runs
        ],
    }
    result = run_bench(
        bench.component, name, STREAM_DRIVER, params, arrays=arrays, simulator=case.simulator, seed=seed, waves=waves
    )
    return replace(result, summary=_compare(case.id, bench, result))


def _compare(case_id, bench, result):
    """Every output beat against the expected one and every cycle limit; the summary of
    the cycles measured, or `runner.BenchFailure` listing what differs."""
    errors, notes, mismatched, beats = [], [], 0, 0
    for r, run in enumerate(bench.runs):
        with np.load(result.test_dir / f"outputs{r}.npz") as outputs:
            got = {key: outputs[key] for key in outputs.files}
        for t, transfer in enumerate(run.transfers):
            where = f"{run.name}, {transfer.label}"
            received = from_bytes(got[f"out{t}"])
            want = [bench.outputs.pack(b) for b in transfer.expected]
            beats += len(want)
            differ = [n for n, (g, w) in enumerate(zip(received, want)) if g != w]
            mismatched += len(differ)
            errors += [
                f"{where}, beat {n} of {len(want)}: got {bench.outputs.unpack(received[n])}, "
                f"expected {transfer.expected[n]}"
                for n in differ[:SHOWN]
            ]
            if len(differ) > SHOWN:
                errors.append(f"{where}: {len(differ) - SHOWN} more beats differ")
            if transfer.cycle_limit is not None:
                measured = transfer.measured(got[f"cycles{t}"])
                note = f"{where}: {measured} cycles, limit {transfer.cycle_limit:g} ({transfer.cycle_model})"
                notes.append(note)
                if measured > transfer.cycle_limit:
                    errors.append(f"too slow: {note}")
    if errors:
        raise BenchFailure(f"{case_id}: {mismatched} of {beats} output beats differ\n" + "\n".join(errors))
    return f"{beats} beats bit-exact" + "".join(f"; {note}" for note in notes)
