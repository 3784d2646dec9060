"""Fake ``aioble``: the subset link.py uses, with failure injection.

``Characteristic.notify`` appends a copy of the data to ``connection.notified`` or
raises ``OSError(12)`` (ENOMEM, like the ESP32 stack when its buffers are full) while
``connection.fail_notify`` is set. Async parts use the running event loop (CPython's
asyncio, or MicroPython's).
"""

import asyncio

services = []
advertisements = []
pending_connections = []


class Service:
    def __init__(self, uuid):
        self.uuid = uuid
        self.characteristics = []


class DeviceConnection:
    def __init__(self, mtu=247, encrypted=False, bonded=False):
        self.mtu = mtu
        self.encrypted = encrypted
        self.authenticated = False
        self.bonded = bonded
        self.notified = []
        self.fail_notify = False
        self.connected = True
        self._closed = asyncio.Event()

    def is_connected(self):
        return self.connected

    def disconnect_now(self):
        self.connected = False
        self._closed.set()

    async def disconnected(self, timeout_ms=None):
        await self._closed.wait()


class Characteristic:
    def __init__(
        self,
        service,
        uuid,
        read=False,
        write=False,
        write_no_response=False,
        notify=False,
        indicate=False,
        initial=None,
        capture=False,
    ):
        self.service = service
        self.uuid = uuid
        self.flags = (read, write, notify, capture)
        self.value = initial
        self.updates = 0
        self.writes = []
        self._event = asyncio.Event()
        service.characteristics.append(self)

    def notify(self, connection, data=None):
        if not self.flags[2]:
            raise ValueError("not notifiable")
        if connection.fail_notify:
            raise OSError(12)
        connection.notified.append(bytes(data if data is not None else self.value))

    def write(self, data, send_update=False):
        self.value = bytes(data)
        if send_update:
            self.updates += 1

    def read(self):
        return self.value

    def host_write(self, connection, data):
        """Test helper: the central writes ``data``."""
        self.writes.append((connection, bytes(data)))
        self._event.set()

    async def written(self, timeout_ms=None):
        while not self.writes:
            self._event.clear()
            await self._event.wait()
        conn, data = self.writes.pop(0)
        return (conn, data) if self.flags[3] else conn


def register_services(*svcs):
    services.extend(svcs)
    return [[0] * len(s.characteristics) for s in svcs]


async def advertise(
    interval_us,
    adv_data=None,
    resp_data=None,
    connect=True,
    limit_ms=None,
    name=None,
    services=None,
    appearance=0,
    manufacturer=None,
    timeout_ms=None,
):
    advertisements.append((interval_us, adv_data, resp_data))
    while not pending_connections:
        await asyncio.sleep(0.001)
    return pending_connections.pop(0)


def reset_fake():
    del services[:]
    del advertisements[:]
    del pending_connections[:]
