"""From notifications to per-sensor timelines on the host clock, and a common grid.

Each sensor counts time on its own crystal (a wrapping ``u32`` of microseconds) and
numbers its notifications (a wrapping ``u16``). :class:`SessionAssembler` unwraps both,
drops duplicates, restores order, notes lost notifications and gaps, and fits a
:class:`ClockModel` (offset and drift) from device time to host time using the
arrival times: arrival = sample time + latency, where latency is positive and its
lower edge is nearly constant, so the model follows the lower envelope of the points.
When the source also delivers time-sync round trips (``TIME_PING``/echo on the control
characteristic, :meth:`SessionAssembler.add_sync`), the model is fitted to those instead:
each round trip bounds the moment the sensor read its clock, and the line runs halfway
between the tightest bounds (:meth:`ClockModel.fit_sync`, docs/ble.md "Time sync").
:func:`resample` then puts all sensors on one uniform host-time grid by slerp.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from hipimu.core.types import Notification
from hipimu.wire.protocol import Decoder, Packet, role_name

U32 = 1 << 32
U16 = 1 << 16


def unwrap_near(value: int, reference: int, modulus: int) -> int:
    """The integer congruent to ``value`` (mod ``modulus``) closest to ``reference``."""
    delta = (value - reference + modulus // 2) % modulus - modulus // 2
    return reference + delta


@dataclass(frozen=True)
class ClockModel:
    """``host_time = offset + scale * device_seconds``; ``scale - 1`` is the drift."""

    offset: float
    scale: float
    residual_ms: float = 0.0  # spread of arrival latency above the envelope (median)

    @property
    def drift_ppm(self) -> float:
        return (1.0 / self.scale - 1.0) * 1e6

    def host_time(self, device_us: np.ndarray) -> np.ndarray:
        return self.offset + self.scale * (np.asarray(device_us, dtype=np.float64) / 1e6)

    @classmethod
    def fit(cls, device_us: np.ndarray, arrival: np.ndarray) -> ClockModel:
        """Fit the lower envelope of ``arrival`` against device time.

        Ordinary least squares gives the slope; points above the 20th percentile of the
        residuals are dropped and the fit repeated, then the line is lowered onto the 1st
        percentile, so that it tracks the least-delayed notifications.
        """
        x = np.asarray(device_us, dtype=np.float64) / 1e6
        y = np.asarray(arrival, dtype=np.float64)
        if len(x) < 2:
            return cls(float(y[0] - x[0]) if len(x) else 0.0, 1.0)
        x0 = x[0]
        keep = np.ones(len(x), dtype=bool)
        slope, intercept = 1.0, float(np.median(y - x))
        for _ in range(3):
            if keep.sum() < 2:
                break
            slope, intercept = np.polyfit(x[keep] - x0, y[keep], 1)
            r = y - (intercept + slope * (x - x0))
            keep = r <= np.percentile(r, 20)
        r = y - (intercept + slope * (x - x0))
        low = np.percentile(r, 1)
        return cls(
            float(intercept + low - slope * x0), float(slope), float(np.median(r - low) * 1e3)
        )

    @classmethod
    def fit_sync(
        cls,
        device_us: np.ndarray,
        host_send: np.ndarray,
        host_recv: np.ndarray,
        bin_s: float | None = None,
        slope: float | None = None,
    ) -> ClockModel:
        """Fit ping/echo round trips: the sensor's clock read ``device_us`` between
        ``host_send`` and ``host_recv`` (host seconds).

        Each round trip bounds the moment of the reading: after ``host_send`` and before
        ``host_recv``. Round trips longer than the 80th percentile are dropped first
        (NTP-style filtering: long ones carry queueing, not information). Then two
        envelopes are fitted, as :meth:`fit` does for arrivals: the upper envelope of
        the send times (the reads that happened right after their write went out) and
        the lower envelope of the receive times (the replies that came back fastest);
        the model is the line halfway between them. So a ping whose write waited long
        for a connection event still tightens the upper bound, and vice versa, which
        makes the fit much tighter than the midpoints of the shortest round trips alone.
        The midline sits about half the shortest round trip after the true read when the
        reply leaves one connection interval after the write arrived: a bias common to
        all sensors on links with the same interval (docs/ble.md "Time sync").
        ``residual_ms`` is half the gap between the envelopes. With a given ``slope``
        (e.g. from the arrival times when the pings span too short a time) only the
        offsets are fitted. ``bin_s`` is accepted for compatibility and unused.
        """
        x = np.asarray(device_us, dtype=np.float64) / 1e6
        h0 = np.asarray(host_send, dtype=np.float64)
        h1 = np.asarray(host_recv, dtype=np.float64)
        if len(x) == 0:
            raise ValueError("fit_sync needs at least one round trip")
        rtt = h1 - h0
        keep = rtt <= np.percentile(rtt, 80) if len(x) >= 5 else np.ones(len(x), dtype=bool)
        x, h0, h1 = x[keep], h0[keep], h1[keep]
        x0 = x[0]
        u = x - x0

        def envelope(y: np.ndarray, upper: bool) -> tuple[float, float]:
            if slope is not None or len(u) < 3 or np.ptp(u) <= 0:
                k = 1.0 if slope is None else slope
                r = y - k * u
                return k, float(np.max(r) if upper else np.min(r))
            sel = np.ones(len(u), dtype=bool)
            k, c = 1.0, 0.0
            for _ in range(3):
                if sel.sum() < 2 or np.ptp(u[sel]) <= 0:
                    break
                k, c = np.polyfit(u[sel], y[sel], 1)
                r = y - (c + k * u)
                sel = r >= np.percentile(r, 70) if upper else r <= np.percentile(r, 30)
            r = y - (c + k * u)
            return float(k), float(c + (np.percentile(r, 98) if upper else np.percentile(r, 2)))

        k0, c0 = envelope(h0, upper=True)
        k1, c1 = envelope(h1, upper=False)
        k, c = 0.5 * (k0 + k1), 0.5 * (c0 + c1)
        return cls(float(c - k * x0), float(k), float(max(0.0, c1 - c0) * 0.5e3))


@dataclass(frozen=True, slots=True)
class SyncPoint:
    """One time-sync round trip: the sensor read ``device_us`` (unwrapped) between the
    host's ``send`` and ``recv`` (host seconds)."""

    send: float
    recv: float
    device_us: int


#: minimum span of sync points (s) for them to give the drift; below it the arrival
#: times give the drift and the sync points only the offset
MIN_SYNC_SPAN_S = 30.0


@dataclass
class SensorTimeline:
    """Every sample one sensor delivered, in device order, with host times."""

    sensor: str
    role: str
    device_us: np.ndarray  # (N,) int64, unwrapped; starts anew after each restart
    host_time: np.ndarray  # (N,) seconds, through ``clock``
    quat: np.ndarray | None  # (N, 4) q_ES
    gyr: np.ndarray | None
    acc: np.ndarray | None
    mag: np.ndarray | None
    flags: np.ndarray  # (N,) uint8
    clock: ClockModel
    rate_hz: float
    packets: int
    duplicates: int
    lost_packets: int
    gaps: list[tuple[float, float]]  # host-time intervals with missing samples
    sync_points: int = 0  # time-sync round trips used (0: clock from arrival times)
    restarts: int = 0  # times the sensor rebooted (its clock and seq began anew)
    clocks: list[ClockModel] = field(default_factory=list)  # one per clock segment

    @property
    def loss_percent(self) -> float:
        total = self.packets + self.lost_packets
        return 100.0 * self.lost_packets / total if total else 0.0


@dataclass
class _Segment:
    """The packets of one run of a sensor's clock (between reboots)."""

    packets: list[tuple[int, int, float, Packet]] = field(default_factory=list)
    last_seq: int | None = None
    last_t0: int | None = None
    seen: dict[int, int] = field(default_factory=dict)  # unwrapped seq -> t0
    offset: float = np.inf  # lower envelope of host - device seconds

    @property
    def first_arrival(self) -> float:
        return min(p[2] for p in self.packets)

    def unwrap_t0(self, raw: int, host: float) -> int:
        """Unwrap ``raw`` near the device time this segment's clock gives at ``host``."""
        if self.last_t0 is None:
            return raw
        if np.isfinite(self.offset):
            return unwrap_near(raw, int((host - self.offset) * 1e6), U32)
        return unwrap_near(raw, self.last_t0, U32)

    def fits(self, t0: int, host: float) -> bool:
        """Whether device time ``t0`` arriving at ``host`` can be this clock's: it does not
        arrive before it was sampled, nor jump back behind the newest sample, by more than
        :data:`RESTART_S`."""
        if self.last_t0 is None:
            return True
        ahead = self.offset + t0 / 1e6 - host
        return ahead <= RESTART_S and t0 >= self.last_t0 - RESTART_S * 1e6

    def file(self, seq: int, t0: int, host: float, pkt: Packet) -> None:
        self.seen[seq] = t0
        self.last_seq = seq if self.last_seq is None else max(seq, self.last_seq)
        self.last_t0 = t0 if self.last_t0 is None else max(t0, self.last_t0)
        self.offset = min(self.offset, host - t0 / 1e6)
        self.packets.append((seq, t0, host, pkt))


#: a sensor's device time that disagrees with its clock's host-time mapping by more than
#: this (s) means the sensor restarted (rebooted): a new clock segment begins
RESTART_S = 5.0


@dataclass
class _Accumulator:
    sensor: str
    role: int | None  # None until the first packet (sync points can come first)
    segments: list[_Segment] = field(default_factory=lambda: [_Segment()])
    duplicates: int = 0
    syncs: list[SyncPoint] = field(default_factory=list)

    @property
    def packets(self) -> list[tuple[int, int, float, Packet]]:
        return [p for seg in self.segments for p in seg.packets]

    @property
    def last_t0(self) -> int | None:
        return self.segments[-1].last_t0


class SessionAssembler:
    """Collects notifications of any number of sensors and builds their timelines.

    A sensor is keyed by its address; its role comes from its packets. Two sensors
    claiming one role is an error at :meth:`timelines`, naming both addresses.
    """

    def __init__(self) -> None:
        self.decoder = Decoder()
        self._sensors: dict[str, _Accumulator] = {}
        self.rejected_by_sensor: dict[str, int] = {}

    def add(self, note: Notification) -> Packet | None:
        """Decode and file one notification; a malformed one is counted, not raised."""
        pkt = self.decoder.decode(note.payload)
        if pkt is None:
            self.rejected_by_sensor[note.sensor] = self.rejected_by_sensor.get(note.sensor, 0) + 1
            return None
        acc = self._sensors.get(note.sensor)
        if acc is None:
            acc = self._sensors[note.sensor] = _Accumulator(note.sensor, pkt.role)
        elif acc.role is None:
            acc.role = pkt.role
        host = note.host_time
        for seg in reversed(acc.segments):  # the current clock first, then older ones
            t0 = seg.unwrap_t0(pkt.t0_us, host)
            seq = pkt.seq if seg.last_seq is None else unwrap_near(pkt.seq, seg.last_seq, U16)
            if seq in seg.seen and abs(seg.seen[seq] - t0) < 1e6 / pkt.rate_hz:
                acc.duplicates += 1
                return None
            if seg.fits(t0, host) and seq not in seg.seen:
                break
        else:  # no clock of this sensor explains the packet: it restarted
            seg = _Segment()
            acc.segments.append(seg)
            t0, seq = pkt.t0_us, pkt.seq
        seg.file(seq, t0, host, pkt)
        return pkt

    def extend(self, notes: Iterable[Notification]) -> None:
        for note in notes:
            self.add(note)

    def add_sync(self, sensor: str, send: float, recv: float, device_us: int) -> SyncPoint:
        """File one time-sync round trip of ``sensor`` (its u32 clock ``device_us`` read
        between host times ``send`` and ``recv``); returns it with the clock unwrapped.

        Raises ``ValueError`` if ``recv`` precedes ``send``.
        """
        if not recv >= send:
            raise ValueError(f"sync point of {sensor}: received {recv} before sent {send}")
        acc = self._sensors.get(sensor)
        if acc is None:
            acc = self._sensors[sensor] = _Accumulator(sensor, None)
        raw = int(device_us) % U32
        last = acc.segments[-1].last_t0
        if last is None and acc.syncs:
            last = acc.syncs[-1].device_us
        dev = raw if last is None else unwrap_near(raw, last, U32)
        point = SyncPoint(float(send), float(recv), dev)
        acc.syncs.append(point)
        return point

    def add_event(self, event: dict) -> bool:
        """File a session-log event the assembler understands (``time_sync``: keys
        ``sensor``, ``send``, ``recv``, ``device_us``); returns whether it was used."""
        if event.get("type") != "time_sync":
            return False
        self.add_sync(event["sensor"], event["send"], event["recv"], event["device_us"])
        return True

    @property
    def sensors(self) -> dict[str, str]:
        """Address -> role name of every sensor heard so far."""
        return {addr: role_name(acc.role) for addr, acc in self._sensors.items() if acc.packets}

    def timelines(self) -> dict[str, SensorTimeline]:
        """One timeline per role. Raises ``ValueError`` if two sensors share a role."""
        by_role: dict[str, SensorTimeline] = {}
        for addr, acc in self._sensors.items():
            if not acc.packets:
                continue
            timeline = _build(acc)
            if timeline.role in by_role:
                other = by_role[timeline.role].sensor
                raise ValueError(f"sensors {other} and {addr} both report role {timeline.role}")
            by_role[timeline.role] = timeline
        return by_role


def _build(acc: _Accumulator) -> SensorTimeline:
    """One timeline from every clock segment of the sensor, each with its own clock model;
    a restart leaves a gap from the last sample before it to the first after it."""
    segments = sorted(
        (seg for seg in acc.segments if seg.packets), key=lambda seg: seg.first_arrival
    )
    syncs: list[list[SyncPoint]] = [[] for _ in segments]
    firsts = [seg.first_arrival for seg in segments]
    for point in acc.syncs:  # each round trip to the clock that ran at its time
        i = max(0, int(np.searchsorted(firsts, point.recv + 1.0, side="right")) - 1)
        seg = segments[i]
        dev = unwrap_near(point.device_us % U32, int((point.recv - seg.offset) * 1e6), U32)
        syncs[i].append(SyncPoint(point.send, point.recv, dev))
    parts = [_build_segment(seg, seg_syncs) for seg, seg_syncs in zip(segments, syncs, strict=True)]
    parts.sort(key=lambda part: part[1][0])
    packets = [p for seg in segments for p in seg.packets]
    rate = packets[0][3].rate_hz
    device_us = np.concatenate([part[0] for part in parts])
    host_time = np.concatenate([part[1] for part in parts])
    gaps = [g for part in parts for g in part[3]]
    for before, after in itertools.pairwise(parts):
        gaps.append((float(before[1][-1]), float(after[1][0])))
    gaps.sort()
    blocks = {name: [part[4][name] for part in parts] for name in parts[0][4]}

    def cat(blocks: list[np.ndarray | None]) -> np.ndarray | None:
        return None if any(b is None for b in blocks) else np.concatenate(blocks)

    return SensorTimeline(
        sensor=acc.sensor,
        role=role_name(acc.role),
        device_us=device_us,
        host_time=host_time,
        quat=cat(blocks["quat"]),
        gyr=cat(blocks["gyr"]),
        acc=cat(blocks["acc"]),
        mag=cat(blocks["mag"]),
        flags=np.concatenate(blocks["flags"]),
        clock=parts[-1][2],
        rate_hz=rate,
        packets=len(packets),
        duplicates=acc.duplicates,
        lost_packets=sum(part[5] for part in parts),
        gaps=gaps,
        sync_points=len(acc.syncs),
        restarts=len(parts) - 1,
        clocks=[part[2] for part in parts],
    )


def _build_segment(seg: _Segment, syncs: list[SyncPoint]) -> tuple:
    """``(device_us, host_time, clock, gaps, blocks, lost)`` of one clock segment."""
    packets = sorted(seg.packets, key=lambda p: p[1])
    rate = packets[0][3].rate_hz
    period_us = 1e6 / rate
    dev, quat, gyr, accel, mag, flags = [], [], [], [], [], []
    last_dev, arrival = [], []
    for _seq, t0, host, pkt in packets:
        k = np.arange(pkt.count)
        dev.append(t0 + np.round(k * period_us).astype(np.int64))
        flags.append(np.full(pkt.count, pkt.flags, dtype=np.uint8))
        for store, block in ((quat, pkt.quat), (gyr, pkt.gyr), (accel, pkt.acc), (mag, pkt.mag)):
            if block is not None:
                store.append(block)
        last_dev.append(t0 + (pkt.count - 1) * period_us)
        arrival.append(host)
    device_us = np.concatenate(dev)
    clock = ClockModel.fit(np.array(last_dev), np.array(arrival))
    if syncs:
        sync_dev = np.array([p.device_us for p in syncs], dtype=np.float64)
        span = (sync_dev.max() - sync_dev.min()) / 1e6
        clock = ClockModel.fit_sync(
            sync_dev,
            np.array([p.send for p in syncs]),
            np.array([p.recv for p in syncs]),
            slope=None if span >= MIN_SYNC_SPAN_S else clock.scale,
        )
    host_time = clock.host_time(device_us)
    seqs = np.array([p[0] for p in packets])
    lost = int(seqs.max() - seqs.min() + 1 - len(seqs)) if len(seqs) else 0
    steps = np.diff(device_us)
    jumps = np.flatnonzero(steps > 1.5 * period_us)
    gaps = [(float(host_time[i]), float(host_time[i + 1])) for i in jumps]

    def cat(blocks: list[np.ndarray]) -> np.ndarray | None:
        return np.concatenate(blocks) if len(blocks) == len(packets) else None

    blocks = {
        "quat": cat(quat),
        "gyr": cat(gyr),
        "acc": cat(accel),
        "mag": cat(mag),
        "flags": np.concatenate(flags),
    }
    return device_us, host_time, clock, gaps, blocks, lost


@dataclass
class AlignedSamples:
    """All sensors' orientations ``q_ES`` on one uniform host-time grid.

    ``valid[role]`` is False where the sensor had a gap; those rows hold NaN.
    """

    time: np.ndarray
    quat: dict[str, np.ndarray]
    valid: dict[str, np.ndarray]
    rate_hz: float


def resample(timelines: dict[str, SensorTimeline], rate_hz: float | None = None) -> AlignedSamples:
    """Slerp every timeline onto a common grid spanning the time all sensors overlap."""
    if not timelines:
        raise ValueError("no sensor delivered any sample")
    missing = [r for r, tl in timelines.items() if tl.quat is None]
    if missing:
        raise ValueError(f"sensors without quaternions: {', '.join(missing)}")
    rate = rate_hz or max(tl.rate_hz for tl in timelines.values())
    start = max(tl.host_time[0] for tl in timelines.values())
    end = min(tl.host_time[-1] for tl in timelines.values())
    if end <= start:
        raise ValueError("the sensors' recordings do not overlap in time")
    time = start + np.arange(int(np.floor((end - start) * rate)) + 1) / rate
    quat, valid = {}, {}
    for role, tl in timelines.items():
        slerp = Slerp(tl.host_time, Rotation.from_quat(tl.quat, scalar_first=True))
        q = slerp(time).as_quat(scalar_first=True)
        ok = np.ones(len(time), dtype=bool)
        for g0, g1 in tl.gaps:
            ok &= ~((time > g0) & (time < g1))
        q[~ok] = np.nan
        # keep the hemisphere of the source samples so series stay continuous
        src = np.clip(np.searchsorted(tl.host_time, time), 0, len(tl.host_time) - 1)
        q *= np.where(np.sum(q * tl.quat[src], axis=1) < 0, -1.0, 1.0)[:, None]
        quat[role], valid[role] = q, ok
    return AlignedSamples(time, quat, valid, rate)
