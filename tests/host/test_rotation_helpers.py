"""The calibration's rotation helpers (numpy, so that offline analysis does not import
scipy.spatial) against scipy's Rotation."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from hipimu.body.calibration import frame_from_axes, mean_quat, quat_from_matrix


def test_quat_from_matrix_is_scipys_including_sign():
    rng = np.random.default_rng(3)
    rots = Rotation.random(3000, random_state=rng)
    # every branch: rotations by nearly 180 deg about each axis, and the identity
    extra = Rotation.from_rotvec(np.vstack([np.eye(3) * (np.pi - 1e-3), np.zeros((1, 3))]))
    for r in [*rots, *extra]:
        m = r.as_matrix()
        np.testing.assert_allclose(
            quat_from_matrix(m), Rotation.from_matrix(m).as_quat(scalar_first=True), atol=1e-15
        )


def test_frame_from_axes_is_orthonormal_and_right_handed():
    q = frame_from_axes(np.array([1.0, 0.2, 0.1]), np.array([0.1, 1.0, 0.0]))
    m = Rotation.from_quat(q, scalar_first=True).as_matrix()
    np.testing.assert_allclose(m[:, 1], np.array([0.1, 1.0, 0.0]) / np.hypot(0.1, 1.0), atol=1e-15)
    assert np.isclose(np.linalg.det(m), 1.0)


def test_mean_quat_is_scipys_mean_up_to_sign_with_w_non_negative():
    rng = np.random.default_rng(4)
    for _ in range(300):
        centre = Rotation.random(random_state=rng)
        q = (centre * Rotation.from_rotvec(rng.normal(0, 0.2, (40, 3)))).as_quat(scalar_first=True)
        q[rng.random(40) < 0.5] *= -1  # either hemisphere
        ours = mean_quat(q)
        theirs = Rotation.from_quat(q, scalar_first=True).mean().as_quat(scalar_first=True)
        assert ours[0] >= 0
        np.testing.assert_allclose(ours, np.sign(theirs[0]) * theirs, atol=1e-12)
        # and near the centre it draws from
        assert (Rotation.from_quat(ours, scalar_first=True) * centre.inv()).magnitude() < 0.2


def test_pelvis_angles_are_scipys_yxz_and_nan_in_gaps():
    from hipimu.body.kinematics import pelvis_angles

    rng = np.random.default_rng(5)
    room = Rotation.random(random_state=rng).as_quat(scalar_first=True)
    q = Rotation.random(200, random_state=rng).as_quat(scalar_first=True)
    q[50:60] = np.nan  # a sensor gap
    got = pelvis_angles(q, room)
    assert np.isnan(got[50:60]).all() and np.isfinite(np.delete(got, range(50, 60), 0)).all()
    rel = Rotation.from_quat(room, scalar_first=True).inv() * Rotation.from_quat(
        np.delete(q, range(50, 60), 0), scalar_first=True
    )
    np.testing.assert_allclose(np.delete(got, range(50, 60), 0), rel.as_euler("YXZ"), atol=1e-9)
