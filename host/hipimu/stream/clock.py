"""Clock models from device time to host time: arrival envelopes and time-sync round trips."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: minimum span of sync points (s) for them to give the drift; below it the arrival
#: times give the drift and the sync points only the offset
MIN_SYNC_SPAN_S = 30.0


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


def fit_segment(
    last_dev_us: np.ndarray, arrival: np.ndarray, syncs: list[SyncPoint] | tuple = ()
) -> ClockModel:
    """The clock model of one clock segment: the arrival envelope of its packets' last
    samples, or its time-sync round trips if it has any (their drift only when they span
    :data:`MIN_SYNC_SPAN_S`; else the arrivals' drift with the round trips' offset)."""
    clock = ClockModel.fit(last_dev_us, arrival)
    if len(syncs):
        sync_dev = np.array([p.device_us for p in syncs], dtype=np.float64)
        span = (sync_dev.max() - sync_dev.min()) / 1e6
        clock = ClockModel.fit_sync(
            sync_dev,
            np.array([p.send for p in syncs]),
            np.array([p.recv for p in syncs]),
            slope=None if span >= MIN_SYNC_SPAN_S else clock.scale,
        )
    return clock


def fit_recent(
    last_dev_us: np.ndarray,
    arrival: np.ndarray,
    syncs: list[SyncPoint] | tuple = (),
    min_span_s: float = 5.0,
) -> ClockModel:
    """A live clock model from the recent packets (and round trips) of one segment.

    Over a short span the slope is poorly determined (2 ms of jitter over 0.1 s is a 2 %
    error), so until ``min_span_s`` of packets is buffered the scale stays 1 and the
    offset follows the lower envelope (or the round trips' midline); then
    :func:`fit_segment` takes over.
    """
    device_s = np.asarray(last_dev_us, dtype=np.float64) / 1e6
    arrival = np.asarray(arrival, dtype=np.float64)
    if len(device_s) and device_s[-1] - device_s[0] >= min_span_s:
        return fit_segment(last_dev_us, arrival, syncs)
    if len(syncs):
        sync_dev = np.array([p.device_us for p in syncs], dtype=np.float64)
        return ClockModel.fit_sync(
            sync_dev,
            np.array([p.send for p in syncs]),
            np.array([p.recv for p in syncs]),
            slope=1.0,
        )
    return ClockModel(float(np.min(arrival - device_s)), 1.0)
