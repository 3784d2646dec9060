"""BLE sensors through bleak: scan, connect, configure, time sync, reconnect (docs/ble.md).

Needs the ``ble`` extra (``bleak``). :class:`BleSource` is the source; :func:`scan`
lists sensors; :mod:`hipimu.sources.ble.fake` is a fake bleak backend serving
simulated sensors that run the firmware's code. Names are imported on first use, so
``hipimu`` (e.g. ``--help``) works without bleak installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "BluetoothUnavailable": "errors",
    "unavailable_reason": "errors",
    "BleSource": "source",
    "CommandError": "source",
    "Found": "source",
    "LinkStats": "source",
    "SensorLink": "source",
    "assign": "source",
    "connect_found": "source",
    "connect_role": "source",
    "scan": "source",
}

__all__ = [
    "BleSource",
    "BluetoothUnavailable",
    "CommandError",
    "Found",
    "LinkStats",
    "SensorLink",
    "assign",
    "connect_found",
    "connect_role",
    "scan",
    "unavailable_reason",
]

if TYPE_CHECKING:
    from hipimu.sources.ble.errors import BluetoothUnavailable, unavailable_reason
    from hipimu.sources.ble.source import (
        BleSource,
        CommandError,
        Found,
        LinkStats,
        SensorLink,
        assign,
        connect_found,
        connect_role,
        scan,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
