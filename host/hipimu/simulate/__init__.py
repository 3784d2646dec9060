"""A physically grounded simulator of the three sensors with known true hip angles.

It is a *source of data*: it runs the body model, mounts sensors with random offsets,
runs the firmware's own packet code on each sensor's clock and delivers the
notifications with BLE-like timing. The host pipeline then treats them exactly like
packets from real sensors. The truth is kept beside them for validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hipimu.core.names import ROLES
from hipimu.core.types import Notification
from hipimu.simulate.body import segment_orientations
from hipimu.simulate.motion import Block, Client, Protocol
from hipimu.simulate.sensors import LinkModel, SensorClock, SimulatedSensor, random_mount

__all__ = [
    "EXACT",
    "REALISTIC",
    "Client",
    "Protocol",
    "SensorRealism",
    "SimulatedSession",
    "Truth",
    "simulate_session",
]


@dataclass(frozen=True)
class SensorRealism:
    """What the sensors add to the true segment motion (none by default: exact).

    ``noise_deg``: white noise of each sensor's orientation output, RMS per axis.
    ``soft_tissue_deg``: the thigh skin (and the sensor on it) twists about the femur's
    long axis, lagging hip flexion by ``soft_tissue_tau_s`` (first order), by this many
    degrees at 55 deg of flexion, proportionally (external twist with flexion).
    """

    noise_deg: float = 0.0
    soft_tissue_deg: float = 0.0
    soft_tissue_tau_s: float = 0.4


EXACT = SensorRealism()
REALISTIC = SensorRealism(noise_deg=0.1, soft_tissue_deg=6.0)


@dataclass
class Truth:
    """What really happened, on a uniform grid of true (= host) time."""

    time: np.ndarray  # (N,) seconds
    hip_right: np.ndarray  # (N, 3) flexion, adduction, internal rotation, radians
    hip_left: np.ndarray
    pelvis: np.ndarray  # (N, 3) rotation, obliquity, tilt relative to the upright pose
    segments: dict[str, np.ndarray]  # q_GB (N, 4) per role
    mounts: dict[str, np.ndarray]  # q_BS (4,) per role
    clocks: dict[str, SensorClock]
    heading_rad: float

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for ``np.savez`` (see docs/session-format.md)."""
        out = {
            "time": self.time,
            "hip_right": self.hip_right,
            "hip_left": self.hip_left,
            "pelvis": self.pelvis,
            "heading_rad": np.array(self.heading_rad),
        }
        for role in self.segments:
            out[f"q_GB_{role}"] = self.segments[role]
            out[f"q_BS_{role}"] = self.mounts[role]
            out[f"clock_{role}"] = np.array(
                [self.clocks[role].offset_s, self.clocks[role].drift_ppm]
            )
        return out


@dataclass
class SimulatedSession:
    """Notifications in arrival order, the trainer's exercise markers, and the truth."""

    notifications: list[Notification]
    markers: list[dict]
    truth: Truth
    sensors: dict[str, SimulatedSensor] = field(default_factory=dict)
    samples: dict[str, dict] = field(default_factory=dict)


def _skin(
    q: np.ndarray,
    role: str,
    truth: dict[str, np.ndarray],
    t: np.ndarray,
    errors: SensorRealism,
    rng: np.random.Generator,
) -> np.ndarray:
    """``q_GB`` of the skin under the sensor: soft-tissue twist and output noise."""
    from scipy.spatial.transform import Rotation

    r = Rotation.from_quat(q, scalar_first=True)
    if errors.soft_tissue_deg and role != "pelvis":
        side = "right" if role == "femur_r" else "left"
        flex = truth[f"hip_{side}"][:, 0]
        lagged = np.empty_like(flex)
        acc = flex[0] if len(flex) else 0.0
        dt = np.diff(t, prepend=t[0] if len(t) else 0.0)
        alpha = 1.0 - np.exp(-np.maximum(dt, 0.0) / errors.soft_tissue_tau_s)
        for i, (f, a) in enumerate(zip(flex.tolist(), alpha.tolist(), strict=True)):
            acc += a * (f - acc)
            lagged[i] = acc
        twist = -np.deg2rad(errors.soft_tissue_deg) * lagged / np.deg2rad(55.0)
        sign = 1.0 if side == "right" else -1.0  # external for both: -y right, +y left
        r = r * Rotation.from_rotvec(np.outer(sign * twist, [0.0, 1.0, 0.0]))
    if errors.noise_deg:
        noise = rng.normal(scale=np.deg2rad(errors.noise_deg), size=(len(t), 3))
        r = r * Rotation.from_rotvec(noise)
    out = r.as_quat(scalar_first=True)
    dots = np.sum(out[1:] * out[:-1], axis=1)
    flips = np.cumsum(dots < 0) % 2
    out[1:][flips == 1] *= -1
    return out


def _markers(blocks: list[Block]) -> list[dict]:
    """The exercise picker's log: what the trainer selected, and when."""
    return [
        {"exercise": b.name, "side": b.side, "start": b.start, "end": b.end}
        for b in blocks
        if b.name not in ("transition",)
    ]


def simulate_session(
    protocol: Protocol | None = None,
    *,
    seed: int = 0,
    rate_hz: float = 100.0,
    max_mount_offset_deg: float = 20.0,
    max_drift_ppm: float = 50.0,
    heading_deg: float | None = None,
    link: LinkModel | None = None,
    progress=None,
    sensors_realism: SensorRealism | None = None,
) -> SimulatedSession:
    """Simulate a whole session of the three sensors.

    ``progress`` (optional) is called with a fraction in [0, 1] as sensors finish.
    One sensor's clock starts close to its u32 wrap so the host's unwrapping is exercised.
    ``sensors_realism`` adds sensor noise and soft-tissue artefact (:class:`SensorRealism`;
    default none). The truth is the bones' motion, without them.
    """
    protocol = protocol or Protocol()
    rng = np.random.default_rng(seed)
    heading = np.deg2rad(rng.uniform(0, 360) if heading_deg is None else heading_deg)
    duration = protocol.duration

    errors = sensors_realism or EXACT
    noise_rng = np.random.default_rng([seed, 5])

    def q_gb(role: str):
        def at(t: np.ndarray) -> np.ndarray:
            truth = protocol.truth(t)
            q = segment_orientations(truth, heading)[role]
            if errors == EXACT:
                return q
            return _skin(q, role, truth, t, errors, noise_rng)

        return at

    sensors: dict[str, SimulatedSensor] = {}
    notifications: list[Notification] = []
    samples: dict[str, dict] = {}
    base_link = link or LinkModel()
    for i, role in enumerate(ROLES):
        offset = (2**32 / 1e6 - duration / 2) if i == 1 else rng.uniform(1.0, 3000.0)
        clock = SensorClock(offset, rng.uniform(-max_drift_ppm, max_drift_ppm))
        sensor_link = LinkModel(
            base_link.interval_s,
            rng.uniform(0, base_link.interval_s),
            base_link.jitter_s,
            base_link.loss,
        )
        sensor = SimulatedSensor(
            role,
            f"SIM:00:00:00:00:0{i + 1}",
            random_mount(role, max_mount_offset_deg, rng),
            clock,
            sensor_link,
            rate_hz,
        )
        sensors[role] = sensor
        notes, samples[role] = sensor.notifications(q_gb(role), 0.0, duration, rng)
        notifications.extend(notes)
        if progress:
            progress((i + 1) / len(ROLES))
    notifications.sort(key=lambda n: n.host_time)

    t = np.arange(0.0, duration, 1.0 / rate_hz)
    angles = protocol.truth(t)
    truth = Truth(
        time=t,
        hip_right=angles["hip_right"],
        hip_left=angles["hip_left"],
        pelvis=angles["pelvis"],
        segments=segment_orientations(angles, heading),
        mounts={r: s.mount.as_quat(scalar_first=True) for r, s in sensors.items()},
        clocks={r: s.clock for r, s in sensors.items()},
        heading_rad=float(heading),
    )
    return SimulatedSession(notifications, _markers(protocol.blocks), truth, sensors, samples)
