"""Entropy coding of integer symbols with integer frequency tables (rANS via ``constriction``).

A symbol stream holds values that each name their table (a :class:`SymbolTable`).
Values are grouped by table, and every group is coded with one call of the
coder, which is what makes a Python-side rANS fast. A value outside its table's
range is coded as the table's escape entry followed by the raw value, uniform
over the int16 range; the raw values of all groups follow the grouped symbols.

The table index of every value is known to both sides (z: its channel; y: the
scale index the hyper-decoder gives it), so only the values travel.
"""

from __future__ import annotations

from collections.abc import Sequence

import constriction
import numpy as np

from .tables import TABLE_PRECISION, SymbolTable

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1

_RAW_MODEL = constriction.stream.model.Uniform(INT16_MAX - INT16_MIN + 1)


def _categorical(table: SymbolTable):
    return constriction.stream.model.Categorical(table.freqs.astype(np.float64) / (1 << TABLE_PRECISION), perfect=False)


def _groups(table_index: np.ndarray, n_tables: int) -> tuple[np.ndarray, np.ndarray]:
    """The permutation that sorts values by table (stable, so order within a group is
    raster order) and the group boundaries in it."""
    if table_index.size and (table_index.min() < 0 or table_index.max() >= n_tables):
        raise ValueError(f"table index out of range 0..{n_tables - 1}")
    order = np.argsort(table_index, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(table_index, minlength=n_tables))])
    return order, bounds


def encode_symbols(values: np.ndarray, table_index: np.ndarray, tables: Sequence[SymbolTable]) -> bytes:
    """Code int16-range ``values`` (any shape) with ``tables[table_index]`` (same shape).

    Returns the compressed words as little-endian bytes (a multiple of 4 long; empty
    for no values)."""
    values = np.asarray(values).reshape(-1)
    table_index = np.asarray(table_index, dtype=np.int64).reshape(-1)
    if values.shape != table_index.shape:
        raise ValueError(f"{values.size} values but {table_index.size} table indexes")
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"values must be integers, got {values.dtype}")
    values = values.astype(np.int64)
    if values.size and (values.min() < INT16_MIN or values.max() > INT16_MAX):
        raise ValueError("values must lie in the int16 range")
    order, bounds = _groups(table_index, len(tables))
    values = values[order]

    groups, raws = [], []
    for i, table in enumerate(tables):
        group = values[bounds[i] : bounds[i + 1]]
        if not group.size:
            continue
        symbols = group - table.offset
        escaped = (symbols < 0) | (symbols >= table.support)
        symbols[escaped] = table.support
        groups.append((symbols.astype(np.int32), table))
        raws.append(group[escaped])

    coder = constriction.stream.stack.AnsCoder()
    # A stack: push in the reverse of decoding order (groups by table, then the raw values).
    raw = np.concatenate(raws) if raws else np.zeros(0, np.int64)
    if raw.size:
        coder.encode_reverse((raw - INT16_MIN).astype(np.int32), _RAW_MODEL)
    for symbols, table in reversed(groups):
        coder.encode_reverse(symbols, _categorical(table))
    return coder.get_compressed().astype("<u4").tobytes()


def decode_symbols(data: bytes, table_index: np.ndarray, tables: Sequence[SymbolTable]) -> np.ndarray:
    """Invert :func:`encode_symbols`: int32 values shaped like ``table_index``.

    Raises ``ValueError`` when ``data`` is not a stream of exactly these symbols (as far
    as the coder can tell; the file checksum is the real guard against corruption)."""
    table_index = np.asarray(table_index, dtype=np.int64)
    flat_index = table_index.reshape(-1)
    if len(data) % 4:
        raise ValueError("symbol stream length is not a multiple of 4 bytes")
    order, bounds = _groups(flat_index, len(tables))
    coder = constriction.stream.stack.AnsCoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))

    sorted_values = np.empty(flat_index.size, dtype=np.int64)
    escaped = np.zeros(flat_index.size, dtype=bool)
    for i, table in enumerate(tables):
        start, stop = bounds[i], bounds[i + 1]
        if start == stop:
            continue
        symbols = coder.decode(_categorical(table), int(stop - start)).astype(np.int64)
        sorted_values[start:stop] = symbols + table.offset
        escaped[start:stop] = symbols == table.support
    n_raw = int(escaped.sum())
    if n_raw:
        sorted_values[escaped] = coder.decode(_RAW_MODEL, n_raw).astype(np.int64) + INT16_MIN
    if not coder.is_empty():
        raise ValueError("symbol stream has data left over after its last symbol")

    values = np.empty(flat_index.size, dtype=np.int32)
    values[order] = sorted_values
    return values.reshape(table_index.shape)
