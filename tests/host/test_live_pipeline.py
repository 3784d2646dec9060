"""The live pipeline (Qt-free) against the simulator's truth and the offline pipeline."""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np
import pytest

from hipimu.analysis.live.pipeline import HIP_L, HIP_R, LivePipeline, T
from hipimu.analysis.live.reps import exercise_catalog, find_exercise, symmetry_angle
from hipimu.analysis.live.ring import Ring
from hipimu.analysis.pipeline import analyse
from hipimu.app.live.bridge import SourceThread
from hipimu.core.types import Notification
from hipimu.scoring.catalog import exercise as catalog_exercise
from hipimu.scoring.reps import score_set
from hipimu.simulate import Protocol, simulate_session
from hipimu.simulate.sensors import LinkModel


@pytest.fixture(scope="module")
def sim():
    return simulate_session(Protocol(reps=4), seed=3)


@pytest.fixture(scope="module")
def offline(sim):
    return analyse(sim.notifications, sim.markers)


def run_live(notes, pipeline=None, *, update_every=2, on_rows=None):
    """Feed notifications one at a time, updating as the view would."""
    pipe = pipeline or LivePipeline()
    for i, note in enumerate(notes):
        pipe.feed(note)
        if i % update_every == 0:
            pipe.update()
            if on_rows:
                on_rows(pipe, note)
    pipe.update()
    return pipe


def truth_at(sim, t, side):
    """The true hip angles from the client's own stance (what calibrating on standing can
    measure: the realistic simulation's client stands a little off neutral)."""
    tr = sim.truth.hip_from_stance(side)
    return np.column_stack([np.interp(t, sim.truth.time, tr[:, j]) for j in range(3)])


def rmse_deg(est, truth):
    ok = np.isfinite(est).all(axis=1)
    return np.rad2deg(np.sqrt(np.mean((est[ok] - truth[ok]) ** 2, axis=0)))


def test_ring_keeps_the_newest_rows_in_order():
    ring = Ring(50, 2)
    expected = np.empty((0, 2))
    rng = np.random.default_rng(0)
    for _ in range(40):
        rows = rng.normal(size=(int(rng.integers(1, 30)), 2))
        ring.append(rows)
        expected = np.concatenate([expected, rows])
        view = ring.view()
        assert len(view) <= 50
        np.testing.assert_array_equal(view, expected[-len(view) :])
        np.testing.assert_array_equal(ring.tail(7), expected[-7:])
    assert ring.total == len(expected)
    ring.append(np.arange(200.0).reshape(100, 2))  # more than the capacity at once
    np.testing.assert_array_equal(ring.view(), np.arange(200.0).reshape(100, 2)[-50:])


def test_live_angles_match_the_truth_as_well_as_the_offline_pipeline(sim, offline):
    pipe = LivePipeline()
    pipe.set_calibration(offline.calibration)
    run_live(sim.notifications, pipe)
    rows = pipe.rows.view()
    # the grid covers the session, every row is finite (no gaps in this simulation)
    assert rows[0, T] < 0.2 and rows[-1, T] > sim.truth.time[-1] - 0.2
    assert np.isfinite(rows[:, 1:7]).all()
    for side, cols, offline_hip in (
        ("right", HIP_R, offline.kinematics.hip_right),
        ("left", HIP_L, offline.kinematics.hip_left),
    ):
        live_err = rmse_deg(rows[:, cols], truth_at(sim, rows[:, T], side))
        off_err = rmse_deg(offline_hip, truth_at(sim, offline.kinematics.time, side))
        # the accuracy targets (flexion, adduction 1.5 deg; rotation 2.5 without soft
        # tissue, 3.5 with the default's twist: 3.1 at worst over 20 seeds,
        # docs/validation.md)
        assert (live_err < [1.5, 1.5, 3.5]).all(), (side, live_err)
        assert (live_err < off_err + 0.3).all(), (side, live_err, off_err)


def test_clock_model_maps_each_sensor_to_true_time(sim):
    pipe = run_live(sim.notifications, update_every=10)
    for s in pipe.sensors.values():
        ticks = sim.samples[s.role]["ticks_us"]
        true = sim.samples[s.role]["t_true"]
        err = s.clock.host_time(ticks.astype(float)) - true
        # one constant latency (the lower envelope) and drift removed: spread below 2 ms
        assert np.ptp(err[len(err) // 4 :]) < 0.002, s.role
        assert 0.0 <= np.median(err) < 0.01


def test_each_notification_shows_on_the_next_update(sim):
    """Provisional rows: a notification's newest sample is on screen after one update,
    not only once the slowest sensor has caught up."""
    waits = []

    def check(pipe, note):
        waits.append(pipe.shown_serial == pipe.serial)

    run_live(sim.notifications[:1500], update_every=1, on_rows=check)
    assert np.mean(waits[100:]) > 0.99


def test_guided_calibration_from_standing_and_marching(sim):
    """Stand 2 s then march 6 s (the protocol's last blocks): heading from the marching,
    angles within a few degrees of the truth during the marching."""
    stand = next(m for m in sim.markers if m["exercise"] == "standing" and m["start"] > 10)
    pipe = LivePipeline()
    started = []

    def trigger(p, note):
        if not started and p.rows is not None and p.rows.view()[-1, T] >= stand["start"] + 0.2:
            p.start_calibration(stand_s=1.6, march_s=6.0)
            started.append(True)

    run_live(sim.notifications, pipe, on_rows=trigger)
    assert pipe.cal.phase == "done", pipe.cal.message
    assert pipe.calibration.quality.heading_source == "functional"
    march = next(m for m in sim.markers if m["exercise"] == "marching")
    rows = pipe.rows.view()
    inside = (rows[:, T] > march["start"] + 8) & (rows[:, T] < march["end"])
    for side, cols in (("right", HIP_R), ("left", HIP_L)):
        err = rmse_deg(rows[inside][:, cols], truth_at(sim, rows[inside, T], side))
        assert (err < 3.0).all(), (side, err)


def test_calibration_fails_with_a_reason_when_nobody_stands_still(sim):
    march = next(m for m in sim.markers if m["exercise"] == "marching")
    pipe = LivePipeline()
    started = []

    def trigger(p, note):
        if not started and p.rows is not None and p.rows.view()[-1, T] >= march["start"] + 1:
            p.start_calibration(stand_s=3.0, march_s=0.0)
            started.append(True)

    run_live(sim.notifications, pipe, update_every=5, on_rows=trigger)
    assert pipe.cal.phase == "failed"
    assert "stand still" in pipe.cal.message
    assert pipe.calibration is None


@pytest.mark.parametrize("calibrated_offline", [True, False])
def test_repetitions_equal_the_scoring_module(sim, offline, calibrated_offline):
    """Sets follow the markers; each set's count equals hipimu.scoring's on the same
    session, with the offline calibration or a stand-only live calibration."""
    pipe = LivePipeline()
    if calibrated_offline:
        pipe.set_calibration(offline.calibration)
    planned = pipe.follow(sim.markers, exercise_catalog())
    assert planned == 3
    started = []

    def trigger(p, note):
        if not calibrated_offline and not started and p.rows is not None and len(p.rows):
            p.start_calibration(stand_s=4.5, march_s=0.0)
            started.append(True)

    run_live(sim.notifications, pipe, update_every=3, on_rows=trigger)
    assert len(pipe.sets) == 3
    kin = offline.kinematics
    for result in pipe.sets:
        marker = next(
            m for m in sim.markers if m["exercise"] == result.exercise and m["side"] == result.side
        )
        assert (result.start, result.end) == (marker["start"], marker["end"])
        for side, count in result.reps.items():
            score = score_set(
                kin, catalog_exercise(result.exercise), side, marker["start"], marker["end"]
            )
            expected = len([r for r in score.reps if r.complete])
            assert count == expected, (result.exercise, side, count, expected)
            assert count == 4  # and both equal the simulator's protocol


def test_manual_sets_and_target_band(sim, offline):
    pipe = LivePipeline()
    pipe.set_calibration(offline.calibration)
    right = next(m for m in sim.markers if m.get("side") == "right")
    spec = find_exercise("side_lying_leg_lift")
    pipe.set_target("side_lying_leg_lift", (20.0, 40.0))
    for i, note in enumerate(sim.notifications):
        pipe.feed(note)
        if i % 2:
            continue
        pipe.update()
        t = pipe.latest_time()
        if pipe.current is None and not pipe.sets and t >= right["start"]:
            pipe.start_set(spec, "right")
        if pipe.current is not None and t >= right["end"]:
            pipe.stop_set()
    (result,) = pipe.sets
    assert result.reps == {"right": 4}
    assert result.in_band == {"right": 4}  # 35 deg abduction peaks, band 20-40
    assert np.rad2deg(result.range["right"]) == pytest.approx(35.0, abs=1.5)
    with pytest.raises(ValueError, match="unknown exercise"):
        find_exercise("cartwheel")


def test_lost_duplicate_and_malformed_notifications_are_counted():
    sim = simulate_session(Protocol(reps=2), seed=5, link=LinkModel(loss=0.05))
    notes = list(sim.notifications[:2000])
    notes.insert(500, notes[499])  # a duplicate
    notes.insert(700, Notification(notes[699].host_time, notes[699].sensor, b"\x07junk"))
    pipe = run_live(notes)
    assert pipe.stats.rejected == 1
    assert sum(s.duplicates for s in pipe.sensors.values()) == 1
    for s in pipe.sensors.values():
        assert 2.0 < s.loss_percent < 9.0, (s.role, s.loss_percent)
    rows = pipe.rows.view()
    # a lost notification is a 40 ms hole: not bridged, the rows there are NaN
    assert np.isnan(rows[:, 1]).any()
    assert np.isfinite(rows[:, 1]).mean() > 0.8


def test_a_sensor_that_drops_out_does_not_stall_the_grid(sim):
    femur_l = next(n.sensor for n in sim.notifications if n.payload[1] == 2)
    notes = [n for n in sim.notifications if not (n.sensor == femur_l and 10 < n.host_time < 14)]
    pipe = run_live(notes, update_every=2)
    rows = pipe.rows.view()
    gap = (rows[:, T] > 10.6) & (rows[:, T] < 13.9)
    assert np.isnan(rows[gap][:, HIP_L]).all()  # no left hip without its sensor
    assert np.isfinite(rows[gap][:, HIP_R]).all()  # the right hip carries on
    assert rows[-1, T] > sim.truth.time[-1] - 0.2


def test_symmetry_angle():
    assert symmetry_angle(30.0, 30.0) == pytest.approx(0.0)
    assert symmetry_angle(0.0, 30.0) == pytest.approx(50.0)  # bounded, unlike the index
    assert symmetry_angle(20.0, 30.0) == pytest.approx(-symmetry_angle(30.0, 20.0))
    assert np.isnan(symmetry_angle(float("nan"), 3.0))


class _Burst:
    """A source that yields ``n`` notifications at once."""

    def __init__(self, n):
        self.n = n
        self.markers = []

    async def stream(self):
        for i in range(self.n):
            yield Notification(float(i), "A", b"")
            if i % 100 == 0:
                await asyncio.sleep(0)


def _wait(feed):
    while not feed.finished.is_set():
        time.sleep(0.005)


def test_bridge_drops_oldest_and_counts_when_the_view_lags():
    feed = SourceThread(_Burst(1000), capacity=64, overflow="drop_oldest").start()
    _wait(feed)
    items = feed.drain()
    assert len(items) == 64 and feed.dropped == 1000 - 64
    assert [n.host_time for _, n in items] == [float(i) for i in range(1000 - 64, 1000)]


def test_bridge_waits_for_the_view_with_files_and_simulations():
    feed = SourceThread(_Burst(1000), capacity=64, overflow="wait").start()
    got = []
    while not feed.done:
        got.extend(n.host_time for _, n in feed.drain())
        assert feed.pending <= 64
        time.sleep(0.001)
    got.extend(n.host_time for _, n in feed.drain())
    assert got == [float(i) for i in range(1000)] and feed.dropped == 0
    feed.stop()


def test_bridge_reports_a_failing_source():
    class Failing:
        markers = ()

        async def stream(self):
            yield Notification(0.0, "A", b"")
            raise LookupError("no sensor of kit 7 found in 5 s")

    feed = SourceThread(Failing()).start()
    _wait(feed)
    assert isinstance(feed.error, LookupError)
    assert len(feed.drain()) == 1


def test_final_rows_are_published_on_lsl(sim, offline):
    """``hipimu live --lsl``: every final row reaches an LSL inlet, in degrees."""
    pylsl = pytest.importorskip("pylsl", reason="LSL streaming needs pylsl")
    from hipimu.analysis.live.pipeline import PELVIS, lsl_listener
    from hipimu.export.lsl import LslPublisher

    name = f"hipimu-live-test-{uuid.uuid4().hex[:8]}"
    with LslPublisher(name) as pub:
        found = pylsl.resolve_byprop("name", pub.angles_name, minimum=1, timeout=10.0)
        inlet = pylsl.StreamInlet(found[0])
        inlet.open_stream(timeout=10.0)
        pipe = LivePipeline()
        pipe.set_calibration(offline.calibration)
        pipe.listeners.append(lsl_listener(pub, live_clock=False))
        pipe = run_live(sim.notifications[:600], pipe)
        rows = pipe.rows.view()
        got = []
        deadline = time.monotonic() + 10.0
        while len(got) < len(rows) and time.monotonic() < deadline:
            chunk, _ = inlet.pull_chunk(timeout=0.5)
            got += chunk
    got = np.array(got)
    assert got.shape == (len(rows), 9)
    np.testing.assert_allclose(got[:, :6], np.rad2deg(rows[:, 1:7]), atol=1e-3)
    np.testing.assert_allclose(got[:, 6:], np.rad2deg(rows[:, PELVIS][:, [2, 1, 0]]), atol=1e-3)


def test_hold_timer_follows_the_simulated_holds():
    """Standing leg-lift holds of 7 s: the live timer's longest reading per hold set is
    within 0.2 s of the simulator's true hold; the count equals scoring's."""
    protocol = Protocol(reps=2, extras=("standing_leg_lift_hold",), holds=2)
    sim = simulate_session(protocol, seed=4)
    offline = analyse(sim.notifications, sim.markers)
    pipe = LivePipeline()
    pipe.set_calibration(offline.calibration)
    pipe.follow(sim.markers, exercise_catalog())
    longest: dict[tuple[str, str], float] = {}

    def watch(p, note):
        if p.current is not None and p.current[0].name.startswith("standing_leg_lift"):
            for side, state in p.tracker.sides.items():
                key = (p.current[0].name, side)
                longest[key] = max(longest.get(key, 0.0), state.hold_s)

    run_live(sim.notifications, pipe, on_rows=watch)
    truth = {r.side: r.hold for r in protocol.repetitions() if r.exercise.startswith("standing")}
    assert set(longest) == {("standing_leg_lift_60", "right"), ("standing_leg_lift_60", "left")}
    for (_name, side), held in longest.items():
        assert held == pytest.approx(truth[side], abs=0.2), side
    for result in pipe.sets:
        for side, count in result.reps.items():
            score = score_set(
                offline.kinematics,
                catalog_exercise(result.exercise),
                side,
                result.start,
                result.end,
            )
            assert count == len([r for r in score.reps if r.complete]) == 2


def test_a_new_calibration_recomputes_the_buffered_trace(sim, offline):
    late = run_live(sim.notifications[:1500])  # nominal placement until now
    late.set_calibration(offline.calibration)
    early = LivePipeline()
    early.set_calibration(offline.calibration)
    run_live(sim.notifications[:1500], early)
    np.testing.assert_allclose(late.rows.view()[:, 1:], early.rows.view()[:, 1:], atol=1e-9)


def test_results_do_not_depend_on_how_much_data_each_update_carries(sim):
    """A replay jumping ahead hands the pipeline tens of seconds at once: the start-up
    calibration and the sets come out as with small, steady updates."""

    def run(every):
        pipe = LivePipeline()
        pipe.calibrate_from_start(stand_s=4.5)
        pipe.follow(sim.markers, exercise_catalog())
        return run_live(sim.notifications, pipe, update_every=every)

    steady, bursty = run(2), run(2000)
    assert bursty.cal.phase == steady.cal.phase == "done"
    # equal up to the last bits of the mean over a swaying standing pose (the updates
    # cut the stream differently): 1e-6 of a quaternion is 1e-4 deg
    np.testing.assert_allclose(
        bursty.calibration.mounts["pelvis"], steady.calibration.mounts["pelvis"], atol=1e-6
    )
    assert len(bursty.sets) == len(steady.sets) == 3
    for a, b in zip(steady.sets, bursty.sets, strict=True):
        assert (a.exercise, a.side, a.start, a.end, a.reps) == (
            b.exercise,
            b.side,
            b.start,
            b.end,
            b.reps,
        )
        for side in a.range:
            assert a.range[side] == pytest.approx(b.range[side], abs=1e-4)  # 0.006 deg


def test_raw_sensors_are_fused_not_reported_as_unsupported():
    from hipimu.simulate.realistic import simulate_realistic_session
    from hipimu_fw import packet as fw_packet

    sim = simulate_realistic_session(1, seed=1, base=Protocol(reps=1))
    notes = [n for n in sim.notifications if n.host_time < 3.0]
    raw = fw_packet.CONTENT_GYR | fw_packet.CONTENT_ACC
    assert all(n.payload[10] & 0x0F == raw for n in notes)  # content nibble of the header
    pipe = run_live(notes)
    assert pipe.stats.raw == len(notes) and pipe.rows is not None
    assert not pipe.problems
    assert pipe.raw_six_d() == ["femur_l", "femur_r", "pelvis"]
