"""Range of motion per exercise block and side, and the left/right comparison.

Blocks come from the trainer's exercise markers (``{"exercise", "side", "start", "end"}``
in host seconds). The range in a plane is the spread between the 0.5th and 99.5th
percentiles of the angle over the block, robust to single outlying samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipimu.body.kinematics import Kinematics
from hipimu.core.names import ANGLE_NAMES

# The plane each exercise mainly trains (docs/exercises.md; others: the catalog).
PRIMARY_PLANE = {"side_lying_leg_lift": "adduction", "marching": "flexion"}
LOW, HIGH = 0.5, 99.5


@dataclass(frozen=True)
class RangeOfMotion:
    """One side's excursion during one exercise block (radians)."""

    exercise: str
    side: str
    start: float
    end: float
    range: np.ndarray  # (3,) flexion, adduction, rotation
    low: np.ndarray  # (3,)
    high: np.ndarray  # (3,)
    samples: int

    @property
    def primary_plane(self) -> str:
        return primary_plane(self.exercise)


def primary_plane(exercise: str) -> str:
    """The hip-angle plane an exercise mainly trains, from the catalog (docs/exercises.md)."""
    if exercise in PRIMARY_PLANE:
        return PRIMARY_PLANE[exercise]
    from hipimu.scoring.catalog import exercise as lookup

    return lookup(exercise).primary_plane


def ranges_of_motion(kin: Kinematics, markers: list[dict]) -> list[RangeOfMotion]:
    """Range per exercise marker and moving side (``both`` gives a row per side)."""
    rows = []
    for m in markers:
        if m.get("side") not in ("right", "left", "both"):
            continue
        inside = (kin.time >= m["start"]) & (kin.time < m["end"])
        sides = ("right", "left") if m["side"] == "both" else (m["side"],)
        for side in sides:
            angles = kin.hip(side)[inside]
            angles = angles[np.isfinite(angles).all(axis=1)]
            if len(angles) == 0:
                continue
            low = np.percentile(angles, LOW, axis=0)
            high = np.percentile(angles, HIGH, axis=0)
            rows.append(
                RangeOfMotion(
                    m["exercise"], side, m["start"], m["end"], high - low, low, high, len(angles)
                )
            )
    return rows


@dataclass(frozen=True)
class SideComparison:
    """Left against right for one exercise and plane."""

    exercise: str
    plane: str
    right: float  # range, radians
    left: float
    primary: bool

    @property
    def left_percent_of_right(self) -> float:
        return 100.0 * self.left / self.right if self.right > 0 else float("nan")

    @property
    def difference(self) -> float:
        return self.left - self.right


def compare_sides(rows: list[RangeOfMotion]) -> list[SideComparison]:
    """Per exercise present on both sides, the ranges in each plane side by side."""
    by_key: dict[tuple[str, str], list[RangeOfMotion]] = {}
    for r in rows:
        by_key.setdefault((r.exercise, r.side), []).append(r)
    out = []
    for exercise in dict.fromkeys(r.exercise for r in rows):
        right, left = by_key.get((exercise, "right")), by_key.get((exercise, "left"))
        if not right or not left:
            continue
        r_range = np.max([r.range for r in right], axis=0)
        l_range = np.max([r.range for r in left], axis=0)
        for j, plane in enumerate(ANGLE_NAMES):
            out.append(
                SideComparison(
                    exercise,
                    plane,
                    float(r_range[j]),
                    float(l_range[j]),
                    plane == primary_plane(exercise),
                )
            )
    return out
