"""Quaternion arrays, computed by the C kernels in ``hipimu._core``.

Scalar-first ``[w, x, y, z]``, Hamilton convention. ``q_AB`` rotates a vector from
frame B into frame A, so ``q_AC = multiply(q_AB, q_BC)``. Every function takes one
quaternion ``(4,)`` or an array ``(N, 4)`` and returns ``(N, 4)`` (or ``(N, 3)``
angles); two-operand functions broadcast a single quaternion against an array.
Angles are radians. The numpy reference of each kernel is in
:mod:`hipimu.reference.quaternion`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from hipimu import _core

Side = Literal["right", "left"]
SIDE_SIGN: dict[str, float] = {"right": 1.0, "left": -1.0}


def as_quat_array(q: np.ndarray, name: str = "q") -> np.ndarray:
    """Return ``q`` as a C-contiguous float64 ``(N, 4)`` array, or raise ``ValueError``."""
    arr = np.ascontiguousarray(q, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name}: expected quaternions of shape (N, 4) or (4,), got {np.shape(q)}")
    return arr


def _rows(a: np.ndarray, b: np.ndarray) -> int:
    if len(a) == len(b) or len(b) == 1:
        return len(a)
    if len(a) == 1:
        return len(b)
    raise ValueError(f"row counts {len(a)} and {len(b)} do not broadcast")


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b``."""
    a, b = as_quat_array(a, "a"), as_quat_array(b, "b")
    out = np.empty((_rows(a, b), 4))
    _core.quat_multiply(a, b, out)
    return out


def conjugate(q: np.ndarray) -> np.ndarray:
    """Conjugate: the inverse rotation of a unit quaternion."""
    q = as_quat_array(q)
    out = np.empty_like(q)
    _core.quat_conjugate(q, out)
    return out


def normalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternions; rows with zero or non-finite norm become NaN."""
    q = as_quat_array(q)
    out = np.empty_like(q)
    _core.quat_normalize(q, out)
    return out


def relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``conj(a) * b``: given ``q_GA`` and ``q_GB``, returns ``q_AB``."""
    a, b = as_quat_array(a, "a"), as_quat_array(b, "b")
    out = np.empty((_rows(a, b), 4))
    _core.quat_relative(a, b, out)
    return out


def euler_zxy(q: np.ndarray) -> np.ndarray:
    """Intrinsic Z-X-Y angles ``(N, 3)`` in radians: ``R(q) = Rz(a) Rx(b) Ry(c)``."""
    q = as_quat_array(q)
    out = np.empty((len(q), 3))
    _core.euler_zxy(q, out)
    return out


def euler_yxz(q: np.ndarray) -> np.ndarray:
    """Intrinsic Y-X-Z angles ``(N, 3)`` in radians: ``R(q) = Ry(a) Rx(b) Rz(c)``
    (scipy's ``Rotation.as_euler("YXZ")``)."""
    q = as_quat_array(q)
    out = np.empty((len(q), 3))
    _core.euler_yxz(q, out)
    return out


def up_in_frame(q: np.ndarray) -> np.ndarray:
    """The global vertical ``(0, 0, 1)`` in the frame of each ``q_GS`` ``(N, 3)``
    (``conj(q) z q``), divided by ``|q|^2``; NaN rows for zero or non-finite ``q``."""
    q = as_quat_array(q)
    out = np.empty((len(q), 3))
    _core.up_in_frame(q, out)
    return out


def hip_angles(q_pelvis: np.ndarray, q_femur: np.ndarray, side: Side) -> np.ndarray:
    """Hip flexion, adduction and internal rotation ``(N, 3)`` in radians.

    ``q_pelvis`` and ``q_femur`` are segment orientations (``q_GB``) in one global frame.
    The joint rotation ``R_pelvis^T R_femur`` is decomposed Z-X-Y (ISB, Wu et al. 2002):
    flexion about the pelvis Z, adduction about the floating axis, rotation about the
    femur y. The left side negates adduction and rotation so that positive means the
    same motion on both sides.
    """
    if side not in SIDE_SIGN:
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    p, f = as_quat_array(q_pelvis, "q_pelvis"), as_quat_array(q_femur, "q_femur")
    out = np.empty((_rows(p, f), 3))
    _core.hip_angles(p, f, SIDE_SIGN[side], out)
    return out


def nlerp_grid(
    times: np.ndarray, q: np.ndarray, t: np.ndarray, max_gap: float, hold: float
) -> np.ndarray:
    """Normalised linear interpolation of quaternions ``q`` (N, 4) at ``times`` (strictly
    increasing) to ``t`` (M,): ``(M, 4)``, NaN outside the samples and between two more
    than ``max_gap`` apart; a time past the last sample by at most ``hold`` (> 0) gets the
    last sample. The shorter arc between neighbours, in one pass of the C kernel."""
    times = np.ascontiguousarray(times, dtype=np.float64).reshape(-1, 1)
    t = np.ascontiguousarray(t, dtype=np.float64).reshape(-1, 1)
    q = np.ascontiguousarray(q, dtype=np.float64).reshape(-1, 4)
    out = np.empty((len(t), 4))
    _core.nlerp_grid(times, q, t, float(max_gap), float(hold), out)
    return out
