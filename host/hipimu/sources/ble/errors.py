"""Tell "there is no Bluetooth here" apart from other errors, in one line."""

from __future__ import annotations

import os

from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError

DBUS_SOCKET = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/var/run/dbus/system_bus_socket")


class BluetoothUnavailable(RuntimeError):
    """No usable Bluetooth: no adapter, adapter off, BlueZ or D-Bus not running, no
    permission. ``str()`` is one line that says which and where."""


def unavailable_reason(exc: BaseException) -> str | None:
    """A one-line explanation if ``exc`` means Bluetooth cannot be used at all, else None."""
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return f"Bluetooth not available: {exc.args[0]} ({exc.reason.name.lower()})"
    if isinstance(exc, BleakDBusError):
        name = exc.dbus_error
        if name in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        ):
            return "Bluetooth not available: BlueZ (bluetoothd) is not running on the system bus"
        if name in ("org.freedesktop.DBus.Error.AccessDenied", "org.bluez.Error.NotPermitted"):
            return f"Bluetooth not available: permission denied by D-Bus/BlueZ ({name})"
        if name == "org.bluez.Error.NotReady":
            return (
                "Bluetooth not available: the adapter is not ready "
                "(powered off or blocked by rfkill)"
            )
        return None
    if isinstance(exc, OSError) and exc.filename is not None:
        # a file operation (e.g. creating the session folder), not the bus socket
        return None
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        return (
            f"Bluetooth not available: cannot reach the D-Bus system bus at {DBUS_SOCKET} "
            "(is dbus running? BlueZ needs it)"
        )
    if isinstance(exc, PermissionError):
        return f"Bluetooth not available: permission denied ({exc})"
    if isinstance(exc, BleakError) and "adapter" in str(exc).lower():
        return f"Bluetooth not available: {exc}"
    return None


def translate(exc: BaseException) -> BaseException:
    """``BluetoothUnavailable`` for "no Bluetooth" errors, else ``exc`` itself."""
    reason = unavailable_reason(exc)
    return BluetoothUnavailable(reason) if reason else exc
