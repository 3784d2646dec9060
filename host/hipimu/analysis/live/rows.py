"""The live grid's row layout, the nominal sensor placement and quaternion
interpolation onto grid times."""

from __future__ import annotations

import numpy as np

from hipimu.core import quaternion as quat

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
    ``hold`` seconds. One pass of the C kernel (:func:`hipimu.core.quaternion.nlerp_grid`;
    numpy twin :func:`hipimu.reference.quaternion.nlerp_grid`): a frame calls it for
    every sensor, twice.
    """
    return quat.nlerp_grid(times, q, t, max_gap, hold)
