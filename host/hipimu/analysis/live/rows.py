"""The live grid's row layout, the nominal sensor placement and quaternion
interpolation onto grid times."""

from __future__ import annotations

import numpy as np

SIDES = (("right", "femur_r"), ("left", "femur_l"))

# Nominal placement (docs/frames.md, hardware/placement.md): sensor axes in segment
# coordinates, columns sensor x, y, z; q_SB is the inverse rotation.
_NOMINAL_AXES = {
    "pelvis": [[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]],
    "femur_r": [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
    "femur_l": [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]],
}


def nominal_mounts() -> dict[str, np.ndarray]:
    """``q_SB`` of each role if the sensors sit exactly as hardware/placement.md says."""
    from scipy.spatial.transform import Rotation

    return {
        role: Rotation.from_matrix(np.array(m)).inv().as_quat(scalar_first=True)
        for role, m in _NOMINAL_AXES.items()
    }


# Columns of a grid row.
T = 0
HIP_R = slice(1, 4)
HIP_L = slice(4, 7)
PELVIS = slice(7, 10)  # rotation, obliquity, tilt relative to the room
ROW_WIDTH = 10


def interpolate(
    times: np.ndarray, q: np.ndarray, t: np.ndarray, max_gap: float, hold: float
) -> np.ndarray:
    """Normalised linear interpolation of quaternions ``q`` at ``t``; NaN across gaps.

    ``times`` increase strictly. Beyond the last sample the last one is held for up to
    ``hold`` seconds.
    """
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
