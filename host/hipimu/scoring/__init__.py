"""Scores from angles: ranges, repetitions and holds, smoothness, symmetry, compensation,
targets (docs/scoring.md).

``score_session(kinematics, markers)`` scores a whole session; ``sparc`` and ``ldlj``
are the smoothness metrics of Balasubramanian et al. (2012, 2015); ``plan`` runs the
trainer's rule (``ExerciseRule``, ``RuleConfig``) over a session's sets.
"""

from hipimu.scoring.rom import RangeOfMotion, compare_sides, ranges_of_motion
from hipimu.scoring.rule import ExerciseRule, RuleConfig
from hipimu.scoring.smoothness import angular_speed, ldlj, sparc
from hipimu.scoring.summary import SessionScores, score_session
from hipimu.scoring.symmetry import ratio_interval, symmetry_angle, symmetry_index
from hipimu.scoring.targets import plan

__all__ = [
    "ExerciseRule",
    "RangeOfMotion",
    "RuleConfig",
    "SessionScores",
    "angular_speed",
    "compare_sides",
    "ldlj",
    "plan",
    "ranges_of_motion",
    "ratio_interval",
    "score_session",
    "sparc",
    "symmetry_angle",
    "symmetry_index",
]
