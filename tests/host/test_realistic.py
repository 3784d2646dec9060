"""Raw-IMU sessions with real errors: host fusion, heading alignment, drift correction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipimu.analysis import pipeline
from hipimu.analysis.validation import hip_errors
from hipimu.body.heading import DriftReport, align_headings, standing_phases, yaw_quat
from hipimu.core import quaternion as quat
from hipimu.simulate.imu import ImuErrors
from hipimu.simulate.realistic import Realism, simulate_realistic_session
from hipimu.stream.assembler import AlignedSamples


@pytest.fixture(scope="module")
def one_round():
    return simulate_realistic_session(1, seed=3)


def test_raw_imu_integrates_back_to_the_true_orientation():
    """The simulator's gyroscope and accelerometer agree with its own truth."""
    sim = simulate_realistic_session(1, seed=1, realism=Realism(ImuErrors.none(), 30.0, (0, 0, 0)))
    result = pipeline.analyse(sim.notifications, sim.markers)
    for role, tl in result.timelines.items():
        n = len(tl.quat)
        err = quat.multiply(tl.quat, quat.conjugate(sim.samples[role]["q_gs"][:n]))
        inclination = 2 * np.arccos(np.clip(np.hypot(err[:, 0], err[:, 3]), 0, 1))
        assert np.rad2deg(np.percentile(inclination, 99)) < 1.0, role
    for side, rmse in hip_errors(result.kinematics, sim.truth).items():
        assert np.all(np.rad2deg(rmse) < 0.5), (side, np.rad2deg(rmse))


def test_realistic_round_stays_within_the_targets(one_round):
    result = pipeline.analyse(one_round.notifications, one_round.markers)
    assert sorted(result.fused) == ["femur_l", "femur_r", "pelvis"]
    assert set(result.heading_offsets) == {"femur_r", "femur_l"}
    assert len(result.drift.phases) >= 3
    for side, rmse in hip_errors(result.kinematics, one_round.truth).items():
        deg = np.rad2deg(rmse)
        # margin over the 10-minute targets (1, 1, 2 deg): one round, one seed
        assert np.all(deg < [2.0, 1.5, 2.5]), (side, deg)


def test_drift_correction_reduces_the_error_of_a_biased_gyroscope(monkeypatch):
    errors = ImuErrors(gyro_bias_walk_dps=0.1, wobble_gain_s2=0.0)  # 10x typical
    sim = simulate_realistic_session(2, seed=5, realism=Realism(errors, 20.0, (0, 0, 0)))
    corrected = pipeline.analyse(sim.notifications, sim.markers)
    monkeypatch.setattr(pipeline, "correct_drift", lambda aligned, cal, **_: DriftReport())
    uncorrected = pipeline.analyse(sim.notifications, sim.markers)
    with_fix = hip_errors(corrected.kinematics, sim.truth)
    without = hip_errors(uncorrected.kinematics, sim.truth)
    assert corrected.drift.max_drift_deg > 1.0
    for side in ("right", "left"):
        assert with_fix[side][2] < without[side][2], side


def test_align_headings_removes_a_known_offset():
    rng = np.random.default_rng(0)
    q = Rotation.random(200, random_state=1).as_quat(scalar_first=True)
    q[:50] = q[0]  # aligned and still in the case
    offset = np.deg2rad(37.0)
    aligned = AlignedSamples(
        np.arange(200) / 100.0,
        {"pelvis": q.copy(), "femur_r": quat.multiply(yaw_quat(np.array([offset])), q)},
        {"pelvis": np.ones(200, bool), "femur_r": np.ones(200, bool)},
        100.0,
    )
    removed = align_headings(aligned, (0.0, 0.45))
    assert removed["femur_r"] == pytest.approx(-offset)
    np.testing.assert_allclose(np.abs(np.sum(aligned.quat["femur_r"] * q, axis=1)), 1.0, atol=1e-12)
    assert rng is not None


def test_standing_phases_are_the_protocols_standing_blocks(demo_session):
    result = pipeline.analyse(demo_session.notifications, demo_session.markers)
    phases = standing_phases(result.aligned, result.calibration)
    standing = [m for m in demo_session.markers if m["exercise"] == "standing"]
    for m in standing:
        covered = max(min(t1, m["end"]) - max(t0, m["start"]) for t0, t1 in phases)
        assert covered >= 0.8 * (m["end"] - m["start"]), m


def test_functional_femur_axis_recovers_thighs_turned_while_standing():
    """The client stands with the thighs turned (up to 6 deg) but moves from neutral: the
    standing pose alone reports that turn as rotation error, flexion swings remove it."""
    from hipimu.simulate.motion import Client, Protocol

    base = Protocol(Client(march_adduction_deg=0.0, march_rotation_deg=0.0))
    realism = Realism(ImuErrors.none(), 30.0, (0, 0, 6), offset_standing_only=True)
    sim = simulate_realistic_session(1, seed=2, realism=realism, base=base)
    standing = pipeline.analyse(sim.notifications, sim.markers)
    functional = pipeline.analyse(sim.notifications, sim.markers, femur_axis="functional")
    before = hip_errors(standing.kinematics, sim.truth)
    after = hip_errors(functional.kinematics, sim.truth)
    for side in ("right", "left"):
        assert np.rad2deg(before[side][2]) > 1.5
        assert np.all(np.rad2deg(after[side]) < 0.5), (side, np.rad2deg(after[side]))
    axes = functional.calibration.quality.femur_axes
    assert all(1.0 < axes[r]["change_from_standing_deg"] < 6.5 for r in ("femur_r", "femur_l"))


def test_fit_drift_separates_drift_from_stance():
    """Drift plus a stance that differs from phase to phase (uniform +-2 deg): the line
    through all phases estimates the drift with the least-squares slope's error,
    sigma * T / sqrt(Sxx), and better than a curve pinned to the first phase."""
    from hipimu.body.heading import drift_curve, fit_drift

    rng = np.random.default_rng(7)
    times = np.linspace(10.0, 600.0, 11)
    t_end = np.array([times[-1]])
    true_end = np.deg2rad(3.0)  # 3 deg of drift over the session, zero at the first phase
    sigma = np.deg2rad(2.0) / np.sqrt(3.0)
    fitted, pinned = [], []
    for _ in range(400):
        stance = rng.uniform(-1, 1, len(times)) * np.deg2rad(2.0)
        rot = true_end * (times - times[0]) / (times[-1] - times[0]) + stance
        fitted.append(fit_drift(t_end, times, rot)[0] - true_end)
        pinned.append(drift_curve(t_end, times, rot - rot[0])[0] - true_end)
    expected = sigma * (times[-1] - times[0]) / np.sqrt(np.sum((times - times.mean()) ** 2))
    rms = np.sqrt(np.mean(np.square(fitted)))
    assert abs(np.mean(fitted)) < 0.2 * expected  # unbiased
    assert 0.85 * expected < rms < 1.15 * expected
    assert rms < 0.95 * np.sqrt(np.mean(np.square(pinned)))
    assert fit_drift(np.array([0.0, 5.0]), times[:1], np.zeros(1)).tolist() == [0.0, 0.0]


def test_mean_stance_replaces_the_first_pose_as_zero(monkeypatch):
    """Perfect sensors, a client whose neutral is off by up to (1, 1, 2) deg, differently in
    every round: the calibration pose's own offset is an error of every later angle; the
    mean over the standing phases shrinks it, by the shift the truth predicts."""
    from hipimu.body.heading import correct_drift

    realism = Realism(replace_errors(wobble=0.0), 30.0, (1.0, 1.0, 2.0))
    sim = simulate_realistic_session(4, seed=11, realism=realism)
    rezeroed = pipeline.analyse(sim.notifications, sim.markers)
    monkeypatch.setattr(
        pipeline, "correct_drift", lambda a, c, **_: correct_drift(a, c, mean_stance=False)
    )
    first_pose = pipeline.analyse(sim.notifications, sim.markers)
    phases = rezeroed.drift.phases
    for side, role in (("right", "femur_r"), ("left", "femur_l")):
        true = getattr(sim.truth, f"hip_{side}")
        at = [
            np.mean(true[(sim.truth.time >= a) & (sim.truth.time <= b)], axis=0) for a, b in phases
        ]
        expected = np.rad2deg(np.mean(at, axis=0) - at[0])
        shift = np.array(rezeroed.drift.stance_shift_deg[role])
        np.testing.assert_allclose(shift[:2], expected[:2], atol=0.25)
        before = np.rad2deg(hip_errors(first_pose.kinematics, sim.truth)[side])
        after = np.rad2deg(hip_errors(rezeroed.kinematics, sim.truth)[side])
        assert np.sum(after[:2] ** 2) < np.sum(before[:2] ** 2), (side, before, after)


def replace_errors(wobble: float) -> ImuErrors:
    return ImuErrors(0.0, 0.0, 0.0, 0.0, 0.0, wobble)
