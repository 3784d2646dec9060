"""Scores from angles: ranges, repetitions and holds, smoothness, symmetry, compensation,
targets (docs/scoring.md).

``score_session(kinematics, markers)`` scores a whole session; ``sparc`` and ``ldlj``
are the smoothness metrics of Balasubramanian et al. (2012, 2015).
"""

from hipimu.scoring.rom import RangeOfMotion, compare_sides, ranges_of_motion
from hipimu.scoring.smoothness import angular_speed, ldlj, sparc
from hipimu.scoring.summary import SessionScores, score_session
from hipimu.scoring.symmetry import symmetry_angle, symmetry_index

__all__ = [
    "RangeOfMotion",
    "SessionScores",
    "angular_speed",
    "compare_sides",
    "ldlj",
    "ranges_of_motion",
    "score_session",
    "sparc",
    "symmetry_angle",
    "symmetry_index",
]
