"""Left against right: symmetry index, symmetry angle, and when a difference counts.

* Symmetry index (Robinson et al. 1987, J Manipulative Physiol Ther 10:172):
  ``SI = (R - L) / (0.5 (R + L)) * 100 %``; 0 is symmetric, positive means the right is
  larger. It explodes when R + L is near zero, so it is only given for measures that
  are positive amounts (ranges, times).
* Symmetry angle (Zifchock et al. 2008, Gait & Posture 27:622):
  ``SA = (45° - atan(L / R)) / 90° * 100 %`` (minus 180° inside when the first term
  exceeds 90°); bounded in [-100, 100] %, positive means the right is larger.

Both are computed on the per-side means of the repetitions. Both are monotone in the
ratio ``L / R`` of the means, so their 95 % intervals are the ratio's interval mapped
through them (:func:`ratio_interval`: the log ratio with a delta-method standard error
and Welch-Satterthwaite degrees of freedom; its coverage is 93-97 % at 5-15 repetitions
per side, benchmarks/coverage.py, docs/validation.md; the bootstrap it replaces covered
88 % at 5). The difference ``left - right`` of the means gets a Welch 95 % interval.

A difference is **flagged** only when its interval excludes zero (more than
repetition-to-repetition variation explains) AND it is at least the measure's minimal
relevant size (:class:`~hipimu.scoring.catalog.FlagRule`; for ratio measures such as the
range a *relative* size, ``min_percent`` of the symmetry index, so it still works in a
4-6 deg band). Multiplicity: only the exercise's primary measure (the range of the
primary plane) is tested (``SideDifference.tested``); every other measure is descriptive,
its interval uncorrected and its flag a note on size, not a claim at the 5 % level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipimu.scoring import tdist
from hipimu.scoring.catalog import FlagRule


def symmetry_index(right: float, left: float) -> float:
    """Robinson's symmetry index in percent (NaN when ``right + left`` is zero)."""
    total = right + left
    return float((right - left) / (0.5 * total) * 100.0) if total else float("nan")


def symmetry_angle(right: float, left: float) -> float:
    """Zifchock's symmetry angle in percent of 90 degrees."""
    if right == 0 and left == 0:
        return 0.0
    a = np.degrees(np.arctan(left / right)) if right else np.copysign(90.0, left)
    first = 45.0 - a
    if first > 90.0:
        first -= 180.0
    return float(first / 90.0 * 100.0)


@dataclass
class SideDifference:
    """One measure of one exercise, left against right (SI units)."""

    exercise: str
    measure: str  # "range", "sparc", ..., or "compensation:<key>"
    rule: FlagRule
    right: np.ndarray  # per-repetition values
    left: np.ndarray
    difference: float  # mean left - mean right
    ci: tuple[float, float]  # Welch 95 % interval of the difference
    p_value: float
    symmetry_index: float | None
    symmetry_index_ci: tuple[float, float] | None
    symmetry_angle: float | None
    symmetry_angle_ci: tuple[float, float] | None
    flagged: bool
    note: str = ""
    tested: bool = False  # the primary measure (tested); others are descriptive

    @property
    def right_mean(self) -> float:
        return float(np.mean(self.right))

    @property
    def left_mean(self) -> float:
        return float(np.mean(self.left))

    @property
    def right_sd(self) -> float:
        return float(np.std(self.right, ddof=1)) if len(self.right) > 1 else float("nan")

    @property
    def left_sd(self) -> float:
        return float(np.std(self.left, ddof=1)) if len(self.left) > 1 else float("nan")

    @property
    def worse_side(self) -> str | None:
        """The side whose mean is on the worse side of the other's (``rule.better``)."""
        if self.difference == 0:
            return None
        left_higher = self.difference > 0
        return (
            ("right" if left_higher else "left")
            if self.rule.better == "higher"
            else ("left" if left_higher else "right")
        )


def welch_interval(right: np.ndarray, left: np.ndarray, level: float = 0.95):
    """Welch interval and two-sided p for ``mean(left) - mean(right)``."""
    d = float(np.mean(left) - np.mean(right))
    vr, vl = np.var(right, ddof=1) / len(right), np.var(left, ddof=1) / len(left)
    se = float(np.sqrt(vr + vl))
    if se == 0:
        return (d, d), (0.0 if d else 1.0)
    df = (vr + vl) ** 2 / (vr**2 / (len(right) - 1) + vl**2 / (len(left) - 1))
    q = tdist.ppf(0.5 + level / 2, df)
    p = 2 * tdist.sf(abs(d) / se, df)
    return (d - q * se, d + q * se), float(p)


DETREND_MIN = 5  # repetitions per side from which the variance is taken about a trend


def _spread(x: np.ndarray) -> tuple[float, int]:
    """Variance of a side's values and its degrees of freedom: about a straight line in
    repetition order from ``DETREND_MIN`` values on (fatigue or warming up over the set
    is not repetition-to-repetition variation), else about the mean."""
    n = len(x)
    if n < DETREND_MIN:
        return float(np.var(x, ddof=1)), n - 1
    i = np.arange(n, dtype=float)
    res = x - np.polyval(np.polyfit(i, x, 1), i)
    return float(res @ res / (n - 2)), n - 2


def ratio_interval(right: np.ndarray, left: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Interval of ``mean(left) / mean(right)`` for positive amounts (ranges, times).

    ``log(L/R)`` with the delta-method standard error ``sqrt(v_R / (n_R m_R^2) +
    v_L / (n_L m_L^2))`` and Welch-Satterthwaite degrees of freedom (t quantile), so the
    interval widens properly at 5 repetitions a side. ``v`` is each side's variance about
    a linear trend over its repetitions (in time order; :func:`_spread`), so a set that
    tires or warms up does not widen it. NaN when a side has fewer than 2 values or a
    mean that is not positive.
    """
    right, left = np.asarray(right, float), np.asarray(left, float)
    nr, nl = len(right), len(left)
    if nr < 2 or nl < 2:
        return (float("nan"), float("nan"))
    mr, ml = right.mean(), left.mean()
    if not (mr > 0 and ml > 0):
        return (float("nan"), float("nan"))
    (vr, dr), (vl, dl) = _spread(right), _spread(left)
    a, b = vr / (nr * mr**2), vl / (nl * ml**2)
    centre = float(np.log(ml / mr))
    se = float(np.sqrt(a + b))
    if se == 0:
        return (float(np.exp(centre)),) * 2
    df = (a + b) ** 2 / (a**2 / dr + b**2 / dl)
    q = tdist.ppf(0.5 + level / 2, df)
    return (float(np.exp(centre - q * se)), float(np.exp(centre + q * se)))


def _mapped(ratio: tuple[float, float], fn) -> tuple[float, float]:
    """A ratio interval through ``fn(1, ratio)`` (decreasing in the ratio)."""
    if not np.isfinite(ratio).all():
        return (float("nan"), float("nan"))
    a, b = fn(1.0, ratio[1]), fn(1.0, ratio[0])
    return (min(a, b), max(a, b))


def compare(
    exercise: str,
    measure: str,
    rule: FlagRule,
    right: np.ndarray,
    left: np.ndarray,
    ratio: bool,
    tested: str = "range",
) -> SideDifference | None:
    """Compare per-repetition values of the two sides (None if a side has no value)."""
    right = np.asarray(right, dtype=float)
    left = np.asarray(left, dtype=float)
    right, left = right[np.isfinite(right)], left[np.isfinite(left)]
    if not len(right) or not len(left):
        return None
    d = float(left.mean() - right.mean())
    note = ""
    if len(right) < 2 or len(left) < 2:
        ci, p = (float("nan"), float("nan")), float("nan")
        note = "too few repetitions on one side to tell a difference from chance"
    else:
        ci, p = welch_interval(right, left)
    si = sa = si_ci = sa_ci = None
    if ratio and right.mean() > 0 and left.mean() > 0:
        si = symmetry_index(right.mean(), left.mean())
        sa = symmetry_angle(right.mean(), left.mean())
        if len(right) > 1 and len(left) > 1:
            ratio = ratio_interval(right, left)
            si_ci = _mapped(ratio, symmetry_index)
            sa_ci = _mapped(ratio, symmetry_angle)
    beyond_chance = bool(np.isfinite(ci[0]) and (ci[0] > 0 or ci[1] < 0))
    if si_ci is not None and np.isfinite(si_ci).all():
        beyond_chance = si_ci[0] > 0 or si_ci[1] < 0  # the ratio's own interval
    big_enough = abs(d) >= rule.min_difference
    if rule.min_percent is not None and si is not None:
        big_enough = big_enough and abs(si) >= rule.min_percent
    if beyond_chance and not big_enough and not note:
        note = "a real but small difference, below the size that matters"
    return SideDifference(
        exercise,
        measure,
        rule,
        right,
        left,
        d,
        ci,
        p,
        si,
        si_ci,
        sa,
        sa_ci,
        beyond_chance and big_enough,
        note,
        measure == tested,
    )
