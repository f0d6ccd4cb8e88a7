"""Integer frequency tables of the entropy coder, without torch: the integer codec
reads them from an artefact and codes with them on numpy alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Frequencies of every :class:`SymbolTable` sum to ``2**TABLE_PRECISION``.
TABLE_PRECISION = 16


@dataclass(frozen=True)
class SymbolTable:
    """A discrete distribution over the integers ``offset .. offset + len(freqs) - 2``,
    plus an escape (the last entry) for any value outside that range.

    ``freqs`` are positive integers summing to ``2**TABLE_PRECISION``.
    """

    offset: int
    freqs: np.ndarray

    @property
    def support(self) -> int:
        return len(self.freqs) - 1

    @classmethod
    def from_pmf(cls, offset: int, pmf: np.ndarray) -> "SymbolTable":
        """Quantize ``pmf`` (the probabilities of the in-range values; the escape gets
        what they leave) so every entry, the escape included, keeps at least one count."""
        pmf = np.clip(np.asarray(pmf, dtype=np.float64), 0.0, None)
        escape = max(1.0 - pmf.sum(), 0.0)
        probs = np.append(pmf, escape)
        total = 1 << TABLE_PRECISION
        free = total - len(probs)
        if free <= 0:
            raise ValueError(f"a table of {len(probs)} entries does not fit {TABLE_PRECISION}-bit precision")
        freqs = 1 + np.floor(probs / probs.sum() * free).astype(np.int64)
        # Hand the rounding remainder to the most probable entries, deterministically.
        remainder = total - int(freqs.sum())
        order = np.argsort(-probs, kind="stable")
        freqs[order[:remainder]] += 1
        assert int(freqs.sum()) == total
        return cls(int(offset), freqs.astype(np.uint32))
