"""The record every source produces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Notification:
    """One BLE data notification as it reached the host.

    ``host_time`` is seconds on the host's monotonic clock at arrival, ``sensor`` the
    sensor's address (unique per device), ``payload`` the notification bytes.
    """

    host_time: float
    sensor: str
    payload: bytes
