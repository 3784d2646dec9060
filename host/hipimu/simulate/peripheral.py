"""A virtual sensor: the firmware's own application running on simulated time.

:class:`VirtualPeripheral` wraps ``hipimu_fw.app.App`` (sampling, ``Streamer``
batching, the control ``Controller``, status record) with a simulated IMU that reports a
known motion, a drifting crystal (:class:`~hipimu.simulate.sensors.SensorClock`) and a
link stub. A transport (the fake bleak backend in :mod:`hipimu.sources.ble.fake`) drives
it at connection events: ``connection_event(t)`` samples up to ``t`` and returns the
notifications the firmware sends, ``write(data, t)`` runs a control write and returns
the firmware's reply. Every byte a host sees is made by the firmware code.

Times ``t`` are true (simulation) seconds; the sensor's clock is ``clock.device_us(t)``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import numpy as np

from hipimu.simulate.sensors import SensorClock
from hipimu_fw import clock as fw_clock
from hipimu_fw import config, packet, status
from hipimu_fw.app import App

LO30 = 0x3FFFFFFF
IMU_SIMULATED = 4
ENOMEM = 12

Motion = Callable[[np.ndarray], np.ndarray]  # true times (N,) -> q_GS (N, 4) [w, x, y, z]


def swing_motion(
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0),
    amp_deg: float = 30.0,
    period_s: float = 2.0,
    base: np.ndarray | None = None,
) -> Motion:
    """A cheap analytic motion: a sinusoidal swing about ``axis`` (after ``base``)."""
    ax = np.asarray(axis, dtype=np.float64)
    ax = ax / np.linalg.norm(ax)
    b = np.array([1.0, 0.0, 0.0, 0.0]) if base is None else np.asarray(base, dtype=np.float64)

    def motion(t: np.ndarray) -> np.ndarray:
        a = np.deg2rad(amp_deg) * np.sin(2 * np.pi * np.asarray(t) / period_s)
        s, c = np.sin(a / 2), np.cos(a / 2)
        q = np.column_stack([c, s * ax[0], s * ax[1], s * ax[2]])
        from hipimu.core.quaternion import multiply

        return multiply(b, q)

    return motion


class ProtocolStart:
    """When the simulated client starts the exercise protocol: the first time any of the
    world's sensors starts streaming (the trainer pressed start). Until then, and in a
    world that never streams, the client stands in the protocol's opening pose."""

    def __init__(self) -> None:
        self.t0: float | None = None

    def start(self, t: float) -> None:
        if self.t0 is None:
            self.t0 = float(t)

    def local(self, t: np.ndarray) -> np.ndarray:
        """Protocol time at true times ``t`` (0 before the start)."""
        t = np.asarray(t, dtype=np.float64)
        if self.t0 is None:
            return np.zeros_like(t)
        return np.maximum(t - self.t0, 0.0)


def protocol_motion(
    role: str,
    mount,
    protocol=None,
    heading_rad: float = 0.0,
    start: ProtocolStart | None = None,
    skin=None,
) -> Motion:
    """The simulator's body model for ``role`` (looping ``protocol``), through ``mount``.
    With ``start`` the protocol runs from when streaming starts (:class:`ProtocolStart`),
    else from true time 0. ``skin`` (a looping :class:`hipimu.simulate.skin.Skin`) adds
    the soft-tissue twist and output noise between the bone and the sensor."""
    from hipimu.simulate.body import from_wxyz, segment_orientations, to_wxyz
    from hipimu.simulate.motion import Protocol

    proto = protocol or Protocol()
    duration = proto.duration

    def motion(t: np.ndarray) -> np.ndarray:
        t = start.local(t) if start is not None else np.asarray(t, dtype=np.float64)
        tt = np.mod(t, duration)
        q_gb = segment_orientations(proto.truth(tt), heading_rad, (role,))[role]
        if skin is not None:
            q_gb = skin.apply(q_gb, role, tt)
        return to_wxyz(from_wxyz(q_gb) * mount)

    return motion


class _MemoryConfig(config.Config):
    """The firmware's settings, kept in memory (SAVE "persists" to ``saved``)."""

    def __init__(self) -> None:
        self.saved: dict | None = None
        super().__init__(path="<memory>")

    def load(self) -> bool:
        self.reset()
        self.error = False
        return False

    def save(self) -> bool:
        self.saved = self.to_dict()
        return True


class _Imu:
    """IMU driver interface for ``App``: reports the quaternion set before each tick."""

    kind = IMU_SIMULATED
    supported = packet.CONTENT_QUAT
    ranges = packet.ranges_byte()

    def __init__(self) -> None:
        self.errors = 0
        self.q14 = (16384, 0, 0, 0)
        self.flags = 3  # calibration state high

    def configure(self, rate_hz, content) -> None:
        if content & ~self.supported or not content:
            raise ValueError("content")

    def tare(self) -> None:
        pass

    def read(self, sample) -> int:
        struct.pack_into("<hhhh", sample, 0, *self.q14)
        return self.flags


class _Battery:
    def __init__(self, owner: VirtualPeripheral, mv: float, drain_mv_per_h: float) -> None:
        self.owner, self.mv, self.drain = owner, mv, drain_mv_per_h

    def millivolts(self) -> int:
        return int(self.mv - self.drain * self.owner.now / 3600.0)


class _Link:
    """The firmware's link interface (``connected``, ``send``, ``mtu``, ``bonded``,
    ``set_status``) over an outbox the transport empties at each connection event."""

    def __init__(self, per_event: int) -> None:
        self.conn: object | None = None
        self.is_bonded = False
        self.mtu_bytes = 23
        self.per_event = per_event
        self.outbox: list[bytes] = []
        self.status_outbox: list[bytes] = []
        self.enomem = 0

    def connected(self) -> bool:
        return self.conn is not None

    def send(self, pkt) -> None:
        if len(self.outbox) >= self.per_event:
            self.enomem += 1
            raise OSError(ENOMEM, "ENOMEM")
        self.outbox.append(bytes(pkt))

    def mtu(self) -> int:
        return self.mtu_bytes

    def bonded(self) -> bool:
        return self.conn is not None and self.is_bonded

    def set_status(self, payload, notify=True) -> None:
        if notify and self.conn is not None:
            self.status_outbox.append(bytes(payload))


class VirtualPeripheral:
    """One simulated sensor running the firmware application."""

    def __init__(
        self,
        address: str,
        role: int,
        kit: int,
        clock: SensorClock,
        motion: Motion,
        *,
        rate_hz: int = 100,
        secure: bool = True,
        can_bond: bool = True,
        battery_mv: float = 4000.0,
        drain_mv_per_h: float = 100.0,
        packets_per_event: int = 8,
        start: ProtocolStart | None = None,
    ) -> None:
        self.address = address
        self.start = start  # told when this sensor starts streaming
        self.clock = clock
        self.motion = motion
        self.can_bond = can_bond
        self.now = 0.0  # true time of the firmware's "now"
        cfg = _MemoryConfig()
        cfg.role, cfg.kit, cfg.rate, cfg.secure = role, kit, rate_hz, secure
        self.cfg = cfg
        self.imu = _Imu()
        self.link = _Link(packets_per_event)
        self.fw_clock = fw_clock.SensorClock(ticks_us=self._ticks_us)
        # the firmware's u32 clock counts bits 30-31 from its boot; start it in step
        # with ``clock`` so that the sensor's u32 time is ``clock.device_us(t) mod 2**32``
        self.fw_clock.epoch = (int(clock.device_us(0.0)) >> 30) & 3
        self.app = App(
            cfg,
            self.imu,
            self.fw_clock,
            self.link,
            battery=_Battery(self, battery_mv, drain_mv_per_h),
            ticks_ms=self._ticks_ms,
        )
        self.app.read_battery()
        self._period = 0
        self._next_tick = 0.0
        self._cache_ticks: list[int] = []
        self._cache_q: list[tuple[int, int, int, int]] = []
        self._cache_t: list[float] = []
        self._cache_i = 0
        self.samples_sent = 0  # samples in notifications handed to the radio
        self.packets_sent = 0
        self._last_status = -math.inf

    # -- firmware clock -------------------------------------------------------------
    def _ticks_us(self) -> int:
        return int(self.clock.device_us(self.now)) & LO30

    def _ticks_ms(self) -> int:
        return int(self.now * 1000.0) & LO30

    def device_us(self, t: float) -> int:
        """The sensor's (unwrapped) clock at true time ``t``."""
        return int(self.clock.device_us(t))

    # -- sampling ---------------------------------------------------------------------
    def _refill(self) -> None:
        period = self._period
        n = max(16, int(1e6 / period))  # about one second of ticks at a time
        ticks = self._next_tick + period * np.arange(n)
        t_true = self.clock.true_time(ticks)
        q = np.clip(np.round(self.motion(t_true) * 16384.0), -32768, 32767).astype(np.int64)
        self._cache_ticks = ticks.astype(np.int64).tolist()
        self._cache_t = t_true.tolist()
        self._cache_q = [tuple(r) for r in q.tolist()]
        self._cache_i = 0

    def advance(self, t: float) -> None:
        """Sample every tick up to true time ``t`` (only while streaming)."""
        if t < self.now:
            return
        dev_now = self.clock.device_us(t)
        if not self.app.streaming:
            # idle: keep the tick grid just ahead, so sampling starts at START
            period = self.app.streamer.period_us
            self._period = period
            self._next_tick = (math.floor(dev_now / period) + 1) * period
            self._cache_ticks, self._cache_i = [], 0
            self.now = t
            return
        if self.start is not None:
            self.start.start(self.now)
        app, imu, fw = self.app, self.imu, self.fw_clock
        period = self._period
        while True:
            if self._cache_i >= len(self._cache_ticks):
                self._refill()
            i = self._cache_i
            tick = self._cache_ticks[i]
            if tick > dev_now:
                break
            self.now = self._cache_t[i]
            imu.q14 = self._cache_q[i]
            fw.now_lo()
            app.tick(tick & LO30)
            self._cache_i = i + 1
            self._next_tick = tick + period
        self.now = t

    # -- transport interface ----------------------------------------------------------
    def advert(self) -> tuple[bytes, bytes]:
        """Advertising data and scan response, as the firmware builds them."""
        return status.advert_payloads(self.cfg.role, self.cfg.kit, self.app.battery_pct)

    def connect(self, t: float, mtu: int) -> None:
        self.advance(t)
        self.link.conn = object()
        self.link.is_bonded = False
        self.link.mtu_bytes = mtu
        self.app.on_connect()

    def bond(self) -> bool:
        """Pair and bond the current link (if this sensor supports bonding)."""
        if self.link.conn is not None and self.can_bond:
            self.link.is_bonded = True
        return self.link.is_bonded

    def disconnect(self, t: float) -> None:
        self.advance(t)
        self.link.conn = None
        self.link.outbox.clear()
        self.link.status_outbox.clear()
        self.app.on_disconnect()

    def connection_event(self, t: float) -> list[bytes]:
        """Sample up to ``t`` and run the notifier: the data notifications sent now."""
        self.advance(t)
        if not self.link.connected():
            return []
        out = self.link.outbox
        while self.app.pump(4):
            if len(out) >= self.link.per_event:
                break
        self.link.outbox = []
        for pkt in out:
            self.samples_sent += pkt[8]
            self.packets_sent += 1
        if t - self._last_status >= 5.0:  # the firmware's housekeeping period
            self._last_status = t
            self.app.read_battery()
            self.link.set_status(self.app.status_payload())
        return out

    def take_status(self) -> list[bytes]:
        out, self.link.status_outbox = self.link.status_outbox, []
        return out

    def write(self, data: bytes, t: float) -> bytes:
        """A control write received at ``t``: the firmware's reply."""
        self.advance(t)
        self.now = t
        return bytes(self.app.controller.handle(memoryview(bytes(data))))

    def read_status(self, t: float) -> bytes:
        self.advance(t)
        return bytes(self.app.status_payload())
