"""A fixed-capacity ring of rows whose newest rows are always one contiguous array."""

from __future__ import annotations

import numpy as np


class Ring:
    """Rows of ``width`` values; keeps the newest ``capacity`` rows (at least).

    Storage is twice the capacity: rows are appended at the end and, when it fills, the
    newest rows are moved to the front, so :meth:`view` never copies. ``total`` counts
    every row ever appended; the absolute index of ``view()[0]`` is ``total - len``.
    A view is only valid until the next :meth:`append`.
    """

    def __init__(self, capacity: int, width: int, dtype: type = np.float64) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self.width = width
        self._data = np.full((2 * capacity, width), np.nan, dtype=dtype)
        self._start = 0
        self._end = 0
        self.total = 0

    def __len__(self) -> int:
        return self._end - self._start

    def append(self, rows: np.ndarray) -> None:
        """Append rows ``(n, width)`` (or one row ``(width,)``); the oldest fall off."""
        rows = np.asarray(rows).reshape(-1, self.width)
        n = len(rows)
        self.total += n
        if n > self.capacity:
            rows = rows[-self.capacity :]
            n = self.capacity
        if self._end + n > len(self._data):
            keep = min(len(self), self.capacity - n)
            self._data[:keep] = self._data[self._end - keep : self._end]
            self._start, self._end = 0, keep
        self._data[self._end : self._end + n] = rows
        self._end += n
        if self._end - self._start > self.capacity:
            self._start = self._end - self.capacity

    def view(self) -> np.ndarray:
        """The retained rows, oldest first (a view into the storage)."""
        return self._data[self._start : self._end]

    def tail(self, n: int) -> np.ndarray:
        """The newest ``n`` rows (fewer if fewer are retained)."""
        return self._data[max(self._start, self._end - max(n, 0)) : self._end]

    def clear(self) -> None:
        self._start = self._end = 0
