"""The live view's real widgets, offscreen: it follows a replayed session, shows the
scoring module's repetition counts, records, and saves a screenshot."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

pytest.importorskip("pyqtgraph", reason="the live view needs the 'live' extra (pyqtgraph)")
pytest.importorskip("PySide6", reason="the live view needs the 'live' extra (PySide6)")

from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from hipimu.analysis.live.pipeline import HIP_L, LivePipeline, T
from hipimu.analysis.pipeline import analyse
from hipimu.app.cli import main
from hipimu.app.live.bridge import SourceThread
from hipimu.app.live.traces import DISPLAY_STEP, THIN_PX, thin
from hipimu.app.live.view import LEFT_COLOR, RIGHT_COLOR, LiveWindow
from hipimu.core.types import Notification
from hipimu.scoring.catalog import exercise as catalog_exercise
from hipimu.scoring.reps import score_set
from hipimu.simulate import Protocol, simulate_session
from hipimu.sources.replay import ReplaySource
from hipimu.store.log import read_log
from hipimu.store.session_dir import write_session


@pytest.fixture(scope="module")
def app():
    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    sim = simulate_session(Protocol(reps=4), seed=11)
    directory = tmp_path_factory.mktemp("session")
    write_session(directory, sim.notifications, sim.markers, {"source": "simulated"})
    return sim, directory


@pytest.fixture(scope="module")
def offline(session):
    sim, _ = session
    return analyse(sim.notifications, sim.markers)


def scoring_count(offline, exercise, side, start, end):
    """Complete repetitions hipimu.scoring finds in the same window."""
    score = score_set(offline.kinematics, catalog_exercise(exercise), side, start, end)
    return len([r for r in score.reps if r.complete])


def run_view(app, window, feed, until=None):
    """Drive the view's frames until the source is drained (or ``until()`` holds)."""
    window.show()
    feed.start()
    while not feed.done and not (until and until()):
        window.step()
        app.processEvents()
    window.step()
    app.processEvents()


def calibrate_on_first_rows(window):
    """What ``hipimu live --replay`` does: stand-only calibration on the first seconds."""
    pipe = window.pipeline
    if pipe.cal.phase == "idle" and pipe.rows is not None and len(pipe.rows):
        window.start_calibration(stand_s=4.5, march_s=0.0, start=pipe.rows.view()[0, 0])
        assert pipe.cal.phase == "stand"
        assert "Stand still" in window.cal_label.text()
    return False


def colour_pixels(image: QtGui.QImage, colour: str, tol: int = 40) -> int:
    target = QtGui.QColor(colour)
    step = 2
    count = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            c = image.pixelColor(x, y)
            if (
                abs(c.red() - target.red()) < tol
                and abs(c.green() - target.green()) < tol
                and abs(c.blue() - target.blue()) < tol
            ):
                count += 1
    return count


def test_view_follows_a_replayed_session_and_counts_like_scoring(app, session, offline, tmp_path):
    sim, directory = session
    source = ReplaySource(directory, speed=float("inf"))
    feed = SourceThread(source, capacity=256, overflow="wait")
    window = LiveWindow(LivePipeline(), feed, source_name="replay", markers=source.markers)
    run_view(app, window, feed, until=lambda: calibrate_on_first_rows(window))
    pipe = window.pipeline
    assert pipe.cal.phase == "done", pipe.cal.message
    assert feed.dropped == 0 and pipe.stats.notes == len(sim.notifications)

    assert [(s.exercise, s.side) for s in pipe.sets] == [
        (m["exercise"], m["side"]) for m in sim.markers if m["side"]
    ]
    for result in pipe.sets:
        for side, count in result.reps.items():
            expected = scoring_count(offline, result.exercise, side, result.start, result.end)
            assert count == expected == 4, (result.exercise, side)
    # what the counters show: the last set (marching, both sides)
    window._refresh_panel()
    assert window.rep_counts() == pipe.sets[-1].reps == {"right": 4, "left": 4}
    # the client's left side moves 70 % of the right: the range panel says so
    share = re.search(r"left (\d+)% of right", window.panel.symmetry_label.text())
    assert share and 60 <= int(share.group(1)) <= 80, window.panel.symmetry_label.text()

    path = window.screenshot(tmp_path / "live.png")
    image = QtGui.QImage(str(path))
    assert path.stat().st_size > 20_000
    assert image.width() >= 1000 and image.height() >= 700
    assert colour_pixels(image, RIGHT_COLOR) > 200  # the right trace, counter and bar
    assert colour_pixels(image, LEFT_COLOR) > 200
    window.close()


def test_replay_of_a_session_without_markers_follows_the_sets_found(
    app, session, offline, tmp_path, monkeypatch, capsys
):
    """`hipimu record` and `import` write no set markers: `live --replay` then starts and
    ends the sets `report` finds in the signals, and counts their repetitions."""
    from hipimu.app.live import view

    sim, _ = session
    directory = tmp_path / "unmarked"
    write_session(directory, sim.notifications, [], {"source": "simulated"})
    windows = []
    monkeypatch.setattr(view.LiveWindow, "show", lambda self: windows.append(self))
    shot = tmp_path / "shot.png"
    argv = ["live", "--replay", str(directory), "--speed", "200", "--screenshot", str(shot)]
    assert main(argv) == 0
    marked = [(m["exercise"], m["side"]) for m in sim.markers if m["side"]]
    assert f"following the {len(marked)} sets found in its signals" in capsys.readouterr().err
    pipe = windows[0].pipeline
    assert [(s.exercise, s.side) for s in pipe.sets] == marked
    for result in pipe.sets:
        for side, count in result.reps.items():
            expected = scoring_count(offline, result.exercise, side, result.start, result.end)
            assert count == expected == 4, (result.exercise, side)


def test_replay_of_an_imported_recording_calibrates_like_report(
    app, shared_data, tmp_path, monkeypatch, capsys
):
    """Other systems' sensors are not placed as hardware/placement.md says: the live
    replay of the imported OpenSense trial takes the session's offline calibration
    (heading from the hip movements) instead of the placement, so the right hip flexes
    to about 57 deg as with `hipimu angles`, not to -55 deg."""
    from hipimu.app.live import view

    files = shared_data / "opensense"
    out = tmp_path / "swing"
    trial = files / "MT_012005D6_009-quaternions_RHJCSwinger.sto"
    static = files / "MT_012005D6_009-quaternions_calibration_trial_Facing_X.sto"
    assert main(["import", str(trial), "--standing", str(static), "--out", str(out)]) == 0
    windows = []
    monkeypatch.setattr(view.LiveWindow, "show", lambda self: windows.append(self))
    argv = ["live", "--replay", str(out), "--speed", "100", "--screenshot", str(tmp_path / "s.png")]
    assert main(argv) == 0
    pipe = windows[0].pipeline
    assert pipe.calibration.quality.heading_source == "functional"
    flexion_r = np.rad2deg(pipe.rows.view()[:, 1])
    assert 50 < np.nanmax(flexion_r) < 65 and np.nanmin(flexion_r) > -15


def test_plane_choice_and_mirrored_layout(app, session):
    source = ReplaySource(session[1], speed=float("inf"))
    feed = SourceThread(source, capacity=256, overflow="wait")
    window = LiveWindow(LivePipeline(), feed, markers=source.markers, plane="all", layout="mirror")
    assert window.plane_box.currentData() == "all"
    stop_at = 30.0
    run_view(app, window, feed, until=lambda: window.pipeline.latest_time() > stop_at)
    feed.stop()
    assert [p[1] for p in window.plots] == ["flexion", "adduction", "rotation"]
    _plot, _plane, sign, right, left = window.plots[1]
    assert sign == -1.0  # drawn as abduction, the vocabulary of every user text
    x, y = left.getData()
    rows = window.pipeline.window(window.window_s)
    # every DISPLAY_STEP-th row, ending at the newest, less rows within THIN_PX of the line
    rows = rows[(len(rows) - 1) % DISPLAY_STEP :: DISPLAY_STEP]
    assert DISPLAY_STEP == 2 and len(rows) > 400
    t = rows[:, T] - rows[-1, T]
    assert x[-1] == 0.0 and x[0] == t[0] == pytest.approx(-window.window_s, abs=0.02)
    # mirrored: the left hip is drawn negated, in degrees
    want = -sign * np.rad2deg(rows[:, HIP_L][:, 1])
    drawn = np.searchsorted(t, x)
    np.testing.assert_array_equal(t[drawn], x)  # drawn points are grid rows, unchanged
    np.testing.assert_allclose(y, want[drawn], equal_nan=True)
    sx, sy = window.plots[1][0].getViewBox().viewPixelSize()
    assert max_distance_px(t / sx, want / sy, drawn) <= THIN_PX + 1e-9
    assert np.isfinite(right.getData()[1]).all()
    window.close()


def _pixels(image: QtGui.QImage) -> np.ndarray:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)
    return rows[:, : image.width(), :3].copy()


def _on_screen(window: LiveWindow) -> np.ndarray:
    """The canvas's pixels as the frames left them (the window's backing store)."""
    canvas = window.canvas
    shot = window.windowHandle().screen().grabWindow(window.winId()).toImage()
    top = canvas.mapTo(window, canvas.rect().topLeft())
    return _pixels(shot.copy(top.x(), top.y(), canvas.width(), canvas.height()))


def test_frames_repaint_only_where_the_curves_move_and_leave_nothing_behind(app, session):
    """A frame repaints only the band the curves span (LiveCurve): after many frames of
    moving curves the screen equals a fresh render of the same state, pixel for pixel,
    and the same check sees the stale pixels a frame that repaints too little leaves."""
    source = ReplaySource(session[1], speed=float("inf"))
    feed = SourceThread(source, capacity=8, overflow="wait")  # a few packets a frame
    # no sets from the markers: no plots built anew (a full repaint) after the first
    window = LiveWindow(LivePipeline(), feed)
    run_view(app, window, feed, until=lambda: window.pipeline.latest_time() > 40.0)
    feed.stop()
    assert window.frames > 300
    assert len(_on_screen(window)) == window.canvas.height()
    np.testing.assert_array_equal(_on_screen(window), _pixels(window.canvas.grab().toImage()))
    # the trainer moves the target band (drawn in the cached background): the next frame
    # shows it where it now is
    before = _on_screen(window)
    window.target_hi.setValue(window.target_hi.value() + 10)
    window.step()
    app.processEvents()
    assert (_on_screen(window) != before).any(axis=2).sum() > 1000
    np.testing.assert_array_equal(_on_screen(window), _pixels(window.canvas.grab().toImage()))
    # the check can fail: the curves move to the top, told they were there already
    for _ in range(3):
        app.processEvents()
    plot, _plane, _sign, right, left = window.plots[0]
    top = plot.getViewBox().viewRange()[1][1] - 1.0
    for curve in (right, left):
        x, _y = curve.getData()
        curve._band = (top, top)
        curve.set_points(x, np.full(len(x), top), (1.0, 1.0))
    app.processEvents()
    stale = np.any(_on_screen(window) != _pixels(window.canvas.grab().toImage()), axis=2)
    assert stale.sum() > 100
    window.close()


def test_a_frame_with_nothing_new_shows_the_same_picture_and_an_action_recomputes(
    app, session, offline
):
    """A frame without a notification, event or trainer action (a quarter of the frames
    at 3 x 100 Hz) is still a frame, painting the same picture without computing the grid
    again; a trainer action without any notification (a calibration set while the stream
    is paused) recomputes at the next frame, and the traces show it."""
    source = ReplaySource(session[1], speed=float("inf"))
    feed = SourceThread(source, capacity=16, overflow="wait")
    window = LiveWindow(LivePipeline(), feed)
    run_view(app, window, feed, until=lambda: window.pipeline.latest_time() > 12.0)
    feed.stop()
    while feed.pending:  # what the source had handed over before it stopped
        window.step()
    pipe = window.pipeline
    calls = []
    update = pipe.update
    pipe.update = lambda: calls.append(1) or update()  # type: ignore[method-assign]
    for _ in range(3):
        app.processEvents()
    before, frames, drawn = _on_screen(window), window.frames, window.plots[0][3].getData()
    window.step()
    app.processEvents()
    assert window.frames == frames + 1 and calls == []
    np.testing.assert_array_equal(_on_screen(window), before)
    pipe.set_calibration(offline.calibration)  # the trainer loads a calibration
    window.step()
    app.processEvents()
    assert calls == [1] and window.frames == frames + 2
    _x, y = window.plots[0][3].getData()
    assert len(y) != len(drawn[1]) or not np.array_equal(y, drawn[1], equal_nan=True)
    assert (_on_screen(window) != before).any(axis=2).sum() > 100
    np.testing.assert_array_equal(_on_screen(window), _pixels(window.canvas.grab().toImage()))
    window.close()


def max_distance_px(x: np.ndarray, y: np.ndarray, drawn: np.ndarray) -> float:
    """The largest distance from a point not drawn to the segment drawn past it."""
    worst = 0.0
    for a, b in itertools.pairwise(drawn):
        p = np.column_stack([x[a + 1 : b], y[a + 1 : b]])
        if len(p) == 0:
            continue
        p0, d = np.array([x[a], y[a]]), np.array([x[b] - x[a], y[b] - y[a]])
        u = np.clip((p - p0) @ d / (d @ d), 0.0, 1.0)
        worst = max(worst, float(np.hypot(*(p - p0 - u[:, None] * d).T).max()))
    return worst


def test_thinning_keeps_every_row_within_tolerance_and_gaps():
    """thin() against a direct distance computation: noisy movement and rest, a straight
    line (nearly all dropped), and a gap (its neighbours stay)."""
    rng = np.random.default_rng(4)
    x = np.arange(500) * 2.0  # pixels, DISPLAY_STEP rows 2 px apart
    y = 120 * np.sin(x / 90) ** 8 + rng.normal(0, 0.3, len(x))
    keep = thin(x, y, 0.5)
    assert keep[0] == 0 and keep[-1] == len(x) - 1 and len(keep) < len(x)
    assert max_distance_px(x, y, keep) <= 0.5
    line = thin(x, 0.3 * x, 0.5)
    assert len(line) <= len(x) // 4 + 2 and max_distance_px(x, 0.3 * x, line) < 1e-9
    y[200:210] = np.nan
    keep = thin(x, y, 0.5)
    assert {199, 210} <= set(keep.tolist())


def test_recording_writes_notifications_sets_notes_and_calibration(app, session, offline, tmp_path):
    """The trainer's controls: Calibrate, Record, exercise and side, Start/End set, Mark,
    a note; the session log holds what they did."""
    _sim, directory = session
    source = ReplaySource(directory, speed=float("inf"))
    feed = SourceThread(source, capacity=128, overflow="wait")
    window = LiveWindow(
        LivePipeline(), feed, markers=source.markers, follow_markers=False, record_dir=tmp_path
    )
    pipe = window.pipeline
    state = {}

    def script():
        t = pipe.latest_time()
        if "cal" not in state and pipe.rows is not None and len(pipe.rows):
            window.cal_button.click()  # stand 5 s (the session starts standing), march 6 s
            assert pipe.cal.phase == "stand" and "Stand still" in window.cal_label.text()
            state["cal"] = True
        if pipe.cal.phase == "march":
            window.cal_finish.click()  # no marching in this session: finish now
        if "rec" not in state and pipe.cal.phase == "done":
            window.record_button.click()
            state["rec"] = pipe.stats.notes
        if "rec" in state and "set" not in state and t > 9.0:
            window.exercise_box.setCurrentIndex(window.exercise_box.findData("side_lying_leg_lift"))
            window.side_box.setCurrentIndex(window.side_box.findData("right"))
            window.set_button.click()
            window.note_edit.setText("client: right feels strong")
            window.note_edit.returnPressed.emit()
            state["set"] = True
        if "set" in state and "end" not in state and t > 20.0:
            window.set_button.click()
            window.mark_button.click()
            state["end"] = True
        return False

    run_view(app, window, feed, until=script)
    assert window.writer is not None, pipe.cal.message
    log_path = window.writer.path
    window.record_button.click()  # stop
    assert window.writer is None and log_path.parent.parent == tmp_path
    log = read_log(log_path)
    assert log.recovery.clean
    assert len(log.notifications) == pipe.stats.notes - state["rec"]
    kinds = [e["type"] for e in log.events]
    assert kinds.count("calibration") == 1 and "flag" in kinds
    (note,) = [e for e in log.events if e["type"] == "note"]
    assert note["text"] == "client: right feels strong" and note["time"] > 9.0
    # a replay of this recording reuses the calibration made live
    from hipimu.app.commands.live import _recorded_calibration

    recorded = _recorded_calibration(ReplaySource(log_path))
    for role, q in pipe.calibration.mounts.items():
        np.testing.assert_allclose(recorded.mounts[role], q)
    (marker,) = log.markers
    (result,) = pipe.sets
    assert marker == result.marker() and result.side == "right"
    # the set was in the log from its start (a log cut mid-set keeps it): opened before
    # the note typed during the set, closed after it
    order = [e["type"] for e in log.events]
    (opened,) = [e for e in log.events if e["type"] == "marker_start"]
    assert {k: opened[k] for k in ("exercise", "side", "start")} == {
        k: marker[k] for k in ("exercise", "side", "start")
    }
    assert order.index("marker_start") < order.index("note") < order.index("marker")
    expected = scoring_count(offline, result.exercise, "right", result.start, result.end)
    assert result.reps["right"] == expected >= 2
    window.close()


def test_live_command_runs_unattended_and_saves_a_screenshot(app, tmp_path, capsys):
    shot = tmp_path / "shot.png"
    code = main(
        ["live", "--simulate", "--speed", "20", "--duration", "2", "--screenshot", str(shot)]
    )
    assert code == 0
    assert shot.stat().st_size > 20_000
    assert "screenshot saved" in capsys.readouterr().out


def test_live_command_explains_a_missing_session(tmp_path, capsys):
    assert main(["live", "--replay", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hipimu live: no session at") and err.count("\n") == 1


def test_view_over_the_ble_code_path_shows_battery_and_delay(app):
    """Simulated sensors through the BLE source (fake bleak backend): the sensor panel
    shows what the links report."""
    pytest.importorskip("bleak", reason="the BLE link needs the 'ble' extra (bleak)")
    from hipimu.app.commands.live import _sensor_status
    from hipimu.sources.ble import BleSource
    from hipimu.sources.ble.fake import simulated_world

    scanner, client = simulated_world(kit=7, seed=1).backends()
    source = BleSource(7, scanner_backend=scanner, client_backend=client, scan_timeout_s=0.5)
    feed = SourceThread(source, overflow="drop_oldest")
    window = LiveWindow(
        LivePipeline(), feed, source_name="BLE", sensor_status=_sensor_status(source)
    )
    pipe = window.pipeline
    joined = {}

    def all_joined_and_streaming():
        # sensors connect one at a time: the grid starts with the first, the rest join
        if len(pipe.by_role()) == 3 and "at" not in joined:
            joined["at"] = pipe.stats.final_rows
        return "at" in joined and pipe.stats.final_rows > joined["at"] + 100

    run_view(app, window, feed, until=all_joined_and_streaming)
    window._refresh_panel()
    table = window.sensor_table
    cells = [[table.item(i, j).text() for j in range(1, 5)] for i in range(3)]
    feed.stop()
    window.close()
    assert feed.error is None
    assert np.isfinite(pipe.rows.tail(50)[:, 1:7]).all()  # both hips, all three sensors
    # the links' time-sync round trips reach the live clocks, as they reach offline analysis
    assert len(pipe.sensors) == 3
    assert all(len(s.stream.syncs) >= 1 for s in pipe.sensors.values())
    for link, battery, loss, delay in cells:
        assert link == "● live" and battery.endswith("%") and loss.endswith("%")
        assert delay.endswith("ms")


def test_sensor_table_shows_a_clock_offset_whole(app, session):
    """While the time sync settles the delay reads "clock off N ms": the column is as
    wide as that text, not cut to "clock ..."."""
    from hipimu.app.live.style import latency

    _, directory = session
    source = ReplaySource(directory, speed=float("inf"))
    window = LiveWindow(LivePipeline(), SourceThread(source), source_name="replay")
    window.show()
    table = window.sensor_table
    text = latency(-123.0)
    assert text == "clock off 123 ms"
    assert latency(-0.3) == "0 ms"  # no "clock off 0 ms"
    table.setItem(1, 4, QtWidgets.QTableWidgetItem(text))
    for _ in range(3):
        app.processEvents()
    needed = table.fontMetrics().horizontalAdvance(text)
    shown = table.columnWidth(4)
    window.close()
    assert shown >= needed, (shown, needed)


def test_source_thread_hands_over_the_events_a_source_reports():
    """A source with ``on_event`` (the BLE source) reports time-sync round trips while it
    streams; the thread keeps them, in order, for the view, and still calls the callback
    that was there before."""
    seen = []

    class Reporting:
        def __init__(self):
            self.markers = []
            self.on_event = seen.append

        async def stream(self):
            for i in range(3):
                self.on_event(
                    {
                        "type": "time_sync",
                        "sensor": "A",
                        "send": i,
                        "recv": i + 0.01,
                        "device_us": i * 1000,
                    }
                )
                yield Notification(float(i), "A", b"")

    feed = SourceThread(Reporting(), overflow="wait").start()
    feed.finished.wait(5.0)
    events = feed.drain_events()
    assert [e["send"] for e in events] == [0, 1, 2]
    assert seen == events and feed.drain_events() == []
    assert len(feed.drain()) == 3


def test_view_shows_the_rules_band_and_why_and_records_the_trainers_override(app, tmp_path):
    """A client whose left side did 70 % of the right: choosing the left side shows the
    rule's reduced band (10-15 % of that side's range) and why; when the trainer edits the
    band it wins, the reason says so, and the override is in the recorded log."""
    from hipimu.scoring.live import LiveTargets
    from hipimu.scoring.rule import ExerciseRule, SetSummary

    deg = np.pi / 180
    rule = ExerciseRule("side_lying_leg_lift")
    for side, lift in (("right", 35.0), ("left", 24.5)):
        ranges = np.full(10, lift * deg) * (1 + 0.02 * np.sin(np.arange(10)))
        rule.observe(SetSummary(side, ranges, np.full(10, -1.6), np.full(10, 2.4), 1.2, 0.0))
    pipe = LivePipeline()
    pipe.rule_targets = LiveTargets({"side_lying_leg_lift": rule})
    window = LiveWindow(pipe, None, source_name="test")
    window.toolbar.select(window.exercise_box, "side_lying_leg_lift")
    window._select_exercise("side_lying_leg_lift")
    window.side_box.setCurrentIndex(window.side_box.findData("left"))
    lo, hi = window.target_lo.value(), window.target_hi.value()
    assert (lo, hi) == (round(0.10 * 24.5), round(0.15 * 24.5))  # spin boxes show whole deg
    assert window.toolbar.target_why.toolTip().startswith("reduced (10-15% of 25°), asymmetry")
    window.start_recording(tmp_path / "s")
    window.target_hi.setValue(9.0)  # the trainer widens the band
    assert window.toolbar.target_why.toolTip() == "set by the trainer"
    # the band is painted into the canvas's cached background: tinted green between its
    # edges, not above it (a rendered frame, not the item's state)
    window.resize(1200, 800)
    window.show()
    app.processEvents()
    image = window.canvas.grab().toImage()
    band = window.traces.bands[0]
    view = band.getViewBox()
    lo_band, hi_band = band.getRegion()
    assert (lo_band, hi_band) == (lo, 9.0)

    def pixel(value: float) -> tuple[int, int, int]:
        at = window.canvas.mapFromScene(view.mapViewToScene(QtCore.QPointF(-1.0, value)))
        c = image.pixelColor(at.x(), at.y())
        return c.red(), c.green(), c.blue()

    r, g, b = pixel((lo + 9.0) / 2)
    assert g > r + 8 and g > b + 8, (r, g, b)  # the band's green over the background
    r, g, b = pixel(9.0 + 6.0)
    assert abs(g - r) <= 3, (r, g, b)  # no tint outside the band
    path = window.recording.path
    window.stop_recording()
    window.close()
    overrides = [e for e in read_log(path).events if e.get("type") == "target_override"]
    assert overrides and overrides[-1]["side"] == "left" and overrides[-1]["high_deg"] == 9.0
