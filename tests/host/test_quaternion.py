"""C quaternion kernels against their numpy references and analytic cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipimu.core import quaternion as Q
from hipimu.reference import quaternion as R

TOL = 1e-12


def random_quats(n: int, rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def near_flexion_90(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis and femur orientations whose hip flexion is within 1e-6 of +-90 deg."""
    pelvis = random_quats(n, rng)
    flex = np.where(rng.random(n) < 0.5, 1, -1) * (np.pi / 2 + rng.uniform(-1e-6, 1e-6, n))
    rel = Rotation.from_euler(
        "ZXY", np.column_stack([flex, rng.uniform(-0.5, 0.5, n), rng.uniform(-0.5, 0.5, n)])
    )
    femur = (Rotation.from_quat(pelvis, scalar_first=True) * rel).as_quat(scalar_first=True)
    return pelvis, femur


def test_multiply_conjugate_relative_match_reference(rng):
    a, b = random_quats(1000, rng), random_quats(1000, rng)
    np.testing.assert_allclose(Q.multiply(a, b), R.multiply(a, b), atol=TOL, rtol=0)
    np.testing.assert_allclose(Q.conjugate(a), R.conjugate(a), atol=TOL, rtol=0)
    np.testing.assert_allclose(Q.relative(a, b), R.relative(a, b), atol=TOL, rtol=0)
    # broadcasting one quaternion against many, both ways
    np.testing.assert_allclose(Q.multiply(a[0], b), R.multiply(a[:1], b), atol=TOL, rtol=0)
    np.testing.assert_allclose(Q.relative(a, b[0]), R.relative(a, b[:1]), atol=TOL, rtol=0)


def test_normalize_matches_reference_and_marks_zero_rows(rng):
    q = rng.normal(size=(100, 4)) * 7
    q[5] = 0.0
    q[9, 2] = np.inf
    got, ref = Q.normalize(q), R.normalize(q)
    np.testing.assert_allclose(got, ref, atol=TOL, rtol=0)
    assert np.isnan(got[5]).all() and np.isnan(got[9]).all()


def test_euler_and_hip_angles_match_reference_including_flexion_near_90(rng):
    p, f = random_quats(2000, rng), random_quats(2000, rng)
    p90, f90 = near_flexion_90(2000, rng)
    p, f = np.vstack([p, p90]), np.vstack([f, f90])
    for side, sign in (("right", 1.0), ("left", -1.0)):
        np.testing.assert_allclose(
            Q.hip_angles(p, f, side), R.hip_angles(p, f, sign), atol=TOL, rtol=0
        )
    np.testing.assert_allclose(Q.euler_zxy(f), R.euler_zxy(f), atol=TOL, rtol=0)
    # non-unit input: the kernels use 2/|q|^2, so scaling changes nothing
    np.testing.assert_allclose(Q.euler_zxy(3.0 * f), R.euler_zxy(f), atol=1e-11, rtol=0)


def test_euler_zxy_agrees_with_scipy(rng):
    q = random_quats(5000, rng)
    expected = Rotation.from_quat(q, scalar_first=True).as_euler("ZXY")
    np.testing.assert_allclose(Q.euler_zxy(q), expected, atol=1e-10)


def test_up_in_frame_matches_reference_and_scipy(rng):
    q = random_quats(3000, rng) * rng.uniform(0.5, 2.0, (3000, 1))  # not unit
    q[10] = 0.0
    q[11] = np.nan
    got = Q.up_in_frame(q)
    np.testing.assert_allclose(got, R.up_in_frame(q), atol=1e-14, rtol=0)
    assert np.isnan(got[10:12]).all()
    unit = random_quats(500, rng)
    want = Rotation.from_quat(unit, scalar_first=True).inv().apply([0.0, 0.0, 1.0])
    np.testing.assert_allclose(Q.up_in_frame(unit), want, atol=1e-12)


def test_euler_yxz_matches_reference_and_scipy_including_side_lying(rng):
    """The pelvis angles (Y-X-Z): random orientations and the side-lying pelvis, whose
    obliquity is within 1e-3 rad of +-90 deg (the decomposition's singular pose)."""
    q = random_quats(5000, rng)
    n = 2000
    tilt = np.where(rng.random(n) < 0.5, 1, -1) * (np.pi / 2 - rng.uniform(1e-3, 0.05, n))
    side = Rotation.from_euler(
        "YXZ", np.column_stack([rng.uniform(-3, 3, n), tilt, rng.uniform(-1, 1, n)])
    ).as_quat(scalar_first=True)
    q = np.vstack([q, side])
    np.testing.assert_allclose(Q.euler_yxz(q), R.euler_yxz(q), atol=TOL, rtol=0)
    expected = Rotation.from_quat(q, scalar_first=True).as_euler("YXZ")
    np.testing.assert_allclose(Q.euler_yxz(q), expected, atol=1e-9)
    np.testing.assert_allclose(Q.euler_yxz(2.0 * q), expected, atol=1e-9)


@pytest.mark.parametrize(
    ("axis", "index"),
    [("z", 0), ("x", 1), ("y", 2)],
)
def test_single_plane_rotations_give_the_named_angle(axis, index):
    angle = np.deg2rad(37.0)
    femur = Rotation.from_euler(axis, angle).as_quat(scalar_first=True)
    pelvis = np.array([1.0, 0, 0, 0])
    right = Q.hip_angles(pelvis, femur, "right")[0]
    left = Q.hip_angles(pelvis, femur, "left")[0]
    expected = np.zeros(3)
    expected[index] = angle
    np.testing.assert_allclose(right, expected, atol=1e-15)
    # the left side negates adduction and rotation, not flexion
    expected[1:] *= -1
    np.testing.assert_allclose(left, expected, atol=1e-15)


def test_hip_angles_do_not_depend_on_a_common_rotation(rng):
    """Turning the whole body (both segments) leaves the joint angles unchanged."""
    p, f = random_quats(100, rng), random_quats(100, rng)
    turn = random_quats(1, rng)
    a = Q.hip_angles(p, f, "right")
    b = Q.hip_angles(Q.multiply(turn, p), Q.multiply(turn, f), "right")
    np.testing.assert_allclose(a, b, atol=1e-9)


@pytest.mark.parametrize(
    ("bad", "message"),
    [(np.zeros((3, 3)), r"shape \(N, 4\)"), (np.zeros((2, 4, 1)), r"shape \(N, 4\)")],
)
def test_wrong_shapes_are_rejected_with_the_argument_name(bad, message):
    with pytest.raises(ValueError, match=message):
        Q.multiply(bad, np.zeros(4))


def test_row_counts_that_do_not_broadcast_are_rejected(rng):
    with pytest.raises(ValueError, match="do not broadcast"):
        Q.relative(random_quats(3, rng), random_quats(4, rng))


def test_c_kernel_validates_buffers_itself():
    from hipimu import _core

    with pytest.raises(TypeError, match="float64"):
        _core.quat_conjugate(np.zeros((2, 4), dtype=np.float32), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="out: expected 2 rows"):
        _core.quat_conjugate(np.zeros((2, 4)), np.zeros((3, 4)))
    with pytest.raises(TypeError, match="writable"):
        _core.quat_conjugate(np.zeros((2, 4)), b"\0" * 64)
    with pytest.raises(TypeError, match="C-contiguous"):
        _core.euler_zxy(np.zeros((4, 8))[:, ::2], np.zeros((4, 3)))
    with pytest.raises(ValueError, match="side_sign"):
        _core.hip_angles(np.zeros((1, 4)), np.zeros((1, 4)), 0.5, np.zeros((1, 3)))


def test_nlerp_grid_matches_reference_with_gaps_hold_and_hemispheres(rng):
    """The live grid's interpolation kernel against its numpy twin: a random walk with a
    gap, opposite-hemisphere neighbours, grid times before, inside, exactly on and after
    the samples (held or not); one sample and no sample at all. And against the analytic
    case: halfway between two rotations about one axis is the half angle."""
    walk = Rotation.from_rotvec(np.cumsum(rng.normal(0, 0.05, (300, 3)), axis=0))
    q = walk.as_quat(scalar_first=True)
    q[1::7] *= -1.0  # the same rotations from the other hemisphere
    times = np.cumsum(rng.uniform(0.008, 0.012, 300))
    times[150:] += 0.2  # a gap longer than max_gap
    t = np.sort(np.concatenate([rng.uniform(times[0] - 0.1, times[-1] + 0.2, 2000), times]))
    for hold in (0.0, 0.1):
        got = Q.nlerp_grid(times, q, t, 0.015, hold)
        want = R.nlerp_grid(times, q.copy(), t, 0.015, hold)
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0)
        assert np.array_equal(np.isnan(got), np.isnan(want))
    inside_gap = (t > times[149]) & (t < times[150])
    assert np.isnan(got[inside_gap]).all() and inside_gap.any()
    held = (t > times[-1]) & (t - times[-1] <= 0.1)
    assert held.any() and (got[held] == q[-1]).all()
    for n in (0, 1):
        for hold in (0.0, 0.05):
            want = R.nlerp_grid(times[:n], q[:n], times[:3], 0.015, hold)
            np.testing.assert_array_equal(
                Q.nlerp_grid(times[:n], q[:n], times[:3], 0.015, hold), want
            )
    about_z = Rotation.from_euler("z", [[0.0], [0.8]]).as_quat(scalar_first=True)
    mid = Q.nlerp_grid(np.array([0.0, 1.0]), about_z, np.array([0.5]), 2.0, 0.0)
    np.testing.assert_allclose(mid[0], Rotation.from_euler("z", 0.4).as_quat(scalar_first=True))
