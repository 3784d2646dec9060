"""The live side of the scoring: a set's still baseline as rows arrive, and the live
pipeline's compensation read from it (not from wherever the set was started)."""

from __future__ import annotations

import numpy as np
import pytest
from _lifts import lift_kinematics

from hipimu.analysis.live.pipeline import LivePipeline
from hipimu.analysis.live.reps import exercise_catalog
from hipimu.analysis.pipeline import analyse
from hipimu.body.kinematics import pelvis_angles
from hipimu.scoring.live import StillBaseline
from hipimu.simulate import Protocol, simulate_session

DEG = np.pi / 180


def _smoothstep(t, t0, t1):
    u = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    return u * u * (3 - 2 * u)


@pytest.mark.parametrize("chunk", [1, 7, 50])
def test_the_baseline_waits_until_the_client_is_in_posture_and_still(chunk):
    """A 70 deg turn into posture over 1.5 s, then still until the first lift at 3.2 s."""
    kin = lift_kinematics(first=3.2, pelvis_turn_deg=lambda t: 70.0 * _smoothstep(t, 0.0, 1.5))
    q = kin.segments["pelvis"]
    hips = np.column_stack([kin.hip_right, kin.hip_left])
    base = StillBaseline(100.0)
    found_at = None
    for i in range(0, len(q), chunk):
        ref = base.feed(q[i : i + chunk], hips[i : i + chunk])
        if ref is not None and found_at is None:
            found_at = kin.time[min(i + chunk, len(q)) - 1]
    assert 1.3 < found_at < 3.2  # after the turn, before the first lift
    after = pelvis_angles(q[kin.time > 1.6], base.reference)
    assert np.max(np.abs(after)) < 1.0 * DEG  # the posture itself reads as zero


def test_live_compensation_does_not_count_lying_down(tmp_path):
    """The trainer starts the side-lying set while the client is still lying down: the
    live pelvis bars stay near zero instead of showing the turn (65-84 deg before)."""
    sim = simulate_session(Protocol(reps=4), seed=3)
    offline = analyse(sim.notifications, sim.markers)
    markers = [dict(m) for m in sim.markers]
    lift = next(m for m in markers if m["exercise"] == "side_lying_leg_lift")
    lift["start"] -= 2.5  # into the transition to side-lying
    pipe = LivePipeline()
    pipe.set_calibration(offline.calibration)
    pipe.follow(markers, exercise_catalog())
    seen = []
    for i, note in enumerate(sim.notifications):
        pipe.feed(note)
        if i % 3 == 0:
            pipe.update()
            if pipe.current is not None and pipe.current[0].name == "side_lying_leg_lift":
                seen.append(pipe.pelvis_excursion(0.5))
    pipe.update()
    ex = np.concatenate([s for s in seen if len(s)])
    assert len(ex) > 100
    # the right side's lifts carry no pelvis hike; the left's 5 deg at the top
    assert np.nanmax(np.abs(ex)) < 8.0 * DEG


def test_the_live_pipeline_takes_the_band_and_reason_from_the_clients_rule():
    from hipimu.analysis.live.reps import find_exercise
    from hipimu.scoring.live import LiveTargets
    from hipimu.scoring.rule import ExerciseRule, SetSummary

    rule = ExerciseRule("side_lying_leg_lift")
    for side, deg in (("right", 35.0), ("left", 24.5)):
        ranges = np.full(10, deg * DEG) * (1 + 0.02 * np.sin(np.arange(10)))
        rule.observe(SetSummary(side, ranges, np.full(10, -1.6), np.full(10, 2.4), 1.2, 0.0))
    pipe = LivePipeline()
    spec = find_exercise("side_lying_leg_lift")
    assert pipe.target(spec, "left") == spec.target_deg  # no history: the default band
    pipe.rule_targets = LiveTargets({"side_lying_leg_lift": rule})
    assert pipe.target(spec, "right") == pytest.approx((3.5, 5.25), rel=0.02)
    assert pipe.target(spec, "left") == pytest.approx((2.45, 3.675), rel=0.02)
    why = pipe.target_reason(spec, "left")
    assert why.startswith("reduced (10-15% of 25°), asymmetry: range: left 70%")
    pipe.set_target("side_lying_leg_lift", (5.0, 8.0))  # the trainer's spin boxes win
    assert pipe.target(spec, "left") == (5.0, 8.0)
    assert pipe.target_reason(spec, "left") == "set by the trainer"
