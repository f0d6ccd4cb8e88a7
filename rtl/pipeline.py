"""Latencies counted from named register stages rather than by hand.

An engine lists its register stages once, in order, each with its cycles; its latency
is their sum. Adding a stage is one line, and every latency built on it (a FIFO's
credits, an enclosing engine's latency, the tests' bounds) follows.
"""

from amaranth import Signal, Value

__all__ = ["Pipeline", "Stages"]


class Pipeline:
    """The register stages of one engine, in order: ``stage(name, cycles)`` adds one
    (and returns the pipeline, so a pipeline reads as its list of stages); ``latency``
    is the sum of their cycles, ``cycles(name)`` one stage's."""

    def __init__(self, name: str):
        self.name = name
        self._stages: dict[str, int] = {}

    def stage(self, name: str, cycles: int = 1) -> "Pipeline":
        if name in self._stages:
            raise ValueError(f"{self.name}: stage {name!r} is registered twice")
        if not isinstance(cycles, int) or isinstance(cycles, bool) or cycles < 0:
            raise ValueError(f"{self.name}: stage {name!r} has cycles={cycles!r}, not a count ≥ 0")
        self._stages[name] = cycles
        return self

    def cycles(self, name: str) -> int:
        return self._stages[name]

    @property
    def stages(self) -> dict[str, int]:
        """Every stage's cycles by name, in pipeline order."""
        return dict(self._stages)

    @property
    def latency(self) -> int:
        return sum(self._stages.values())

    def __repr__(self) -> str:
        return (
            f"Pipeline({self.name!r}: "
            + " + ".join(f"{n} {c}" for n, c in self._stages.items())
            + f" = {self.latency})"
        )


class Stages:
    """Registered values of one pipeline, each at the stage it is valid in.

    ``reg(name, value, stage)`` registers ``value`` (an expression of values at stage
    − 1) so it is valid at ``stage``; ``at(name, stage)`` is that value delayed to a
    later stage, its delay registers shared by every user. Operands are aligned by
    stage numbers, so adding a stage moves no hand-counted delay.
    """

    def __init__(self, m, prefix: str):
        self._m, self._prefix = m, prefix
        self._chains: dict[str, tuple[int, list]] = {}

    def reg(self, name: str, value, stage: int, shape=None):
        sig = Signal(shape if shape is not None else Value.cast(value).shape(), name=f"{self._prefix}_{name}")
        self._m.d.sync += sig.eq(value)
        return self.put(name, sig, stage)

    def put(self, name: str, sig, stage: int):
        """Records ``sig``, registered elsewhere (e.g. a multi-stage product), as valid at
        ``stage``."""
        if name in self._chains:
            raise ValueError(f"{self._prefix}: value {name!r} is registered twice")
        self._chains[name] = (stage, [sig])
        return sig

    def at(self, name: str, stage: int):
        first, chain = self._chains[name]
        if stage < first:
            raise ValueError(f"{self._prefix}: {name!r} is valid from stage {first}, asked at {stage}")
        while len(chain) <= stage - first:
            d = Signal.like(chain[-1], name=f"{self._prefix}_{name}_s{first + len(chain)}")
            self._m.d.sync += d.eq(chain[-1])
            chain.append(d)
        return chain[stage - first]
