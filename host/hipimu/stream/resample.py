"""All sensors on one uniform host-time grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipimu import _core
from hipimu.stream.timeline import SensorTimeline


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
        q = slerp(tl.host_time, tl.quat, time)
        ok = ~in_gaps(time, tl.gaps)
        q[~ok] = np.nan
        # keep the hemisphere of the source samples so series stay continuous
        src = np.clip(np.searchsorted(tl.host_time, time), 0, len(tl.host_time) - 1)
        q *= np.where(np.sum(q * tl.quat[src], axis=1) < 0, -1.0, 1.0)[:, None]
        quat[role], valid[role] = q, ok
    return AlignedSamples(time, quat, valid, rate)


def slerp(times: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions ``q`` (N, 4) at times ``times``
    (strictly increasing) to ``t`` (inside ``[times[0], times[-1]]``), along the shorter
    arc: what ``scipy.spatial.transform.Slerp`` gives, in one pass of the C kernel
    ``hipimu._core.slerp`` (numpy twin: :func:`hipimu.reference.quaternion.slerp`)."""
    times = np.ascontiguousarray(times, dtype=np.float64)
    t = np.ascontiguousarray(t, dtype=np.float64)
    if len(times) < 2 or np.any(np.diff(times) <= 0):
        raise ValueError("Times must be in strictly increasing order.")
    if len(t) and (t.min() < times[0] or t.max() > times[-1]):
        raise ValueError("Interpolation times must be within the range of the samples.")
    q = np.ascontiguousarray(q, dtype=np.float64)
    out = np.empty((len(t), 4))
    _core.slerp(times.reshape(-1, 1), q, t.reshape(-1, 1), out)
    return out


def in_gaps(time: np.ndarray, gaps: list[tuple[float, float]]) -> np.ndarray:
    """Whether each time lies strictly inside one of the ``(start, end)`` gaps."""
    inside = np.zeros(len(time), dtype=bool)
    if not gaps:
        return inside
    g = np.asarray(gaps, dtype=np.float64)
    first = np.searchsorted(time, g[:, 0], side="right")  # first time > start
    last = np.searchsorted(time, g[:, 1], side="left")  # first time >= end
    edges = np.zeros(len(time) + 1, dtype=np.int64)
    np.add.at(edges, first, 1)
    np.add.at(edges, last, -1)
    depth = np.cumsum(edges[:-1])
    return depth > 0
