"""Unwrapping the sensors' wrapping counters: the u16 notification ``seq`` and the u32
microsecond device clock."""

from __future__ import annotations

import numpy as np

U32 = 1 << 32
U16 = 1 << 16


def unwrap_near(value: int, reference: int, modulus: int) -> int:
    """The integer congruent to ``value`` (mod ``modulus``) closest to ``reference``."""
    delta = (value - reference + modulus // 2) % modulus - modulus // 2
    return reference + delta


def unwrap_near_array(values: np.ndarray, reference: np.ndarray, modulus: int) -> np.ndarray:
    """:func:`unwrap_near` element-wise (int64)."""
    values = np.asarray(values, dtype=np.int64)
    reference = np.asarray(reference, dtype=np.int64)
    half = modulus // 2
    return reference + (values - reference + half) % modulus - half


def unwrap_chain(values: np.ndarray, modulus: int, start: int | None = None) -> np.ndarray:
    """Unwrap a series, each value near the one before it (the first near ``start``, or
    as it is): the cumulative sum of the wrapped steps (int64)."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0:
        return values.copy()
    half = modulus // 2
    first = int(values[0]) if start is None else unwrap_near(int(values[0]), start, modulus)
    steps = (np.diff(values) + half) % modulus - half
    out = np.empty(len(values), dtype=np.int64)
    out[0] = first
    np.cumsum(steps, out=out[1:])
    out[1:] += first
    return out
