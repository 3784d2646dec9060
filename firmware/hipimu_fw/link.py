"""BLE GATT server over aioble: advertising, data notify, control write/reply, status.

docs/protocol.md has the UUIDs and payloads. aioble's ``notify`` has no flow control: a
notify faster than the link drains raises OSError (ENOMEM on the ESP32); ``App.pump``
catches it, keeps the samples (``Streamer.failed``) and retries on the next pass.
"""

import asyncio

import aioble
import bluetooth

from hipimu_fw import status
from hipimu_fw.compat import sleep_ms as _sleep_ms

ADV_INTERVAL_US = 100_000
DEFAULT_MTU = 23
WANTED_MTU = 247


class Link:
    """One peripheral connection at a time (the host connects to each sensor once)."""

    def __init__(self):
        self.service = aioble.Service(bluetooth.UUID(status.SERVICE_UUID))
        self.data = aioble.Characteristic(
            self.service, bluetooth.UUID(status.DATA_UUID), notify=True
        )
        self.control = aioble.Characteristic(
            self.service,
            bluetooth.UUID(status.CONTROL_UUID),
            write=True,
            notify=True,
            capture=True,
        )
        self.status = aioble.Characteristic(
            self.service, bluetooth.UUID(status.STATUS_UUID), read=True, notify=True
        )
        aioble.register_services(self.service)
        try:  # restore bonds from ble_secrets.json (aioble.security keeps the keys there)
            from aioble import security

            security.load_secrets()
        except (ImportError, AttributeError, OSError, ValueError):
            pass
        self.conn = None
        self.connections = 0

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
        m = getattr(conn, "mtu", None) if conn is not None else None
        return m if m else DEFAULT_MTU

    def bonded(self):
        conn = self.conn
        if conn is None:
            return False
        return bool(getattr(conn, "encrypted", False) and getattr(conn, "bonded", False))

    def set_status(self, payload, notify=True):
        self.status.write(payload, send_update=notify)

    # -- tasks ------------------------------------------------------------------------
    def tasks(self, app):
        return [self.advertise_forever(app), self.control_forever(app)]

    async def advertise_forever(self, app):
        """Advertise, serve one connection, repeat."""
        while True:
            adv, resp = status.advert_payloads(app.cfg.role, app.cfg.kit, app.battery_pct)
            try:
                conn = await aioble.advertise(
                    ADV_INTERVAL_US, adv_data=adv, resp_data=resp, connect=True
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                await _sleep_ms(500)
                continue
            self.conn = conn
            self.connections += 1
            app.on_connect()
            try:
                await conn.disconnected(timeout_ms=None)
            except Exception:
                pass
            self.conn = None
            app.on_disconnect()

    async def control_forever(self, app):
        while True:
            try:
                conn, data = await self.control.written()
            except asyncio.CancelledError:
                raise
            except Exception:
                await _sleep_ms(10)
                continue
            reply = app.controller.handle(data)
            try:
                self.control.notify(conn, reply)
            except OSError:
                app.reply_failures += 1
