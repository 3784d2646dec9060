"""Targets and progress: a range band from a previous best, and the client's history.

The correction (DESIGN.md): go slower with less motion, drop to a share of the range done
before (default 10-15 %), then build back up. A :class:`Target` is that band for one
exercise and side, as a share of the best primary range in the client's earlier
sessions. After a session, :func:`next_target` suggests the next band:

* at least ``advance_at`` (80 %) of the repetitions inside the band, with no flagged
  compensation on that side: step up by the band's width (10-15 % -> 15-20 %), never
  beyond 100 %;
* fewer than ``back_at`` (50 %) inside, or a flagged compensation on that side: step
  back by one width (not below the first band);
* otherwise: stay.

History: a folder per client, one sub-folder per session, sorted by name (date them,
e.g. ``clients/anna/2026-11-29``); each holds ``scores.json`` (written by
``hipimu report``) with a per-exercise summary and the targets set for the next session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hipimu.scoring.reps import Repetition

SCORES_NAME = "scores.json"
DEFAULT_SHARE = (0.10, 0.15)


@dataclass(frozen=True)
class Target:
    """A band of primary range for one exercise and side (radians)."""

    exercise: str
    side: str
    best: float  # the previous best range the band is a share of
    share: tuple[float, float]

    @property
    def low(self) -> float:
        return self.best * self.share[0]

    @property
    def high(self) -> float:
        return self.best * self.share[1]

    def inside(self, value: float) -> bool:
        return self.low <= value <= self.high

    def to_dict(self) -> dict:
        return {
            "best_deg": round(float(np.rad2deg(self.best)), 3),
            "share": [round(s, 4) for s in self.share],
            "low_deg": round(float(np.rad2deg(self.low)), 3),
            "high_deg": round(float(np.rad2deg(self.high)), 3),
        }

    @classmethod
    def from_dict(cls, exercise: str, side: str, d: dict) -> Target:
        return cls(exercise, side, float(np.deg2rad(d["best_deg"])), tuple(d["share"]))


@dataclass(frozen=True)
class TargetResult:
    """How one side did against its target, and what to aim for next time."""

    target: Target
    reps: int
    inside: int
    below: int
    above: int
    next: Target
    advice: str

    @property
    def fraction_inside(self) -> float:
        return self.inside / self.reps if self.reps else 0.0


def count_in_band(reps: list[Repetition], target: Target) -> tuple[int, int, int]:
    """(inside, below, above) the band, over complete repetitions and holds."""
    values = [r.primary_range for r in reps if r.complete]
    inside = sum(target.inside(v) for v in values)
    below = sum(v < target.low for v in values)
    return inside, below, len(values) - inside - below


def next_target(
    target: Target,
    reps: list[Repetition],
    compensating: bool,
    first_share: tuple[float, float] = DEFAULT_SHARE,
    advance_at: float = 0.8,
    back_at: float = 0.5,
) -> TargetResult:
    """Score a session's repetitions against ``target`` and suggest the next band."""
    inside, below, above = count_in_band(reps, target)
    n = inside + below + above
    width = target.share[1] - target.share[0]
    lo, hi = target.share
    frac = inside / n if n else 0.0
    if n and frac >= advance_at and not compensating:
        step = min(width, 1.0 - hi)
        share, advice = (lo + step, hi + step), "well done: step up next time"
        if step <= 0:
            share, advice = (lo, hi), "you are at your full range: keep it smooth and steady"
    elif not n or frac < back_at or compensating:
        new_lo = max(first_share[0], lo - width)
        share = (new_lo, new_lo + width)
        why = "the pelvis joined in" if compensating else "most repetitions missed the band"
        if above > below and not compensating:
            why = "most repetitions went bigger than the band"
        advice = f"{why}: stay small and slow" + (", one step back" if new_lo < lo else "")
    else:
        share, advice = (lo, hi), "nearly there: same band next time"
    nxt = Target(
        target.exercise, target.side, target.best, (round(share[0], 4), round(share[1], 4))
    )
    return TargetResult(target, n, inside, below, above, nxt, advice)


# --- history ----------------------------------------------------------------------------


@dataclass
class SessionRecord:
    """One earlier session of the client, as its ``scores.json`` says."""

    name: str
    path: Path
    data: dict

    def exercise(self, key: str) -> dict | None:
        return next((e for e in self.data.get("exercises", []) if e["exercise"] == key), None)

    def best_range(self, key: str, side: str) -> float | None:
        """Best primary range (radians) of an exercise and side in this session."""
        e = self.exercise(key)
        v = (e or {}).get("sides", {}).get(side, {}).get("range_best_deg")
        return None if v is None else float(np.deg2rad(v))

    def target(self, key: str, side: str) -> Target | None:
        """The target this session set for the next one."""
        t = self.data.get("next_targets", {}).get(key, {}).get(side)
        return Target.from_dict(key, side, t) if t else None


def load_history(session_dir: str | Path) -> list[SessionRecord]:
    """The client's sessions *before* ``session_dir`` (its siblings, sorted by name)."""
    here = Path(session_dir).resolve()
    parent = here.parent
    out = []
    for d in sorted(p for p in parent.iterdir() if p.is_dir()):
        if d.name >= here.name:
            continue
        f = d / SCORES_NAME
        if not f.exists():
            continue
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if data.get("format", "").startswith("hipimu-scores/"):
            out.append(SessionRecord(d.name, d, data))
    return out


def previous_best(history: list[SessionRecord], key: str, side: str) -> float | None:
    """The best primary range of ``key`` and ``side`` over the earlier sessions."""
    values = [v for h in history if (v := h.best_range(key, side)) is not None]
    return max(values) if values else None


def current_target(history: list[SessionRecord], key: str, side: str) -> Target | None:
    """The target the latest earlier session set (or the first band of the best ever)."""
    for h in reversed(history):
        t = h.target(key, side)
        if t is not None:
            return t
    best = previous_best(history, key, side)
    return Target(key, side, best, DEFAULT_SHARE) if best else None


def trend(history: list[SessionRecord], key: str, side: str, field: str) -> list[tuple[str, float]]:
    """``(session name, value)`` of a per-side summary field (e.g. ``range_mean_deg``, or
    ``compensations_mean_deg.pelvis_hike`` for a nested one)."""
    out = []
    for h in history:
        e = h.exercise(key)
        v = (e or {}).get("sides", {}).get(side, {})
        for part in field.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        if isinstance(v, int | float):
            out.append((h.name, float(v)))
    return out


def plan_targets(
    scores, history: list[SessionRecord], share: tuple[float, float] = DEFAULT_SHARE
) -> tuple[dict[str, dict[str, TargetResult]], dict[str, dict[str, dict]]]:
    """Today's results against the client's targets, and the targets for next time.

    ``scores`` is a :class:`~hipimu.scoring.summary.SessionScores`. Where no earlier
    target exists, the next target is ``share`` of the best range so far (today included).
    """
    results: dict[str, dict[str, TargetResult]] = {}
    nxt: dict[str, dict[str, dict]] = {}
    for ex in scores.exercises:
        key = ex.exercise.key
        for side in ("right", "left"):
            reps = ex.reps(side)
            target = current_target(history, key, side)
            if target is not None and target.share == DEFAULT_SHARE and share != DEFAULT_SHARE:
                target = Target(key, side, target.best, share)
            if target is not None and reps:
                compensating = any(
                    c.flagged and c.worse_side == side and c.measure.startswith("compensation:")
                    for c in ex.comparisons
                )
                res = next_target(target, reps, compensating, first_share=share)
                results.setdefault(key, {})[side] = res
                nxt.setdefault(key, {})[side] = res.next.to_dict()
            elif reps:
                best = max(r.primary_range for r in reps)
                before = previous_best(history, key, side)
                best = max(best, before) if before else best
                nxt.setdefault(key, {})[side] = Target(key, side, best, share).to_dict()
    return results, nxt
