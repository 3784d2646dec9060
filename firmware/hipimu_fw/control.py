"""Control characteristic: parse a write, act on it, build the reply (docs/protocol.md).

Pure (no ``machine``/``bluetooth``): ``Controller`` talks to the application through a
small device interface, so the same code is exercised by the golden vectors in
``tests/vectors/control.json`` under CPython and in the MicroPython VM.

Device interface (duck-typed; ``app.App`` implements it, tests use a fake):
``streaming`` (bool attribute), ``start()``, ``stop()``, ``tare()``, ``identify(s)``,
``now_u32()``, ``bonded()``, ``supports_content(mask)``, ``supports_rate(hz)``
(optional), ``apply(key)`` (a setting in
the config changed: rebuild what depends on it) and ``save()`` (returns True on success).

Security rule: while ``cfg.secure`` is set and the sensor has a role (not 255), the
writes that change persistent identity -- SET_ROLE, SET_KIT and SAVE -- need a bonded
(encrypted) link, else status 3. A fresh, unassigned sensor can be set up without
pairing; docs/firmware.md explains bonding with MicroPython's BLE stack.
"""

import struct

from hipimu_fw import config, packet
from hipimu_fw.gatt import (  # the wire constants live in gatt.py (one source of truth)
    BAD_LENGTH,
    BAD_VALUE,
    BUSY,
    IDENTIFY,
    NOT_ALLOWED,
    OK,
    OPCODES,
    SAVE,
    SET_BATCH,
    SET_CONTENT,
    SET_KIT,
    SET_RATE,
    SET_ROLE,
    START,
    STOP,
    TARE,
    TIME_PING,
    UNKNOWN,
)
from hipimu_fw.gatt import WRITE_LENGTH as _LENGTH

NAMES = {v: k for k, v in OPCODES.items()}

_GUARDED = (SET_ROLE, SET_KIT, SAVE)


class Controller:
    """Executes control writes against ``cfg`` (a ``config.Config``) and ``device``."""

    def __init__(self, cfg, device):
        self.cfg = cfg
        self.device = device
        self.buf = bytearray(10)
        self.view = memoryview(self.buf)
        self.handled = 0
        self.errors = 0

    def _reply(self, op, status, n=2):
        self.buf[0] = (op | 0x80) & 0xFF
        self.buf[1] = status
        self.handled += 1
        if status != OK:
            self.errors += 1
        return self.view[:n]

    def allowed(self, op):
        """Whether ``op`` may run on the current link (the bond rule above)."""
        if op not in _GUARDED:
            return True
        cfg = self.cfg
        if not cfg.secure or cfg.role == packet.ROLE_UNASSIGNED:
            return True
        return bool(self.device.bonded())

    def handle(self, data):
        """The reply to one control write (a memoryview valid until the next call)."""
        if len(data) == 0:
            return self._reply(0, BAD_LENGTH)
        op = data[0]
        if op not in _LENGTH:
            return self._reply(op, UNKNOWN)
        if len(data) != _LENGTH[op]:
            return self._reply(op, BAD_LENGTH)
        dev = self.device
        cfg = self.cfg
        if op == START:
            if not dev.streaming:
                dev.start()
            return self._reply(op, OK)
        if op == STOP:
            if dev.streaming:
                dev.stop()
            return self._reply(op, OK)
        if op == SET_RATE:
            rate = data[1] | (data[2] << 8)
            if rate not in config.RATES:
                return self._reply(op, BAD_VALUE)
            supports_rate = getattr(dev, "supports_rate", None)
            if supports_rate is not None and not supports_rate(rate):
                return self._reply(op, BAD_VALUE)  # above the IMU's maximum for this content
            if dev.streaming:
                return self._reply(op, BUSY)
            cfg.rate = rate
            dev.apply("rate")
            return self._reply(op, OK)
        if op == SET_CONTENT:
            mask = data[1]
            if mask < 1 or mask > 15 or not dev.supports_content(mask):
                return self._reply(op, BAD_VALUE)
            if dev.streaming:
                return self._reply(op, BUSY)
            cfg.content = mask
            dev.apply("content")
            return self._reply(op, OK)
        if op == SET_ROLE:
            role = data[1]
            if not config.valid_role(role):
                return self._reply(op, BAD_VALUE)
            if not self.allowed(op):
                return self._reply(op, NOT_ALLOWED)
            if dev.streaming:
                return self._reply(op, BUSY)
            cfg.role = role
            dev.apply("role")
            return self._reply(op, OK)
        if op == TIME_PING:
            # token echoed byte for byte; sensor time as u32 (control path: may allocate)
            self.buf[2:6] = data[1:5]
            t = dev.now_u32() & 0xFFFFFFFF
            struct.pack_into("<HH", self.buf, 6, t & 0xFFFF, t >> 16)
            return self._reply(op, OK, 10)
        if op == TARE:
            dev.tare()
            return self._reply(op, OK)
        if op == IDENTIFY:
            dev.identify(data[1])
            return self._reply(op, OK)
        if op == SET_KIT:
            if not self.allowed(op):
                return self._reply(op, NOT_ALLOWED)
            cfg.kit = struct.unpack_from("<I", data, 1)[0]
            dev.apply("kit")
            return self._reply(op, OK)
        if op == SET_BATCH:
            batch = data[1]
            if batch < 1 or batch > packet.MAX_SAMPLES:
                return self._reply(op, BAD_VALUE)
            cfg.batch = batch
            dev.apply("batch")
            return self._reply(op, OK)
        # SAVE
        if not self.allowed(op):
            return self._reply(op, NOT_ALLOWED)
        if not dev.save():
            return self._reply(op, BUSY)
        return self._reply(op, OK)
