"""Segment orientations of pelvis and both femurs in the global frame.

Global frame G: ENU (x east, y north, z up). Segment frames per ISB (Wu et al. 2002):
pelvis X anterior, Y superior, Z right; femur x anterior, y towards the hip, z right.
``q_GB`` rotates segment-frame vectors into G.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from hipimu.core import quaternion as quat

# Segment frame standing upright facing north: X -> north, Y -> up, Z -> east.
STANDING_FACING_NORTH = Rotation.from_matrix(
    np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
)


def to_wxyz(r: Rotation) -> np.ndarray:
    """scipy Rotation -> scalar-first quaternions (N, 4)."""
    return np.atleast_2d(r.as_quat(scalar_first=True))


def from_wxyz(q: np.ndarray) -> Rotation:
    """Scalar-first quaternions -> scipy Rotation."""
    return Rotation.from_quat(np.asarray(q), scalar_first=True)


def hip_rotation(angles: np.ndarray, side: str) -> Rotation:
    """Femur relative to pelvis from [flexion, adduction, internal rotation] (radians)."""
    sign = 1.0 if side == "right" else -1.0
    zxy = np.column_stack([angles[:, 0], sign * angles[:, 1], sign * angles[:, 2]])
    return Rotation.from_euler("ZXY", zxy)


def pelvis_rotation(angles: np.ndarray) -> Rotation:
    """Pelvis relative to its upright pose from [rotation, obliquity, tilt] (Y-X-Z)."""
    return Rotation.from_euler("YXZ", angles)


def segment_orientations(
    truth: dict[str, np.ndarray], heading_rad: float, roles: tuple[str, ...] | None = None
) -> dict[str, np.ndarray]:
    """``q_GB`` (N, 4) for ``pelvis``, ``femur_r``, ``femur_l`` (or only ``roles``) from
    true angles.

    ``heading_rad`` turns the whole body about the vertical (counter-clockwise from
    facing north). Lying down rolls the pelvis about its anterior axis first.
    """
    n = len(truth["pelvis"])
    facing = Rotation.from_euler("z", heading_rad) * STANDING_FACING_NORTH
    lying = Rotation.from_euler("x", truth["lying"][:, None])
    q_gp = facing * lying * pelvis_rotation(truth["pelvis"])
    out = {"pelvis": to_wxyz(q_gp)}
    for role, side in (("femur_r", "right"), ("femur_l", "left")):
        if roles is None or role in roles:
            out[role] = to_wxyz(q_gp * hip_rotation(truth[f"hip_{side}"], side))
    assert all(len(v) == n for v in out.values())
    # keep every series on one hemisphere sample to sample (no sign flips)
    return {k: _continuous(v) for k, v in out.items()}


def _continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs so consecutive quaternions have a positive dot product."""
    q = quat.as_quat_array(q).copy()
    dots = np.sum(q[1:] * q[:-1], axis=1)
    flips = np.cumsum(dots < 0) % 2
    q[1:][flips == 1] *= -1
    return q
