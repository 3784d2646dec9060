"""One sensor in the live view: its stream core, ring buffers of samples in device
order, clock models per clock segment, host fusion of raw packets and link numbers."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hipimu.analysis.live.ring import Ring
from hipimu.core import quaternion as quat
from hipimu.orientation.filter import OrientationFilter
from hipimu.stream.clock import ClockModel
from hipimu.stream.sensor import Released, SensorStream


@dataclass
class LiveStats:
    notes: int = 0
    rejected: int = 0  # malformed notifications
    raw: int = 0  # notifications without quaternions (fused on the host)
    final_rows: int = 0


@dataclass
class SensorState:
    """One sensor's stream core, buffers, clocks and link statistics.

    Its :class:`~hipimu.stream.sensor.SensorStream` unwraps, de-duplicates and files the
    packets in clock segments (a reboot starts a new one) and releases them in device
    order; the rings hold each sample's device time, clock segment and ``q_ES``.
    """

    address: str
    role: str
    rate_hz: float
    capacity: int
    clock_window: int
    dev_us: Ring = field(init=False)
    segment: Ring = field(init=False)
    quat: Ring = field(init=False)
    stream: SensorStream = field(init=False)
    clocks: dict[int, ClockModel] = field(default_factory=dict)  # by clock segment
    last_arrival: float = -np.inf
    flags: int = 0
    fusion: OrientationFilter | None = None  # raw sensors: the host's filter
    nine_d: bool = False  # raw with a magnetometer (its heading is north's)
    earth: np.ndarray | None = None  # yaw applied to its earth frame (heading alignment)
    _lat: deque = field(init=False)
    _fitted_at: float = -np.inf

    def __post_init__(self) -> None:
        self.dev_us = Ring(self.capacity, 1)
        self.segment = Ring(self.capacity, 1)
        self.quat = Ring(self.capacity, 4)
        self.stream = SensorStream(self.address, keep=False, recent=self.clock_window)
        self._lat = deque(maxlen=64)

    # -- numbers from the stream core ---------------------------------------------------
    @property
    def packets(self) -> int:
        return self.stream.packets

    @property
    def duplicates(self) -> int:
        return self.stream.duplicates

    @property
    def late(self) -> int:
        return self.stream.late

    @property
    def lost(self) -> int:
        return self.stream.lost

    @property
    def restarts(self) -> int:
        return self.stream.restarts

    @property
    def loss_percent(self) -> float:
        return self.stream.loss_percent

    @property
    def latency_ms(self) -> float:
        """Median delay of the notifications above the fastest ones (ms), recent packets."""
        return float(np.median(self._lat)) * 1e3 if self._lat else float("nan")

    # -- clocks ---------------------------------------------------------------------------
    @property
    def clock(self) -> ClockModel | None:
        """The clock model of the current clock segment (None before the first packet)."""
        return self.clocks.get(len(self.stream.segments) - 1)

    def refit(self, segment: int, now: float, every_s: float) -> ClockModel:
        """The segment's clock model, refitted if ``every_s`` passed (or it is new)."""
        clock = self.clocks.get(segment)
        if clock is None or now - self._fitted_at >= every_s:
            clock = self.clocks[segment] = self.stream.live_clock(segment)
            self._fitted_at = now
        return clock

    def host_times(self, n: int) -> np.ndarray:
        """Host times of the newest ``n`` samples, each through its segment's clock."""
        dev = self.dev_us.tail(n)[:, 0]
        seg = self.segment.tail(n)[:, 0]
        if len(seg) == 0 or seg[0] == seg[-1]:
            return self.clocks[int(seg[-1])].host_time(dev) if len(seg) else dev.copy()
        out = np.empty(len(dev))
        for s in np.unique(seg).tolist():
            sel = seg == s
            out[sel] = self.clocks[int(s)].host_time(dev[sel])
        return out

    def newest_host(self) -> float:
        if self.clock is None or len(self.dev_us) == 0:
            return -np.inf
        return float(self.host_times(1)[0])

    # -- samples --------------------------------------------------------------------------
    def file(self, rel: Released, max_step_s: float, refit_s: float) -> float:
        """Put a released packet's samples in the rings; returns its newest host time."""
        pkt = rel.packet
        dev = rel.device_us()
        clock = self.refit(rel.segment, rel.host, refit_s)
        q = pkt.quat if pkt.quat is not None else self._fuse(rel, dev, clock, max_step_s)
        if self.earth is not None:
            q = quat.multiply(self.earth, q)
        self.dev_us.append(dev[:, None])
        self.segment.append(np.full((len(dev), 1), float(rel.segment)))
        self.quat.append(q)
        self.flags = pkt.flags
        newest = float(clock.host_time(dev[-1:])[0])
        self._lat.append(rel.host - newest)
        return newest

    def _fuse(
        self, rel: Released, dev: np.ndarray, clock: ClockModel, max_step_s: float
    ) -> np.ndarray:
        """``q_ES`` of a raw packet's samples from the sensor's streaming filter, stepped by
        the samples' host-time differences (a gap of lost packets is integrated over, as
        the filter does offline; one longer than ``max_step_s`` is not, nor a reboot)."""
        pkt = rel.packet
        if self.fusion is None:
            self.fusion = OrientationFilter(pkt.rate_hz)
            self.nine_d = pkt.mag is not None
        same = len(self.dev_us) and self.segment.tail(1)[0, 0] == rel.segment
        last = self.dev_us.tail(1)[0, 0] if same else dev[0] - 1e6 / pkt.rate_hz
        steps = np.diff(np.concatenate([[last], dev])) * (clock.scale / 1e6)
        steps[(steps <= 0) | (steps > max_step_s)] = 1.0 / pkt.rate_hz
        mag = None
        if self.nine_d:
            mag = pkt.mag if pkt.mag is not None else np.full((pkt.count, 3), np.nan)
        return self.fusion.update(pkt.gyr, pkt.acc, mag, dt=steps)
