"""Repetitions and holds while the set is running, through one small adapter.

The live counter must equal the scoring module's count on the same data, so the
tracker does not invent its own rule: it calls a *segmenter*, a function over the set
so far ``(time, hip angles, exercise, side) -> repetitions``, and re-runs it as samples
arrive (at most every ``min_interval_s`` of new data, so the cost stays bounded). The
default is :func:`scoring_segmenter`, an adapter over
:func:`hipimu.scoring.reps.find_repetitions`; any function of that shape can replace
it. Holds are timed live from the angle's speed.

Angles are radians inside; the view converts to degrees.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from hipimu.core.names import ANGLE_NAMES


@dataclass(frozen=True)
class ExerciseSpec:
    """What the live view needs of an exercise: its primary plane and direction."""

    name: str
    label: str
    plane: str  # "flexion", "adduction" or "rotation"
    direction: float  # +1: the movement increases the angle; -1: decreases it
    target_deg: tuple[float, float]  # default target band of the excursion, degrees

    @property
    def plane_index(self) -> int:
        return ANGLE_NAMES.index(self.plane)


# Default target bands (degrees of the signed primary angle) until the trainer sets one.
#: a hold needs the primary angle raised at least this far above rest (radians)
HOLD_FLOOR = float(np.deg2rad(8.0))

DEFAULT_TARGET_DEG = {"flexion": (45.0, 70.0), "adduction": (20.0, 35.0), "rotation": (10.0, 25.0)}

# The simulator's exercises (hipimu.simulate.motion), used when the scoring catalog
# cannot be loaded (see :func:`exercise_catalog`).
FALLBACK_EXERCISES = (
    ExerciseSpec("side_lying_leg_lift", "Side-lying leg lift", "adduction", -1.0, (20.0, 35.0)),
    ExerciseSpec("marching", "Marching", "flexion", 1.0, (45.0, 70.0)),
)


def exercise_catalog() -> tuple[ExerciseSpec, ...]:
    """The scoring catalog (``hipimu.scoring.catalog``), else the simulator's exercises."""
    try:
        from hipimu.scoring.catalog import load_catalog

        catalog = load_catalog()
    except (ImportError, ValueError):
        return FALLBACK_EXERCISES
    specs = []
    for key, ex in catalog.items():
        plane, sign = ex.primary_plane, float(ex.primary_sign)
        band = DEFAULT_TARGET_DEG[plane]
        if ex.level_deg is not None:
            band = (ex.level_deg - 5.0, ex.level_deg + 5.0)
        specs.append(ExerciseSpec(key, ex.name, plane, sign, band))
    return tuple(specs) or FALLBACK_EXERCISES


def find_exercise(name: str, catalog: tuple[ExerciseSpec, ...] | None = None) -> ExerciseSpec:
    """The catalog entry called ``name``; a ``ValueError`` lists the known names."""
    catalog = catalog or exercise_catalog()
    for spec in catalog:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown exercise {name!r}; known: {', '.join(s.name for s in catalog)}")


@dataclass(frozen=True)
class Repetition:
    """One complete repetition of one side: times (s) and the signed primary angle at its
    peak (radians; the target band applies to it)."""

    side: str
    start: float
    peak_time: float
    end: float
    peak: float


Segmenter = Callable[[np.ndarray, np.ndarray, ExerciseSpec, str], list[Repetition]]


def scoring_segmenter(
    time: np.ndarray, hip: np.ndarray, spec: ExerciseSpec, side: str
) -> list[Repetition]:
    """The scoring module's segmentation (:func:`hipimu.scoring.reps.find_repetitions`).

    Counts what :func:`hipimu.scoring.reps.score_set` counts as complete: phases marked
    complete with every angle of the repetition present.
    """
    from hipimu.scoring.reps import find_repetitions

    if len(time) < 8:
        return []
    fs = 1.0 / float(np.median(np.diff(time)))
    x = spec.direction * hip[:, spec.plane_index]
    out = []
    for ph in find_repetitions(x, fs):
        if ph.complete and np.isfinite(hip[ph.start : ph.end + 1]).all():
            out.append(
                Repetition(
                    side,
                    float(time[ph.start]),
                    float(time[ph.peak]),
                    float(time[ph.end]),
                    float(x[ph.peak]),
                )
            )
    return out


def default_segmenter() -> tuple[Segmenter, str]:
    """The scoring module's segmentation, and its name (shown in test messages)."""
    return scoring_segmenter, "hipimu.scoring.reps.find_repetitions"


@dataclass
class SideState:
    """One side's live state during a set."""

    reps: list[Repetition] = field(default_factory=list)
    in_band: int = 0
    hold_s: float = 0.0  # current hold, 0 when moving
    last_hold_s: float = 0.0  # the last finished hold
    range: float = float("nan")  # excursion range of the set so far (radians)
    rest: float = float("nan")  # rest level of the signed excursion (radians)
    peak_speed: float = 0.0  # fastest movement of the set so far (rad/s)
    _hold_start: float | None = None


class RepTracker:
    """Counts repetitions and times holds of the current set, fed rows as they arrive.

    With ``background=True`` the segmentation runs in a worker thread on a snapshot of
    the set (the view's frames never wait for it) and its result is taken up at a later
    :meth:`update`; :meth:`stop` always segments the whole set before returning.
    """

    def __init__(
        self,
        segmenter: Segmenter | None = None,
        *,
        rate_hz: float = 100.0,
        min_interval_s: float = 0.25,
        max_set_s: float = 600.0,
        hold_speed: tuple[float, float, float] = (0.1, 5.0, 15.0),
        background: bool = False,
    ) -> None:
        self.segmenter, self.segmenter_name = (
            (segmenter, getattr(segmenter, "__name__", "custom"))
            if segmenter
            else default_segmenter()
        )
        self.rate_hz = rate_hz
        self.min_interval_s = min_interval_s
        self.max_rows = int(max_set_s * rate_hz)
        # a hold: the angle's mean speed over 0.3 s below this fraction of the set's peak
        # speed, clipped to [low, high] deg/s (the set's own tempo, robust to tremor)
        self.hold_fraction = hold_speed[0]
        self.hold_limits = np.deg2rad(hold_speed[1:])
        self.spec: ExerciseSpec | None = None
        self.side = "both"
        self.target = (np.nan, np.nan)
        self.sides: dict[str, SideState] = {}
        self._time = np.empty(0)
        self._hips = np.empty((2, 0, 3))
        self._rows = 0
        self._last_run = -np.inf
        self.truncated = False
        self._executor = ThreadPoolExecutor(1, "hipimu-reps") if background else None
        self._job: Future | None = None

    @property
    def active_sides(self) -> tuple[str, ...]:
        return ("right", "left") if self.side == "both" else (self.side,)

    def start(self, spec: ExerciseSpec, side: str, target_deg: tuple[float, float]) -> None:
        """Begin a new set: counts restart from zero."""
        self.spec, self.side = spec, side
        self.target = (np.deg2rad(target_deg[0]), np.deg2rad(target_deg[1]))
        self.sides = {s: SideState() for s in self.active_sides}
        self._job = None  # a result for the previous set is ignored
        self._time, self._hips = np.empty(1024), np.empty((2, 1024, 3))
        self._rows, self._last_run = 0, -np.inf
        self.truncated = False

    def stop(self) -> None:
        """End the set: a final segmentation over all its samples."""
        if self.spec is not None:
            self._job = None
            self._apply(self._segment_snapshot(*self._snapshot(copy=False)))
        self.spec = None

    def update(self, time: np.ndarray, right: np.ndarray, left: np.ndarray) -> None:
        """New rows of the grid: times (n,) and both hips' angles (n, 3), radians."""
        if self.spec is None or len(time) == 0:
            return
        if self._rows + len(time) > self.max_rows:
            self.truncated = True
            return
        n0, n1 = self._rows, self._rows + len(time)
        if n1 > len(self._time):
            size = max(2 * len(self._time), n1)
            grown_t, grown_h = np.empty(size), np.empty((2, size, 3))
            grown_t[:n0], grown_h[:, :n0] = self._time[:n0], self._hips[:, :n0]
            self._time, self._hips = grown_t, grown_h
        self._time[n0:n1] = time
        self._hips[0, n0:n1], self._hips[1, n0:n1] = right, left
        self._rows = n1
        self._update_holds(len(time))
        if self._job is not None and self._job.done():
            job, self._job = self._job, None
            self._apply(job.result())
        if time[-1] - self._last_run >= self.min_interval_s and self._job is None:
            self._last_run = float(time[-1])
            if self._executor is None:
                self._apply(self._segment_snapshot(*self._snapshot(copy=False)))
            else:
                self._job = self._executor.submit(self._segment_snapshot, *self._snapshot())

    def block(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All rows of the current set: time and per-side angles (views, not copies)."""
        n = self._rows
        return self._time[:n], {"right": self._hips[0, :n], "left": self._hips[1, :n]}

    def _snapshot(self, copy: bool = True) -> tuple:
        assert self.spec is not None
        t, hips = self.block()
        if copy:
            t, hips = t.copy(), {k: v.copy() for k, v in hips.items()}
        return self.spec, tuple(self.sides), t, hips

    def _segment_snapshot(
        self, spec: ExerciseSpec, sides: tuple[str, ...], t: np.ndarray, hips: dict
    ) -> tuple[ExerciseSpec, dict]:
        """Repetitions, range and rest level per side (runs in the worker if any)."""
        out = {}
        for side in sides:
            reps = self.segmenter(t, hips[side], spec, side)
            s = spec.direction * hips[side][:, spec.plane_index]
            s = s[np.isfinite(s)]
            stats = np.percentile(s, [0.5, 10, 99.5]) if len(s) > 10 else np.full(3, np.nan)
            out[side] = (reps, float(stats[2] - stats[0]), float(stats[1]))
        return spec, out

    def _apply(self, result: tuple[ExerciseSpec, dict]) -> None:
        spec, per_side = result
        if spec is not self.spec:
            return
        lo, hi = self.target
        for side, (reps, rng, rest) in per_side.items():
            state = self.sides[side]
            state.reps = reps
            state.in_band = sum(lo <= r.peak <= hi for r in reps)
            state.range, state.rest = rng, rest

    def _update_holds(self, new: int) -> None:
        """Time holds over the ``new`` rows: the primary angle raised (above half the
        set's range from rest, at least 8 deg) and its speed over 50 ms below
        ``hold_fraction`` of the set's peak speed (clipped to ``hold_limits``)."""
        assert self.spec is not None
        t, all_hips = self.block()
        k = max(int(0.05 * self.rate_hz), 1)
        t_new = t[-new:]
        for side, state in self.sides.items():
            s = self.spec.direction * all_hips[side][-(new + k) :, self.spec.plane_index]
            if len(s) < new + k:
                continue
            speed = np.abs(s[k:] - s[:-k]) * (self.rate_hz / k)
            finite = np.isfinite(speed)
            if finite.any():
                state.peak_speed = max(state.peak_speed, float(np.max(speed[finite])))
            # scalars: Python's min, max and isnan (numpy's clip and nan_to_num cost more
            # than the rest of the frame's hold tracking)
            low, high = self.hold_limits
            threshold = min(max(self.hold_fraction * state.peak_speed, low), high)
            half_range = 0.0 if math.isnan(state.range) else 0.5 * state.range
            floor = max(HOLD_FLOOR, half_range)
            raised = (s[k:] - state.rest > floor) if np.isfinite(state.rest) else ~finite
            holding = finite & raised & (speed < threshold)
            for i in range(new):
                if holding[i]:
                    if state._hold_start is None:
                        state._hold_start = float(t_new[i]) - 0.5 * k / self.rate_hz
                    state.hold_s = float(t_new[i]) - state._hold_start
                elif state._hold_start is not None:
                    if state.hold_s >= 1.0:
                        state.last_hold_s = state.hold_s
                    state._hold_start, state.hold_s = None, 0.0


def symmetry_angle(left: float, right: float) -> float:
    """Symmetry angle (Zifchock et al. 2008) in percent: 0 symmetric, bounded by +-100.

    ``(45 deg - atan(left / right)) / 90 deg * 100``; positive when the right moves more.
    """
    if not (np.isfinite(left) and np.isfinite(right)) or (left <= 0 and right <= 0):
        return float("nan")
    return float((45.0 - np.degrees(np.arctan2(left, right))) / 90.0 * 100.0)
