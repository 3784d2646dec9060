"""Compare computed angles against a simulator's truth."""

from __future__ import annotations

import numpy as np

from hipimu.body.kinematics import Kinematics
from hipimu.simulate import Truth


def hip_errors(
    kin: Kinematics, truth: Truth, *, from_stance: bool = False
) -> dict[str, np.ndarray]:
    """Per side, RMSE (radians) of flexion, adduction, rotation over the valid samples.

    The truth is interpolated to the pipeline's grid; host time equals true time in the
    simulator, so any clock-model error shows up as angle error. Against the anatomical
    hip angles by default; ``from_stance`` against the angles measured from the client's
    neutral stance (:meth:`Truth.hip_from_stance`), leaving out the stance offset that no
    calibration on the standing pose can see.
    """
    out = {}
    for side in ("right", "left"):
        true = truth.hip_from_stance(side) if from_stance else getattr(truth, f"hip_{side}")
        ref = np.column_stack([np.interp(kin.time, truth.time, true[:, j]) for j in range(3)])
        err = kin.hip(side) - ref
        inside = (kin.time >= truth.time[0]) & (kin.time <= truth.time[-1])
        ok = np.isfinite(err).all(axis=1) & inside
        out[side] = np.sqrt(np.mean(err[ok] ** 2, axis=0))
    return out
