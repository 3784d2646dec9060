"""Heading without a magnetometer: align the sensors' earth frames, then keep them aligned.

A 6D orientation filter knows the vertical but not north: each sensor's earth frame has
its own heading, which also drifts slowly with the residual gyroscope bias about the
vertical. Hip angles need the femur and pelvis sensors in one frame, so:

1. **Alignment.** While the sensors lie aligned (in their case, a few seconds at the
   start) they have the same true orientation; the heading differences between their
   estimates are those of their earth frames and are removed.
2. **Drift correction.** Whenever the client stands still (pelvis upright, thighs
   vertical), the hips are back near their neutral rotation, so the change of the femur's
   internal rotation between standing phases measures how far its sensor's heading has
   drifted against the pelvis sensor's, plus the change of the client's stance. Offline
   (:func:`correct_drift`) a straight line through all phases (:func:`fit_drift`) separates
   the two: its slope is the drift, removed from the femur sensor's earth frame; the
   scatter about it is stance. The live view, which has only the phases so far, uses
   :func:`drift_curve`, anchored at the calibration.
3. **Mean stance** (offline). A single standing pose is only one sample of the client's
   neutral: each standing phase is a little off in its own way. :func:`correct_drift`
   re-zeroes each hip on the mean of all standing phases (after drift removal), so the
   calibration's error shrinks with the number of phases instead of being that of the
   first pose. :class:`DriftReport` says how large the drift and the stance shift were
   (docs/calibration.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hipimu.body.calibration import UP, Calibration, angular_speed, mean_quat, rotate
from hipimu.core import quaternion as quat
from hipimu.stream.assembler import AlignedSamples

FEMURS = {"femur_r": ("right", 1.0), "femur_l": ("left", -1.0)}


def yaw_quat(angle: np.ndarray) -> np.ndarray:
    """Rotations about the earth vertical (N, 4)."""
    angle = np.atleast_1d(angle)
    return np.column_stack(
        [np.cos(angle / 2), np.zeros_like(angle), np.zeros_like(angle), np.sin(angle / 2)]
    )


def _rotate_earth(q: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return quat.multiply(yaw_quat(angle), q)


def _heading_of(q: np.ndarray) -> np.ndarray:
    """Heading (rad) of a rotation: yaw of its swing-twist part about the earth vertical."""
    return 2.0 * np.arctan2(q[:, 3], q[:, 0])


def align_headings(
    aligned: AlignedSamples, window: tuple[float, float], reference: str = "pelvis"
) -> dict[str, float]:
    """Turn every sensor's earth frame onto the reference sensor's (in place).

    During ``window`` the sensors lie with the same orientation. Returns the heading
    offsets removed (radians) per role.
    """
    inside = (aligned.time >= window[0]) & (aligned.time <= window[1])
    if inside.sum() < 2:
        raise ValueError(f"heading alignment window {window} holds no samples")
    offsets = heading_offsets({r: q[inside] for r, q in aligned.quat.items()}, reference)
    for role, angle in offsets.items():
        q = aligned.quat[role]
        aligned.quat[role] = _rotate_earth(q, np.full(len(q), angle))
    return offsets


def heading_offsets(window: dict[str, np.ndarray], reference: str = "pelvis") -> dict[str, float]:
    """Yaw (rad) turning each role's earth frame onto the reference's, from orientations
    ``q_ES`` (N, 4) sampled together while the sensors lie aligned. The live view uses
    this on its buffered case step; apply with ``yaw_quat(angle) * q``."""
    ref = window[reference]
    offsets = {}
    for role, q in window.items():
        if role == reference:
            continue
        diff = quat.multiply(ref, quat.conjugate(q))  # q_Eref_Erole (a pure yaw)
        offsets[role] = float(np.angle(np.nanmean(np.exp(1j * _heading_of(diff)))))
    return offsets


@dataclass
class DriftReport:
    """Heading drift of each femur sensor against the pelvis sensor."""

    phases: list[tuple[float, float]] = field(default_factory=list)
    drift_deg: dict[str, list[float]] = field(default_factory=dict)  # at each phase
    # per femur: the mean stance (flexion, adduction, rotation) that became the new zero,
    # relative to the calibration's standing pose, after drift removal
    stance_shift_deg: dict[str, list[float]] = field(default_factory=dict)

    @property
    def max_drift_deg(self) -> float:
        values = [abs(v) for vs in self.drift_deg.values() for v in vs]
        return max(values, default=0.0)


def standing_phases(
    aligned: AlignedSamples,
    cal: Calibration,
    min_seconds: float = 1.0,
    max_tilt_deg: float = 12.0,
    max_speed_deg_s: float = 8.0,
) -> list[tuple[float, float]]:
    """Intervals in which the client stands still: every segment's Y within
    ``max_tilt_deg`` of the vertical and every sensor slower than ``max_speed_deg_s``."""
    ok = standing_rows(aligned.quat, cal.mounts, aligned.rate_hz, max_tilt_deg, max_speed_deg_s)
    phases, start = [], None
    need = int(min_seconds * aligned.rate_hz)
    for i, flag in enumerate(np.append(ok, False)):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start >= need:
                phases.append((float(aligned.time[start]), float(aligned.time[i - 1])))
            start = None
    return phases


def standing_rows(
    quats: dict[str, np.ndarray],
    mounts: dict[str, np.ndarray],
    rate_hz: float,
    max_tilt_deg: float = 12.0,
    max_speed_deg_s: float = 8.0,
) -> np.ndarray:
    """Per sample (bool): every segment's Y within ``max_tilt_deg`` of the vertical and
    every sensor slower than ``max_speed_deg_s`` (``quats``: ``q_ES`` per role)."""
    ok = np.ones(len(next(iter(quats.values()))), dtype=bool)
    for role, q in quats.items():
        if role not in mounts:
            continue
        y_axis = rotate(quat.multiply(q, mounts[role]), np.array([0.0, 1.0, 0.0]))
        ok &= np.nan_to_num(y_axis @ UP) > np.cos(np.deg2rad(max_tilt_deg))
        ok &= np.rad2deg(np.nan_to_num(angular_speed(q, rate_hz), nan=1e9)) < max_speed_deg_s
    return ok


def drift_curve(t: np.ndarray, times: np.ndarray, drifts: np.ndarray) -> np.ndarray:
    """Smooth drift through the standing phases' estimates.

    Residual gyroscope bias makes the drift grow smoothly, while each standing phase
    adds the client's own few degrees of stance variability. A low-order polynomial
    through the phases (linear up to 5 phases, quadratic beyond), anchored at zero in the
    calibration phase, follows the first and averages out the second; it is held flat
    outside the phases.
    """
    if len(times) < 2:
        return np.zeros_like(t)
    degree = 1 if len(times) <= 5 else 2
    weights = np.ones(len(times))
    weights[0] = 10.0  # the calibration phase defines zero
    coef = np.polyfit(times - times[0], drifts, degree, w=weights)
    return np.polyval(coef, np.clip(t, times[0], times[-1]) - times[0])


def fit_drift(t: np.ndarray, times: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """Heading drift at ``t``, zero at the first phase, from the femur rotation measured
    at each standing phase (``times``, ``rotations``; radians).

    The phases' rotations are drift plus the client's stance, which differs a little from
    phase to phase around its own mean. A least-squares line through all phases (not
    pinned to the first, which is as much a sample of the stance as any other) has the
    drift as slope: a residual gyroscope bias drifts linearly, and with the rest bias gate
    (docs/fusion.md) the bias hardly wanders. Over sessions longer than 20 minutes a
    quadratic term follows slow bias changes. Held flat outside the phases.
    """
    if len(times) < 2:
        return np.zeros_like(t)
    span = times[-1] - times[0]
    degree = 1 if span <= 20 * 60 or len(times) < 6 else 2
    coef = np.polyfit(times - times[0], rotations, degree)
    coef[-1] = 0.0  # zero at the first phase: the constant is stance, not drift
    return np.polyval(coef, np.clip(t, times[0], times[-1]) - times[0])


def correct_drift(
    aligned: AlignedSamples, cal: Calibration, mean_stance: bool = True
) -> DriftReport:
    """Remove femur heading drift against the pelvis (``aligned`` in place) and, with
    ``mean_stance``, re-zero each hip on the mean standing pose (``cal`` in place); see the
    module text."""
    phases = standing_phases(aligned, cal)
    report = DriftReport(phases=phases)
    if not phases:
        return report
    q_pelvis = quat.multiply(aligned.quat["pelvis"], cal.mounts["pelvis"])
    for role, (side, sign) in FEMURS.items():
        if role not in aligned.quat or role not in cal.mounts:
            continue
        q_femur = quat.multiply(aligned.quat[role], cal.mounts[role])
        rotation = quat.hip_angles(q_pelvis, q_femur, side)[:, 2]
        times, rotations = [], []
        for t0, t1 in phases:
            inside = (aligned.time >= t0) & (aligned.time <= t1)
            times.append(0.5 * (t0 + t1))
            rotations.append(sign * float(np.nanmedian(rotation[inside])))
        drift = fit_drift(aligned.time, np.array(times), np.array(rotations))
        aligned.quat[role] = _rotate_earth(aligned.quat[role], -drift)
        report.drift_deg[role] = [float(np.rad2deg(r - rotations[0])) for r in rotations]
        if mean_stance and len(phases) > 1:
            q_femur = quat.multiply(aligned.quat[role], cal.mounts[role])
            shift = _mean_stance(aligned.time, q_pelvis, q_femur, phases)
            cal.mounts[role] = quat.multiply(cal.mounts[role], quat.conjugate(shift))
            angles = quat.hip_angles(np.array([[1.0, 0, 0, 0]]), shift[None], side)[0]
            report.stance_shift_deg[role] = [float(a) for a in np.rad2deg(angles)]
    return report


def _mean_stance(
    time: np.ndarray,
    q_pelvis: np.ndarray,
    q_femur: np.ndarray,
    phases: list[tuple[float, float]],
) -> np.ndarray:
    """Mean pelvis-to-femur segment rotation over the standing phases (one vote each)."""
    means = []
    for t0, t1 in phases:
        inside = (time >= t0) & (time <= t1)
        rel = quat.relative(q_pelvis[inside], q_femur[inside])
        rel = rel[np.isfinite(rel).all(axis=1)]
        if len(rel):
            means.append(mean_quat(rel))
    return mean_quat(np.array(means)) if means else np.array([1.0, 0.0, 0.0, 0.0])
