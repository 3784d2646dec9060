"""A physically grounded simulator of the three sensors with known true hip angles.

It is a *source of data*: it runs the body model, mounts sensors with random offsets,
runs the firmware's own packet code on each sensor's clock and delivers the
notifications with BLE-like timing. The host pipeline then treats them exactly like
packets from real sensors. The truth is kept beside them for validation.

It is realistic by default (:data:`REALISTIC`: the client sways while standing and stands
a little off neutral, the sensors add output noise and the thigh skin twists with hip
flexion, as real sessions do). ``simulate_session(..., ideal=True)`` (:data:`IDEAL`)
keeps the noise-free mode for exact tests: the bones' motion, untouched.
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
    "IDEAL",
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
    """What a real session adds to the ideal motion (every field 0: :data:`IDEAL`).

    The client (applied where the protocol leaves its stance unset, see
    :meth:`Protocol.with_stance`): ``sway_deg``, the RMS of 0.1-0.5 Hz postural sway on
    every hip and pelvis angle, all the time; ``neutral_deg``, the hips' neutral stance,
    off by up to +- (flexion, adduction, rotation) degrees per hip (drawn per session; the
    pipeline takes standing as zero, so it cannot tell this from neutral).
    The sensors (:mod:`hipimu.simulate.skin`): ``noise_deg``, white noise of each
    sensor's orientation output, RMS per axis; ``soft_tissue_deg``, the thigh skin (and
    the sensor on it) twists about the femur's long axis, lagging hip flexion by
    ``soft_tissue_tau_s`` (first order), by this many degrees at 55 deg of flexion,
    proportionally (external twist with flexion).
    """

    noise_deg: float = 0.0
    soft_tissue_deg: float = 0.0
    soft_tissue_tau_s: float = 0.4
    sway_deg: float = 0.0
    neutral_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def ideal(self) -> bool:
        return self == IDEAL


IDEAL = SensorRealism()  # noise-free: for exact tests (bit-exact coding, analytic cases)
EXACT = IDEAL  # its earlier name
# The default, matched to the real OpenSense standing trial (../shared/data/opensense):
# its pelvis and thighs move 0.41-0.59 deg RMS about their mean pose, 85-91 % of it in
# 0.1-0.5 Hz, so 0.25 deg RMS of sway on each of the 3 pelvis and 3 + 3 hip angles
# (0.43 deg on the pelvis, 0.61 deg on a thigh); its per-sample speed (median 0.5 deg/s)
# leaves room for at most about 0.003 deg of white output noise (Q14 steps are 0.007
# deg); a stance a few degrees off neutral, and the soft-tissue twist real thighs show
REALISTIC = SensorRealism(
    noise_deg=0.003, soft_tissue_deg=6.0, sway_deg=0.25, neutral_deg=(1.5, 1.0, 2.0)
)


def realism_of(ideal: bool = False, realism: SensorRealism | None = None) -> SensorRealism:
    """The realism a simulation runs with: ``realism`` if given, else :data:`IDEAL` when
    ``ideal``, else :data:`REALISTIC` (the default everywhere)."""
    if realism is not None:
        if ideal and realism != IDEAL:
            raise ValueError("ideal=True contradicts the realism given; pass one of them")
        return realism
    return IDEAL if ideal else REALISTIC


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
    # the client's neutral stance: (2, 3) hip angles (right, left; flexion, adduction,
    # rotation, radians) the client stands in when "standing straight"
    stance: np.ndarray = field(default_factory=lambda: np.zeros((2, 3)))

    def hip_from_stance(self, side: str) -> np.ndarray:
        """(N, 3) hip angles measured from the client's neutral stance: the femur's
        orientation relative to where it is when the client stands, in the ISB hip
        angles (Wu et al. 2002; Z-X-Y, built with scipy from the definitions). This is
        what a system calibrated on the client's standing pose can measure: it takes that
        stance as zero and cannot tell it from anatomical neutral."""
        from scipy.spatial.transform import Rotation

        sign = 1.0 if side == "right" else -1.0
        mirror = np.array([1.0, sign, sign])  # adduction and rotation mirror on the left
        angles = getattr(self, f"hip_{side}") * mirror
        stance = self.stance[0 if side == "right" else 1] * mirror
        rel = Rotation.from_euler("ZXY", stance).inv() * Rotation.from_euler("ZXY", angles)
        return rel.as_euler("ZXY") * mirror

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for ``np.savez`` (see docs/session-format.md)."""
        out = {
            "time": self.time,
            "hip_right": self.hip_right,
            "hip_left": self.hip_left,
            "pelvis": self.pelvis,
            "heading_rad": np.array(self.heading_rad),
            "stance": self.stance,
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
    protocol: Protocol | None = None  # the protocol as run (with the client's stance)
    realism: SensorRealism = IDEAL


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
    ideal: bool = False,
) -> SimulatedSession:
    """Simulate a whole session of the three sensors.

    Realistic by default (:data:`REALISTIC`: standing sway, a stance off neutral, sensor
    noise, soft-tissue twist); ``ideal=True`` is the noise-free mode for exact tests, and
    ``sensors_realism`` any other :class:`SensorRealism`. A protocol that sets its own
    stance (``sway_deg``, ``neutral_deg``) keeps it. The truth is the bones' motion
    (sway and stance included, skin and noise not).
    ``progress`` (optional) is called with a fraction in [0, 1] as sensors finish.
    One sensor's clock starts close to its u32 wrap so the host's unwrapping is exercised.
    """
    from hipimu.simulate.skin import Skin

    errors = realism_of(ideal, sensors_realism)
    protocol = (protocol or Protocol()).with_stance(errors.sway_deg, errors.neutral_deg, seed)
    rng = np.random.default_rng(seed)
    heading = np.deg2rad(rng.uniform(0, 360) if heading_deg is None else heading_deg)
    duration = protocol.duration
    skin = Skin(protocol, errors, np.random.default_rng([seed, 5]))

    def q_gb(role: str):
        def at(t: np.ndarray) -> np.ndarray:
            q = segment_orientations(protocol.truth(t), heading, (role,))[role]
            if errors.noise_deg == 0 and errors.soft_tissue_deg == 0:
                return q
            return skin.apply(q, role, t)

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
        stance=protocol.stance(),
    )
    return SimulatedSession(
        notifications, _markers(protocol.blocks), truth, sensors, samples, protocol, errors
    )
