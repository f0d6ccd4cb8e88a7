"""Progress bars: tqdm where it is installed, a silent stand-in where it is not (a lent
GPU machine has torch and numpy only, and training must run there as it is)."""

from __future__ import annotations

try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - exercised by the GPU-recipe test's import blocker

    class tqdm:  # noqa: N801 - the name tqdm's callers use
        """The part of tqdm's interface licfpga uses; prints nothing."""

        def __init__(self, iterable=None, total=None, initial=0, **_):
            self.iterable, self.n = iterable, initial

        def __iter__(self):
            return iter(self.iterable)

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

        def update(self, n=1):
            self.n += n

        def set_postfix(self, **_):
            pass

        def close(self):
            pass


__all__ = ["tqdm"]
