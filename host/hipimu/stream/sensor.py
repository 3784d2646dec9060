"""The per-sensor stream core: every path (offline analysis, the live view, the BLE link)
files one sensor's packets and time-sync round trips here.

:class:`SensorStream` unwraps the u16 ``seq`` and the u32 device clock, drops
duplicates, files each packet with the clock segment that explains it (a sensor that
rebooted starts a new one, :mod:`hipimu.stream.segments`), counts lost packets and keeps
the round trips. Offline it keeps every packet and builds the whole timeline at the end
(:meth:`SensorStream.timeline`; :meth:`SensorStream.push_batch` files a whole log with a
few numpy operations and the same result as pushing packet by packet). Live it keeps
only recent book-keeping and releases packets in device order through a small reorder
buffer (:meth:`SensorStream.pull`), with a clock model per segment
(:meth:`SensorStream.live_clock`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipimu.stream.clock import ClockModel, SyncPoint, fit_recent
from hipimu.stream.segments import RESTART_S, Chunk, Segment, assign_syncs
from hipimu.stream.timeline import SensorTimeline, build_timeline
from hipimu.stream.unwrap import U16, U32, unwrap_chain, unwrap_near, unwrap_near_array
from hipimu.wire.protocol import Packet, PacketBatch, role_name

#: live: how long (s) a packet waits for a missing one before that one counts as lost
REORDER_S = 0.1


@dataclass(frozen=True, slots=True)
class Released:
    """One packet released in device order: its clock segment, unwrapped ``t0_us`` and
    ``seq``, arrival time and the decoded packet."""

    segment: int
    t0_us: int
    seq: int
    host: float
    packet: Packet

    def device_us(self) -> np.ndarray:
        """Device times (us, float) of the packet's samples."""
        pkt = self.packet
        return self.t0_us + np.round(np.arange(pkt.count) * (1e6 / pkt.rate_hz))


class SensorStream:
    """One sensor's packets and round trips: unwrapped, de-duplicated, in clock segments.

    ``keep=True`` (offline) keeps every packet for :meth:`timeline`; ``keep=False`` (live,
    the BLE link) fits its clocks to the last ``recent`` arrivals per segment, remembers
    the last ``remember`` sequence numbers (a copy older than those is not recognised)
    and hands packets on through :meth:`pull`.
    """

    def __init__(
        self, sensor: str, *, keep: bool = True, recent: int = 2048, remember: int = 16384
    ) -> None:
        self.sensor = sensor
        self.keep = keep
        self._recent = None if keep else recent
        self._remember = None if keep else max(remember, recent)
        self.role: int | None = None
        self.segments: list[Segment] = []
        self.duplicates = 0
        self.late = 0  # live: arrived after newer samples were released (not shown)
        self.syncs: list[SyncPoint] = []
        self.rate_hz: float | None = None
        self._pending: list[Released] = []
        self._released: dict[int, tuple[int, int]] = {}  # segment -> (seq, t0) released
        self._samples_dropped = False  # offline: the filed samples went into a timeline

    # ------------------------------------------------------------------ packets
    @property
    def packets(self) -> int:
        return sum(seg.packets for seg in self.segments)

    @property
    def lost(self) -> int:
        return sum(seg.lost for seg in self.segments)

    @property
    def loss_percent(self) -> float:
        total = self.packets + self.lost
        return 100.0 * self.lost / total if total else 0.0

    @property
    def restarts(self) -> int:
        return max(0, len(self.segments) - 1)

    def _new_segment(self) -> Segment:
        seg = Segment(recent=self._recent, remember=self._remember)
        self.segments.append(seg)
        return seg

    def push(self, host: float, pkt: Packet) -> Released | None:
        """File one packet arriving at host time ``host``; None if it is a duplicate."""
        if self.role is None:
            self.role = pkt.role
        if self.rate_hz is None:
            self.rate_hz = pkt.rate_hz
        for index in range(len(self.segments) - 1, -1, -1):  # current clock first
            seg = self.segments[index]
            t0 = seg.unwrap_t0(pkt.t0_us, host)
            seq = pkt.seq if seg.last_seq is None else unwrap_near(pkt.seq, seg.last_seq, U16)
            if seq in seg.seen and abs(seg.seen[seq] - t0) < 1e6 / pkt.rate_hz:
                self.duplicates += 1
                return None
            if seg.fits(t0, host) and seq not in seg.seen:
                break
        else:  # no clock of this sensor explains the packet: it restarted (or is new)
            seg = self._new_segment()
            index = len(self.segments) - 1
            t0, seq = pkt.t0_us, pkt.seq
        seg.file(seq, t0, host, pkt.count, pkt.rate_hz)
        if self.keep:
            seg.chunks.append(
                Chunk(
                    np.array([seq]),
                    np.array([t0], dtype=np.int64),
                    np.array([host]),
                    np.array([pkt.count]),
                    np.zeros(1, dtype=np.int64),
                    np.array([pkt.flags], dtype=np.uint8),
                    pkt.rate_hz,
                    pkt.quat,
                    pkt.gyr,
                    pkt.acc,
                    pkt.mag,
                )
            )
        out = Released(index, t0, seq, host, pkt)
        if not self.keep:
            done = self._released.get(index)
            newer = max(self._released, default=-1) > index  # a later clock is showing
            if newer or (done is not None and t0 <= done[1]):
                self.late += 1  # the grid moved on; the segment's counts keep it
            else:
                self._pending.append(out)
        return out

    def push_batch(self, host: np.ndarray, batch: PacketBatch) -> None:
        """File many packets (arrival order) at once: the same result as :meth:`push` for
        each, computed with numpy when the stream is fresh and the packets make one clock
        segment with only same-time duplicates; else packet by packet."""
        host = np.asarray(host, dtype=np.float64)
        if not (self.keep and not self.segments and len(batch)) or not self._file_batch(
            host, batch
        ):
            for i in range(len(batch)):
                self.push(float(host[i]), batch.packet(i))

    def _file_batch(self, host: np.ndarray, batch: PacketBatch) -> bool:
        rate = float(batch.rate_hz[0])
        if not np.all(batch.rate_hz == rate):
            return False
        t0 = unwrap_chain(batch.t0_us, U32)
        seq = unwrap_chain(batch.seq, U16)
        n = len(t0)
        # repeated seqs: only copies of the first (same device time) are allowed
        order = np.argsort(seq, kind="stable")
        repeat = np.zeros(n, dtype=bool)
        repeat[order[1:]] = seq[order[1:]] == seq[order[:-1]]
        if repeat.any():
            first = order[np.searchsorted(seq[order], seq, side="left")]
            if not np.all(np.abs(t0[repeat] - t0[first[repeat]]) < 1e6 / rate):
                return False
        filed = ~repeat
        # the segment's state before each packet: over the filed packets before it
        lower = host - t0 / 1e6
        offset = np.empty(n)
        offset[0] = np.inf
        np.minimum.accumulate(np.where(filed, lower, np.inf)[:-1], out=offset[1:])
        low = np.iinfo(np.int64).min
        last_t0 = np.empty(n, dtype=np.int64)
        last_seq = np.empty(n, dtype=np.int64)
        last_t0[0] = last_seq[0] = 0
        np.maximum.accumulate(np.where(filed, t0, low)[:-1], out=last_t0[1:])
        np.maximum.accumulate(np.where(filed, seq, low)[:-1], out=last_seq[1:])
        tail = slice(1, None)
        # each packet unwraps as push would (near the clock's mapping, near the newest seq)
        near = np.trunc((host[tail] - offset[tail]) * 1e6).astype(np.int64)
        if not np.array_equal(unwrap_near_array(batch.t0_us[tail], near, U32), t0[tail]):
            return False
        if not np.array_equal(unwrap_near_array(batch.seq[tail], last_seq[tail], U16), seq[tail]):
            return False
        # every filed packet fits the one clock (no restart)
        ahead = offset[tail] + t0[tail] / 1e6 - host[tail]
        fits = (ahead <= RESTART_S) & (t0[tail] >= last_t0[tail] - RESTART_S * 1e6)
        if not np.all(fits[filed[tail]]):
            return False
        seg = self._new_segment()
        self.role = int(batch.role[0])
        self.rate_hz = rate
        self.duplicates += int(repeat.sum())
        keep = np.flatnonzero(filed)
        part = batch.take(keep) if len(keep) < n else batch
        seg.set_seen(seq[keep], t0[keep])
        seg.first_seq, seg.last_seq = int(seq[keep].min()), int(seq[keep].max())
        seg.last_t0 = int(t0[keep].max())
        seg.offset = float(lower[keep].min())
        seg.first_arrival = float(host[keep].min())
        seg.packets = len(keep)
        seg.chunks.append(
            Chunk(
                seq[keep],
                t0[keep],
                host[keep],
                part.count,
                part.start,
                part.flags,
                rate,
                part.quat,
                part.gyr,
                part.acc,
                part.mag,
            )
        )
        return True

    # ------------------------------------------------------------------ time sync
    def add_sync(self, send: float, recv: float, device_us: int) -> SyncPoint:
        """File one time-sync round trip (the sensor's u32 clock ``device_us`` read between
        host times ``send`` and ``recv``); returns it with the clock unwrapped.

        Raises ``ValueError`` if ``recv`` precedes ``send``.
        """
        if not recv >= send:
            raise ValueError(f"sync point of {self.sensor}: received {recv} before sent {send}")
        raw = int(device_us) % U32
        last = self.segments[-1].last_t0 if self.segments else None
        if last is None and self.syncs:
            last = self.syncs[-1].device_us
        dev = raw if last is None else unwrap_near(raw, last, U32)
        point = SyncPoint(float(send), float(recv), dev)
        self.syncs.append(point)
        if self._recent is not None and len(self.syncs) > 2 * 120:
            del self.syncs[:-120]
        return point

    def segment_syncs(self) -> list[list[SyncPoint]]:
        """The round trips of each segment (in :attr:`segments` order)."""
        order = sorted(range(len(self.segments)), key=lambda i: self.segments[i].first_arrival)
        assigned = assign_syncs([self.segments[i] for i in order], self.syncs)
        out: list[list[SyncPoint]] = [[] for _ in self.segments]
        for i, points in zip(order, assigned, strict=True):
            out[i] = points
        return out

    # ------------------------------------------------------------------ outputs
    def timeline(self) -> SensorTimeline:
        """Every sample so far (``keep=True``), each segment through its own clock."""
        if not self.keep:
            raise RuntimeError("a live stream keeps no packets: use pull()")
        if self._samples_dropped:
            raise RuntimeError(
                f"{self.sensor}: the samples were dropped after its timeline was built"
            )
        return build_timeline(
            self.sensor, role_name(self.role or 0), self.segments, self.syncs, self.duplicates
        )

    def drop_samples(self) -> None:
        """Offline, once the timeline is built: forget the filed samples (the timeline
        holds them), keeping the counts; :meth:`timeline` then raises."""
        for seg in self.segments:
            seg.chunks = []
        self._samples_dropped = True

    @property
    def waiting(self) -> int:
        """Live: packets held in the reorder buffer."""
        return len(self._pending)

    def pull(self, now: float, reorder_s: float = REORDER_S) -> list[Released]:
        """Live: the packets ready to show, in device order per segment (older segments
        first). A packet waits while one before it is missing (the first of a segment:
        while one before it may still come), at most ``reorder_s`` after the oldest
        waiting packet arrived; then the missing one counts as lost."""
        out: list[Released] = []
        pending = sorted(self._pending, key=lambda r: (r.segment, r.t0_us))
        newest = len(self.segments) - 1
        while pending:
            r = pending[0]
            done = self._released.get(r.segment)
            waited = min(p.host for p in pending if p.segment == r.segment)
            if not (
                r.segment < newest
                or (done is not None and r.seq == done[0] + 1)
                or waited <= now - reorder_s
            ):
                break
            pending.pop(0)
            self._released[r.segment] = (r.seq, r.t0_us)
            out.append(r)
        self._pending = pending
        return out

    def live_clock(self, segment: int) -> ClockModel:
        """The clock model of ``segment`` from its recent arrivals and round trips."""
        seg = self.segments[segment]
        last, arrival = seg.arrival_points()
        return fit_recent(last, arrival, self.segment_syncs()[segment])
