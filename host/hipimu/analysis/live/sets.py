"""Sets in the live view: planned from markers or started by the trainer, fed with
final rows, ended with their counts."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from hipimu.analysis.live.reps import ExerciseSpec, RepTracker
from hipimu.analysis.live.rows import HIP_L, HIP_R
from hipimu.scoring.live import LiveTargets, StillBaseline


@dataclass
class SetResult:
    """A finished set: what the counters showed at its end (ranges in radians)."""

    exercise: str
    side: str
    start: float
    end: float
    reps: dict[str, int]
    in_band: dict[str, int]
    range: dict[str, float]

    def marker(self) -> dict:
        """The session-log marker of this set (``hipimu.scoring`` reads these)."""
        return {"exercise": self.exercise, "side": self.side, "start": self.start, "end": self.end}


class SetsMixin:
    """Set planning and counting of :class:`~hipimu.analysis.live.pipeline.LivePipeline`."""

    tracker: RepTracker
    sets: list[SetResult]
    current: tuple[ExerciseSpec, str, float, float | None] | None
    _plan: deque
    targets: dict[str, tuple[float, float]]
    set_pelvis_ref: np.ndarray | None
    set_baseline: StillBaseline
    rule_targets: LiveTargets | None
    rate_hz: float | None
    _next_t: float | None

    def set_target(self, exercise: str, target_deg: tuple[float, float]) -> None:
        """Target band of an exercise (degrees of its signed primary angle); applies to the
        running set if it is that exercise, and to its later sets."""
        self.targets[exercise] = target_deg
        if self.current is not None and self.current[0].name == exercise:
            self.tracker.target = (np.deg2rad(target_deg[0]), np.deg2rad(target_deg[1]))

    def target(self, spec: ExerciseSpec, side: str | None = None) -> tuple[float, float]:
        """The exercise's target band (degrees): the trainer's, else the trainer's rule's
        for that side (:attr:`rule_targets`, from the client's history), else the
        catalog default."""
        if spec.name in self.targets:
            return self.targets[spec.name]
        if self.rule_targets is not None and side in ("right", "left"):
            band = self.rule_targets.band(spec.name, side)
            if band is not None:
                return band
        return spec.target_deg

    def target_reason(self, spec: ExerciseSpec, side: str) -> str:
        """Why the band is what it is, in one line (for the live view)."""
        if spec.name in self.targets:
            return "set by the trainer"
        if self.rule_targets is not None and side in ("right", "left"):
            return self.rule_targets.why(spec.name, side)
        return "default band (no client history)"

    def start_set(self, spec: ExerciseSpec, side: str) -> None:
        """Start a set now (at the next grid row); a running set ends first."""
        at = self._next_t if self._next_t is not None else 0.0
        if self.current is not None:
            self._end_set(at)
        self._begin_set(spec, side, at, None)

    def stop_set(self) -> SetResult | None:
        """End the running set now; returns its result."""
        if self.current is None:
            return None
        return self._end_set(self._next_t if self._next_t is not None else self.current[2])

    def follow(self, markers: list[dict], catalog: tuple[ExerciseSpec, ...]) -> int:
        """Start and end sets at the markers' times (a simulation's protocol, a recording's
        markers), to the grid row. Markers of unknown exercises or without a side are
        skipped; returns how many sets are planned."""
        plan = []
        for m in sorted(markers, key=lambda m: m.get("start", 0.0)):
            spec = _catalog_entry(str(m.get("exercise", "")), catalog)
            if spec is not None and m.get("side") in ("right", "left", "both"):
                plan.append((spec, m))
        self._plan = deque(plan)
        return len(plan)

    def _begin_set(self, spec: ExerciseSpec, side: str, start: float, end: float | None) -> None:
        self.tracker.start(spec, side, self.target(spec, side))
        self.current = (spec, side, start, end)
        self.set_pelvis_ref = None
        self.set_baseline = StillBaseline(self.rate_hz or 100.0)

    def _end_set(self, end: float) -> SetResult:
        assert self.current is not None
        spec, side, start, _ = self.current
        self.tracker.stop()
        result = SetResult(
            spec.name,
            side,
            start,
            end,
            {s: len(st.reps) for s, st in self.tracker.sides.items()},
            {s: st.in_band for s, st in self.tracker.sides.items()},
            {s: st.range for s, st in self.tracker.sides.items()},
        )
        self.sets.append(result)
        self.current = None
        return result

    def _feed_sets(self, t: np.ndarray, rows: np.ndarray, pelvis: np.ndarray) -> None:
        """Hand final rows to the running set, starting and ending planned sets exactly at
        their markers' times."""
        i = 0
        while i < len(t):
            if self.current is not None and self.current[3] is not None:
                boundary = self.current[3]
            elif self.current is None and self._plan:
                boundary = self._plan[0][1]["start"]
            else:
                boundary = np.inf
            j = max(i, int(np.searchsorted(t, boundary, side="left")))
            if self.current is not None and j > i:
                if self.set_pelvis_ref is None:  # the client in posture and still
                    hips = np.column_stack([rows[i:j, HIP_R], rows[i:j, HIP_L]])
                    self.set_pelvis_ref = self.set_baseline.feed(pelvis[i:j], hips)
                self.tracker.update(t[i:j], rows[i:j, HIP_R], rows[i:j, HIP_L])
            if j >= len(t):
                break
            if self.current is not None:
                self._end_set(boundary)
            else:
                spec, m = self._plan.popleft()
                if m["end"] > t[j]:
                    self._begin_set(spec, m["side"], m["start"], m["end"])
            i = j


def _catalog_entry(name: str, catalog: tuple[ExerciseSpec, ...]) -> ExerciseSpec | None:
    """The entry called ``name``, else (as ``hipimu.scoring.catalog.exercise`` does) the
    longest entry whose name it starts with, renamed; None for unknown exercises."""
    from dataclasses import replace

    for spec in catalog:
        if spec.name == name:
            return spec
    prefixes = [s for s in catalog if name.startswith(s.name + "_")]
    if not prefixes:
        return None
    return replace(max(prefixes, key=lambda s: len(s.name)), name=name)
