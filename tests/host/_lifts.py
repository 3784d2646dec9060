"""Hip-flexion lifts of the right thigh through the real kinematics, with known truth.

Sensor noise (0.02 deg white on each orientation), pelvis sway, optional tremor, and an
optional pelvis hip-hike (obliquity) path, so smoothness and compensation can be tested
against an analytic expectation. Not a test module (no ``test_`` prefix).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from hipimu.body.calibration import Calibration, CalibrationQuality
from hipimu.body.kinematics import Kinematics, compute
from hipimu.simulate.motion import rep_profile
from hipimu.stream.assembler import AlignedSamples

FS = 100.0


def lift_kinematics(
    *,
    reps: int = 5,
    first: float = 1.0,
    period: float = 3.0,
    amplitude_deg: float = 30.0,
    tremor_hz: float | None = None,
    tremor_deg: float = 0.3,
    pelvis_hike_deg: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    pelvis_turn_deg: Callable[[np.ndarray], np.ndarray] | None = None,
    seed: int = 0,
    lowpass_hz: float = 6.0,
    hold_s: float | None = None,
) -> Kinematics:
    """``reps`` lifts from ``first`` s, each ``period`` s; ``tremor_deg`` is RMS.

    ``pelvis_hike_deg(t, profile)`` gives the right-side hip hike (degrees, positive is
    the pelvis lifting on the right) from time and the lift profile (0..1);
    ``pelvis_turn_deg(t)`` a pelvis turn about the vertical (e.g. getting into posture).
    ``hold_s``: holds instead (1.5 s up, ``hold_s`` at the top, 1.5 s down, 2 s rest).
    """
    rng = np.random.default_rng(seed)
    phases = None
    if hold_s is not None:
        period = 1.5 + hold_s + 1.5 + 2.0
        phases = (1.5 / period, hold_s / period, 1.5 / period)
    t = np.arange(0, first + reps * period + 1.0, 1 / FS)
    profile = np.zeros_like(t)
    for k in range(reps):
        tau = (t - first - period * k) / period
        inside = (tau >= 0) & (tau < 1)
        profile[inside] = rep_profile(tau[inside], phases=phases)
    flex = np.deg2rad(amplitude_deg) * profile
    if tremor_hz:
        moving = profile > 1.0 / amplitude_deg
        flex = flex + moving * np.deg2rad(tremor_deg * np.sqrt(2)) * np.sin(
            2 * np.pi * tremor_hz * t + rng.uniform(0, 2 * np.pi)
        )
    zeros = np.zeros_like(t)
    sway = np.deg2rad(0.3) * np.sin(2 * np.pi * 0.2 * t)
    turn = np.deg2rad(pelvis_turn_deg(t)) if pelvis_turn_deg else zeros
    hike = np.deg2rad(pelvis_hike_deg(t, profile)) if pelvis_hike_deg else zeros
    # pelvis: turn about the vertical (y), then obliquity about the anterior axis (x);
    # hiking the right side is a negative rotation about x (catalog: sign_right = -1)
    pelvis_rot = Rotation.from_rotvec(
        np.column_stack([zeros, turn + sway, zeros])
    ) * Rotation.from_rotvec(np.column_stack([-hike, zeros, zeros]))
    femur_rot = pelvis_rot * Rotation.from_rotvec(np.column_stack([zeros, zeros, flex]))

    def noisy(r: Rotation) -> np.ndarray:
        e = Rotation.from_rotvec(rng.normal(0, np.deg2rad(0.02), (len(t), 3)))
        return (r * e).as_quat(scalar_first=True)

    pelvis = noisy(pelvis_rot)
    quats = {"pelvis": pelvis, "femur_r": noisy(femur_rot), "femur_l": noisy(pelvis_rot)}
    aligned = AlignedSamples(t, quats, {r: np.ones(len(t), bool) for r in quats}, FS)
    identity = np.array([1.0, 0.0, 0.0, 0.0])
    cal = Calibration(
        {r: identity for r in quats}, identity, CalibrationQuality((0.0, 1.0), 0.0, "test")
    )
    return compute(aligned, cal, lowpass_hz)
