"""The live pipeline with raw sensors (gyroscope and accelerometer, fused on the host):
angles against the simulator's truth, repetitions against hipimu.scoring, the case step."""

from __future__ import annotations

import numpy as np
import pytest

from hipimu.analysis.live.pipeline import HIP_L, HIP_R, LivePipeline, T
from hipimu.analysis.live.reps import exercise_catalog
from hipimu.analysis.pipeline import analyse
from hipimu.body.heading import yaw_quat
from hipimu.scoring.catalog import exercise as catalog_exercise
from hipimu.scoring.reps import score_set
from hipimu.simulate.realistic import simulate_realistic_session


@pytest.fixture(scope="module")
def sim():
    return simulate_realistic_session(1, seed=3)


@pytest.fixture(scope="module")
def offline(sim):
    return analyse(sim.notifications, sim.markers)


def run_live(notes, pipe, *, update_every=3, on_rows=None):
    """Feed notifications one at a time, updating as the view would."""
    for i, note in enumerate(notes):
        pipe.feed(note)
        if i % update_every == 0:
            pipe.update()
            if on_rows:
                on_rows(pipe)
    pipe.update()
    return pipe


def rmse_deg(sim, rows, cols, side, after):
    tr = sim.truth.hip_right if side == "right" else sim.truth.hip_left
    sel = rows[:, T] > after
    truth = np.column_stack([np.interp(rows[sel, T], sim.truth.time, tr[:, j]) for j in range(3)])
    err = rows[sel][:, cols] - truth
    ok = np.isfinite(err).all(axis=1)
    assert ok.mean() > 0.95
    return np.rad2deg(np.sqrt(np.mean(err[ok] ** 2, axis=0)))


@pytest.fixture(scope="module")
def followed(sim):
    """The session as ``hipimu live --simulate-raw`` runs it: markers calibrate and plan."""
    pipe = LivePipeline()
    assert pipe.calibrate_from_markers(sim.markers)
    assert pipe.follow(sim.markers, exercise_catalog()) == 3
    return run_live(sim.notifications, pipe)


def test_raw_session_angles_within_2_deg_of_the_truth(sim, offline, followed):
    pipe = followed
    assert pipe.cal.phase == "done", pipe.cal.message
    assert not pipe.problems and pipe.stats.raw == pipe.stats.notes
    assert set(pipe.heading_offsets) == {"femur_r", "femur_l"}
    for role, angle in offline.heading_offsets.items():
        assert pipe.heading_offsets[role] == pytest.approx(angle, abs=np.deg2rad(0.1))
    standing = next(m for m in sim.markers if m["exercise"] == "standing")
    rows = pipe.rows.view()
    for side, cols in (("right", HIP_R), ("left", HIP_L)):
        err = rmse_deg(sim, rows, cols, side, standing["end"])
        assert (err < 2.0).all(), (side, err)


def test_raw_session_repetitions_equal_the_scoring_module(sim, offline, followed):
    assert len(followed.sets) == 3
    for result in followed.sets:
        marker = next(
            m for m in sim.markers if m["exercise"] == result.exercise and m["side"] == result.side
        )
        for side, count in result.reps.items():
            score = score_set(
                offline.kinematics,
                catalog_exercise(result.exercise),
                side,
                marker["start"],
                marker["end"],
            )
            expected = len([r for r in score.reps if r.complete])
            assert count == expected, (result.exercise, side, count, expected)
            assert count == 10  # the protocol's repetitions


def test_guided_case_step_aligns_a_turned_sensor(sim):
    """A femur sensor whose earth frame is turned by 40 deg: the case step finds the turn,
    the trainer straps the sensors on and calibrates, and the angles are right."""
    pipe = LivePipeline()
    femur_r = next(n.sensor for n in sim.notifications if n.payload[1] == 1)
    steps = []

    def guide(p):
        s = p.sensors.get(femur_r)
        if s is not None and s.earth is None:
            s.earth = yaw_quat(np.array([np.deg2rad(40.0)]))[0]  # the turn to find
        if p.rows is None or not len(p.rows):
            return
        now = p.rows.view()[-1, T]
        if not steps and now >= 0.5:
            p.start_heading_alignment(case_s=2.0)
            steps.append(p.cal.phase)
        elif len(steps) == 1 and p.cal.phase == "strap":
            steps.append("strap")
        elif len(steps) == 2 and now >= 8.1:
            p.continue_calibration(stand_s=4.5, march_s=0.0)
            steps.append(p.cal.phase)

    run_live(sim.notifications, pipe, on_rows=guide)
    assert steps == ["case", "strap", "stand"]
    assert pipe.cal.phase == "done", pipe.cal.message
    assert np.rad2deg(pipe.heading_offsets["femur_r"]) == pytest.approx(-40.0, abs=1.0)
    rows = pipe.rows.view()
    for side, cols in (("right", HIP_R), ("left", HIP_L)):
        err = rmse_deg(sim, rows, cols, side, 13.0)
        assert (err < 2.0).all(), (side, err)


def test_case_step_fails_when_the_sensors_move(sim):
    march = next(m for m in sim.markers if m["exercise"] == "marching")
    pipe = LivePipeline()
    started = []

    def trigger(p):
        if not started and p.rows is not None and p.rows.view()[-1, T] >= march["start"] + 1:
            p.start_heading_alignment(case_s=2.0)
            started.append(True)

    notes = [n for n in sim.notifications if n.host_time < march["start"] + 5]
    run_live(notes, pipe, update_every=5, on_rows=trigger)
    assert pipe.cal.phase == "failed"
    assert "still in the case" in pipe.cal.message
    assert not pipe.heading_offsets


def test_a_long_gap_is_not_integrated_over(sim):
    """Ten seconds without the left thigh's packets: its filter does not integrate the
    first rate after the gap over ten seconds, and the hip comes back."""
    femur_l = next(n.sensor for n in sim.notifications if n.payload[1] == 2)
    notes = [n for n in sim.notifications if not (n.sensor == femur_l and 30 < n.host_time < 40)]
    pipe = LivePipeline()
    pipe.calibrate_from_markers(sim.markers)
    run_live(notes, pipe)
    rows = pipe.rows.view()
    gap = (rows[:, T] > 30.6) & (rows[:, T] < 39.9)
    assert np.isnan(rows[gap][:, HIP_L]).all() and np.isfinite(rows[gap][:, HIP_R]).all()
    err = rmse_deg(sim, rows[rows[:, T] > 45], HIP_L, "left", 45)
    assert (err < 3.0).all(), err


def test_view_guides_the_case_step_with_raw_sensors(sim):
    """Offscreen Qt: raw sensors show as live (not unsupported), and Calibrate starts with
    the case step, then waits for the sensors to be strapped on."""
    pytest.importorskip("pyqtgraph", reason="the live view needs the 'live' extra")
    pytest.importorskip("PySide6", reason="the live view needs the 'live' extra")
    from pyqtgraph.Qt import QtWidgets

    from hipimu.app.live.view import LiveWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = LiveWindow(LivePipeline(), source_name="simulated")
    window.case_s = 2.0  # the simulated sensors leave the case at 3 s
    notes = [n for n in sim.notifications if n.host_time < 5.0]
    try:
        for lo in np.arange(0.0, 5.0, 0.25):
            window.ingest([(n.host_time, n) for n in notes if lo <= n.host_time < lo + 0.25])
            window.step()
            if lo == 0.5:
                window.cal_button.click()
                assert window.pipeline.cal.phase == "case"
                assert "case" in window.cal_label.text()
        app.processEvents()
        window._refresh_panel()
        assert window.pipeline.cal.phase == "strap", window.pipeline.cal.message
        assert window.cal_finish.isVisible() or not window.isVisible()
        assert window.cal_finish.text().startswith("Sensors on")
        assert window.status.currentMessage().startswith("simulated ·")  # no problem shown
        links = [window.sensor_table.item(i, 1).text() for i in range(3)]
        assert links == ["● live"] * 3
        window.cal_finish.click()
        assert window.pipeline.cal.phase == "stand"
    finally:
        window.close()


def test_live_drift_correction_at_standing_phases():
    """A drifting gyroscope: each standing phase measures the femur sensors' heading drift
    as hipimu.body.heading.correct_drift does offline, and the correction lowers the error."""
    from hipimu.simulate.imu import ImuErrors
    from hipimu.simulate.realistic import Realism

    errors = ImuErrors(gyro_bias_walk_dps=0.3, wobble_gain_s2=0.0)  # 30x typical
    drifting = simulate_realistic_session(1, seed=5, realism=Realism(errors, 20.0, (0, 0, 0)))
    offline = analyse(drifting.notifications, drifting.markers)
    rmse = {}
    for corrected in (True, False):
        pipe = LivePipeline()
        pipe.drift_correction = corrected
        pipe.calibrate_from_markers(drifting.markers)
        run_live(drifting.notifications, pipe)
        rows = pipe.rows.view()
        rmse[corrected] = {
            side: rmse_deg(drifting, rows, cols, side, 13.0)
            for side, cols in (("right", HIP_R), ("left", HIP_L))
        }
        if corrected:
            assert len(pipe.drift.phases) >= 2
            for role, drifts in pipe.drift.drift.items():
                # offline: the calibration's phase first, then the same standing phases
                expected = offline.drift.drift_deg[role][1 : 1 + len(drifts)]
                np.testing.assert_allclose(np.rad2deg(drifts), expected, atol=0.5)
    assert max(abs(v) for vs in offline.drift.drift_deg.values() for v in vs) > 1.0
    # where a sensor drifted the correction lowers the rotation error a lot, elsewhere it
    # costs at most the client's stance variability
    for side in ("right", "left"):
        assert rmse[True][side][2] < rmse[False][side][2] + 0.1, (side, rmse)
    assert min(rmse[True][s][2] - rmse[False][s][2] for s in ("right", "left")) < -1.0, rmse


def test_live_command_simulates_raw_sensors(tmp_path, capsys):
    pytest.importorskip("pyqtgraph", reason="the live view needs the 'live' extra")
    pytest.importorskip("PySide6", reason="the live view needs the 'live' extra")
    from hipimu.app.cli import main

    shot = tmp_path / "raw.png"
    args = ["live", "--simulate-raw", "--speed", "10", "--duration", "2.5"]
    assert main([*args, "--screenshot", str(shot)]) == 0
    assert shot.stat().st_size > 10_000
    assert "screenshot saved" in capsys.readouterr().out
