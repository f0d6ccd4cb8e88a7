"""Latencies counted from named register stages rather than by hand.

An engine lists its register stages once, in order, each with its cycles; its latency
is their sum. Adding a stage is one line, and every latency built on it (a FIFO's
credits, an enclosing engine's latency, the tests' bounds) follows.
"""

__all__ = ["Pipeline"]


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
