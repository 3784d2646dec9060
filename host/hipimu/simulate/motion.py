"""The exercise protocol as smooth functions of time: true hip and pelvis angles.

A protocol is a list of :class:`Block` (standing, transitions, exercise sets). Each
repetition follows a raised-cosine profile (0 -> 1 -> 0) whose time can be warped to
make it jerky (stop-and-go sub-movements), so smoothness metrics see a difference.
Angles are radians; hip angles are ``[flexion, adduction, internal rotation]`` with the
same meaning on both sides; pelvis angles relative to the room are ``[rotation,
obliquity, tilt]`` (Baker 2001 order: about the vertical, then anterior, then lateral).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DEG = np.pi / 180.0


@dataclass(frozen=True)
class Client:
    """How the simulated client moves: ranges and the asymmetry to inject.

    The left side moves ``left_range_scale`` of the right's range, with stop-and-go
    sub-movements of depth ``left_jerk`` (0 = as smooth as the right), and the pelvis
    hikes ``pelvis_hike_left_deg`` at the peak of every left repetition.
    """

    abduction_deg: float = 35.0
    side_lying_flexion_deg: float = 10.0
    side_lying_rotation_deg: float = 5.0
    march_flexion_deg: float = 65.0
    march_adduction_deg: float = -3.0
    march_rotation_deg: float = 4.0
    left_range_scale: float = 0.7
    left_jerk: float = 0.6
    pelvis_hike_left_deg: float = 5.0
    march_pelvis_rotation_deg: float = 3.0

    @classmethod
    def symmetric(cls) -> Client:
        return cls(left_range_scale=1.0, left_jerk=0.0, pelvis_hike_left_deg=0.0)


@dataclass(frozen=True)
class Block:
    """One part of the protocol, ``[start, end)`` in seconds of true time."""

    name: str  # "standing", "transition", "side_lying_leg_lift", "marching"
    side: str | None  # "right", "left", "both" or None
    start: float
    end: float
    posture: str  # "standing", "side_lying_left_down", "side_lying_right_down"
    reps: tuple[tuple[float, float, str], ...] = ()  # (start, end, side) of each repetition
    params: dict = field(default_factory=dict)


def rep_profile(tau: np.ndarray, jerk: float = 0.0, waves: int = 4) -> np.ndarray:
    """Raise-hold-lower profile on ``tau`` in [0, 1]: 0 -> 1 -> 0.

    Raise over 40 % of the repetition, hold 10 %, lower 40 %, rest 10 %. ``jerk`` in
    [0, 1) warps time with ``waves`` stop-and-go sub-movements per phase (monotone).
    """
    tau = np.clip(tau, 0.0, 1.0)

    def phase(u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, 1.0)
        if jerk:
            u = u + jerk / (2 * np.pi * waves) * np.sin(2 * np.pi * waves * u)
        return 0.5 * (1.0 - np.cos(np.pi * u))

    up = phase(tau / 0.4)
    down = phase((tau - 0.5) / 0.4)
    return np.where(tau < 0.4, up, np.where(tau < 0.5, 1.0, np.where(tau < 0.9, 1.0 - down, 0.0)))


@dataclass
class Protocol:
    """The default session: stand 5 s, side-lying leg lifts each side, marching, stand."""

    client: Client = field(default_factory=Client)
    reps: int = 10
    rep_seconds: float = 3.0
    step_seconds: float = 1.6
    blocks: list[Block] = field(init=False)

    def __post_init__(self) -> None:
        t = 0.0
        blocks: list[Block] = []

        def add(name, side, dur, posture, reps=()):
            nonlocal t
            blocks.append(Block(name, side, t, t + dur, posture, tuple(reps)))
            t += dur

        add("standing", None, 5.0, "standing")
        add("transition", None, 3.0, "to_side_lying_left_down")
        start = t
        add(
            "side_lying_leg_lift",
            "right",
            self.reps * self.rep_seconds + 1.0,
            "side_lying_left_down",
            [
                (
                    start + 0.5 + i * self.rep_seconds,
                    start + 0.5 + (i + 1) * self.rep_seconds,
                    "right",
                )
                for i in range(self.reps)
            ],
        )
        add("transition", None, 4.0, "left_down_to_right_down")
        start = t
        add(
            "side_lying_leg_lift",
            "left",
            self.reps * self.rep_seconds + 1.0,
            "side_lying_right_down",
            [
                (
                    start + 0.5 + i * self.rep_seconds,
                    start + 0.5 + (i + 1) * self.rep_seconds,
                    "left",
                )
                for i in range(self.reps)
            ],
        )
        add("transition", None, 3.0, "right_down_to_standing")
        add("standing", None, 2.0, "standing")
        start = t
        steps = [
            (
                start + 0.5 + i * self.step_seconds,
                start + 0.5 + (i + 1) * self.step_seconds,
                "right" if i % 2 == 0 else "left",
            )
            for i in range(2 * self.reps)
        ]
        add("marching", "both", 2 * self.reps * self.step_seconds + 1.0, "standing", steps)
        add("standing", None, 3.0, "standing")
        self.blocks = blocks

    @property
    def duration(self) -> float:
        return self.blocks[-1].end

    def truth(self, t: np.ndarray) -> dict[str, np.ndarray]:
        """True angles at times ``t`` (s): ``hip_right``, ``hip_left`` (N, 3) and
        ``pelvis`` (N, 3) relative to the room, plus ``posture`` (N, 3) the whole-body
        roll/pitch/yaw that lying down adds (applied before the pelvis angles)."""
        t = np.asarray(t, dtype=np.float64)
        c = self.client
        hip = {"right": np.zeros((t.size, 3)), "left": np.zeros((t.size, 3))}
        pelvis = np.zeros((t.size, 3))
        lying = np.zeros(t.size)  # body roll about the anterior axis, radians
        for block in self.blocks:
            inside = (t >= block.start) & (t < block.end)
            if not inside.any():
                continue
            u = (t[inside] - block.start) / (block.end - block.start)
            ramp = 0.5 * (1 - np.cos(np.pi * u))
            if block.posture == "side_lying_left_down":
                lying[inside] = -90 * DEG
            elif block.posture == "side_lying_right_down":
                lying[inside] = 90 * DEG
            elif block.posture == "to_side_lying_left_down":
                lying[inside] = -90 * DEG * ramp
            elif block.posture == "left_down_to_right_down":
                lying[inside] = -90 * DEG + 180 * DEG * ramp
            elif block.posture == "right_down_to_standing":
                lying[inside] = 90 * DEG * (1 - ramp)
            for r0, r1, side in block.reps:
                sel = (t >= r0) & (t < r1)
                if not sel.any():
                    continue
                scale = c.left_range_scale if side == "left" else 1.0
                jerk = c.left_jerk if side == "left" else 0.0
                p = rep_profile((t[sel] - r0) / (r1 - r0), jerk)
                if block.name == "side_lying_leg_lift":
                    amp = np.array(
                        [c.side_lying_flexion_deg, c.abduction_deg * -1, c.side_lying_rotation_deg]
                    )
                else:
                    amp = np.array(
                        [c.march_flexion_deg, c.march_adduction_deg, c.march_rotation_deg]
                    )
                hip[side][sel] += np.outer(p, amp * DEG * scale)
                if block.name == "marching":
                    # the pelvis turns towards the stepping leg: its rotation about the
                    # vertical follows the step (positive to the left = counter-clockwise)
                    sign = 1.0 if side == "right" else -1.0
                    pelvis[sel, 0] += sign * c.march_pelvis_rotation_deg * DEG * p
                if side == "left" and c.pelvis_hike_left_deg:
                    # hiking the left side of the pelvis: a positive (right-hand) rotation
                    # about the anterior X axis drops the right side and lifts the left
                    pelvis[sel, 1] += c.pelvis_hike_left_deg * DEG * p
        return {
            "hip_right": hip["right"],
            "hip_left": hip["left"],
            "pelvis": pelvis,
            "lying": lying,
        }
