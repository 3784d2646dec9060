"""BLE GATT server over aioble: advertising, data notify, control write/reply, status,
Device Information (0x180A) and Battery (0x180F).

The services are built from ``gatt.SERVICES`` (the table the host reads too);
docs/protocol.md has the payloads. aioble's ``notify`` has no flow control: a notify
faster than the link drains raises OSError (ENOMEM on the ESP32); ``App.pump`` catches
it, keeps the samples (``Streamer.failed``) and retries on the next pass.

After each connection the sensor asks for an MTU exchange (``WANTED_MTU``); the App
sizes its batches to the result (``App.fit_batch``), so a 9D notification is never cut
to a 23-byte MTU. Every failure in the tasks is printed (``log``) and retried, never
swallowed silently.
"""

import asyncio
import sys

import aioble
import bluetooth

from hipimu_fw import VERSION, gatt, status
from hipimu_fw.compat import sleep_ms as _sleep_ms

ADV_INTERVAL_US = 100_000
DEFAULT_MTU = 23
WANTED_MTU = 247
MTU_TIMEOUT_MS = 2000
RETRY_MS = 500


def log(msg, exc=None):
    """Print a line (and the exception) on the console: USB serial on the board."""
    print("hipimu:", msg, repr(exc) if exc is not None else "")
    if exc is not None and hasattr(sys, "print_exception"):
        sys.print_exception(exc)  # type: ignore[attr-defined]


def _initial(uuid):
    if uuid == gatt.MANUFACTURER_NAME_UUID:
        return gatt.MANUFACTURER_NAME.encode()
    if uuid == gatt.MODEL_NUMBER_UUID:
        return gatt.MODEL_NUMBER.encode()
    if uuid == gatt.FIRMWARE_REVISION_UUID:
        return f"{VERSION[0]}.{VERSION[1]}".encode()
    if uuid == gatt.BATTERY_LEVEL_UUID:
        return b"\x00"
    return None


class Link:
    """One peripheral connection at a time (the host connects to each sensor once)."""

    def __init__(self):
        self.chars = {}
        services = []
        for svc_uuid, chars in gatt.SERVICES:
            svc = aioble.Service(bluetooth.UUID(svc_uuid))
            for uuid, props in chars:
                writable = "write" in props
                self.chars[uuid] = aioble.Characteristic(
                    svc,
                    bluetooth.UUID(uuid),
                    read="read" in props,
                    write=writable,
                    notify="notify" in props,
                    capture=writable,
                    initial=_initial(uuid),
                )
            services.append(svc)
        aioble.register_services(*services)
        self.data = self.chars[gatt.DATA_UUID]
        self.control = self.chars[gatt.CONTROL_UUID]
        self.status = self.chars[gatt.STATUS_UUID]
        self.battery = self.chars[gatt.BATTERY_LEVEL_UUID]
        self.battery_pct = -1
        self.conn = None
        self.connections = 0
        self.adv_errors = 0
        self.mtu_errors = 0

    # -- used by App (synchronous, no allocation) ------------------------------------
    def connected(self):
        return self.conn is not None

    def send(self, pkt):
        """Notify one data packet; raises OSError when the stack has no room."""
        conn = self.conn
        if conn is None:
            raise OSError(107)  # ENOTCONN: the caller keeps the samples
        self.data.notify(conn, pkt)

    def mtu(self):
        conn = self.conn
        m = conn.mtu if conn is not None else None
        return m if m else DEFAULT_MTU

    def bonded(self):
        conn = self.conn
        if conn is None:
            return False
        return bool(conn.encrypted and conn.bonded)

    def set_status(self, payload, notify=True):
        self.status.write(payload, send_update=notify)

    def set_battery(self, pct):
        """Battery Level (0x2A19): percent 0-100; notified to subscribers when it changes."""
        pct = 0 if pct > 100 else pct  # 255 (unknown) is not a valid level
        if pct != self.battery_pct:
            self.battery_pct = pct
            self.battery.write(bytes((pct,)), send_update=True)

    def set_name(self, name):
        """The GAP device name (what a central reads after connecting)."""
        try:
            aioble.config(gap_name=name)
        except (OSError, ValueError) as e:
            log("could not set the GAP name", e)

    # -- tasks ------------------------------------------------------------------------
    def tasks(self, app):
        return [self.advertise_forever(app), self.control_forever(app)]

    async def advertise_forever(self, app):
        """Advertise, serve one connection, repeat."""
        while True:
            adv, resp = status.advert_payloads(app.cfg.role, app.cfg.kit, app.battery_pct)
            try:
                conn = await aioble.advertise(
                    ADV_INTERVAL_US, adv_data=adv, resp_data=resp, connectable=True
                )
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.adv_errors += 1
                log("advertising failed, retrying", e)
                await _sleep_ms(RETRY_MS)
                continue
            if conn is None:  # aioble returns None when advertising was cancelled
                raise asyncio.CancelledError()
            self.conn = conn
            self.connections += 1
            app.on_connect()
            await self.exchange_mtu(conn, app)
            try:
                await conn.disconnected(timeout_ms=None)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log("waiting for the disconnection failed", e)
            self.conn = None
            app.on_disconnect()

    async def exchange_mtu(self, conn, app):
        """Ask for ``WANTED_MTU``; the batch follows the result (23 if the host refuses)."""
        try:
            await conn.exchange_mtu(WANTED_MTU, timeout_ms=MTU_TIMEOUT_MS)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.mtu_errors += 1
            log(f"MTU exchange failed, keeping MTU {self.mtu()}", e)
        app.fit_batch()

    async def control_forever(self, app):
        while True:
            try:
                conn, data = await self.control.written()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log("control write failed", e)
                await _sleep_ms(10)
                continue
            reply = app.controller.handle(data)
            try:
                self.control.notify(conn, reply)
            except OSError:
                app.reply_failures += 1
