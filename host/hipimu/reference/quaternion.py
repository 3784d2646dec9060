"""numpy reference implementations of the ``hipimu._core`` quaternion kernels.

Written for clarity, not speed: the tests compare every C kernel against these.
Quaternions are scalar-first ``[w, x, y, z]`` (Hamilton); ``q_AB`` rotates B into A.
"""

from __future__ import annotations

import numpy as np


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` over rows (rows broadcast)."""
    a = np.atleast_2d(a)
    b = np.atleast_2d(b)
    aw, ax, ay, az = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    bw, bx, by, bz = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=1,
    )


def conjugate(q: np.ndarray) -> np.ndarray:
    """Conjugate (the inverse of a unit quaternion)."""
    return np.atleast_2d(q) * np.array([1.0, -1.0, -1.0, -1.0])


def normalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternions; rows with zero or non-finite norm become NaN."""
    q = np.atleast_2d(q)
    n = np.sqrt(np.sum(q * q, axis=1, keepdims=True))
    bad = ~(n > 0) | ~np.isfinite(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = q / n
    out[bad[:, 0]] = np.nan
    return out


def relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``conj(a) * b``: with ``a = q_GA`` and ``b = q_GB`` this is ``q_AB``."""
    return multiply(conjugate(a), b)


def euler_zxy(q: np.ndarray) -> np.ndarray:
    """Intrinsic Z-X-Y angles (radians) with ``R(q) = Rz(a) Rx(b) Ry(c)``; q need not be unit."""
    q = np.atleast_2d(q)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    s = 2.0 / (w * w + x * x + y * y + z * z)
    r01 = s * (x * y - w * z)
    r11 = 1.0 - s * (x * x + z * z)
    r21 = s * (y * z + w * x)
    r20 = s * (x * z - w * y)
    r22 = 1.0 - s * (x * x + y * y)
    return np.stack(
        [
            np.arctan2(-r01, r11),
            np.arctan2(r21, np.sqrt(r01 * r01 + r11 * r11)),
            np.arctan2(-r20, r22),
        ],
        axis=1,
    )


def euler_yxz(q: np.ndarray) -> np.ndarray:
    """Intrinsic Y-X-Z angles (radians) with ``R(q) = Ry(a) Rx(b) Rz(c)``; q need not be unit."""
    q = np.atleast_2d(q)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    s = 2.0 / (w * w + x * x + y * y + z * z)
    r02 = s * (x * z + w * y)
    r22 = 1.0 - s * (x * x + y * y)
    r12 = s * (y * z - w * x)
    r10 = s * (x * y + w * z)
    r11 = 1.0 - s * (x * x + z * z)
    return np.stack(
        [
            np.arctan2(r02, r22),
            np.arctan2(-r12, np.sqrt(r10 * r10 + r11 * r11)),
            np.arctan2(r10, r11),
        ],
        axis=1,
    )


def up_in_frame(q: np.ndarray) -> np.ndarray:
    """The global vertical in each ``q_GS``'s frame over ``|q|^2`` (NaN for zero q)."""
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    w, v = q[:, :1], q[:, 1:]
    up = np.column_stack(
        [
            2 * (v[:, 0] * v[:, 2] - w[:, 0] * v[:, 1]),
            2 * (v[:, 1] * v[:, 2] + w[:, 0] * v[:, 0]),
            1 - 2 * (v[:, 0] ** 2 + v[:, 1] ** 2),
        ]
    )
    norm = np.sum(q * q, axis=1, keepdims=True)
    return up / np.where(norm > 0, norm, np.nan)


def hip_angles(q_pelvis: np.ndarray, q_femur: np.ndarray, side_sign: float) -> np.ndarray:
    """Flexion, adduction, internal rotation (radians) of the femur relative to the pelvis.

    ``side_sign`` is +1 for the right hip and -1 for the left (negates adduction and rotation).
    """
    angles = euler_zxy(relative(q_pelvis, q_femur))
    angles[:, 1:] *= side_sign
    return angles


def slerp(times: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions ``q`` (N, 4) at times ``times``
    (strictly increasing) to ``t`` (inside ``[times[0], times[-1]]``), along the shorter
    arc: what ``scipy.spatial.transform.Slerp`` gives, in a few numpy operations (the
    twin of ``hipimu._core.slerp``, :func:`hipimu.stream.resample.slerp`)."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) < 2 or np.any(np.diff(times) <= 0):
        raise ValueError("Times must be in strictly increasing order.")
    if len(t) and (t[0] < times[0] or t[-1] > times[-1]):
        raise ValueError("Interpolation times must be within the range of the samples.")
    q = np.asarray(q, dtype=np.float64)
    q = q / np.sqrt(np.einsum("ij,ij->i", q, q))[:, None]
    j = np.clip(np.searchsorted(times, t, side="right"), 1, len(times) - 1)
    w = (t - times[j - 1]) / (times[j] - times[j - 1])
    q0, q1 = q[j - 1], q[j]
    dot = np.einsum("ij,ij->i", q0, q1)
    sign = np.where(dot < 0, -1.0, 1.0)
    theta = np.arccos(np.minimum(np.abs(dot), 1.0))
    s = np.sin(theta)
    near = s < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(near, 1.0 - w, np.sin((1.0 - w) * theta) / s)
        b = np.where(near, w, np.sin(w * theta) / s) * sign
    out = q0 * a[:, None]
    out += q1 * b[:, None]
    out /= np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
    return out


def nlerp_grid(
    times: np.ndarray, q: np.ndarray, t: np.ndarray, max_gap: float, hold: float
) -> np.ndarray:
    """Normalised linear interpolation of quaternions ``q`` at ``times`` (strictly
    increasing) to ``t``, NaN across gaps longer than ``max_gap`` and outside the
    samples, the last sample held up to ``hold`` past the end (the numpy twin of
    ``hipimu._core.nlerp_grid``; the live grid's ``interpolate`` before the kernel)."""
    out = np.full((len(t), 4), np.nan)
    n = len(times)
    if n == 0:
        return out
    if n > 1:
        j1 = np.minimum(np.maximum(np.searchsorted(times, t), 1), n - 1)
        t0 = times[j1 - 1]
        span = times[j1] - t0
        ok = np.flatnonzero((t >= times[0]) & (t <= times[-1]) & (span <= max_gap))
        if len(ok):
            q0, q1 = q[j1[ok] - 1], q[j1[ok]]
            w = ((t[ok] - t0[ok]) / span[ok])[:, None]
            flip = np.einsum("ij,ij->i", q0, q1) < 0
            q1[flip] *= -1.0
            mix = q0 + w * (q1 - q0)
            out[ok] = mix / np.sqrt(np.einsum("ij,ij->i", mix, mix))[:, None]
    elif len(t):
        out[t == times[0]] = q[0]
    if hold > 0:
        out[(t > times[-1]) & (t - times[-1] <= hold)] = q[-1]
    return out
