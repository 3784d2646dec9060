"""The whole path on the simulator: angles against its truth, injected asymmetry found."""

from __future__ import annotations

import numpy as np
import pytest

from hipimu.analysis.pipeline import analyse
from hipimu.analysis.validation import hip_errors
from hipimu.body.calibration import CalibrationError, calibrate
from hipimu.simulate import Client, Protocol, simulate_session
from hipimu.stream.assembler import SessionAssembler, resample

# Realistic bounds (the default simulation): the targets, flexion and adduction
# RMSE <= 1.5 deg, rotation <= 2.5 deg without soft tissue, measured from the client's
# stance; the default carries the thigh's soft-tissue twist, which takes rotation to
# about 2.1 deg on average and 3.1 at worst over 20 seeds (benchmarks/
# realistic_accuracy.py, seeds 200-204 and 215-229, docs/validation.md), hence 3.5 there.
REALISTIC_RMSE_DEG = np.array([1.5, 1.5, 3.5])


@pytest.fixture(scope="module")
def analysis(demo_session):
    return analyse(demo_session.notifications, demo_session.markers)


def test_realistic_angles_match_truth_within_the_targets(analysis, demo_session):
    truth = demo_session.truth
    for side, rmse in hip_errors(analysis.kinematics, truth, from_stance=True).items():
        assert np.all(np.rad2deg(rmse) < REALISTIC_RMSE_DEG), (side, np.rad2deg(rmse))
    # against the anatomical angles the client's own stance adds its offset (the pipeline
    # takes standing as zero): the error is at least that offset, and not much more
    stance = np.rad2deg(np.abs(truth.stance))
    for k, (side, rmse) in enumerate(hip_errors(analysis.kinematics, truth).items()):
        rmse = np.rad2deg(rmse)
        assert np.all(rmse > stance[k] - 0.3), (side, rmse, stance[k])
        assert np.all(rmse < stance[k] + REALISTIC_RMSE_DEG), (side, rmse, stance[k])


@pytest.mark.parametrize("seed", [1, 2])
def test_noise_free_mounting_offsets_are_calibrated_away_within_half_a_degree(seed):
    """Noise-free (seed 0 too: `hipimu demo --ideal`, tests/host/test_cli.py)."""
    # exact: nothing but the mounting; 4 repetitions a set are enough to calibrate
    sim = simulate_session(Protocol(reps=4), seed=seed, ideal=True)
    result = analyse(sim.notifications, sim.markers)
    for side, rmse in hip_errors(result.kinematics, sim.truth).items():
        assert np.all(np.rad2deg(rmse) < 0.5), (seed, side, np.rad2deg(rmse))
    assert result.calibration.quality.heading_source == "functional"


def true_range(sim, exercise: str, side: str, plane: int) -> float:
    """The truth's range (0.5-99.5th percentile, as scoring.rom) over the exercise's
    blocks, the largest of them (as compare_sides), radians."""
    out = []
    true = sim.truth.hip_from_stance(side)[:, plane]
    for m in sim.markers:
        if m["exercise"] == exercise:
            inside = (sim.truth.time >= m["start"]) & (sim.truth.time < m["end"])
            out.append(np.ptp(np.percentile(true[inside], [0.5, 99.5])))
    return max(out)


def test_injected_asymmetry_is_reported(analysis, demo_session):
    primary = {s.exercise: s for s in analysis.sides if s.primary}
    assert set(primary) == {"side_lying_leg_lift", "marching"}
    for s in primary.values():
        assert s.left_percent_of_right == pytest.approx(70.0, abs=3.0)
    # and the ranges themselves match the truth's (the prescription, 35 and 65 deg, plus
    # the client's sway); 1 deg: a range is two percentiles, each off by up to the
    # adduction RMSE (<= 1 deg in the benchmark, docs/validation.md), mostly cancelling
    for key, plane in (("side_lying_leg_lift", 1), ("marching", 0)):
        true = np.rad2deg(true_range(demo_session, key, "right", plane))
        assert np.rad2deg(primary[key].right) == pytest.approx(true, abs=1.0), key
    assert np.rad2deg(primary["marching"].right) == pytest.approx(65.0, abs=3.0)


def test_symmetric_client_shows_no_asymmetry():
    sim = simulate_session(Protocol(Client.symmetric(), reps=4), seed=4)
    result = analyse(sim.notifications, sim.markers)
    for s in result.sides:
        if s.primary:
            assert s.left_percent_of_right == pytest.approx(100.0, abs=3.0)


def test_pelvis_hike_shows_during_left_repetitions_only(analysis, demo_session):
    kin = analysis.kinematics
    oblique = {}
    for m in demo_session.markers:
        if m["exercise"] == "side_lying_leg_lift":
            inside = (kin.time >= m["start"]) & (kin.time < m["end"])
            # relative to the block's own start: lying down adds a constant 90 deg
            q = kin.segments["pelvis"][inside]
            from hipimu.body.kinematics import pelvis_angles

            oblique[m["side"]] = np.ptp(np.rad2deg(pelvis_angles(q, q[0])[:, 1]))
            truth = demo_session.truth
            inside = (truth.time >= m["start"]) & (truth.time < m["end"])
            oblique[m["side"] + " truth"] = np.ptp(np.rad2deg(truth.pelvis[inside, 1]))
    # the injected 5 deg hike on the left, plus the pelvis's sway (0.25 deg RMS) in both
    assert oblique["left truth"] == pytest.approx(5.0, abs=1.5)
    assert oblique["left"] == pytest.approx(oblique["left truth"], abs=0.5)
    assert oblique["right"] == pytest.approx(oblique["right truth"], abs=0.5)
    assert oblique["right"] < oblique["left"] - 3.0


def test_no_standing_pose_is_a_clear_calibration_error(demo_session):
    late = [n for n in demo_session.notifications if 9.0 < n.host_time < 30.0]
    asm = SessionAssembler()
    asm.extend(late)
    aligned = resample(asm.timelines())
    with pytest.raises(CalibrationError, match="stand still"):
        calibrate(aligned)


def test_without_flexion_heading_falls_back_on_placement_with_a_warning(demo_session):
    early = [n for n in demo_session.notifications if n.host_time < 40.0]
    asm = SessionAssembler()
    asm.extend(early)
    cal = calibrate(resample(asm.timelines()))
    assert cal.quality.heading_source == "placement"
    assert any("march" in w for w in cal.quality.warnings)


def test_calibration_round_trips_through_json(analysis):
    from hipimu.body.calibration import Calibration

    again = Calibration.from_json(analysis.calibration.to_json())
    for role, q in analysis.calibration.mounts.items():
        np.testing.assert_allclose(again.mounts[role], q)
    assert again.quality == analysis.calibration.quality


def test_lossy_link_still_calibrates_and_measures():
    """2 % of notifications lost: short gaps in the standing pose are bridged."""
    from hipimu.simulate.sensors import LinkModel

    sim = simulate_session(Protocol(reps=4), seed=4, link=LinkModel(loss=0.02))
    result = analyse(sim.notifications, sim.markers)
    assert any(tl.lost_packets for tl in result.timelines.values())
    for side, rmse in hip_errors(result.kinematics, sim.truth, from_stance=True).items():
        assert np.all(np.rad2deg(rmse) < REALISTIC_RMSE_DEG), (side, np.rad2deg(rmse))


def test_set_detection_peak_flanks_match_a_per_sample_walk():
    """Set detection finds where a movement peak left and regained rest by searching in
    chunks (analysis.sets._walk); it must give what a per-sample walk from the peak gives,
    ends included, on random signals and levels."""
    from hipimu.analysis.sets import _walk

    def walk(e: np.ndarray, i: int, level: float, step: int) -> int:
        if step < 0:
            while i > 0 and e[i] > level:
                i -= 1
        else:
            while i < len(e) - 1 and e[i] > level:
                i += 1
        return i

    rng = np.random.default_rng(7)
    for _ in range(2000):
        n = int(rng.integers(1, 3000))
        e = np.abs(np.cumsum(rng.standard_normal(n)))
        i = int(rng.integers(0, n))
        for level in (0.2 * e[i], 0.9 * e[i], 2.0 * e[i], -1.0):
            for step in (-1, 1):
                assert _walk(e, i, level, step) == walk(e, i, level, step), (n, i, level, step)
