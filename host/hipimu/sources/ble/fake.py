"""A fake bleak backend: virtual sensors running the firmware, behind bleak's own API.

``FakeWorld`` is the air: :class:`~hipimu.simulate.peripheral.VirtualPeripheral`
sensors, each on its own BLE link with a connection interval and phase, and the faults
to inject (loss, duplicates, reordering, delay, MTU, failed connects, link drops).
``world.backends()`` returns a ``BaseBleakScanner`` and a ``BaseBleakClient`` subclass
bound to the world, to be passed as ``backend=`` to ``BleakScanner``/``BleakClient``;
the host code then runs unchanged through bleak's public API.

Timing model (per link, connection interval ``I``): a control write reaches the sensor
at the first connection event after it was sent; the sensor handles it there (reading
its clock for ``TIME_PING``) and its reply leaves at the next event, one interval later.
Data notifications leave at the first event after their batch is complete and reach the
host after a random host-side latency (``jitter_s``) plus ``delay_s``. Everything is a
timer on ``loop.time()``, so on a :class:`~hipimu.sources.ble.vtime.VirtualTimeLoop` a
long session runs faster than real time; on a normal loop it runs in real time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bleak.uuids import normalize_uuid_16

from hipimu.simulate.peripheral import VirtualPeripheral
from hipimu_fw import VERSION as FW_VERSION
from hipimu_fw import gatt

# what the firmware declares (hipimu_fw.gatt), not the host's own constants
CONTROL_UUID = gatt.CONTROL_UUID
DATA_UUID = gatt.DATA_UUID
STATUS_UUID = gatt.STATUS_UUID

ADV_INTERVAL_S = 0.1


@dataclass
class Faults:
    """What goes wrong on the links. Probabilities are per data notification."""

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0  # delayed by 1.5 connection intervals: arrives after later ones
    delay_s: float = 0.0  # extra host-side latency of every notification
    jitter_s: float = 0.002  # host-side latency, uniform in [0, jitter_s]
    mtu: int = 247
    connect_fail: float = 0.0  # probability that a connection attempt fails
    connect_time_s: float = 0.15
    supervision_s: float = 0.5  # a dropped link is reported this long after it dropped
    # address -> true times (s) at which the link drops; the sensor then stays out of
    # reach (no advertising, connects fail) for ``down_s``
    drops: dict[str, list[float]] = field(default_factory=dict)
    down_s: float = 3.0


@dataclass
class LinkStats:
    """What the fake did to one sensor's notifications (the truth for the tests)."""

    delivered: int = 0  # data notifications handed to the host (duplicates included)
    lost: int = 0
    lost_samples: int = 0
    undelivered_samples: int = 0  # in flight when the host itself disconnected
    duplicated: int = 0
    reordered: int = 0
    drops: int = 0
    pings: int = 0  # TIME_PING writes (other control writes are in ``FakeWorld.writes``)
    connects: int = 0
    failed_connects: int = 0
    down: list[tuple[float, float]] = field(default_factory=list)  # true-time intervals


def _uuid128(le: bytes) -> str:
    h = le[::-1].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass
class AdFields:
    """What a scanner reports of raw AD structures (as BlueZ parses them): the local
    name, manufacturer data by company id, service data by 128-bit UUID, and the UUIDs
    of the service UUID lists (only those: service data UUIDs are not in it)."""

    name: str | None = None
    manufacturer: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    uuids: list[str] = field(default_factory=list)


def parse_ad(data: bytes) -> AdFields:
    """The fields of raw AD structures (advertising data, scan response, or both)."""
    out = AdFields()
    i = 0
    while i < len(data):
        n = data[i]
        if n == 0 or i + 1 + n > len(data):
            break
        kind, body = data[i + 1], data[i + 2 : i + 1 + n]
        if kind in (0x08, 0x09):
            out.name = body.decode("utf-8", "replace")
        elif kind == 0xFF and len(body) >= 2:
            out.manufacturer[int.from_bytes(body[:2], "little")] = bytes(body[2:])
        elif kind == 0x21 and len(body) >= 16:
            out.service_data[_uuid128(body[:16])] = bytes(body[16:])
        elif kind == 0x16 and len(body) >= 2:
            out.service_data[normalize_uuid_16(int.from_bytes(body[:2], "little"))] = bytes(
                body[2:]
            )
        elif kind in (0x06, 0x07):
            for k in range(0, len(body) - 15, 16):
                out.uuids.append(_uuid128(body[k : k + 16]))
        i += 1 + n
    return out


class FakeWorld:
    """Virtual sensors on virtual links, and the faults to inject."""

    def __init__(
        self,
        peripherals: list[VirtualPeripheral],
        faults: Faults | None = None,
        *,
        seed: int = 0,
        interval_s: float = 0.030,
        rssi: dict[str, int] | None = None,
        unavailable: BaseException | None = None,
        bystanders: dict[str, tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.peripherals = {p.address: p for p in peripherals}
        # other advertisers in the room (address -> raw advertising data, scan response):
        # phones, heart-rate straps, sensors with older firmware; never connectable here
        self.bystanders = dict(bystanders or {})
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.interval_s = interval_s
        self.rssi = rssi or {}
        self.unavailable = unavailable  # raised by scans and connects: "no adapter"
        self.stats = {a: LinkStats() for a in self.peripherals}
        self.epoch: float | None = None  # host time of true time 0
        self.links: dict[str, _Link] = {}
        self._drops = {a: sorted(ts) for a, ts in self.faults.drops.items()}
        self._down_until: dict[str, float] = {}
        # control writes per sensor except TIME_PING (counted in ``stats[a].pings``)
        self.writes: dict[str, list[bytes]] = {a: [] for a in self.peripherals}

    # -- time -------------------------------------------------------------------------
    def now(self) -> float:
        """True (simulation) time on the running loop."""
        loop = asyncio.get_running_loop()
        if self.epoch is None:
            self.epoch = loop.time()
        return loop.time() - self.epoch

    def host_time(self, t: float) -> float:
        """Host time of true time ``t``."""
        return (self.epoch or 0.0) + t

    def reachable(self, address: str, t: float) -> bool:
        return t >= self._down_until.get(address, -1.0)

    def check(self) -> None:
        if self.unavailable is not None:
            raise self.unavailable

    def backends(self) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
        """Backend classes bound to this world, for ``backend=``."""
        scanner = type("FakeBleakScanner", (FakeBleakScanner,), {"world": self})
        client = type("FakeBleakClient", (FakeBleakClient,), {"world": self})
        return scanner, client

    def advertisement(self, p: VirtualPeripheral | str, active: bool = True) -> AdvertisementData:
        """What a scan reports of a sensor (or a bystander's address): advertising data
        plus, when scanning actively, the scan response (a passive scan never asks)."""
        if isinstance(p, str):
            address, (adv, resp) = p, self.bystanders[p]
        else:
            address, (adv, resp) = p.address, p.advert()
        ad = parse_ad(adv + resp if active else adv)
        rssi = self.rssi.get(address, -60)
        return AdvertisementData(
            ad.name, ad.manufacturer, ad.service_data, ad.uuids, None, rssi, ()
        )


class FakeBleakScanner(BaseBleakScanner):
    """Reports every advertising sensor of the world once per advertising interval."""

    world: FakeWorld

    def __init__(self, detection_callback, service_uuids, scanning_mode="active", **kwargs):
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task | None = None
        self._active = scanning_mode != "passive"

    async def start(self) -> None:
        self.world.check()
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._advertise())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _advertise(self) -> None:
        world = self.world
        while True:
            await asyncio.sleep(ADV_INTERVAL_S)
            t = world.now()
            on_air: list[tuple[str, Any]] = [
                (addr, p)
                for addr, p in world.peripherals.items()
                if not p.link.connected() and world.reachable(addr, t)
            ]
            on_air += [(addr, None) for addr in world.bystanders]
            for addr, p in on_air:
                adv = world.advertisement(p if p is not None else addr, self._active)
                # like older BlueZ: a service UUID filter matches the UUID lists only
                if not self.is_allowed_uuid(adv.service_uuids):
                    continue
                device = self.create_or_update_device(addr, addr, adv.local_name, p, adv)
                self.call_detection_callbacks(device, adv)


class _Link:
    """One connection: connection events, control writes and replies, data delivery."""

    def __init__(self, world: FakeWorld, p: VirtualPeripheral, client: FakeBleakClient):
        self.world, self.p, self.client = world, p, client
        self.loop = asyncio.get_running_loop()
        self.interval = world.interval_s
        self.phase = world.rng.uniform(0.0, self.interval)
        self.callbacks: dict[str, NotifyCallback] = {}
        self.writes: list[tuple[bytes, asyncio.Future | None]] = []
        self.replies: list[tuple[bytes, asyncio.Future | None]] = []
        self.alive = True
        self.host_closed = False
        self.stats = world.stats[p.address]
        t = world.now()
        k = int((t - self.phase) // self.interval) + 1
        self.next_event = self.phase + k * self.interval
        self._timer = self.loop.call_at(world.host_time(self.next_event), self._event)

    def _deliver(self, uuid: str, payload: bytes, original: bool = False) -> None:
        # what reached the host's controller before a link loss is still delivered;
        # after the host itself disconnected nothing is
        cb = self.callbacks.get(uuid)
        if cb is not None and not self.host_closed:
            cb(bytearray(payload))
        elif original:
            self.stats.undelivered_samples += payload[8]

    def _later(self, delay: float, fn: Callable, *args) -> None:
        self.loop.call_at(self.world.host_time(self.now) + delay, fn, *args)

    def _event(self) -> None:
        if not self.alive:
            return
        world, f, rng = self.world, self.world.faults, self.world.rng
        t = self.now = self.next_event
        drops = world._drops.get(self.p.address)
        if drops and drops[0] <= t:
            drops.pop(0)
            self.drop(t)
            return
        # replies handled at the previous event leave now
        for reply, fut in self.replies:
            lat = rng.uniform(0.0, f.jitter_s)
            self._later(lat, self._deliver, CONTROL_UUID, reply)
            if fut is not None:
                self._later(lat, _resolve, fut)
        self.replies = []
        # writes sent before this event arrive now; the sensor handles them at once
        for data, fut in self.writes:
            self.replies.append((self.p.write(data, t + 0.0003), fut))
        self.writes = []
        for pkt in self.p.connection_event(t):
            if rng.random() < f.loss:
                self.stats.lost += 1
                self.stats.lost_samples += pkt[8]
                continue
            lat = rng.uniform(0.0, f.jitter_s) + f.delay_s
            if rng.random() < f.reorder:
                lat += 1.5 * self.interval
                self.stats.reordered += 1
            self._later(lat, self._deliver, DATA_UUID, pkt, True)
            self.stats.delivered += 1
            if rng.random() < f.duplicate:
                self._later(lat + 0.0005, self._deliver, DATA_UUID, pkt)
                self.stats.duplicated += 1
                self.stats.delivered += 1
        for st in self.p.take_status():
            self._later(rng.uniform(0.0, f.jitter_s), self._deliver, STATUS_UUID, st)
        self.next_event = t + self.interval
        self._timer = self.loop.call_at(world.host_time(self.next_event), self._event)

    def write(self, data: bytes, fut: asyncio.Future | None) -> None:
        if data[:1] == b"\x06":
            self.stats.pings += 1
        else:
            self.world.writes[self.p.address].append(bytes(data))
        self.writes.append((bytes(data), fut))

    def drop(self, t: float) -> None:
        """The link is lost (out of range): the sensor notices now, the host later."""
        self.close(t)
        world = self.world
        self.stats.drops += 1
        world._down_until[self.p.address] = t + world.faults.down_s
        self.stats.down.append((t, t + world.faults.down_s))
        self.loop.call_at(world.host_time(t + world.faults.supervision_s), self.client._lost)

    def close(self, t: float) -> None:
        if not self.alive:
            return
        self.alive = False
        self._timer.cancel()
        self.p.disconnect(t)
        for _data, fut in self.writes + self.replies:
            if fut is not None and not fut.done():
                fut.set_exception(BleakError("disconnected"))
        self.writes, self.replies = [], []
        self.world.links.pop(self.p.address, None)


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


def _uuid(u: str | int) -> str:
    return u if isinstance(u, str) else normalize_uuid_16(u)


def _services(mtu: int) -> BleakGATTServiceCollection:
    """The firmware's GATT table (``hipimu_fw.gatt.SERVICES``), handles in declaration order."""
    coll = BleakGATTServiceCollection()
    handle = 10
    for svc_uuid, chars in gatt.SERVICES:
        svc = BleakGATTService(None, handle, _uuid(svc_uuid))
        coll.add_service(svc)
        for uuid, props in chars:
            handle += 3  # declaration, value, CCCD
            coll.add_characteristic(
                BleakGATTCharacteristic(
                    None, handle, _uuid(uuid), list(props), lambda: mtu - 3, svc
                )  # type: ignore[arg-type]
            )
        handle += 1
    return coll


_FIXED_READS = {
    _uuid(gatt.MANUFACTURER_NAME_UUID): gatt.MANUFACTURER_NAME.encode(),
    _uuid(gatt.MODEL_NUMBER_UUID): gatt.MODEL_NUMBER.encode(),
    _uuid(gatt.FIRMWARE_REVISION_UUID): "{}.{}".format(*FW_VERSION).encode(),
}
_BATTERY_LEVEL = _uuid(gatt.BATTERY_LEVEL_UUID)


class FakeBleakClient(BaseBleakClient):
    """A bleak client backend talking to a :class:`FakeWorld` sensor."""

    world: FakeWorld

    def __init__(self, address_or_ble_device, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        self._link: _Link | None = None

    @property
    def name(self) -> str:
        p = self.world.peripherals.get(self.address)
        return "" if p is None else f"hipimu-{p.cfg.role}"

    @property
    def mtu_size(self) -> int:
        return self.world.faults.mtu

    @property
    def is_connected(self) -> bool:
        return self._link is not None and self._link.alive

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        world = self.world
        world.check()
        p = world.peripherals.get(self.address)
        if p is None:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            )
        stats = world.stats[self.address]
        await asyncio.sleep(world.faults.connect_time_s)
        t = world.now()
        if not world.reachable(self.address, t):
            stats.failed_connects += 1
            await asyncio.sleep(max(0.0, self._timeout - world.faults.connect_time_s))
            raise TimeoutError(f"connecting to {self.address} timed out")
        if p.link.connected() or world.rng.random() < world.faults.connect_fail:
            stats.failed_connects += 1
            raise BleakError(f"{self.address}: le-connection-abort-by-local")
        p.connect(t, world.faults.mtu)
        self._link = _Link(world, p, self)
        world.links[self.address] = self._link
        self.services = _services(world.faults.mtu)
        stats.connects += 1
        if pair:
            await self.pair()

    async def disconnect(self) -> None:
        if self._link is not None:
            self._link.host_closed = True
            self._link.close(self.world.now())
            self._link = None
            await asyncio.sleep(0)

    def _lost(self) -> None:
        self._link = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        link = self._require()
        await asyncio.sleep(2 * link.interval)
        if not link.p.bond():
            raise BleakError(f"{self.address}: pairing not supported by the device")

    async def unpair(self) -> None:
        if self._link is not None:
            self._link.p.link.is_bonded = False

    def _require(self) -> _Link:
        if self._link is None or not self._link.alive:
            raise BleakError("Not connected")
        return self._link

    async def read_gatt_char(self, characteristic, *, use_cached=False, **kwargs) -> bytearray:
        link = self._require()
        uuid = getattr(characteristic, "uuid", characteristic)
        if uuid in _FIXED_READS:
            await asyncio.sleep(2 * link.interval)
            return bytearray(_FIXED_READS[uuid])
        if uuid not in (STATUS_UUID, _BATTERY_LEVEL):
            raise BleakError(f"characteristic {uuid} is not readable")
        await asyncio.sleep(2 * link.interval)
        status = link.p.read_status(self.world.now())
        if uuid == _BATTERY_LEVEL:  # status byte 6: battery percent (255: unknown)
            return bytearray([min(status[6], 100) if status[6] != 255 else 0])
        return bytearray(status)

    async def read_gatt_descriptor(self, descriptor, *, use_cached=False, **kwargs) -> bytearray:
        raise BleakError("no descriptors")

    async def write_gatt_char(self, characteristic, data, response: bool) -> None:
        link = self._require()
        if characteristic.uuid != CONTROL_UUID:
            raise BleakError(f"characteristic {characteristic.uuid} is not writable")
        fut = asyncio.get_running_loop().create_future() if response else None
        link.write(bytes(data), fut)
        if fut is not None:
            await fut

    async def write_gatt_descriptor(self, descriptor, data) -> None:
        raise BleakError("no descriptors")

    async def start_notify(self, characteristic, callback: NotifyCallback, **kwargs) -> None:
        self._require().callbacks[characteristic.uuid] = callback

    async def stop_notify(self, characteristic) -> None:
        if self._link is not None:
            self._link.callbacks.pop(characteristic.uuid, None)


def device(world: FakeWorld, address: str) -> BLEDevice:
    """A ``BLEDevice`` for a world's sensor (as a scan would return it)."""
    return BLEDevice(address, world.advertisement(world.peripherals[address]).local_name, None)


ROLE_CODES = {"pelvis": 0, "femur_r": 1, "femur_l": 2}


def simulated_world(
    kit: int = 0,
    *,
    seed: int = 0,
    faults: Faults | None = None,
    motion: str = "body",
    foreign_kit: int | None = 0x0BADC0DE,
    max_drift_ppm: float = 50.0,
    interval_s: float = 0.030,
    ideal: bool = False,
    symmetric: bool = False,
) -> FakeWorld:
    """Three sensors of ``kit`` (pelvis, femur_r, femur_l) plus one of a foreign kit.

    ``motion``: ``"body"`` moves them through the simulator's exercise protocol
    (looping) from when the first sensor starts streaming, standing before; realistic
    unless ``ideal`` (:data:`hipimu.simulate.REALISTIC`: standing sway, a stance a few
    degrees off neutral, sensor noise, the thigh skin's twist); the client's left side
    moves 70 % of the right unless ``symmetric``.
    ``"swing"`` uses a cheap analytic swing (for long soaks). Clocks get
    random offsets (one near its u32 wrap) and drifts up to ``max_drift_ppm``.
    """
    import numpy as np

    from hipimu.simulate import realism_of
    from hipimu.simulate.motion import Client, Protocol
    from hipimu.simulate.peripheral import ProtocolStart, protocol_motion, swing_motion
    from hipimu.simulate.sensors import SensorClock, random_mount
    from hipimu.simulate.skin import Skin

    rng = np.random.default_rng(seed)
    heading = float(rng.uniform(0, 2 * np.pi))
    peripherals = []
    roles = list(ROLE_CODES) + (["femur_r"] if foreign_kit is not None else [])
    # the client stands until the trainer starts streaming, then runs the protocol, with
    # standing sway and a stance a little off neutral, as people do
    start = ProtocolStart()
    realism = realism_of(ideal)
    client = Client.symmetric() if symmetric else Client()
    protocol = Protocol(client, seed=seed).with_stance(realism.sway_deg, realism.neutral_deg)
    skin = None
    if not realism.ideal:
        skin = Skin(protocol, realism, np.random.default_rng([seed, 5]), loop=True)
    for i, role in enumerate(roles):
        offset = 2**32 / 1e6 - 20.0 if i == 1 else float(rng.uniform(1.0, 3000.0))
        clock = SensorClock(offset, float(rng.uniform(-max_drift_ppm, max_drift_ppm)))
        if motion == "body":
            mover = protocol_motion(
                role, random_mount(role, 20.0, rng), protocol, heading, start=start, skin=skin
            )
        else:
            mover = swing_motion(tuple(rng.normal(size=3)), 30.0, 2.0 + i * 0.3)
        foreign = i == 3
        peripherals.append(
            VirtualPeripheral(
                f"SIM:00:00:00:00:{i + 1:02X}",
                ROLE_CODES[role],
                foreign_kit if foreign else kit,
                clock,
                mover,
                battery_mv=3900.0 - 60.0 * i,
                start=start if not foreign else None,
            )
        )
    rssi = {p.address: -50 - 7 * i for i, p in enumerate(peripherals)}
    return FakeWorld(peripherals, faults, seed=seed, interval_s=interval_s, rssi=rssi)


@dataclass
class Run:
    """What :func:`stream_for` collected."""

    notifications: list
    events: list[dict]
    source: Any  # the BleSource, closed


async def stream_for(
    world: FakeWorld,
    kit: int,
    seconds: float,
    *,
    keep: bool = True,
    on_notification: Callable | None = None,
    on_event: Callable[[dict], None] | None = None,
    **source_kwargs: Any,
) -> Run:
    """Run a ``BleSource`` on ``world`` for ``seconds`` of loop time after the scan, then
    close it and take what was still queued. ``keep=False`` keeps no notifications (for
    long soaks that pass them to ``on_notification``)."""
    from hipimu.sources.ble.source import BleSource

    scanner, client = world.backends()
    events: list[dict] = []

    def event(e: dict) -> None:
        events.append(e) if keep else None
        if on_event is not None:
            on_event(e)

    source_kwargs.setdefault("scan_timeout_s", 1.0)
    src = BleSource(
        kit, scanner_backend=scanner, client_backend=client, on_event=event, **source_kwargs
    )
    await src.start()
    notes: list = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    def take(note) -> None:
        if keep:
            notes.append(note)
        if on_notification is not None:
            on_notification(note)

    async def consume() -> None:
        async for note in src.stream():
            take(note)

    task = loop.create_task(consume())
    await asyncio.sleep(max(0.0, end - loop.time()))
    await src.close()
    await task
    for note in src.pending():
        take(note)
    return Run(notes, events, src)
