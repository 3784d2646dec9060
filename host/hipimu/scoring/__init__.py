"""Scores from angles: range of motion per exercise block and side, side-to-side comparison."""

from hipimu.scoring.rom import RangeOfMotion, compare_sides, ranges_of_motion

__all__ = ["RangeOfMotion", "compare_sides", "ranges_of_motion"]
