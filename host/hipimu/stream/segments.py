"""Clock segments: the packets of one run of a sensor's clock (between reboots), and
which segment explains a packet."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hipimu.stream.clock import SyncPoint
from hipimu.stream.unwrap import U32, unwrap_near

#: a sensor's device time that disagrees with its clock's host-time mapping by more than
#: this (s) means the sensor restarted (rebooted): a new clock segment begins
RESTART_S = 5.0


@dataclass
class Chunk:
    """Filed packets of one segment as arrays (``t0``/``seq`` unwrapped), samples
    concatenated in packet order; the offline timeline is built from these."""

    seq: np.ndarray
    t0: np.ndarray
    host: np.ndarray
    count: np.ndarray
    start: np.ndarray  # first sample row of each packet in the sample arrays
    flags: np.ndarray
    rate_hz: float
    quat: np.ndarray | None
    gyr: np.ndarray | None
    acc: np.ndarray | None
    mag: np.ndarray | None

    @property
    def rows(self) -> int:
        """Sample rows in the chunk's arrays."""
        block = next(b for b in (self.quat, self.gyr, self.acc, self.mag) if b is not None)
        return len(block)


@dataclass
class Segment:
    """Book-keeping of one clock segment: what was filed, its host mapping so far, and
    (offline) the filed packets themselves. Live, ``recent`` bounds the arrivals its
    clock is fitted to and ``remember`` the sequence numbers it knows (for duplicates)."""

    recent: int | None = None  # live: fit the clock to this many newest arrivals
    remember: int | None = None  # live: know this many newest seqs (None: all)
    _seen: dict[int, int] | None = field(default_factory=dict)  # unwrapped seq -> t0
    _seen_later: tuple[np.ndarray, np.ndarray] | None = None  # (seq, t0) not yet in _seen
    last_seq: int | None = None
    last_t0: int | None = None
    offset: float = np.inf  # lower envelope of host - device seconds
    first_arrival: float = np.inf
    first_seq: int | None = None
    packets: int = 0
    chunks: list[Chunk] = field(default_factory=list)
    arrivals: deque = field(init=False)  # (last sample's device us, arrival)
    _order: deque = field(init=False)  # seqs in filing order, to forget the oldest

    def __post_init__(self) -> None:
        self.arrivals = deque(maxlen=self.recent)
        self._order = deque()

    @property
    def seen(self) -> dict[int, int]:
        """Unwrapped seq -> device time of every filed packet (the recent ones, live)."""
        if self._seen is None:
            seq, t0 = self._seen_later if self._seen_later is not None else ((), ())
            self._seen = dict(zip(np.asarray(seq).tolist(), np.asarray(t0).tolist(), strict=True))
            self._seen_later = None
        return self._seen

    def set_seen(self, seq: np.ndarray, t0: np.ndarray) -> None:
        """All filed packets at once (made into :attr:`seen` only when asked for)."""
        self._seen, self._seen_later = None, (seq, t0)

    @property
    def lost(self) -> int:
        """Notifications missing from the segment's sequence numbers."""
        if self.first_seq is None or self.last_seq is None:
            return 0
        return self.last_seq - self.first_seq + 1 - self.packets

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

    def file(self, seq: int, t0: int, host: float, count: int, rate_hz: float) -> None:
        """Note one packet as this segment's."""
        seen = self.seen
        seen[seq] = t0
        if self.remember is not None:
            self._order.append(seq)
            if len(self._order) > self.remember:
                seen.pop(self._order.popleft(), None)
        self.first_seq = seq if self.first_seq is None else min(seq, self.first_seq)
        self.last_seq = seq if self.last_seq is None else max(seq, self.last_seq)
        self.last_t0 = t0 if self.last_t0 is None else max(t0, self.last_t0)
        self.offset = min(self.offset, host - t0 / 1e6)
        self.first_arrival = min(self.first_arrival, host)
        self.packets += 1
        if self.recent is not None:
            self.arrivals.append((t0 + (count - 1) * 1e6 / rate_hz, host))

    def arrival_points(self) -> tuple[np.ndarray, np.ndarray]:
        """``(last sample's device us, arrival)`` of the packets the clock is fitted to:
        every filed packet in device order (offline) or the recent ones (live)."""
        if self.recent is not None:
            pts = np.array(self.arrivals, dtype=np.float64).reshape(-1, 2)
            return pts[:, 0], pts[:, 1]
        t0 = np.concatenate([c.t0 for c in self.chunks])
        last = t0 + (np.concatenate([c.count for c in self.chunks]) - 1) * (
            1e6 / self.chunks[0].rate_hz
        )
        host = np.concatenate([c.host for c in self.chunks])
        order = np.argsort(t0, kind="stable")
        return last[order], host[order]


def assign_syncs(segments: list[Segment], syncs: list[SyncPoint]) -> list[list[SyncPoint]]:
    """Each round trip to the segment whose clock ran at its time (the newest to have
    started by then, 1 s of grace), its device time unwrapped near that clock; segments
    in the order given (sorted by first arrival)."""
    out: list[list[SyncPoint]] = [[] for _ in segments]
    if not segments:
        return out
    firsts = [seg.first_arrival for seg in segments]
    for point in syncs:
        i = max(0, int(np.searchsorted(firsts, point.recv + 1.0, side="right")) - 1)
        seg = segments[i]
        dev = unwrap_near(point.device_us % U32, int((point.recv - seg.offset) * 1e6), U32)
        out[i].append(SyncPoint(point.send, point.recv, dev))
    return out
