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
# postural sway's band: 85-91 % of the real OpenSense standing trial's orientation
# variance (pelvis, both thighs; ../shared/data/opensense) lies in 0.1-0.5 Hz
SWAY_BAND_HZ = (0.1, 0.5)


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


def rep_profile(
    tau: np.ndarray,
    jerk: float = 0.0,
    waves: int = 4,
    phases: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Raise-hold-lower profile on ``tau`` in [0, 1]: 0 -> 1 -> 0.

    Raise over 40 % of the repetition, hold 10 %, lower 40 %, rest 10 %, or the
    ``phases`` (raise, hold, lower) fractions given (the rest is what remains). ``jerk``
    in [0, 1) warps time with ``waves`` stop-and-go sub-movements per phase (monotone).
    """
    tau = np.clip(tau, 0.0, 1.0)
    if phases is not None:
        return _phased_profile(tau, jerk, waves, phases)

    def phase(u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, 1.0)
        if jerk:
            u = u + jerk / (2 * np.pi * waves) * np.sin(2 * np.pi * waves * u)
        return 0.5 * (1.0 - np.cos(np.pi * u))

    up = phase(tau / 0.4)
    down = phase((tau - 0.5) / 0.4)
    return np.where(tau < 0.4, up, np.where(tau < 0.5, 1.0, np.where(tau < 0.9, 1.0 - down, 0.0)))


def _phased_profile(
    tau: np.ndarray, jerk: float, waves: int, phases: tuple[float, float, float]
) -> np.ndarray:
    """:func:`rep_profile` with arbitrary raise, hold and lower fractions."""
    rise, hold, lower = phases

    def phase(u: np.ndarray) -> np.ndarray:
        u = np.clip(u, 0.0, 1.0)
        if jerk:
            u = u + jerk / (2 * np.pi * waves) * np.sin(2 * np.pi * waves * u)
        return 0.5 * (1.0 - np.cos(np.pi * u))

    top, back = rise + hold, rise + hold + lower
    up = phase(tau / rise)
    down = phase((tau - top) / lower)
    return np.where(tau < rise, up, np.where(tau < top, 1.0, np.where(tau < back, 1.0 - down, 0.0)))


@dataclass(frozen=True)
class RepTruth:
    """What one simulated repetition really was (seconds, radians)."""

    exercise: str
    side: str
    start: float  # movement starts
    top_start: float  # the top (hold) is reached
    top_end: float  # the lowering starts
    end: float  # back at rest
    amplitude: np.ndarray  # (3,) hip flexion, adduction, internal rotation at the top

    @property
    def hold(self) -> float:
        return self.top_end - self.top_start

    @property
    def time_up(self) -> float:
        return self.top_start - self.start

    @property
    def time_down(self) -> float:
        return self.end - self.top_end


# Exercise sets that can be added after the default protocol (``Protocol(extras=...)``):
# name -> (block name, (flexion, adduction, rotation) amplitude in degrees, kind)
EXTRA_SETS = {
    "standing_leg_lift_hold": ("standing_leg_lift_60", (60.0, 0.0, 0.0), "hold"),
    "standing_leg_lift_abduction": ("standing_leg_lift_abduction_45", (45.0, -20.0, 0.0), "reps"),
}


# whole-body roll about the anterior axis of the lying postures (degrees)
LYING_ROLL_DEG = {"side_lying_left_down": -90.0, "side_lying_right_down": 90.0, "standing": 0.0}


@dataclass
class Protocol:
    """The default session: stand 5 s, side-lying leg lifts each side, marching, stand.

    Options beyond the default (all off by default, leaving the default unchanged):
    ``extras`` appends sets from :data:`EXTRA_SETS` (standing leg-lift holds of
    ``hold_seconds`` x ``holds`` per side, a standing lift with abduction);
    ``variability`` is the relative SD of each repetition's range and duration,
    ``pauses`` the longest random pause (s) added before a repetition, and
    ``tremor_deg`` the RMS of band-limited (< 6 Hz) random motion added to every angle
    during exercise sets;
    ``seed`` makes these reproducible.
    """

    client: Client = field(default_factory=Client)
    reps: int = 10
    rep_seconds: float = 3.0
    step_seconds: float = 1.6
    extras: tuple[str, ...] = ()
    holds: int = 3
    hold_seconds: float = 7.0
    variability: float = 0.0
    pauses: float = 0.0
    tremor_deg: float = 0.0
    seed: int = 0
    # the client's stance: RMS of 0.1-0.5 Hz postural sway on every angle, all the time, and
    # the hips' neutral offsets (+- flexion, adduction, rotation). None: not set here, so
    # the simulation's realism decides (simulate_session: realistic unless ideal=True);
    # a bare protocol's truth has neither
    sway_deg: float | None = None
    neutral_deg: tuple[float, float, float] | None = None
    blocks: list[Block] = field(init=False)

    def _rep_times(
        self, rng: np.random.Generator, start: float, count: int, period: float, sides
    ) -> tuple[list[tuple[float, float, str]], list[float]]:
        """Repetition windows from ``start + 0.5`` and their range scales."""
        if not (self.variability or self.pauses):
            reps = [
                (start + 0.5 + i * period, start + 0.5 + (i + 1) * period, sides(i))
                for i in range(count)
            ]
            return reps, [1.0] * count
        reps, scales, t = [], [], start + 0.5
        for i in range(count):
            t += rng.uniform(0.0, self.pauses) if self.pauses and i else 0.0
            dur = period * float(np.clip(rng.normal(1.0, self.variability), 0.6, 1.4))
            reps.append((t, t + dur, sides(i)))
            scales.append(float(np.clip(rng.normal(1.0, self.variability), 0.5, 1.5)))
            t += dur
        return reps, scales

    def __post_init__(self) -> None:
        unknown = [e for e in self.extras if e not in EXTRA_SETS]
        if unknown:
            raise ValueError(f"unknown extra sets {unknown}; known: {sorted(EXTRA_SETS)}")
        rng = np.random.default_rng(self.seed)
        varied = bool(self.variability or self.pauses)
        t = 0.0
        blocks: list[Block] = []

        def add(name, side, dur, posture, reps=(), params=None):
            nonlocal t
            blocks.append(Block(name, side, t, t + dur, posture, tuple(reps), params or {}))
            t += dur

        if varied:
            self._build_varied(rng, add, lambda: t)
        else:
            self._build_default(add, lambda: t)
        for extra in self.extras:
            self._build_extra(extra, rng, add, lambda: t)
        self.blocks = blocks
        self._tremor = self._make_tremor(rng) if self.tremor_deg else None
        self._sway = None
        self._neutral = np.zeros((2, 3))
        if self.sway_deg or any(self.neutral_deg or ()):
            self._set_stance(np.random.default_rng([self.seed, 7]))

    def with_stance(
        self, sway_deg: float, neutral_deg: tuple[float, float, float], seed: int | None = None
    ) -> Protocol:
        """A copy whose unset stance (``sway_deg``/``neutral_deg`` None) takes these values;
        what this protocol sets stays. The sway and offsets are drawn from ``seed`` (default
        the protocol's own), the same draw as a protocol made with them."""
        import copy

        if self.sway_deg is not None and self.neutral_deg is not None:
            return self
        out = copy.copy(self)
        if out.sway_deg is None:
            out.sway_deg = sway_deg
        if out.neutral_deg is None:
            out.neutral_deg = tuple(neutral_deg)
        out._set_stance(np.random.default_rng([self.seed if seed is None else seed, 7]))
        return out

    def stance(self) -> np.ndarray:
        """The client's neutral hip stance, (2, 3) radians: right, left; flexion,
        adduction, internal rotation (zero unless ``neutral_deg`` is set)."""
        return self._neutral.copy()

    def _set_stance(self, rng: np.random.Generator) -> None:
        """Postural sway (band-limited noise, :data:`SWAY_BAND_HZ`) and the hips' neutral
        offsets."""
        from scipy.signal import butter, sosfiltfilt

        neutral = np.asarray(self.neutral_deg or (0.0, 0.0, 0.0))
        self._neutral = rng.uniform(-1, 1, (2, 3)) * neutral * DEG
        self._sway = None
        if self.sway_deg:
            fs = 20.0
            grid = np.arange(-5.0, self.duration + 6.0, 1.0 / fs)
            noise = rng.normal(size=(len(grid), 9))
            noise = sosfiltfilt(
                butter(2, SWAY_BAND_HZ, "bandpass", fs=fs, output="sos"), noise, axis=0
            )
            noise *= self.sway_deg * DEG / noise.std(axis=0)
            self._sway = (grid, noise)

    def _build_varied(self, rng, add, now) -> None:
        """The default sequence with varied repetitions and pauses."""
        add("standing", None, 5.0, "standing")
        add("transition", None, 3.0, "to_side_lying_left_down")
        for side, posture, after in (
            ("right", "side_lying_left_down", ("left_down_to_right_down", 4.0)),
            ("left", "side_lying_right_down", ("right_down_to_standing", 3.0)),
        ):
            start = now()
            reps, scales = self._rep_times(
                rng, start, self.reps, self.rep_seconds, lambda i, s=side: s
            )
            add(
                "side_lying_leg_lift",
                side,
                reps[-1][1] + 0.5 - start,
                posture,
                reps,
                {"scales": scales},
            )
            add("transition", None, after[1], after[0])
        add("standing", None, 2.0, "standing")
        start = now()
        reps, scales = self._rep_times(
            rng,
            start,
            2 * self.reps,
            self.step_seconds,
            lambda i: "right" if i % 2 == 0 else "left",
        )
        add("marching", "both", reps[-1][1] + 0.5 - start, "standing", reps, {"scales": scales})
        add("standing", None, 3.0, "standing")

    def _build_extra(self, extra: str, rng, add, now) -> None:
        name, amp, kind = EXTRA_SETS[extra]
        if kind == "hold":
            ramp, rest = 1.5, 2.0
            period = 2 * ramp + self.hold_seconds + rest
            phases = (ramp / period, self.hold_seconds / period, ramp / period)
            count = self.holds
        else:
            period, phases, count = self.rep_seconds, None, self.reps
        for side in ("right", "left"):
            start = now()
            reps, scales = self._rep_times(rng, start, count, period, lambda i, s=side: s)
            params = {"amp_deg": amp, "scales": scales}
            if phases:
                params["phases"] = phases
            add(name, side, reps[-1][1] + 0.5 - start, "standing", reps, params)
            add("standing", None, 2.0, "standing")

    def _make_tremor(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        from scipy.signal import butter, sosfiltfilt

        fs = 200.0
        grid = np.arange(0.0, self.duration + 1.0, 1.0 / fs)
        noise = rng.normal(size=(len(grid), 9))
        noise = sosfiltfilt(butter(2, 6.0, fs=fs, output="sos"), noise, axis=0)
        noise *= self.tremor_deg * DEG / noise.std(axis=0)
        return grid, noise

    def repetitions(self) -> list[RepTruth]:
        """Every repetition's true timing and amplitude (for tests and validation)."""
        c = self.client
        out = []
        for block in self.blocks:
            phases = block.params.get("phases", (0.4, 0.1, 0.4))
            scales = block.params.get("scales", [1.0] * len(block.reps))
            for (r0, r1, side), k in zip(block.reps, scales, strict=True):
                d = r1 - r0
                amp = self._amplitude(block) * k
                amp = amp * (c.left_range_scale if side == "left" else 1.0)
                out.append(
                    RepTruth(
                        block.name,
                        side,
                        r0,
                        r0 + phases[0] * d,
                        r0 + (phases[0] + phases[1]) * d,
                        r0 + sum(phases) * d,
                        amp,
                    )
                )
        return out

    def _amplitude(self, block: Block) -> np.ndarray:
        """Hip angles (radians) at the top of a repetition on the right side."""
        c = self.client
        if "amp_deg" in block.params:
            return np.asarray(block.params["amp_deg"], dtype=float) * DEG
        if block.name == "side_lying_leg_lift":
            amp = [c.side_lying_flexion_deg, c.abduction_deg * -1, c.side_lying_rotation_deg]
        else:
            amp = [c.march_flexion_deg, c.march_adduction_deg, c.march_rotation_deg]
        return np.array(amp) * DEG

    def _build_default(self, add, now) -> None:
        """The default sequence (unchanged: other tests rely on its exact timing)."""
        add("standing", None, 5.0, "standing")
        add("transition", None, 3.0, "to_side_lying_left_down")
        start = now()
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
        start = now()
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
        start = now()
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
            elif block.posture == "roll":  # any change of lying roll (degrees from, to)
                a, b = block.params["roll_deg"]
                lying[inside] = (a + (b - a) * ramp) * DEG
            elif block.posture in LYING_ROLL_DEG:
                lying[inside] = LYING_ROLL_DEG[block.posture] * DEG
            scales = block.params.get("scales", [1.0] * len(block.reps))
            phases = block.params.get("phases")
            for (r0, r1, side), k in zip(block.reps, scales, strict=True):
                sel = (t >= r0) & (t < r1)
                if not sel.any():
                    continue
                scale = c.left_range_scale if side == "left" else 1.0
                jerk = c.left_jerk if side == "left" else 0.0
                p = rep_profile((t[sel] - r0) / (r1 - r0), jerk, phases=phases)
                if "amp_deg" in block.params or k != 1.0:
                    p = p * k
                    amp = self._amplitude(block) / DEG
                elif block.name == "side_lying_leg_lift":
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
        if self._tremor is not None:
            grid, noise = self._tremor
            wobble = np.column_stack([np.interp(t, grid, noise[:, j]) for j in range(9)])
            # only while exercising: standing and lying still stay still (calibration)
            active = np.zeros(t.size, dtype=bool)
            for block in self.blocks:
                if block.reps:
                    active |= (t >= block.start) & (t < block.end)
            wobble[~active] = 0.0
            hip["right"] += wobble[:, 0:3]
            hip["left"] += wobble[:, 3:6]
            pelvis += wobble[:, 6:9]
        if self._sway is not None:
            grid, noise = self._sway
            wobble = np.column_stack([np.interp(t, grid, noise[:, j]) for j in range(9)])
            hip["right"] += wobble[:, 0:3]
            hip["left"] += wobble[:, 3:6]
            pelvis += wobble[:, 6:9]
        hip["right"] += self._neutral[0]
        hip["left"] += self._neutral[1]
        return {
            "hip_right": hip["right"],
            "hip_left": hip["left"],
            "pelvis": pelvis,
            "lying": lying,
        }


# Sets a random session draws from: name -> (block name, side, posture, kind, amplitude)
RANDOM_SETS = {
    "side_lying_right": ("side_lying_leg_lift", "right", "side_lying_left_down", "reps", None),
    "side_lying_left": ("side_lying_leg_lift", "left", "side_lying_right_down", "reps", None),
    "marching": ("marching", "both", "standing", "march", None),
    "lift_right": ("standing_leg_lift_60", "right", "standing", "reps", (60.0, 0.0, 0.0)),
    "lift_left": ("standing_leg_lift_60", "left", "standing", "reps", (60.0, 0.0, 0.0)),
    "hold_right": ("standing_leg_lift_60", "right", "standing", "hold", (60.0, 0.0, 0.0)),
    "hold_left": ("standing_leg_lift_60", "left", "standing", "hold", (60.0, 0.0, 0.0)),
    "abduction_right": (
        "standing_leg_lift_abduction_45", "right", "standing", "reps", (45.0, -20.0, 0.0)
    ),
    "abduction_left": (
        "standing_leg_lift_abduction_45", "left", "standing", "reps", (45.0, -20.0, 0.0)
    ),
}  # fmt: skip


def random_protocol(
    seed: int = 0,
    *,
    client: Client | None = None,
    sets: int | None = None,
    sway_deg: float | None = None,
    neutral_deg: tuple[float, float, float] | None = None,
    variability: float = 0.1,
    pauses: float = 0.6,
) -> Protocol:
    """A session with exercise sets in random order (``sets`` of :data:`RANDOM_SETS`,
    5-8 by default), 5-12 repetitions (2-4 holds) each, a random rest of 3-9 s between
    sets (standing, or lying when the next set lies on the same side), rolling over
    between postures. ``sway_deg`` and ``neutral_deg`` set the client's stance; left None,
    the simulation's realism decides (realistic by default, see :func:`simulate_session`)."""
    rng = np.random.default_rng([seed, 11])
    proto = Protocol(
        client or Client(),
        seed=seed,
        variability=variability,
        pauses=pauses,
        sway_deg=0.0,
    )
    names = list(RANDOM_SETS)
    count = sets if sets is not None else int(rng.integers(5, 9))
    chosen = [names[i] for i in rng.permutation(len(names))[:count]]
    blocks: list[Block] = []
    t = 0.0

    def add(name, side, dur, posture, reps=(), params=None):
        nonlocal t
        blocks.append(Block(name, side, t, t + dur, posture, tuple(reps), params or {}))
        t += dur

    add("standing", None, 5.0, "standing")
    roll = 0.0
    for key in chosen:
        name, side, posture, kind, amp = RANDOM_SETS[key]
        target = LYING_ROLL_DEG[posture]
        if target != roll:
            add(
                "transition",
                None,
                float(rng.uniform(3.0, 4.5)),
                "roll",
                params={"roll_deg": (roll, target)},
            )
            roll = target
        add(
            "standing" if posture == "standing" else "rest",
            None,
            float(rng.uniform(3.0, 9.0)),
            posture,
        )
        start = t
        params: dict = {}
        if kind == "hold":
            ramp, rest, hold = 1.5, 2.0, float(rng.uniform(5.0, 8.0))
            period = 2 * ramp + hold + rest
            params["phases"] = (ramp / period, hold / period, ramp / period)
            n = int(rng.integers(2, 5))
        elif kind == "march":
            period, n = proto.step_seconds, 2 * int(rng.integers(5, 11))
        else:
            period, n = proto.rep_seconds, int(rng.integers(5, 13))
        if kind == "march":
            reps, scales = proto._rep_times(
                rng, start, n, period, lambda i: "right" if i % 2 == 0 else "left"
            )
        else:
            reps, scales = proto._rep_times(rng, start, n, period, lambda i, s=side: s)
        params["scales"] = scales
        if amp is not None:
            params["amp_deg"] = amp
        add(name, side, reps[-1][1] + 0.5 - start, posture, reps, params)
    if roll != 0.0:
        add("transition", None, 3.5, "roll", params={"roll_deg": (roll, 0.0)})
    add("standing", None, 4.0, "standing")
    proto.blocks = blocks
    proto.sway_deg = sway_deg
    proto.neutral_deg = neutral_deg
    proto._set_stance(np.random.default_rng([seed, 7]))  # sets nothing when both are None
    return proto
