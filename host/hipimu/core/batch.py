"""Many notifications in a few arrays: a session log's, without an object per notification.

A 30-minute recording holds 135 000 notifications; as :class:`Notification` objects they
take 26 MB and a sixth of a second to make. :class:`NotificationBatch` keeps the log's
bytes and where each payload lies, and is a read-only sequence of
:class:`~hipimu.core.types.Notification` (made on access), equal to the list of them.
The stream core reads it without making them (:meth:`SessionAssembler.extend`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

from hipimu.core.types import Notification


class NotificationBatch(Sequence[Notification]):
    """Notifications as arrays: ``host_time`` (float64), ``code`` (index into ``sensors``)
    and ``start``/``stop`` of each payload in ``data``."""

    __slots__ = ("code", "data", "host_time", "sensors", "start", "stop")

    def __init__(
        self,
        host_time: np.ndarray,
        code: np.ndarray,
        sensors: list[str],
        data: bytes,
        start: np.ndarray,
        stop: np.ndarray,
    ) -> None:
        n = len(host_time)
        if not (len(code) == len(start) == len(stop) == n):
            raise ValueError("NotificationBatch: arrays of different lengths")
        self.host_time = np.asarray(host_time, dtype=np.float64)
        self.code = np.asarray(code, dtype=np.int64)
        self.sensors = list(sensors)
        self.data = data
        self.start = np.asarray(start, dtype=np.int64)
        self.stop = np.asarray(stop, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.host_time)

    @overload
    def __getitem__(self, i: int) -> Notification: ...
    @overload
    def __getitem__(self, i: slice) -> list[Notification]: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self._make(np.arange(len(self))[i]))
        k = range(len(self))[i]  # negative indices, IndexError
        return Notification(
            float(self.host_time[k]),
            self.sensors[int(self.code[k])],
            self.data[int(self.start[k]) : int(self.stop[k])],
        )

    def __iter__(self) -> Iterator[Notification]:
        return self._make(slice(None))

    def _make(self, rows) -> Iterator[Notification]:
        """Notifications of ``rows`` (a slice or positions), made together."""
        names = [self.sensors[c] for c in self.code[rows].tolist()]
        return map(Notification, self.host_time[rows].tolist(), names, self.payloads(rows))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (NotificationBatch, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like a list

    def __repr__(self) -> str:
        return f"NotificationBatch({len(self)} notifications from {len(self.sensors)} sensors)"

    def payloads(self, rows: np.ndarray) -> list[bytes]:
        """The payloads of ``rows`` (positions), as bytes."""
        return list(
            map(
                self.data.__getitem__,
                map(slice, self.start[rows].tolist(), self.stop[rows].tolist()),
            )
        )
