"""Targets and progress: the trainer's rule over the client's history.

The correction trainers use (docs/scoring.md): on an asymmetry or a one-sided compensation
go slower with less motion, 10-15 % of the range done before, then build back up in
steps. :func:`plan` runs the rule's state machine (:mod:`hipimu.scoring.rule`) over
today's sets from the state the latest earlier session saved (``scores.json`` key
``rule``), and gives each side's next target with its ``reason``. A :class:`Target` is a
band for one exercise and side as a share of a reference range; today's repetitions are
counted against the band the rule had set (:class:`TargetResult`).
:func:`next_target` is the older band-stepping helper, kept for scripts.

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
from hipimu.scoring.rule import ExerciseRule, RuleConfig, SetSummary, Step, config_for_share, cue

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


def load_history(session_dir: str | Path, client: str | None = None) -> list[SessionRecord]:
    """The client's sessions *before* ``session_dir`` (its siblings, sorted by name).

    ``client`` given (a session's ``client`` metadata, "" when it has none): only siblings
    scored for that same client count, so another client's session, or one of nobody
    in particular (an imported trial), never sets this client's targets.
    """
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
        if not data.get("format", "").startswith("hipimu-scores/"):
            continue
        if client is not None and (data.get("client") or "") != client:
            continue
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


def previous_rule(history: list[SessionRecord], key: str) -> dict | None:
    """The rule state (:meth:`ExerciseRule.to_dict`) the latest earlier session saved."""
    for h in reversed(history):
        state = h.data.get("rule", {}).get(key)
        if state:
            return state
    return None


@dataclass
class Plan:
    """Today's results against the targets, the next targets, and the rule's state."""

    results: dict[str, dict[str, TargetResult]]
    next: dict[str, dict[str, dict]]
    rules: dict[str, ExerciseRule]

    def rule_dict(self) -> dict:
        return {k: r.to_dict() for k, r in self.rules.items()}


def _start_rule(history, key: str, config: RuleConfig) -> ExerciseRule:
    state = previous_rule(history, key)
    if state is not None:
        return ExerciseRule.from_dict(key, state, config)
    rule = ExerciseRule(key, config)
    for side in ("right", "left"):  # sessions from before the rule: their last target
        t = current_target(history, key, side) if history else None
        if t is not None and any(h.target(key, side) for h in history):
            rule.sides[side].current = Step("reduced", "asymmetry", t.share, t.best)
            rule.sides[side].reference = t.best
    return rule


def plan(
    scores,
    history: list[SessionRecord],
    config: RuleConfig | None = None,
    overrides: list[dict] = (),
    session: str = "",
) -> Plan:
    """Run the trainer's rule (:mod:`hipimu.scoring.rule`) over today's sets in time order,
    from the state the client's latest earlier session left.

    ``overrides`` are the trainer's band overrides, ``{"time", "exercise", "side",
    "low_deg", "high_deg", "note"}`` (host seconds), applied before the sets after them.
    Each next target carries ``reason`` (asymmetry, compensation, progress, trainer, first) and a
    one-line ``cue``.
    """
    config = config or RuleConfig()
    out = Plan({}, {}, {})
    for ex in scores.exercises:
        key = ex.exercise.key
        rule = _start_rule(history, key, config)
        for side in ("right", "left"):
            step = rule.step(side)
            reps = ex.reps(side)
            if step is not None and step.mode != "full" and reps:
                target = Target(key, side, step.reference, step.share)
                inside, below, above = count_in_band(reps, target)
                advice = step.detail or step.reason
                out.results.setdefault(key, {})[side] = TargetResult(
                    target, inside + below + above, inside, below, above, target, advice
                )
        events = [
            (float(s.start), 1, s) for side in ("right", "left") for s in ex.sets.get(side, [])
        ]
        events += [(float(o.get("time", 0.0)), 0, o) for o in overrides if o.get("exercise") == key]
        for when, kind, item in sorted(events, key=lambda e: (e[0], e[1])):
            label = f"{session} {when:.0f} s".strip()
            if kind == 0:
                rule.override(
                    item["side"],
                    float(np.deg2rad(item["low_deg"])),
                    float(np.deg2rad(item["high_deg"])),
                    str(item.get("note", "")),
                    label,
                )
            else:
                rule.observe(SetSummary.from_set(item, label))
        out.rules[key] = rule
        for side in ("right", "left"):
            step = rule.step(side)
            if step is None and ex.reps(side):  # the other side has not done a set yet
                best = max(r.primary_range for r in ex.reps(side))
                step = Step("full", "first", (1.0 - config.band_width, 1.0), best, None, -1,
                            "the other side has not done this exercise yet")  # fmt: skip
            if step is not None:
                out.next.setdefault(key, {})[side] = {
                    **step.to_dict(),
                    "cue": cue(step, _direction(ex.exercise.primary)),
                }
    return out


def _direction(primary: str) -> str:
    return {"abduction": "lift the leg out", "flexion": "lift the knee"}.get(primary, "move")


def plan_targets(
    scores, history: list[SessionRecord], share: tuple[float, float] = DEFAULT_SHARE
) -> tuple[dict[str, dict[str, TargetResult]], dict[str, dict[str, dict]]]:
    """Today's results against the client's targets, and the targets for next time
    (:func:`plan` with a reduced band of ``share``)."""
    p = plan(scores, history, config_for_share(share))
    return p.results, p.next
