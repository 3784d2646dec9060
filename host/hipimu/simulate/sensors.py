"""Simulated sensors: mounting, clocks, the firmware's streaming code, and the BLE link.

Each sensor samples on its own crystal (offset and drift), packs samples with the
firmware's own :class:`hipimu_fw.stream.Streamer`, and its notifications reach the host
at the next connection event of its link, so arrival times carry the latency and
jitter a BLE central sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from hipimu.core.types import Notification
from hipimu.simulate.body import from_wxyz, to_wxyz
from hipimu_fw import packet
from hipimu_fw.stream import Streamer

# Nominal sensor axes in segment coordinates (columns: sensor x, y, z), per
# docs/frames.md: sensor x points up the body, z out of the skin.
NOMINAL_MOUNT = {
    "pelvis": np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),
    "femur_r": np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
    "femur_l": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]),
}
ROLE_CODES = {
    "pelvis": packet.ROLE_PELVIS,
    "femur_r": packet.ROLE_FEMUR_R,
    "femur_l": packet.ROLE_FEMUR_L,
}
U32 = 1 << 32


@dataclass(frozen=True)
class SensorClock:
    """A sensor's crystal: ``device_us = (t + offset_s) * (1 + drift_ppm * 1e-6) * 1e6``."""

    offset_s: float
    drift_ppm: float

    def device_us(self, t: np.ndarray) -> np.ndarray:
        return (np.asarray(t) + self.offset_s) * (1.0 + self.drift_ppm * 1e-6) * 1e6

    def true_time(self, device_us: np.ndarray) -> np.ndarray:
        return np.asarray(device_us) / 1e6 / (1.0 + self.drift_ppm * 1e-6) - self.offset_s


@dataclass(frozen=True)
class LinkModel:
    """A BLE link: connection interval, phase, host-side jitter and loss."""

    interval_s: float = 0.030
    phase_s: float = 0.0
    jitter_s: float = 0.002
    loss: float = 0.0


class LinkTimer:
    """When notifications of one link reach the host: at the first connection event after
    they are ready, plus host-side jitter; ``loss`` of them never arrive."""

    def __init__(self, link: LinkModel, rng: np.random.Generator) -> None:
        self.link = link
        self.rng = rng
        self.next_event = link.phase_s

    def arrival(self, ready: float) -> float | None:
        """Host arrival time of a notification ready at ``ready`` (s), or None if lost."""
        interval = self.link.interval_s
        if self.next_event < ready:
            self.next_event += np.ceil((ready - self.next_event) / interval) * interval
        if self.link.loss and self.rng.random() < self.link.loss:
            return None
        return float(self.next_event + self.rng.uniform(0.0, self.link.jitter_s))


@dataclass
class SimulatedSensor:
    """One sensor on one segment."""

    role: str
    address: str
    mount: Rotation  # q_BS: sensor axes in segment coordinates
    clock: SensorClock
    link: LinkModel
    rate_hz: float = 100.0
    batch: int = 4

    def sample_times(self, t_start: float, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """Device ticks (unwrapped us, exact multiples of the period) and their true times."""
        period = round(1e6 / self.rate_hz)
        first = np.ceil(self.clock.device_us(t_start) / period)
        last = np.floor(self.clock.device_us(t_end) / period)
        ticks = np.arange(first, last + 1) * period
        return ticks.astype(np.int64), self.clock.true_time(ticks)

    def notifications(
        self,
        q_gb: Callable[[np.ndarray], np.ndarray],
        t_start: float,
        t_end: float,
        rng: np.random.Generator,
    ) -> tuple[list[Notification], dict]:
        """Run the firmware streaming code over the session; returns notifications and a
        record of what was sampled (device ticks, true times, ``q_GS``)."""
        ticks, t_true = self.sample_times(t_start, t_end)
        q_gs = to_wxyz(from_wxyz(q_gb(t_true)) * self.mount)
        streamer = Streamer(
            ROLE_CODES[self.role],
            packet.CONTENT_QUAT,
            self.rate_hz,
            packet.ranges_byte(),
            capacity=64,
            batch=self.batch,
        )
        out: list[Notification] = []
        timer = LinkTimer(self.link, rng)
        for tick, t, q in zip(ticks.tolist(), t_true.tolist(), q_gs.tolist(), strict=True):
            streamer.push_quat(tick % U32, q[0], q[1], q[2], q[3])
            payload = streamer.next_packet()
            if payload is None:
                continue
            data = bytes(payload)
            streamer.commit()
            arrival = timer.arrival(t + 0.001)
            if arrival is not None:
                out.append(Notification(arrival, self.address, data))
        return out, {"ticks_us": ticks, "t_true": t_true, "q_gs": q_gs}


def random_mount(role: str, max_offset_deg: float, rng: np.random.Generator) -> Rotation:
    """Nominal mounting of ``role`` turned by a random offset of up to ``max_offset_deg``."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(rng.uniform(0.0, max_offset_deg))
    return Rotation.from_matrix(NOMINAL_MOUNT[role]) * Rotation.from_rotvec(axis * angle)
