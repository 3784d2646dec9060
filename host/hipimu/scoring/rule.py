"""The trainer's rule as a small state machine per client, exercise and side.

The method (docs/scoring.md, "The trainer's rule"): for each exercise the trainer watches
both sides. An **asymmetry** between them (range, smoothness or tempo) or a
**compensation** seen on one side and not the other puts the exercise into *reduced*
mode for the next set: each side works at 10-15 % (``RuleConfig.reduced_share``) of the
range *that side* did in the set before, at a slower tempo. When a reduced set comes out
symmetric, the demand steps back up (``RuleConfig.steps``, 25/50/75/100 % of the range
before the reduction), within a session and across sessions. Every step and its reason
is kept in the history; the trainer can override the band at any time.

States per side: ``full`` (no restriction; the band is the last range), ``reduced``,
``building`` (at ``steps[step]``) and ``trainer`` (an override). A decision is taken
once *both* sides have done a set since the last one (a round); the rule looks at the
latest set of each side:

====================  =============================  ==================================
state                 round asymmetric or one-sided  round symmetric
                      compensation
====================  =============================  ==================================
full                  reduced (from each side's      full (progress)
                      last range)
reduced               reduced, same band             building, step 0 (progress)
building / trainer    reduced (from the reference)   next step; full after the last
====================  =============================  ==================================

Compensation on *both* sides (both hitch the pelvis 8 deg) is not an asymmetry but is
not progress either: the sides stay where they are (reason ``compensation``).

Asymmetry uses relative measures only, so it still works inside a 4-6 deg band:

* range: the symmetry index of the primary range, tested (the primary measure: its 95 %
  interval, :func:`hipimu.scoring.symmetry.ratio_interval`, excludes 0 and
  ``|SI| >= range_percent``);
* smoothness: SPARC means differ by at least ``sparc_difference`` (SPARC is already
  dimensionless; descriptive, no test);
* tempo: the symmetry index of the repetition duration is at least ``tempo_percent``
  (descriptive).

Everything here is in SI units (radians, seconds); :meth:`Step.to_dict` gives degrees.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np

from hipimu.core.names import SIDES
from hipimu.scoring.symmetry import ratio_interval, symmetry_index

REASONS = ("asymmetry", "compensation", "progress", "trainer", "first")
MODES = ("full", "reduced", "building", "trainer")
DEG = np.pi / 180.0


@dataclass(frozen=True)
class RuleConfig:
    """The rule's settings (docs/scoring.md). Shares are of a range, 0-1."""

    reduced_share: tuple[float, float] = (0.10, 0.15)
    steps: tuple[float, ...] = (0.25, 0.50, 0.75, 1.00)
    band_width: float = 0.05  # a building band is (step - width, step) of the reference
    range_percent: float = 10.0  # |SI| of the primary range that counts
    sparc_difference: float = 0.3
    tempo_percent: float = 25.0  # |SI| of the repetition duration
    compensation: float = 3.0 * DEG  # a side compensates from this mean excursion on
    slower: float = 1.5  # reduced tempo target: this times the last set's time up

    def __post_init__(self) -> None:
        lo, hi = self.reduced_share
        if not 0 < lo < hi <= 1:
            raise ValueError(f"reduced_share needs 0 < low < high <= 1, got {lo} {hi}")
        s = self.steps
        if not s or any(b <= a for a, b in itertools.pairwise(s)) or s[-1] != 1.0:
            raise ValueError(f"steps must rise strictly to 1.0, got {list(s)}")
        if not hi < s[0]:
            raise ValueError(f"the first step ({s[0]}) must be above the reduced band ({hi})")
        if not 0 < self.band_width < s[0]:
            raise ValueError(f"band_width must be in (0, {s[0]}), got {self.band_width}")


def config_for_share(share: tuple[float, float], **settings) -> RuleConfig:
    """A :class:`RuleConfig` with this reduced band, dropping the building steps it
    already reaches (``--share 0.2 0.3`` builds up 50 %, 75 %, 100 %)."""
    steps = tuple(v for v in settings.pop("steps", RuleConfig.steps) if v > share[1])
    return RuleConfig(reduced_share=tuple(share), steps=steps or (1.0,), **settings)


@dataclass(frozen=True)
class SetSummary:
    """What the rule needs from one side's set (radians, seconds)."""

    side: str
    ranges: np.ndarray  # primary range per complete repetition or hold
    sparc: np.ndarray
    durations: np.ndarray  # time up + time down per repetition
    time_up: float  # mean
    compensation: float  # the largest mean watched compensation (radians, signed +)
    compensation_key: str = ""
    when: str = ""  # session / time label for the history

    @property
    def range(self) -> float:
        return float(np.mean(self.ranges)) if len(self.ranges) else float("nan")

    @classmethod
    def from_set(cls, s, when: str = "") -> SetSummary:
        """From a :class:`~hipimu.scoring.reps.SetScore`."""
        reps = [r for r in s.reps if r.complete]
        comps = {
            k: float(np.nanmean([r.compensations.get(k, np.nan) for r in reps]))
            for k in (reps[0].compensations if reps else {})
        }
        comps = {k: v for k, v in comps.items() if np.isfinite(v)}
        key = max(comps, key=comps.get) if comps else ""
        return cls(
            s.side,
            np.array([r.primary_range for r in reps]),
            np.array([r.sparc for r in reps]),
            np.array([r.time_up + r.time_down for r in reps]),
            float(np.mean([r.time_up for r in reps])) if reps else float("nan"),
            comps.get(key, 0.0),
            key,
            when,
        )


@dataclass(frozen=True)
class Step:
    """One side's target after a decision: the band and why."""

    mode: str
    reason: str
    share: tuple[float, float]  # of ``reference``
    reference: float  # radians: the range the band is a share of
    tempo: float | None = None  # s: slowest time up to aim for (reduced/building)
    step: int = -1  # index into RuleConfig.steps while building
    detail: str = ""
    when: str = ""

    @property
    def low(self) -> float:
        return self.reference * self.share[0]

    @property
    def high(self) -> float:
        return self.reference * self.share[1]

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "reason": self.reason,
            "detail": self.detail,
            "share": [round(float(v), 4) for v in self.share],
            "best_deg": round(float(np.rad2deg(self.reference)), 3),
            "reference_rad": float(self.reference),
            "low_deg": round(float(np.rad2deg(self.low)), 3),
            "high_deg": round(float(np.rad2deg(self.high)), 3),
            "tempo_up_s": None if self.tempo is None else round(float(self.tempo), 2),
            "step": self.step,
            "when": self.when,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Step:
        tempo = d.get("tempo_up_s")
        return cls(
            d.get("mode", "full"),
            d.get("reason", "progress"),
            (float(d["share"][0]), float(d["share"][1])),
            float(d["reference_rad"]) if "reference_rad" in d else float(np.deg2rad(d["best_deg"])),
            None if tempo is None else float(tempo),
            int(d.get("step", -1)),
            d.get("detail", ""),
            d.get("when", ""),
        )


@dataclass
class Verdict:
    """A round's finding: which asymmetries and compensations, in words."""

    asymmetry: list[str] = field(default_factory=list)
    compensating: dict[str, str] = field(default_factory=dict)  # side -> what

    @property
    def one_sided(self) -> bool:
        return len(self.compensating) == 1


def judge(right: SetSummary, left: SetSummary, cfg: RuleConfig) -> Verdict:
    """Asymmetry (relative measures) and compensation between two sides' sets."""
    v = Verdict()
    r, lf = right.ranges[np.isfinite(right.ranges)], left.ranges[np.isfinite(left.ranges)]
    if len(r) and len(lf) and r.mean() > 0 and lf.mean() > 0:
        si = symmetry_index(r.mean(), lf.mean())
        beyond = True
        if len(r) > 1 and len(lf) > 1:
            lo, hi = ratio_interval(r, lf)
            beyond = hi < 1.0 or lo > 1.0
        if beyond and abs(si) >= cfg.range_percent:
            small = "left" if si > 0 else "right"
            pct = 100 * min(r.mean(), lf.mean()) / max(r.mean(), lf.mean())
            v.asymmetry.append(f"range: {small} {pct:.0f}% of the other side")
    sr, sl = right.sparc[np.isfinite(right.sparc)], left.sparc[np.isfinite(left.sparc)]
    if len(sr) and len(sl) and abs(sl.mean() - sr.mean()) >= cfg.sparc_difference:
        worse = "left" if sl.mean() < sr.mean() else "right"
        v.asymmetry.append(f"smoothness: {worse} less smooth")
    dr, dl = right.durations, left.durations
    if len(dr) and len(dl):
        si = symmetry_index(float(np.mean(dr)), float(np.mean(dl)))
        if np.isfinite(si) and abs(si) >= cfg.tempo_percent:
            faster = "left" if si > 0 else "right"
            v.asymmetry.append(f"tempo: {faster} faster")
    comp = {s.side: s for s in (right, left)}
    hi_side = [k for k, s in comp.items() if s.compensation >= cfg.compensation]
    if len(hi_side) == 2:
        v.compensating = {k: comp[k].compensation_key for k in hi_side}
    elif len(hi_side) == 1:
        other = "left" if hi_side[0] == "right" else "right"
        if comp[hi_side[0]].compensation - comp[other].compensation >= 0.5 * cfg.compensation:
            v.compensating = {hi_side[0]: comp[hi_side[0]].compensation_key}
    return v


@dataclass
class SideRule:
    """One exercise and side: its current step and every step before (the history)."""

    current: Step | None = None
    history: list[Step] = field(default_factory=list)
    reference: float | None = None  # the range before the reduction (radians)

    def go(self, step: Step) -> None:
        self.current = step
        self.history.append(step)


@dataclass
class ExerciseRule:
    """Both sides of one exercise for one client; feed it sets in time order."""

    exercise: str
    config: RuleConfig = field(default_factory=RuleConfig)
    sides: dict[str, SideRule] = field(default_factory=lambda: {s: SideRule() for s in SIDES})
    pending: dict[str, SetSummary] = field(default_factory=dict)
    last: dict[str, SetSummary] = field(default_factory=dict)

    def step(self, side: str) -> Step | None:
        return self.sides[side].current

    def observe(self, summary: SetSummary) -> Verdict | None:
        """A side finished a set; decides (and returns the verdict) once both have."""
        if not len(summary.ranges):
            return None
        self.pending[summary.side] = summary
        self.last[summary.side] = summary
        if set(self.pending) != set(SIDES):
            return None
        right, left = self.pending["right"], self.pending["left"]
        self.pending = {}
        verdict = judge(right, left, self.config)
        self._decide(verdict, {"right": right, "left": left})
        return verdict

    def override(self, side: str, low: float, high: float, note: str = "", when: str = ""):
        """The trainer sets the band (radians) of a side; kept until the next round."""
        if not 0 <= low < high:
            raise ValueError(f"a band needs 0 <= low < high, got {low} {high}")
        rule = self.sides[side]
        ref = rule.reference or high
        rule.reference = ref
        rule.go(Step("trainer", "trainer", (low / ref, high / ref), ref, None, -1, note, when))

    def _decide(self, verdict: Verdict, sets: dict[str, SetSummary]) -> None:
        cfg = self.config
        if verdict.asymmetry or verdict.one_sided:
            reason = "asymmetry" if verdict.asymmetry else "compensation"
            detail = "; ".join(
                verdict.asymmetry
                + [
                    f"{k.replace('_', ' ')} on the {s} side"
                    for s, k in verdict.compensating.items()
                ]
            )
            for side in SIDES:
                rule, s = self.sides[side], sets[side]
                cur = rule.current
                if cur is not None and cur.mode == "reduced":
                    rule.go(replace(cur, reason=reason, detail=detail, when=s.when))
                    continue
                if cur is None or cur.mode == "full" or rule.reference is None:
                    rule.reference = s.range  # the range that side did in the set before
                tempo = cfg.slower * s.time_up if np.isfinite(s.time_up) else None
                rule.go(
                    Step(
                        "reduced",
                        reason,
                        cfg.reduced_share,
                        rule.reference,
                        tempo,
                        -1,
                        detail,
                        s.when,
                    )
                )
            return
        for side in SIDES:
            rule, s = self.sides[side], sets[side]
            cur = rule.current
            if side in verdict.compensating:  # both sides compensate: no progress
                what = verdict.compensating[side].replace("_", " ")
                detail = f"{what} on both sides"
                if cur is None:
                    share = (1.0 - cfg.band_width, 1.0)
                    rule.go(Step("full", "compensation", share, s.range, None, -1, detail, s.when))
                else:
                    rule.go(replace(cur, reason="compensation", detail=detail, when=s.when))
                continue
            if cur is None or cur.mode == "full":
                share = (1.0 - cfg.band_width, 1.0)
                rule.go(Step("full", "progress", share, s.range, None, -1, "symmetric", s.when))
                continue
            ref = rule.reference if rule.reference else s.range
            if cur.mode == "reduced":
                k = 0
            elif cur.mode == "trainer":
                k = next((i for i, v in enumerate(cfg.steps) if v > cur.share[1] + 1e-9),
                         len(cfg.steps) - 1)  # fmt: skip
            else:
                k = cur.step + 1
            if k >= len(cfg.steps) - 1:
                rule.reference = None
                share = (1.0 - cfg.band_width, 1.0)
                rule.go(Step("full", "progress", share, ref, None, -1, "back to full range",
                             s.when))  # fmt: skip
                continue
            top = cfg.steps[k]
            rule.go(
                Step(
                    "building",
                    "progress",
                    (top - cfg.band_width, top),
                    ref,
                    cur.tempo,
                    k,
                    f"symmetric: step up to {top * 100:.0f}%",
                    s.when,
                )
            )

    # --- persistence ----------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            side: {
                "current": r.current.to_dict() if r.current else None,
                "reference_rad": r.reference,
                "history": [h.to_dict() for h in r.history],
            }
            for side, r in self.sides.items()
        }

    @classmethod
    def from_dict(cls, exercise: str, d: dict, config: RuleConfig | None = None):
        rule = cls(exercise, config or RuleConfig())
        for side in SIDES:
            sd = d.get(side) or {}
            cur = sd.get("current")
            ref = sd.get("reference_rad")
            rule.sides[side] = SideRule(
                Step.from_dict(cur) if cur else None,
                [Step.from_dict(h) for h in sd.get("history", [])],
                None if ref is None else float(ref),
            )
        return rule


def cue(step: Step, plain_direction: str = "lift") -> str:
    """A one-line cue for the client for this step."""
    if step.mode == "reduced":
        slow = f", taking about {step.tempo:.0f} s up" if step.tempo else ""
        return f"Small and slow: {plain_direction} only a little{slow}, and keep the pelvis still."
    if step.mode == "building":
        return f"A bit more, still slow and even: {plain_direction} to the band, no further."
    if step.mode == "trainer":
        return "Work in the band your trainer set, slowly and evenly."
    return "Full range, smooth and even, with the pelvis still."
