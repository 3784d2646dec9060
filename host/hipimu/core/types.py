"""What every source produces, and the interface sources share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Notification:
    """One BLE data notification as it reached the host.

    ``host_time`` is seconds on the host's monotonic clock at arrival, ``sensor`` the
    sensor's address (unique per device), ``payload`` the notification bytes.
    """

    host_time: float
    sensor: str
    payload: bytes


@runtime_checkable
class Source(Protocol):
    """A source of notifications: BLE sensors, simulated sensors, or a replayed log.

    ``stream()`` yields notifications in arrival order until the source ends or the
    consumer stops iterating; ``markers`` holds exercise markers known to the source
    (the simulator's protocol, a log's recorded markers), empty for live sensors.
    """

    markers: list[dict]

    def stream(self) -> AsyncIterator[Notification]: ...
