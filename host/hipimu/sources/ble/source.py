"""BLE sensors as a source: scan, connect, configure, time sync, reconnect, live stats.

``BleSource`` scans once for the hipimu service, keeps the sensors of its kit (one per
role), connects to them one at a time and streams their data notifications as
:class:`~hipimu.core.types.Notification` records, host time being ``loop.time()``
(the host's monotonic clock). Per sensor a :class:`SensorLink` task:

1. connects (``BleakClient`` with the scanned ``BLEDevice``), reads the MTU, subscribes
   to data, control replies and status, reads the status record;
2. configures (first connection: STOP, SET_RATE, SET_CONTENT; always SET_BATCH sized to
   ``MTU - 3``), pings the clock a few times and sends START;
3. while connected, pings the sensor's clock every ``ping_interval_s`` (randomised, so
   the pings sample every phase of the connection interval) and reports each round trip
   as a ``time_sync`` event for the session (``SessionAssembler.add_sync``) and files it
   in the link's stream core (:class:`hipimu.stream.sensor.SensorStream`, the one the
   offline analysis and the live view use) for its latency figure;
4. on a disconnect reports a ``link`` event, retries with exponential backoff and, once
   data flows again, a ``gap`` event; the other sensors stream on.

Events go to ``on_event`` (the recorder writes them into the session log).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from hipimu.core.types import Notification
from hipimu.sources.ble.errors import BluetoothUnavailable, translate, unavailable_reason
from hipimu.stream.clock import ClockModel
from hipimu.stream.sensor import SensorStream
from hipimu.wire import control
from hipimu.wire.control import Advert, Reply, SensorStatus
from hipimu.wire.protocol import (
    CONTENT_QUAT,
    CONTROL_UUID,
    DATA_UUID,
    STATUS_UUID,
    Rejected,
    decode,
    role_name,
    sample_size,
)

STOP_DRAIN_S = 0.1  # after STOP, wait this long for the last (partial) notification
LINK_ERRORS = (BleakError, TimeoutError, asyncio.TimeoutError, OSError, EOFError)


@dataclass(frozen=True)
class Found:
    """One scanned sensor: the ``BLEDevice`` to connect to and what it advertised."""

    device: BLEDevice
    advert: Advert

    def own(self, kit: int) -> bool:
        return self.advert.kit == kit


SCAN_GRACE_S = 0.25  # scanning goes on this long after ``enough`` is met (nearer twins)


async def scan(
    timeout: float = 5.0,
    *,
    backend: type[BaseBleakScanner] | None = None,
    enough: Callable[[list[Found]], bool] | None = None,
) -> list[Found]:
    """Scan for hipimu sensors for ``timeout`` s, or until ``enough(found)`` holds
    (then :data:`SCAN_GRACE_S` more); sensors sorted by role, RSSI.

    Sensors advertise their service UUID as service data, not in a UUID list, and
    whether a scan's UUID filter matches service data depends on the stack and its
    version (bleak checks BlueZ's ``UUIDs``, which older BlueZ fills from the UUID lists
    only): so the scan is unfiltered and each advertisement is checked here
    (:func:`hipimu.wire.control.is_sensor_advert`; docs/protocol.md "Advertisement").

    Raises :class:`BluetoothUnavailable` when there is no usable Bluetooth.
    """
    met = asyncio.Event()
    seen: dict = {}

    def detected(dev, ad) -> None:
        if not control.is_sensor_advert(
            ad.local_name, ad.manufacturer_data, ad.service_data, ad.service_uuids
        ):
            return
        seen[dev.address] = (dev, ad)
        if enough is not None and not met.is_set() and enough(_found(seen)):
            met.set()

    try:
        async with BleakScanner(detected, backend=backend):
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(met.wait(), timeout)
            if met.is_set():
                await asyncio.sleep(SCAN_GRACE_S)
    except Exception as exc:
        raise translate(exc) from exc
    out = _found(seen)
    out.sort(
        key=lambda f: (
            f.advert.role if f.advert.role is not None else 999,
            -(f.advert.rssi or -999),
        )
    )
    return out


def _found(seen: dict) -> list[Found]:
    return [
        Found(
            dev,
            control.parse_advert(
                dev.address,
                ad.local_name,
                ad.manufacturer_data,
                ad.rssi,
                service_data=ad.service_data,
            ),
        )
        for dev, ad in seen.values()
    ]


class CommandError(RuntimeError):
    """A control write the sensor refused (its reply status) or never answered.

    ``status`` is the reply's status code (3: a bonded link is required), None if no
    reply came."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class LinkStats:
    """Live numbers of one sensor (``LinkStats.summary()`` for a status line)."""

    address: str
    role: str
    rssi: int | None = None
    battery_percent: int | None = None
    state: str = "idle"
    packets: int = 0  # unique data notifications
    samples: int = 0
    duplicates: int = 0
    lost: int = 0  # notifications missing from the sequence numbers
    restarts: int = 0  # the sensor rebooted (its clock and seq began anew)
    connects: int = 0
    disconnects: int = 0
    rejected_commands: int = 0
    rtt_ms: float | None = None  # shortest recent ping round trip
    firmware: tuple[int, int] | None = None
    imu: str | None = None
    _window: deque = field(default_factory=lambda: deque(maxlen=512), repr=False)
    _latency: deque = field(default_factory=lambda: deque(maxlen=200), repr=False)

    @property
    def loss_percent(self) -> float:
        total = self.packets + self.lost
        return 100.0 * self.lost / total if total else 0.0

    def rate_hz(self, now: float, window_s: float = 5.0) -> float:
        """Samples per second received over the last ``window_s``."""
        n = 0
        first = now
        for t, count in reversed(self._window):
            if t < now - window_s:
                break
            n += count
            first = t
        span = now - first
        return n / span if span > 0.5 else 0.0

    @property
    def latency_ms(self) -> float | None:
        """Median of recent arrival minus sample time (host clock, through the time sync)."""
        if not self._latency:
            return None
        values = sorted(self._latency)
        return values[len(values) // 2] * 1e3

    def summary(self, now: float) -> str:
        if self.state != "streaming":
            return f"{self.role} {self.state}"
        lat = self.latency_ms
        parts = [
            f"{self.role} {self.rate_hz(now):5.1f} Hz",
            f"loss {self.loss_percent:4.1f}%",
            latency_text(lat),
            f"bat {self.battery_percent}%" if self.battery_percent is not None else "bat --",
            f"{self.rssi} dBm" if self.rssi is not None else "-- dBm",
        ]
        return " ".join(parts)


def latency_text(ms: float | None) -> str:
    """Link latency for a status line. A sample cannot arrive before it was taken, so a
    negative median means the sensor-to-host clock mapping is still off by at least that
    much (before the time sync settles): shown as a clock offset, not as a latency."""
    if ms is None:
        return "lat  -- ms"
    if ms < 0:
        return f"clock off {-ms:3.0f} ms"
    return f"lat {ms:3.0f} ms"


class SensorLink:
    """One sensor's connection, configuration, time sync and reconnection."""

    def __init__(self, found: Found, source: BleSource) -> None:
        self.found = found
        self.address = found.device.address
        self.source = source
        self.role = found.advert.role_name
        self.stats = LinkStats(
            self.address, self.role, found.advert.rssi, found.advert.battery_percent
        )
        self.status: SensorStatus | None = None
        self.client: BleakClient | None = None
        self.mtu = 23
        self.batch = source.batch
        self._configured = False
        self._replies: dict[int, asyncio.Future] = {}
        self._pings: dict[int, asyncio.Future] = {}
        self._token = source.rng.getrandbits(32)
        self._control_lock = asyncio.Lock()
        self._lost = asyncio.Event()
        # the stream core: unwrap, duplicates, loss, reboot segments, clock (time sync)
        self.stream = SensorStream(self.address, keep=False, recent=512)
        self.rejected = 0  # malformed data notifications
        self._rtts: deque[float] = deque(maxlen=30)
        self._pings_done = 0
        self._clock: ClockModel | None = None
        self._clock_segment: int | None = None  # the clock segment ``_clock`` belongs to
        self._fit_tried: set[int] = set()
        self._last_arrival: float | None = None
        self._gap_start: float | None = None

    # -- notifications --------------------------------------------------------------
    def _on_data(self, _char, data: bytearray) -> None:
        now = self.source.loop.time()
        payload = bytes(data)
        self.source._push(Notification(now, self.address, payload))
        pkt = decode(payload)
        if isinstance(pkt, Rejected):
            self.rejected += 1
            return
        st = self.stats
        stream = self.stream
        filed = stream.push(now, pkt)
        st.packets, st.lost, st.duplicates = stream.packets, stream.lost, stream.duplicates
        st.restarts = stream.restarts
        if filed is None:
            return
        st.samples += pkt.count
        st._window.append((now, pkt.count))
        if self._gap_start is not None:
            self.source._event(
                {
                    "type": "gap",
                    "sensor": self.address,
                    "role": self.role,
                    "start": self._gap_start,
                    "end": now,
                }
            )
            self._gap_start = None
        self._last_arrival = now
        if filed.segment != self._clock_segment and filed.segment not in self._fit_tried:
            self._fit_tried.add(filed.segment)  # the first packet of a clock segment
            self._fit_clock()
        if self._clock is not None and filed.segment == self._clock_segment:
            dev = filed.t0_us + (pkt.count - 1) * 1e6 / pkt.rate_hz
            st._latency.append(now - float(self._clock.host_time(dev)))

    def _fit_clock(self) -> None:
        """The current clock segment's model, once it has 3 round trips (for latency)."""
        segment = len(self.stream.segments) - 1
        if segment >= 0 and len(self.stream.segment_syncs()[segment]) >= 3:
            self._clock = self.stream.live_clock(segment)
            self._clock_segment = segment

    def _on_control(self, _char, data: bytearray) -> None:
        now = self.source.loop.time()
        reply = control.parse_reply(data)
        if reply is None:
            return
        if reply.opcode == control.TIME_PING:
            ping = control.parse_ping_reply(reply)
            if ping is not None:
                fut = self._pings.pop(ping[0], None)
                if fut is not None and not fut.done():
                    fut.set_result((ping[1], now))
                return
        fut = self._replies.pop(reply.opcode, None)
        if fut is not None and not fut.done():
            fut.set_result(reply)

    def _on_status(self, _char, data: bytearray) -> None:
        with contextlib.suppress(ValueError):
            self._set_status(control.parse_status(data))

    def _set_status(self, st: SensorStatus) -> None:
        self.status = st
        if st.battery_percent is not None:
            self.stats.battery_percent = st.battery_percent
        self.stats.firmware = st.firmware
        self.stats.imu = st.imu_name

    # -- control --------------------------------------------------------------------
    async def command(self, payload: bytes, timeout: float = 3.0) -> Reply:
        """Write one control command and wait for its reply; ``CommandError`` if refused."""
        client = self._client()
        op = payload[0]
        async with self._control_lock:
            fut = self.source.loop.create_future()
            self._replies[op] = fut
            try:
                await client.write_gatt_char(CONTROL_UUID, payload, response=True)
                reply = await asyncio.wait_for(fut, timeout)
            except TimeoutError as exc:
                raise CommandError(
                    f"{self.role} ({self.address}): no reply to "
                    f"{control.OPCODE_NAMES.get(op, op)} within {timeout} s"
                ) from exc
            finally:
                self._replies.pop(op, None)
        if not reply.ok:
            self.stats.rejected_commands += 1
            raise CommandError(
                f"{self.role} ({self.address}) refused {reply.describe()}", reply.status
            )
        return reply

    async def ping(self, timeout: float = 2.0) -> tuple[float, float, int] | None:
        """One TIME_PING round trip: ``(send, recv, device_us)`` or None if it got lost."""
        client = self._client()
        loop = self.source.loop
        async with self._control_lock:
            self._token = (self._token + 1) & 0xFFFFFFFF
            token = self._token
            fut = loop.create_future()
            self._pings[token] = fut
            send = loop.time()
            try:
                await client.write_gatt_char(CONTROL_UUID, control.time_ping(token), response=True)
                device_us, recv = await asyncio.wait_for(fut, timeout)
            except TimeoutError:
                return None
            finally:
                self._pings.pop(token, None)
        self._round_trip(send, recv, device_us)
        return send, recv, device_us

    def _round_trip(self, send: float, recv: float, device_us: int) -> None:
        """File one answered ping: the stream core's sync point (its clock for the
        latency figure), a ``time_sync`` event for the session, the round-trip time."""
        self.stream.add_sync(send, recv, device_us)
        self._rtts.append(recv - send)
        self.source._event(
            {
                "type": "time_sync",
                "sensor": self.address,
                "send": send,
                "recv": recv,
                "device_us": device_us,
            }
        )
        self._pings_done += 1
        current = len(self.stream.segments) - 1
        if current >= 0 and (self._clock_segment != current or self._pings_done % 10 == 0):
            self._fit_clock()
        rtts = list(self._rtts)
        self.stats.rtt_ms = min(rtts) * 1e3

    def _client(self) -> BleakClient:
        if self.client is None or not self.client.is_connected:
            raise BleakError(f"{self.role} ({self.address}) is not connected")
        return self.client

    # -- connection -------------------------------------------------------------------
    def _disconnected(self, _client: BleakClient) -> None:
        self._lost.set()

    async def connect(self) -> None:
        """Connect, subscribe, read status and MTU, configure, sync and START."""
        src = self.source
        self._lost.clear()
        self.stats.state = "connecting"
        client = BleakClient(
            self.found.device,
            self._disconnected,
            timeout=src.connect_timeout,
            backend=src.client_backend,
            **src.client_kwargs,
        )
        self.client = client
        await client.connect()
        try:
            self.stats.state = "configuring"
            backend = getattr(client, "_backend", None)
            acquire = getattr(backend, "_acquire_mtu", None)
            if acquire is not None:  # BlueZ reports 23 until the MTU is acquired
                with contextlib.suppress(Exception):
                    await acquire()
            self.mtu = client.mtu_size
            kw = src.notify_kwargs
            await client.start_notify(CONTROL_UUID, self._on_control, **kw)
            await client.start_notify(STATUS_UUID, self._on_status, **kw)
            with contextlib.suppress(ValueError):
                self._set_status(control.parse_status(await client.read_gatt_char(STATUS_UUID)))
            await client.start_notify(DATA_UUID, self._on_data, **kw)
            if not self._configured:
                await self.command(control.stop())
                await self.command(control.set_rate(src.rate_hz))
                await self.command(control.set_content(src.content))
            self.batch = control.batch_for_mtu(self.mtu, sample_size(src.content), src.batch)
            await self.command(control.set_batch(self.batch))
            for _ in range(src.initial_pings):
                await self.ping()
                await asyncio.sleep(src.rng.uniform(0.0, 0.04))
            await self.command(control.start())
            self._configured = True
        except BaseException:
            with contextlib.suppress(*LINK_ERRORS):
                await client.disconnect()
            raise
        self.stats.connects += 1
        self.stats.state = "streaming"
        src._event(
            {
                "type": "link",
                "sensor": self.address,
                "role": self.role,
                "state": "streaming",
                "time": src.loop.time(),
                "mtu": self.mtu,
                "batch": self.batch,
            }
        )

    async def run(self) -> None:
        """Connect and stream until the source closes, reconnecting with backoff."""
        src = self.source
        attempt = 0
        while not src.closing:
            try:
                async with src.connect_lock:
                    if src.closing:
                        break
                    await self.connect()
                attempt = 0
                await self._streaming()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = unavailable_reason(exc)
                if reason:
                    src.fatal = BluetoothUnavailable(reason)
                    src._event(
                        {
                            "type": "link",
                            "sensor": self.address,
                            "role": self.role,
                            "state": "unavailable",
                            "time": src.loop.time(),
                            "error": reason,
                        }
                    )
                    break
                if not isinstance(exc, (*LINK_ERRORS, CommandError)):
                    raise
                src._event(
                    {
                        "type": "link",
                        "sensor": self.address,
                        "role": self.role,
                        "state": "failed",
                        "time": src.loop.time(),
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                )
            if src.closing:
                break
            if self.stats.state == "streaming":
                self.stats.disconnects += 1
                if self._gap_start is None:
                    self._gap_start = self._last_arrival
                src._event(
                    {
                        "type": "link",
                        "sensor": self.address,
                        "role": self.role,
                        "state": "disconnected",
                        "time": src.loop.time(),
                    }
                )
            self.stats.state = "reconnecting"
            delay = min(src.backoff_max_s, src.backoff_s * 2**attempt)
            attempt += 1
            await src.sleep(delay * src.rng.uniform(0.5, 1.0))
        self.stats.state = "closed"

    async def _streaming(self) -> None:
        """Ping while connected; return when the link drops or the source closes."""
        src = self.source
        lost = asyncio.ensure_future(self._lost.wait())
        closed = asyncio.ensure_future(src._closed.wait())
        try:
            while not src.closing and not self._lost.is_set():
                await asyncio.wait(
                    [lost, closed],
                    timeout=src.ping_interval_s * src.rng.uniform(0.5, 1.5),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if src.closing or self._lost.is_set():
                    break
                try:
                    await self.ping()
                except LINK_ERRORS:
                    if not self._client_ok():
                        break
        finally:
            lost.cancel()
            closed.cancel()

    def _client_ok(self) -> bool:
        return self.client is not None and self.client.is_connected

    async def stop(self) -> None:
        """STOP streaming (best effort) and disconnect."""
        if self._client_ok():
            with contextlib.suppress(*LINK_ERRORS, CommandError):
                await self.command(control.stop(), timeout=1.0)
                await asyncio.sleep(STOP_DRAIN_S)  # the sensor flushes its partial batch
            with contextlib.suppress(*LINK_ERRORS):
                await self.client.disconnect()  # type: ignore[union-attr]
        self.stats.state = "closed"


class BleSource:
    """The sensors of one kit over BLE (or the fake backend) as a notification source."""

    def __init__(
        self,
        kit: int,
        *,
        rate_hz: int = 100,
        content: int = CONTENT_QUAT,
        batch: int = 4,
        scan_timeout_s: float = 5.0,
        roles: tuple[int, ...] | None = (0, 1, 2),
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        client_kwargs: dict | None = None,
        notify_kwargs: dict | None = None,
        on_event: Callable[[dict], None] | None = None,
        ping_interval_s: float = 1.0,
        initial_pings: int = 5,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        connect_timeout: float = 10.0,
        seed: int | None = None,
        queue_limit: int = 16384,
    ) -> None:
        if rate_hz not in control.SETTABLE_RATES:
            raise ValueError(f"rate {rate_hz} Hz is not one of {control.SETTABLE_RATES}")
        self.kit = kit
        self.rate_hz = rate_hz
        self.content = content
        self.batch = batch
        self.scan_timeout_s = scan_timeout_s
        self.roles = roles
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.client_kwargs = client_kwargs or {}
        self.notify_kwargs = notify_kwargs or {}
        self.on_event = on_event
        self.ping_interval_s = ping_interval_s
        self.initial_pings = initial_pings
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.connect_timeout = connect_timeout
        self.rng = random.Random(seed)
        self.markers: list[dict] = []
        self.links: dict[str, SensorLink] = {}
        self.found: list[Found] = []
        self.closing = False
        self.fatal: BaseException | None = None
        self.received = 0  # notifications handed to the queue
        # bounded: a consumer stalled for minutes drops the oldest (counted), never grows
        # memory without limit (16384 notifications = about 3.6 min of 3 sensors)
        self.queue_limit = queue_limit
        self.dropped = 0
        self._queue: asyncio.Queue[Notification | None] | None = None
        self._tasks: list[asyncio.Task] = []
        self._closed: asyncio.Event
        self.connect_lock: asyncio.Lock
        self.loop: asyncio.AbstractEventLoop

    # -- plumbing -------------------------------------------------------------------
    def _push(self, note: Notification | None) -> None:
        assert self._queue is not None
        if note is not None:
            self.received += 1
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(note)

    def _event(self, event: dict) -> None:
        if self.on_event is not None:
            self.on_event(event)

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking early when the source closes."""
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    # -- life cycle -------------------------------------------------------------------
    async def start(self) -> list[SensorLink]:
        """Scan, pick own-kit sensors (one per role) and start their link tasks.

        Raises :class:`BluetoothUnavailable` without Bluetooth and ``LookupError`` when
        no sensor of the kit was found (naming foreign ones seen).
        """
        self.loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(maxsize=self.queue_limit)
        self._closed = asyncio.Event()
        self.connect_lock = asyncio.Lock()
        wanted = set(self.roles) if self.roles is not None else {0, 1, 2}

        def every_role(found: list[Found]) -> bool:
            return wanted <= {f.advert.role for f in found if f.own(self.kit)}

        self.found = await scan(
            self.scan_timeout_s, backend=self.scanner_backend, enough=every_role
        )
        chosen: dict[int, Found] = {}
        for f in self.found:
            role = f.advert.role
            if not f.own(self.kit) or role is None:
                continue
            if self.roles is not None and role not in self.roles:
                continue
            if role in chosen:  # two sensors of one kit claim one role: keep the nearer
                self._event(
                    {
                        "type": "note",
                        "time": self.loop.time(),
                        "text": f"{f.device.address} also claims role "
                        f"{role_name(role)}; using {chosen[role].device.address}",
                    }
                )
                continue
            chosen[role] = f
        if not chosen:
            foreign = [f for f in self.found if not f.own(self.kit)]
            seen = ", ".join(
                f"{f.advert.name or f.device.address} (kit {f.advert.kit})" for f in foreign
            )
            raise LookupError(
                f"no sensor of kit {self.kit} found in {self.scan_timeout_s:g} s"
                + (f"; other kits seen: {seen}" if seen else "")
            )
        for f in sorted(chosen.values(), key=lambda f: f.advert.role or 0):
            link = SensorLink(f, self)
            self.links[link.address] = link
            self._tasks.append(self.loop.create_task(link.run(), name=f"ble-{link.role}"))
        return list(self.links.values())

    async def stream(self) -> AsyncIterator[Notification]:
        """Notifications in arrival order until :meth:`close` (starts the source if needed)."""
        if self._queue is None:
            await self.start()
        assert self._queue is not None
        while True:
            note = await self._queue.get()
            if note is None:
                break
            yield note

    def pending(self) -> list[Notification]:
        """Notifications received but not yet taken from :meth:`stream` (after close)."""
        out = []
        if self._queue is None:
            return out
        while not self._queue.empty():
            note = self._queue.get_nowait()
            if note is not None:
                out.append(note)
        return out

    async def close(self) -> None:
        """Stop every sensor, disconnect, end :meth:`stream`. Received data stays queued."""
        if self.closing:
            return
        self.closing = True
        if self._queue is None:
            return
        self._closed.set()
        await asyncio.gather(*(link.stop() for link in self.links.values()), return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._push(None)

    def status(self) -> list[LinkStats]:
        return [link.stats for link in self.links.values()]

    def status_line(self) -> str:
        now = self.loop.time()
        return " | ".join(s.summary(now) for s in self.status())


async def connect_role(
    role: int,
    kit: int,
    *,
    scan_timeout_s: float = 5.0,
    scanner_backend: type[BaseBleakScanner] | None = None,
    client_backend: type[BaseBleakClient] | None = None,
) -> tuple[BleakClient, SensorLink]:
    """Scan and connect to the own-kit sensor of ``role`` for a one-off command.

    The link is subscribed to control replies (``link.command`` works) but not
    configured or started. ``LookupError`` if no such sensor was seen.
    """
    found = [
        f for f in await scan(scan_timeout_s, backend=scanner_backend) if f.advert.role == role
    ]
    own = [f for f in found if f.own(kit)]
    if not own:
        other = (
            f" (seen in other kits: {', '.join(f.device.address for f in found)})" if found else ""
        )
        raise LookupError(f"no {role_name(role)} sensor of kit {kit} found{other}")
    return await connect_found(own[0], kit, client_backend=client_backend)


async def connect_found(
    found: Found, kit: int, *, client_backend: type[BaseBleakClient] | None = None
) -> tuple[BleakClient, SensorLink]:
    """Connect to one scanned sensor for one-off commands (``link.command`` works; the
    link is not configured or started). ``kit`` is the host's, for the link's source."""
    src = BleSource(kit, client_backend=client_backend)
    src.loop = asyncio.get_running_loop()
    src._closed = asyncio.Event()
    link = SensorLink(found, src)
    client = BleakClient(found.device, timeout=10.0, backend=client_backend)
    link.client = client
    try:
        await client.connect()
        await client.start_notify(CONTROL_UUID, link._on_control)
    except Exception as exc:
        raise translate(exc) from exc
    return client, link


async def assign(
    link: SensorLink, *, role: int | None = None, kit: int | None = None, save: bool = True
) -> None:
    """Write a sensor's identity (SET_ROLE / SET_KIT, then SAVE) over a bonded link.

    Pairs first (bleak ``pair()``; on macOS pairing happens on the first protected
    write). If pairing fails the writes are still tried: the sensor decides, and
    ``CommandError`` reports a refusal (status 3: a bonded link is required).
    """
    client = link._client()
    try:
        await client.pair()
    except (NotImplementedError, BleakError):
        pass  # no bond: the sensor refuses the writes (status 3) if it needs one
    if role is not None:
        await link.command(control.set_role(role))
    if kit is not None:
        await link.command(control.set_kit(kit))
    if save:
        await link.command(control.save())
