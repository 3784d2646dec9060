"""A sensor's whole timeline: every sample in device order with host times, built from
its clock segments' packets (vectorised)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from hipimu.stream.clock import ClockModel, SyncPoint, fit_segment
from hipimu.stream.segments import Segment, assign_syncs
from hipimu.wire.protocol import sample_rows

BLOCKS = ("quat", "gyr", "acc", "mag")


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
class SegmentSamples:
    """The samples of one clock segment in device order, with its clock and gaps."""

    device_us: np.ndarray
    host_time: np.ndarray
    clock: ClockModel
    gaps: list[tuple[float, float]]
    blocks: dict[str, np.ndarray | None]
    flags: np.ndarray
    lost: int
    rate_hz: float


def segment_samples(seg: Segment, syncs: list[SyncPoint]) -> SegmentSamples:
    """Every filed packet of ``seg`` sorted by device time, expanded to samples."""
    chunks = seg.chunks
    rate = chunks[0].rate_hz
    period_us = 1e6 / rate
    t0 = np.concatenate([c.t0 for c in chunks])
    count = np.concatenate([c.count for c in chunks])
    host = np.concatenate([c.host for c in chunks])
    flags = np.concatenate([c.flags for c in chunks])
    order = np.argsort(t0, kind="stable")
    before = np.cumsum([0] + [c.rows for c in chunks[:-1]])
    start = np.concatenate([c.start + base for c, base in zip(chunks, before, strict=True)])
    rows = sample_rows(start[order], count[order])
    k = rows - np.repeat(start[order], count[order])
    device_us = np.repeat(t0[order], count[order]) + np.round(k * period_us).astype(np.int64)
    last = t0[order] + (count[order] - 1) * period_us
    clock = fit_segment(last, host[order], syncs)
    host_time = clock.host_time(device_us)
    jumps = np.flatnonzero(np.diff(device_us) > 1.5 * period_us)
    gaps = [(float(host_time[i]), float(host_time[i + 1])) for i in jumps]
    in_order = len(chunks) == 1 and bool(np.all(np.diff(rows) == 1)) and rows[0] == 0
    blocks = {}
    for name in BLOCKS:
        parts = [getattr(c, name) for c in chunks]
        if any(p is None for p in parts):
            blocks[name] = None
        elif in_order and len(parts[0]) == len(rows):  # one chunk in device order: no copy
            blocks[name] = parts[0]
        else:
            blocks[name] = np.concatenate(parts)[rows]
    return SegmentSamples(
        device_us,
        host_time,
        clock,
        gaps,
        blocks,
        np.repeat(flags[order], count[order]).astype(np.uint8),
        seg.lost,
        rate,
    )


def build_timeline(
    sensor: str,
    role: str,
    segments: list[Segment],
    syncs: list[SyncPoint],
    duplicates: int,
) -> SensorTimeline:
    """One timeline from every clock segment of the sensor, each with its own clock model;
    a restart leaves a gap from the last sample before it to the first after it."""
    segments = sorted((s for s in segments if s.chunks), key=lambda s: s.first_arrival)
    parts = [
        segment_samples(seg, seg_syncs)
        for seg, seg_syncs in zip(segments, assign_syncs(segments, syncs), strict=True)
    ]
    parts.sort(key=lambda part: part.host_time[0])
    gaps = [g for part in parts for g in part.gaps]
    for before, after in itertools.pairwise(parts):
        gaps.append((float(before.host_time[-1]), float(after.host_time[0])))
    gaps.sort()

    def cat(name: str) -> np.ndarray | None:
        blocks = [part.blocks[name] for part in parts]
        if any(b is None for b in blocks):
            return None
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)  # one: no copy

    def joined(arrays: list[np.ndarray]) -> np.ndarray:
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    return SensorTimeline(
        sensor=sensor,
        role=role,
        device_us=joined([part.device_us for part in parts]),
        host_time=joined([part.host_time for part in parts]),
        quat=cat("quat"),
        gyr=cat("gyr"),
        acc=cat("acc"),
        mag=cat("mag"),
        flags=joined([part.flags for part in parts]),
        clock=parts[-1].clock,
        rate_hz=segments[0].chunks[0].rate_hz,
        packets=sum(seg.packets for seg in segments),
        duplicates=duplicates,
        lost_packets=sum(part.lost for part in parts),
        gaps=gaps,
        sync_points=len(syncs),
        restarts=len(parts) - 1,
        clocks=[part.clock for part in parts],
    )
