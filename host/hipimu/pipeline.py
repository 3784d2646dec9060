"""Compatibility: ``hipimu.pipeline`` is :mod:`hipimu.analysis.pipeline` (moved in 0.2).

Scripts written against the old flat layout keep working; new code imports
``hipimu.analysis.pipeline``.
"""

from hipimu.analysis.pipeline import Analysis, analyse, analyse_log, fuse_raw, resample_window

__all__ = ["Analysis", "analyse", "analyse_log", "fuse_raw", "resample_window"]
