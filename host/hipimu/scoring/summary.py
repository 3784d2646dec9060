"""A whole session scored: sets per exercise and side, side-to-side comparisons, messages.

``score_session(kinematics, markers)`` runs :func:`~hipimu.scoring.reps.score_set` on
every marked set (``side: "both"`` scores each leg), groups the sets by exercise and
compares the sides (:mod:`hipimu.scoring.symmetry`). :meth:`SessionScores.to_dict`
gives JSON-ready data in degrees (``hipimu report --json``, ``scores.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hipimu.body.kinematics import Kinematics
from hipimu.core.names import SIDES
from hipimu.scoring.catalog import Exercise, FlagRule, exercise, load_catalog, load_flags
from hipimu.scoring.reps import Repetition, SegmentParams, SetScore, score_set
from hipimu.scoring.symmetry import SideDifference, compare

FORMAT = "hipimu-scores/1"


@dataclass
class ExerciseScore:
    """Everything one exercise gave in one session."""

    exercise: Exercise
    sets: dict[str, list[SetScore]]
    comparisons: list[SideDifference] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def reps(self, side: str) -> list[Repetition]:
        """Complete repetitions and holds of ``side``, in time order."""
        return [r for s in self.sets.get(side, []) for r in s.reps if r.complete]

    @property
    def sides(self) -> list[str]:
        return [s for s in SIDES if self.reps(s)]

    def flagged(self) -> list[SideDifference]:
        return [c for c in self.comparisons if c.flagged]


@dataclass
class SessionScores:
    """All exercises of a session and the session-wide messages."""

    exercises: list[ExerciseScore]
    messages: list[str] = field(default_factory=list)

    def get(self, key: str) -> ExerciseScore | None:
        return next((e for e in self.exercises if e.exercise.key == key), None)

    def to_dict(self) -> dict:
        return scores_dict(self)


def _measures(ex: ExerciseScore) -> list[tuple[str, str, bool, callable]]:
    """(measure, flag rule key, ratio metric, value getter) compared for an exercise."""
    out = [
        ("range", "range", True, lambda r: r.primary_range),
        ("sparc", "sparc", False, lambda r: r.sparc),
        ("ldlj", "ldlj", False, lambda r: r.ldlj),
        ("time_up", "time_up", True, lambda r: r.time_up),
        ("time_down", "time_down", True, lambda r: r.time_down),
    ]
    for c in ex.exercise.watch:
        out.append(
            (
                f"compensation:{c.key}",
                "compensation",
                False,
                lambda r, k=c.key: r.compensations.get(k, np.nan),
            )
        )
    return out


def compare_sides(ex: ExerciseScore, flags: dict[str, FlagRule]) -> list[SideDifference]:
    """Every measure of ``ex`` side against side (holds compared on their own)."""
    out = []
    right, left = ex.reps("right"), ex.reps("left")
    if not right or not left:
        return out
    for measure, rule_key, ratio, get in _measures(ex):
        rule = flags[rule_key]
        if measure.startswith("compensation:"):
            label = next(c.plain for c in ex.exercise.watch if measure.endswith(":" + c.key))
            rule = FlagRule(rule.key, label, rule.unit, rule.min_difference, None, rule.better)
        d = compare(
            ex.exercise.key, measure, rule, [get(r) for r in right], [get(r) for r in left], ratio
        )
        if d is not None:
            out.append(d)
    hr = [r.hold for r in right if r.kind == "hold"]
    hl = [r.hold for r in left if r.kind == "hold"]
    if hr and hl:
        d = compare(ex.exercise.key, "hold", flags["hold"], hr, hl, True)
        if d is not None:
            out.append(d)
    return out


def score_session(
    kin: Kinematics,
    markers: list[dict] | None,
    catalog: dict[str, Exercise] | None = None,
    flags: dict[str, FlagRule] | None = None,
    params: SegmentParams | None = None,
) -> SessionScores:
    """Score every marked exercise set of a session."""
    catalog = catalog if catalog is not None else load_catalog()
    flags = flags if flags is not None else load_flags()
    sets = [m for m in (markers or []) if m.get("side") in ("right", "left", "both")]
    scores = SessionScores([])
    if not sets:
        scores.messages.append(
            "No exercise sets were marked in this session, and none of the catalog's "
            "exercises was found in its signals, so there is nothing to score. Mark each set "
            "(exercise and side) while recording, or check that the session holds exercises "
            "of the catalog (docs/exercises.md)."
        )
        return scores
    by_key: dict[str, ExerciseScore] = {}
    for m in sets:
        ex = exercise(m["exercise"], catalog)
        entry = by_key.setdefault(ex.key, ExerciseScore(ex, {}))
        sides = SIDES if m["side"] == "both" else (m["side"],)
        for side in sides:
            s = score_set(kin, ex, side, float(m["start"]), float(m["end"]), params)
            entry.sets.setdefault(side, []).append(s)
            entry.messages.extend(s.messages)
    for entry in by_key.values():
        if not entry.exercise.known:
            entry.messages.append(
                f"'{entry.exercise.key}' is not in the exercise catalog; scored as "
                f"{entry.exercise.primary.replace('_', ' ')}"
            )
        present = entry.sides
        if len(present) == 1:
            other = "left" if present[0] == "right" else "right"
            entry.messages.append(
                f"Only the {present[0]} side has repetitions for this exercise; "
                f"the {other} side is missing, so the sides cannot be compared."
            )
        elif not present:
            entry.messages.append("No repetitions were found on either side.")
        entry.comparisons = compare_sides(entry, flags)
        scores.exercises.append(entry)
    return scores


# --- JSON -------------------------------------------------------------------------------


def _deg(x) -> float | list | None:
    a = np.rad2deg(np.asarray(x, dtype=float))
    if a.ndim == 0:
        return None if not np.isfinite(a) else round(float(a), 3)
    return [None if not np.isfinite(v) else round(float(v), 3) for v in a]


def _num(x, nd: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def _in_unit(value, unit: str):
    return (
        _deg(value)
        if unit == "deg"
        else ([_num(v) for v in value] if np.ndim(value) else _num(value))
    )


def rep_dict(r: Repetition) -> dict:
    """One repetition as JSON-ready data (degrees, seconds)."""
    return {
        "index": r.index,
        "kind": r.kind,
        "complete": r.complete,
        "start_s": _num(r.start, 3),
        "top_start_s": _num(r.top_start, 3),
        "top_end_s": _num(r.top_end, 3),
        "end_s": _num(r.end, 3),
        "time_up_s": _num(r.time_up, 3),
        "hold_s": _num(r.hold, 3),
        "time_down_s": _num(r.time_down, 3),
        "range_deg": dict(zip(("flexion", "adduction", "rotation"), _deg(r.range), strict=True)),
        "peak_deg": dict(zip(("flexion", "adduction", "rotation"), _deg(r.peak), strict=True)),
        "primary_range_deg": _deg(r.primary_range),
        "peak_speed_deg_s": _deg(r.peak_speed),
        "sparc": _num(r.sparc),
        "ldlj": _num(r.ldlj),
        "pelvis_deg": dict(zip(("rotation", "obliquity", "tilt"), _deg(r.pelvis), strict=True)),
        "compensations_deg": {k: _deg(v) for k, v in r.compensations.items()},
        "compensations_held_deg": {k: _deg(v) for k, v in r.held.items()},
        "hold_sd_deg": _deg(r.hold_sd),
        "hold_drift_deg": _deg(r.hold_drift),
    }


def comparison_dict(c: SideDifference) -> dict:
    """A side comparison as JSON-ready data (the rule's unit: deg, s or none)."""
    u = c.rule.unit
    return {
        "measure": c.measure,
        "label": c.rule.label,
        "unit": u,
        "right_mean": _in_unit(np.mean(c.right), u),
        "left_mean": _in_unit(np.mean(c.left), u),
        "right_sd": _in_unit(c.right_sd, u),
        "left_sd": _in_unit(c.left_sd, u),
        "n_right": len(c.right),
        "n_left": len(c.left),
        "difference_left_minus_right": _in_unit(c.difference, u),
        "difference_ci95": _in_unit(list(c.ci), u),
        "p_value": _num(c.p_value, 6),
        "symmetry_index_percent": _num(c.symmetry_index, 2),
        "symmetry_index_ci95": [_num(v, 2) for v in c.symmetry_index_ci]
        if c.symmetry_index_ci
        else None,
        "symmetry_angle_percent": _num(c.symmetry_angle, 2),
        "symmetry_angle_ci95": [_num(v, 2) for v in c.symmetry_angle_ci]
        if c.symmetry_angle_ci
        else None,
        "min_difference": _in_unit(c.rule.min_difference, u),
        "flagged": c.flagged,
        "tested": c.tested,
        "worse_side": c.worse_side if c.flagged else None,
        "note": c.note,
    }


def side_summary(reps: list[Repetition]) -> dict:
    """Per side: counts and means of the main measures (degrees, seconds)."""
    if not reps:
        return {"repetitions": 0, "holds": 0}
    rng = np.array([r.primary_range for r in reps])
    comps = {
        k: float(np.nanmean([r.compensations.get(k, np.nan) for r in reps]))
        for k in reps[0].compensations
    }
    holds = [r.hold for r in reps if r.kind == "hold"]
    return {
        "repetitions": sum(r.kind == "rep" for r in reps),
        "holds": len(holds),
        "hold_mean_s": _num(np.mean(holds), 3) if holds else None,
        "range_mean_deg": _deg(rng.mean()),
        "range_sd_deg": _deg(rng.std(ddof=1)) if len(rng) > 1 else None,
        "range_best_deg": _deg(rng.max()),
        "sparc_mean": _num(np.nanmean([r.sparc for r in reps])),
        "ldlj_mean": _num(np.nanmean([r.ldlj for r in reps])),
        "time_up_mean_s": _num(np.mean([r.time_up for r in reps]), 3),
        "time_down_mean_s": _num(np.mean([r.time_down for r in reps]), 3),
        "compensations_mean_deg": {k: _deg(v) for k, v in comps.items()},
    }


def scores_dict(scores: SessionScores) -> dict:
    """The session's scores as JSON-ready data."""
    out = {"format": FORMAT, "messages": scores.messages, "exercises": []}
    for e in scores.exercises:
        out["exercises"].append(
            {
                "exercise": e.exercise.key,
                "name": e.exercise.name,
                "primary": e.exercise.primary,
                "in_catalog": e.exercise.known,
                "sides": {
                    side: {
                        **side_summary(e.reps(side)),
                        "sets": [
                            {
                                "start_s": _num(s.start, 3),
                                "end_s": _num(s.end, 3),
                                "missing_s": _num(s.missing_seconds, 3),
                                "repetitions": [rep_dict(r) for r in s.reps],
                            }
                            for s in e.sets.get(side, [])
                        ],
                    }
                    for side in SIDES
                    if side in e.sets
                },
                "comparisons": [comparison_dict(c) for c in e.comparisons],
                "flags": [f"{c.rule.label}: {c.worse_side}" for c in e.comparisons if c.flagged],
                "messages": e.messages,
            }
        )
    return out
