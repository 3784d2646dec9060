"""The ``bluetooth`` module's documented low-level API (MicroPython docs, "bluetooth --
low-level Bluetooth"), backed by a model of the radio and of one central, for running the
real aioble and the firmware in the MicroPython VM.

This is the only stand-in under aioble: advertising, connections, GATT server handles and
values, notifications, MTU exchange, pairing and the bond store reach aioble through the
IRQ events and calls a board's NimBLE stack uses (event codes and payloads as documented).
Behaviour modelled after the ESP32 port:

- ``gatts_notify`` takes one of ``TX_BUFFERS`` buffers; each connection event (every
  ``interval_us``) sends up to ``per_event`` of them; with none free it raises
  ``OSError(ENOMEM)``. A notification longer than ``MTU - 3`` is cut to ``MTU - 3`` without
  an error (what NimBLE does), and counted in ``Central.truncated``.
- A central's write lands in the characteristic's buffer (20 bytes unless
  ``gatts_set_buffer``), then ``_IRQ_GATTS_WRITE`` (conn_handle, value_handle).
- Bonds: pairing stores the peer's keys through ``_IRQ_SET_SECRET`` (type 2, peer sec);
  when the stack starts (``active(True)``) it reads every stored peer record through
  ``_IRQ_GET_SECRET`` (key None, index i) to fill the resolving list, as NimBLE's host
  does at sync. A central using resolvable private addresses is recognised again only if
  its IRK was in that list; its encryption request then looks its LTK up by identity
  address (``_IRQ_GET_SECRET`` with a key) and ends in ``_IRQ_ENCRYPTION_UPDATE``.
- IRQs are delivered as BLE events on virtual time (``vclock``): they do not wake the
  main task (micropython#5994), they are seen at its next wake.
"""

import vclock

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_GATTS_READ_REQUEST = 4
_IRQ_GATTS_INDICATE_DONE = 20
_IRQ_MTU_EXCHANGED = 21
_IRQ_ENCRYPTION_UPDATE = 28
_IRQ_GET_SECRET = 29
_IRQ_SET_SECRET = 30

_SEC_PEER = 2
ENOMEM = 12
ENOTCONN = 128
TX_BUFFERS = 12
DEFAULT_BUFFER = 20


class UUID:
    def __init__(self, value):
        if isinstance(value, UUID):
            value = value.value
        if isinstance(value, str):
            value = value.lower()
            if len(value.replace("-", "")) != 32:
                raise ValueError("invalid UUID")
        elif not isinstance(value, int) or not 0 <= value <= 0xFFFF:
            raise ValueError("invalid UUID")
        self.value = value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)

    def __str__(self):
        v = self.value
        return f"UUID('{v}')" if isinstance(v, str) else f"UUID({hex(v)})"

    __repr__ = __str__


class _Radio:
    """The one radio every ``BLE()`` returns (as on a board)."""

    def __init__(self):
        self.handler = None
        self.reset()

    def reset(self):
        """Power-on state: inactive, nothing registered (the flash -- files -- survives).

        The IRQ handler stays: aioble registers it once, when it is imported.
        """
        self.active = False
        self.config = {"gap_name": "MPY ESP32", "mtu": 23, "bond": False}
        self.values = {}  # handle -> bytearray
        self.buffers = {}  # handle -> (size, append)
        self.flags = {}  # handle -> flags
        self.next_handle = 1
        self.advertising = None  # (interval_us, adv_data, resp_data, connectable)
        self.adverts = []  # every gap_advertise call with data
        self.resolving = []  # (irk, identity) loaded at stack start
        self.conns = {}  # conn_handle -> Central
        self.next_conn = 1
        self.starts = 0
        self.calls = []  # names of calls, in order (for the tests)

    def irq(self, event, data):
        h = self.handler
        return h(event, data) if h is not None else None


radio = _Radio()


class BLE:
    def __init__(self):
        self._r = radio

    def active(self, on=None):
        r = self._r
        if on is None:
            return r.active
        if on and not r.active:
            r.active = True
            r.starts += 1
            r.calls.append("active")
            self._sync()
        elif not on and r.active:
            for c in list(r.conns.values()):
                c._dropped()
            r.reset()
        return r.active

    def _sync(self):
        """NimBLE host sync: restore the peers' IRKs from the bond store."""
        r = self._r
        r.resolving = []
        i = 0
        while True:
            value = r.irq(_IRQ_GET_SECRET, (_SEC_PEER, i, None))
            if value is None:
                break
            rec = _PeerRecord.parse(bytes(value))
            if rec is not None:
                r.resolving.append((rec.irk, rec.identity))
            i += 1

    def config(self, *args, **kwargs):
        r = self._r
        if args:
            key = args[0]
            if key == "mac":
                return (0, b"\x24\x6f\x28\x00\x00\x01")
            if key not in r.config:
                raise ValueError("unknown config param")
            return r.config[key]
        for k, v in kwargs.items():
            if k == "gap_name":
                if not isinstance(v, (str, bytes)):
                    raise TypeError("gap_name")
                v = v.decode() if isinstance(v, bytes) else v
            elif k == "mtu":
                if not 23 <= v <= 517:
                    raise ValueError("mtu")
            elif k not in ("bond", "le_secure", "mitm", "io", "addr_mode", "rxbuf", "interval"):
                raise ValueError("unknown config param")
            r.config[k] = v
        return None

    def irq(self, handler):
        self._r.handler = handler

    # -- GAP ----------------------------------------------------------------------------
    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        r = self._r
        self._need_active()
        if interval_us is None:
            r.advertising = None
            return
        for d in (adv_data, resp_data):
            if d is not None and len(d) > 31:
                raise OSError(22)  # EINVAL: legacy advertising payloads hold 31 bytes
        adv = bytes(adv_data) if adv_data is not None else b""
        resp = bytes(resp_data) if resp_data is not None else b""
        r.advertising = (interval_us, adv, resp, bool(connectable))
        r.adverts.append(r.advertising)

    def gap_disconnect(self, conn_handle):
        c = self._r.conns.get(conn_handle)
        if c is None:
            return False
        c.disconnect()
        return True

    def gap_pair(self, conn_handle):
        c = self._conn(conn_handle)
        c.pair()

    def gap_passkey(self, conn_handle, action, passkey):
        self._conn(conn_handle)

    # -- GATT server ----------------------------------------------------------------------
    def gatts_register_services(self, services_definition):
        r = self._r
        self._need_active()
        r.values, r.buffers, r.flags = {}, {}, {}
        r.next_handle = 1
        out = []
        for svc in services_definition:
            uuid, chars = svc
            if not isinstance(uuid, UUID):
                raise TypeError("service UUID")
            r.next_handle += 1  # service declaration
            handles = []
            for ch in chars:
                cuuid, flags = ch[0], ch[1]
                if not isinstance(cuuid, UUID):
                    raise TypeError("characteristic UUID")
                r.next_handle += 1  # characteristic declaration
                h = r.next_handle
                r.next_handle += 1
                r.values[h] = bytearray()
                r.flags[h] = flags
                r.buffers[h] = (DEFAULT_BUFFER, False)
                handles.append(h)
                if flags & (FLAG_NOTIFY | FLAG_INDICATE):
                    r.next_handle += 1  # CCCD
                for d in ch[2] if len(ch) > 2 else ():
                    dh = r.next_handle
                    r.next_handle += 1
                    r.values[dh] = bytearray()
                    r.flags[dh] = d[1]
                    r.buffers[dh] = (DEFAULT_BUFFER, False)
                    handles.append(dh)
            out.append(tuple(handles))
        r.calls.append("register")
        return tuple(out)

    def gatts_read(self, value_handle):
        return bytes(self._value(value_handle))

    def gatts_write(self, value_handle, data, send_update=False):
        v = self._value(value_handle)
        v[:] = bytes(data)
        if send_update:
            for c in list(self._r.conns.values()):
                if value_handle in c.subscribed:
                    c._queue(value_handle, bytes(v), raise_full=False)

    def gatts_notify(self, conn_handle, value_handle, data=None):
        c = self._conn(conn_handle)
        payload = bytes(self._value(value_handle)) if data is None else bytes(data)
        c._queue(value_handle, payload, raise_full=True)

    def gatts_indicate(self, conn_handle, value_handle, data=None):
        c = self._conn(conn_handle)
        payload = bytes(self._value(value_handle)) if data is None else bytes(data)
        c._queue(value_handle, payload, raise_full=True)
        vclock.after(
            2 * c.interval_us,
            lambda: radio.irq(_IRQ_GATTS_INDICATE_DONE, (conn_handle, value_handle, 0)),
        )

    def gatts_set_buffer(self, value_handle, size, append=False):
        self._value(value_handle)
        self._r.buffers[value_handle] = (size, append)

    # -- GATT client (the sensor uses only the MTU exchange) ------------------------------
    def gattc_exchange_mtu(self, conn_handle):
        c = self._conn(conn_handle)
        ours = self._r.config["mtu"]
        vclock.after(2 * c.interval_us, lambda: c._mtu_exchanged(ours))

    # -- helpers --------------------------------------------------------------------------
    def _need_active(self):
        if not self._r.active:
            raise OSError(1)  # EPERM: the stack is not active

    def _value(self, handle):
        v = self._r.values.get(handle)
        if v is None:
            raise ValueError("invalid handle")
        return v

    def _conn(self, conn_handle):
        c = self._r.conns.get(conn_handle)
        if c is None:
            raise OSError(ENOTCONN)
        return c


class _PeerRecord:
    """What this model stores per bonded peer: identity address, IRK, LTK (7 + 16 + 16)."""

    def __init__(self, identity, irk, ltk):
        self.identity, self.irk, self.ltk = identity, irk, ltk

    def pack(self):
        return self.identity + self.irk + self.ltk

    @staticmethod
    def parse(b):
        if len(b) != 39:
            return None
        return _PeerRecord(b[:7], b[7:23], b[23:39])


class Central:
    """A host (phone, laptop) connecting to the sensor; the tests drive it.

    ``rpa``: the central advertises a fresh resolvable private address at every
    connection (as phones and BlueZ with privacy do); its identity and IRK stay.
    """

    _count = [0]  # noqa: RUF012 - one counter for every central (distinct identities)

    def __init__(self, mtu=247, interval_us=30_000, per_event=6, rpa=True, seed=1):
        Central._count[0] += 1
        self.seed = seed
        self.identity = bytes((0, 0xC0, 0, 0, 0, seed, Central._count[0]))
        self.irk = bytes((seed + i) & 0xFF for i in range(16))
        self.ltk = None  # set by pairing (kept by the central across reboots)
        self.rpa = rpa
        self.mtu_wanted = mtu
        self.interval_us = interval_us
        self.per_event = per_event
        self.conn = None
        self.mtu = 23
        self.tx = []  # (handle, payload) waiting for a connection event
        self.received = []  # (t_us, handle, payload)
        self.truncated = 0
        self.subscribed = set()
        self.encrypted = False
        self.bonded = False
        self.encryption_failed = 0
        self.addr = self.identity
        self._rpa_n = 0

    # -- link -----------------------------------------------------------------------------
    def connect(self):
        r = radio
        if r.advertising is None or not r.advertising[3]:
            raise OSError(ENOTCONN)  # nothing connectable to connect to
        r.advertising = None  # the controller stops advertising on connection
        self.conn = r.next_conn
        r.next_conn += 1
        r.conns[self.conn] = self
        self.mtu = 23
        self.tx = []
        self.encrypted = self.bonded = False
        if self.rpa:
            self._rpa_n += 1
            self.addr = bytes((1, 0x40, self._rpa_n, 0x55, 0x66, 0x77, self.seed))
        conn, addr = self.conn, self.addr
        vclock.after(
            self.interval_us, lambda: r.irq(_IRQ_CENTRAL_CONNECT, (conn, addr[0], addr[1:]))
        )
        self._event_loop(conn)
        return conn

    def _event_loop(self, conn):
        def tick():
            if self.conn != conn:
                return
            n = 0
            while self.tx and n < self.per_event:
                h, payload = self.tx.pop(0)
                self.received.append((vclock.now[0], h, payload))
                n += 1
            vclock.after(self.interval_us, tick)

        vclock.after(self.interval_us, tick)

    def _queue(self, handle, payload, raise_full):
        if len(self.tx) >= TX_BUFFERS:
            if raise_full:
                raise OSError(ENOMEM)
            return
        room = self.mtu - 3
        if len(payload) > room:
            payload = payload[:room]
            self.truncated += 1
        self.tx.append((handle, payload))

    def disconnect(self):
        conn = self.conn
        if conn is None:
            return
        self._dropped()
        addr = self.addr
        vclock.after(
            self.interval_us,
            lambda: radio.irq(_IRQ_CENTRAL_DISCONNECT, (conn, addr[0], addr[1:])),
        )

    def _dropped(self):
        radio.conns.pop(self.conn, None)
        self.conn = None
        self.tx = []

    def exchange_mtu(self):
        """The central starts the exchange (the sensor may start it too)."""
        self._mtu_exchanged(radio.config["mtu"])

    def _mtu_exchanged(self, ours):
        if self.conn is None:
            return
        self.mtu = min(ours, self.mtu_wanted)
        conn, mtu = self.conn, self.mtu
        radio.irq(_IRQ_MTU_EXCHANGED, (conn, mtu))

    # -- GATT client ----------------------------------------------------------------------
    def subscribe(self, handle):
        self.subscribed.add(handle)

    def write(self, handle, data):
        r = radio
        if self.conn is None:
            raise OSError(ENOTCONN)
        v = r.values[handle]
        size, append = r.buffers[handle]
        data = bytes(data)[:size]
        if append:
            v.extend(data)
        else:
            v[:] = data
        conn = self.conn
        vclock.after(self.interval_us, lambda: r.irq(_IRQ_GATTS_WRITE, (conn, handle)))

    def read(self, handle):
        r = radio
        rc = r.irq(_IRQ_GATTS_READ_REQUEST, (self.conn, handle))
        if rc:
            raise OSError(rc)
        return bytes(r.values[handle])

    def notifications(self, handle):
        return [p for _, h, p in self.received if h == handle]

    # -- security -------------------------------------------------------------------------
    def pair(self):
        """Just-works pairing with bonding (when the sensor allows bonds)."""
        r = radio
        conn = self.conn
        if conn is None:
            raise OSError(ENOTCONN)
        bond = bool(r.config.get("bond"))
        self.ltk = bytes((self.seed * 7 + i * 13) & 0xFF for i in range(16))
        rec = _PeerRecord(self.identity, self.irk, self.ltk)

        def done():
            if bond:
                r.irq(_IRQ_SET_SECRET, (_SEC_PEER, self.identity, rec.pack()))
                r.resolving.append((self.irk, self.identity))
            self.encrypted, self.bonded = True, bond
            r.irq(_IRQ_ENCRYPTION_UPDATE, (conn, 1, 0, 1 if bond else 0, 16))

        vclock.after(3 * self.interval_us, done)

    def encrypt(self):
        """Re-encrypt with the keys of an earlier bond (what a bonded host does at connect)."""
        r = radio
        conn = self.conn

        def attempt():
            identity = None
            for irk, ident in r.resolving:
                if self.rpa and irk == self.irk:
                    identity = ident
                elif not self.rpa and ident == self.addr:
                    identity = ident
            value = None
            if identity is not None:
                value = r.irq(_IRQ_GET_SECRET, (_SEC_PEER, 0, identity))
            rec = _PeerRecord.parse(bytes(value)) if value else None
            if rec is not None and self.ltk is not None and rec.ltk == self.ltk:
                self.encrypted = self.bonded = True
                r.irq(_IRQ_ENCRYPTION_UPDATE, (conn, 1, 0, 1, 16))
            else:  # PIN or key missing: the link stays unencrypted
                self.encryption_failed += 1

        vclock.after(2 * self.interval_us, attempt)
