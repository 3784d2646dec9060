"""A realistic simulated session: raw IMU data with errors, fused on the host.

Compared with :func:`hipimu.simulate.simulate_session` (noise-free quaternions), here
each sensor streams raw gyroscope and accelerometer samples (the firmware's raw mode)
with noise, bias and bias drift, mounting offsets up to 30 deg, soft-tissue wobble, and
a client whose "neutral" standing pose is a little off and varies between rounds. The
session starts as a trainer would run it: the three sensors lie aligned in their case
for 3 s (heading alignment), are strapped on, and the client stands still, then runs
the exercise protocol ``repeats`` times (about 2 minutes each).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from hipimu.core.types import Notification
from hipimu.simulate import ROLES, SimulatedSession, Truth
from hipimu.simulate.body import STANDING_FACING_NORTH, hip_rotation, pelvis_rotation, to_wxyz
from hipimu.simulate.imu import HIP_CENTRES, SENSOR_SITES, ImuErrors, RawImu, Wobble
from hipimu.simulate.motion import Protocol
from hipimu.simulate.sensors import (
    ROLE_CODES,
    LinkModel,
    LinkTimer,
    SensorClock,
    random_mount,
)
from hipimu_fw import packet
from hipimu_fw.stream import Streamer

CASE_END, STRAP_END, PRE = 3.0, 7.0, 8.0  # s: in the case, strapping on, protocol start
GYR_CODE, ACC_CODE = 4, 1  # 2000 deg/s, 4 g
GYR_LSB = np.deg2rad(2000.0) / 32768.0
ACC_LSB = 4 * 9.80665 / 32768.0


@dataclass(frozen=True)
class Realism:
    """How far from ideal the simulated session is."""

    errors: ImuErrors = field(default_factory=ImuErrors)
    max_mount_offset_deg: float = 30.0
    pose_offset_deg: tuple[float, float, float] = (1.0, 1.0, 2.0)  # +- flex, add, rot
    max_drift_ppm: float = 50.0
    # True: the client only *stands* off-neutral and moves from neutral (the thighs turn
    # out while standing); False: the offset is the client's neutral for the whole round
    offset_standing_only: bool = False


class RoundsProtocol:
    """``repeats`` rounds of a base protocol after the case/strap-on pre-phase.

    Each round the client's neutral hip pose is off by a random offset (uniform within
    ``pose_offset_deg``), added to the base protocol's hip angles for that whole round.
    """

    def __init__(
        self, base: Protocol, repeats: int, offsets: np.ndarray, standing_only: bool = False
    ) -> None:
        self.base = base
        self.standing_only = standing_only
        self.repeats = repeats
        self.offsets = offsets  # (repeats, 2 sides, 3) radians
        self.starts = PRE + base.duration * np.arange(repeats)
        self.duration = PRE + base.duration * repeats

    def truth(self, t: np.ndarray) -> dict[str, np.ndarray]:
        t = np.asarray(t, dtype=np.float64)
        k = np.clip(((t - PRE) // self.base.duration).astype(int), 0, self.repeats - 1)
        local = np.where(t < PRE, 0.0, t - self.starts[k])
        out = self.base.truth(local)
        # the client settles into the new stance over the first 2 s of a round (standing)
        blend = _smooth(local / 2.0)[:, None]
        previous = self.offsets[np.maximum(k - 1, 0)]
        offset = previous + (self.offsets[k] - previous) * blend[:, :, None]
        if self.standing_only:
            offset = offset * self._standing_weight(local)[:, None, None]
        out["hip_right"] = out["hip_right"] + offset[:, 0]
        out["hip_left"] = out["hip_left"] + offset[:, 1]
        return out

    def _standing_weight(self, local: np.ndarray) -> np.ndarray:
        """1 while standing, 0 while exercising, ramped over 0.5 s at the block edges."""
        weight = np.zeros_like(local)
        for b in self.base.blocks:
            if b.name == "standing":
                rise = _smooth((local - b.start) / 0.5) if b.start > 0 else 1.0
                fall = _smooth((b.end - local) / 0.5)
                weight = np.maximum(weight, np.minimum(rise, fall))
        return weight

    def markers(self) -> list[dict]:
        marks = [
            {"exercise": "heading_alignment", "side": None, "start": 0.5, "end": CASE_END - 0.2}
        ]
        for start in self.starts:
            for b in self.base.blocks:
                if b.name != "transition":
                    marks.append(
                        {
                            "exercise": b.name,
                            "side": b.side,
                            "start": float(start + b.start),
                            "end": float(start + b.end),
                        }
                    )
        return marks


def _smooth(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3 - 2 * u)


class Body:
    """Segment orientations and positions of the protocol's client."""

    def __init__(self, protocol: RoundsProtocol, heading: float) -> None:
        self.protocol = protocol
        self.facing = Rotation.from_euler("z", heading) * STANDING_FACING_NORTH

    def segments(self, t: np.ndarray) -> dict[str, Rotation]:
        truth = self.protocol.truth(t)
        lying = Rotation.from_euler("x", truth["lying"][:, None])
        q_gp = self.facing * lying * pelvis_rotation(truth["pelvis"])
        return {
            "pelvis": q_gp,
            "femur_r": q_gp * hip_rotation(truth["hip_right"], "right"),
            "femur_l": q_gp * hip_rotation(truth["hip_left"], "left"),
            "_lying": truth["lying"],
        }

    def site(self, role: str, t: np.ndarray) -> np.ndarray:
        seg = self.segments(t)
        height = 0.12 + 0.81 * np.cos(seg["_lying"])
        pelvis_origin = np.column_stack([np.zeros_like(t), np.zeros_like(t), height])
        if role == "pelvis":
            return pelvis_origin + seg["pelvis"].apply(SENSOR_SITES["pelvis"])
        return (
            pelvis_origin
            + seg["pelvis"].apply(HIP_CENTRES[role])
            + seg[role].apply(SENSOR_SITES[role])
        )


def _sensor_motion(
    body: Body, role: str, mount: Rotation, errors: ImuErrors, duration: float, index: int
) -> RawImu:
    grid = np.arange(0.0, duration + 1.0, 0.005)
    seg = body.segments(grid)[role]
    omega = (seg[:-1].inv() * seg[1:]).as_rotvec() / 0.005
    omega = np.vstack([omega, omega[-1:]])
    alpha = np.gradient(omega, 0.005, axis=0)
    wobble = Wobble(grid, alpha, errors) if errors.wobble_gain_s2 else None
    case_q = Rotation.from_euler("z", 0.3)  # all sensors flat and aligned in the case
    case_p = np.array([0.6, 0.3 + 0.05 * index, 0.8])

    def on_body(t: np.ndarray) -> Rotation:
        r = body.segments(t)[role]
        if wobble is not None:
            r = r * Rotation.from_rotvec(wobble(t))
        return r * mount

    # the client stands still while the sensors are strapped on: slerp towards the fixed
    # pose they end in, then follow the body
    strap = (case_q.inv() * on_body(np.array([STRAP_END]))).as_rotvec()[0]

    def orientation(t: np.ndarray) -> Rotation:
        s = _smooth((t - CASE_END) / (STRAP_END - CASE_END))
        moving = case_q * Rotation.from_rotvec(np.outer(s, strap))
        after = t >= STRAP_END
        if not after.any():
            return moving
        q = moving.as_quat()
        q[after] = on_body(t[after]).as_quat()
        return Rotation.from_quat(q)

    def position(t: np.ndarray) -> np.ndarray:
        s = _smooth((t - CASE_END) / (STRAP_END - CASE_END))[:, None]
        return (1 - s) * case_p + s * body.site(role, t)

    return RawImu(orientation, position)


def simulate_realistic_session(
    repeats: int = 5,
    *,
    seed: int = 0,
    realism: Realism | None = None,
    base: Protocol | None = None,
    rate_hz: float = 100.0,
) -> SimulatedSession:
    """Simulate ``repeats`` rounds (about 2 min each) streamed as raw IMU packets."""
    realism = realism or Realism()
    base = base or Protocol()
    rng = np.random.default_rng(seed)
    limits = np.deg2rad(realism.pose_offset_deg)
    offsets = rng.uniform(-1, 1, (repeats, 2, 3)) * limits
    protocol = RoundsProtocol(base, repeats, offsets, realism.offset_standing_only)
    body = Body(protocol, rng.uniform(0, 2 * np.pi))
    notifications: list[Notification] = []
    mounts, clocks, samples = {}, {}, {}
    period = round(1e6 / rate_hz)
    for i, role in enumerate(ROLES):
        mount = random_mount(role, realism.max_mount_offset_deg, rng)
        clock = SensorClock(
            rng.uniform(1.0, 3000.0), rng.uniform(-realism.max_drift_ppm, realism.max_drift_ppm)
        )
        link = LinkModel(phase_s=rng.uniform(0, 0.03))
        motion = _sensor_motion(body, role, mount, realism.errors, protocol.duration, i)
        first = np.ceil(clock.device_us(0.0) / period)
        last = np.floor(clock.device_us(protocol.duration) / period)
        ticks = (np.arange(first, last + 1) * period).astype(np.int64)
        t_true = clock.true_time(ticks)
        q_gs, gyr, acc = motion.measure(t_true, realism.errors, rng)
        gyr_counts = np.clip(np.round(gyr / GYR_LSB), -32768, 32767).astype(int).tolist()
        acc_counts = np.clip(np.round(acc / ACC_LSB), -32768, 32767).astype(int).tolist()
        streamer = Streamer(
            ROLE_CODES[role],
            packet.CONTENT_GYR | packet.CONTENT_ACC,
            rate_hz,
            packet.ranges_byte(GYR_CODE, ACC_CODE, 0),
            capacity=64,
            batch=4,
        )
        timer = LinkTimer(link, rng)
        address = f"SIM:00:00:00:01:0{i + 1}"
        for tick, t, g, a in zip(
            ticks.tolist(), t_true.tolist(), gyr_counts, acc_counts, strict=True
        ):
            streamer.push_raw(tick % (1 << 32), None, g, a, None)
            payload = streamer.next_packet()
            if payload is None:
                continue
            data = bytes(payload)
            streamer.commit()
            arrival = timer.arrival(t + 0.001)
            if arrival is not None:
                notifications.append(Notification(arrival, address, data))
        mounts[role] = mount.as_quat(scalar_first=True)
        clocks[role] = clock
        samples[role] = {"ticks_us": ticks, "t_true": t_true, "q_gs": q_gs}
    notifications.sort(key=lambda n: n.host_time)

    t = np.arange(PRE, protocol.duration, 1.0 / rate_hz)
    angles = protocol.truth(t)
    seg = body.segments(t)
    truth = Truth(
        time=t,
        hip_right=angles["hip_right"],
        hip_left=angles["hip_left"],
        pelvis=angles["pelvis"],
        segments={r: to_wxyz(seg[r]) for r in ROLES},
        mounts=mounts,
        clocks=clocks,
        heading_rad=0.0,
    )
    return SimulatedSession(notifications, protocol.markers(), truth, {}, samples)
