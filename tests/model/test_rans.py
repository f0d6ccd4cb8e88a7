"""The symbol coder alone: exact round trips, escapes, edge cases, and that it really compresses."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licfpga.model.entropy import GaussianConditional, SymbolTable
from licfpga.model.rans import INT16_MAX, INT16_MIN, decode_symbols, encode_symbols

TABLES = [
    SymbolTable.from_pmf(-2, np.array([0.1, 0.2, 0.4, 0.2, 0.1])),
    SymbolTable.from_pmf(0, np.array([0.999])),
    SymbolTable.from_pmf(5, np.array([0.25, 0.25, 0.25, 0.25])),
]


def roundtrip(values, index, tables=TABLES):
    data = encode_symbols(values, index, tables)
    assert len(data) % 4 == 0
    decoded = decode_symbols(data, index, tables)
    assert decoded.shape == np.shape(index)
    np.testing.assert_array_equal(decoded, values)
    return data


def test_roundtrip_mixed_tables(rng):
    index = rng.integers(0, len(TABLES), size=(4, 7, 9))
    offsets = np.array([t.offset for t in TABLES])[index]
    values = offsets + rng.integers(-3, 7, size=index.shape)
    roundtrip(values, index)


def test_escapes_at_both_extremes_and_range_edges():
    # TABLES[0] holds values -2..2 in range
    values = np.array([INT16_MIN, INT16_MAX, -3, 3, -2, 2, 0, INT16_MIN + 1, INT16_MAX - 1, INT16_MIN])
    roundtrip(values, np.zeros(len(values), dtype=np.int64))


def test_empty_input():
    assert encode_symbols(np.zeros(0, np.int32), np.zeros(0, np.int64), TABLES) == b""
    assert decode_symbols(b"", np.zeros((0, 3), np.int64), TABLES).shape == (0, 3)


def test_rejects_what_it_cannot_code():
    with pytest.raises(ValueError, match="int16"):
        encode_symbols(np.array([INT16_MAX + 1]), np.array([0]), TABLES)
    with pytest.raises(ValueError, match="table index"):
        encode_symbols(np.array([0]), np.array([len(TABLES)]), TABLES)
    with pytest.raises(ValueError, match="integers"):
        encode_symbols(np.array([0.5]), np.array([0]), TABLES)


def test_decoder_notices_a_wrong_stream():
    data = encode_symbols(np.arange(-2, 3), np.zeros(5, np.int64), TABLES)
    with pytest.raises(ValueError, match="multiple of 4"):
        decode_symbols(data[:-1], np.zeros(5, np.int64), TABLES)
    with pytest.raises(ValueError, match="left over"):
        decode_symbols(data, np.zeros(1, np.int64), TABLES)


def test_compresses_to_the_entropy():
    tables = GaussianConditional().tables()
    index = np.full(20000, 10)
    values = np.round(np.random.default_rng(0).normal(0.0, 0.5, index.size)).astype(np.int64)
    probs = tables[10].freqs / 2**16
    entropy_bits = -np.log2(probs[values - tables[10].offset]).sum()
    data = roundtrip(values, index, tables)
    assert 8 * len(data) < entropy_bits * 1.01 + 64


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(INT16_MIN, INT16_MAX), st.integers(0, len(TABLES) - 1)), max_size=60), st.booleans()
)
def test_roundtrip_property(pairs, near):
    values = np.array([v % 9 - 3 if near else v for v, _ in pairs], dtype=np.int64)
    index = np.array([i for _, i in pairs], dtype=np.int64)
    roundtrip(values, index)
