"""The trainer's rule (reduce on asymmetry, go slower, build back up) on simulated clients
and on hand-made sets whose verdict is known."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hipimu.analysis.pipeline import analyse
from hipimu.scoring import score_session
from hipimu.scoring.rule import ExerciseRule, RuleConfig, SetSummary, Step, judge
from hipimu.scoring.targets import SessionRecord, plan
from hipimu.simulate import Client, Protocol, simulate_session

DEG = np.pi / 180


def _set(side, range_deg, n=10, sparc=-1.55, secs=2.4, comp_deg=0.0, cv=0.05, seed=0):
    """A set whose repetitions vary by ``cv`` around ``range_deg``."""
    rng = np.random.default_rng(seed + (side == "left"))
    ranges = range_deg * DEG * (1 + cv * rng.standard_normal(n))
    return SetSummary(
        side,
        ranges,
        sparc + 0.03 * rng.standard_normal(n),
        secs * (1 + 0.05 * rng.standard_normal(n)),
        secs / 2,
        comp_deg * DEG,
        "pelvis_hike" if comp_deg else "",
    )


def _sessions(protocols, seed0=0):
    """Score simulated sessions in turn, each planned from the ones before (history)."""
    history, plans = [], []
    for k, protocol in enumerate(protocols):
        sim = simulate_session(protocol, seed=seed0 + k)
        scores = score_session(analyse(sim.notifications, sim.markers).kinematics, sim.markers)
        p = plan(scores, history, session=f"s{k}")
        data = {
            **scores.to_dict(),
            "next_targets": p.next,
            "rule": p.rule_dict(),
        }
        history.append(SessionRecord(f"s{k}", None, data))
        plans.append((scores, p))
    return plans


def test_a_left_side_at_70_percent_goes_reduced_with_each_sides_own_band(demo_session):
    scores = score_session(
        analyse(demo_session.notifications, demo_session.markers).kinematics,
        demo_session.markers,
    )
    p = plan(scores, [])
    for key in ("side_lying_leg_lift", "marching"):
        ex = scores.get(key)
        for side in ("right", "left"):
            nxt = p.next[key][side]
            assert nxt["mode"] == "reduced" and nxt["reason"] == "asymmetry", (key, side)
            done = np.rad2deg(np.mean([r.primary_range for r in ex.reps(side)]))
            assert nxt["low_deg"] == pytest.approx(0.10 * done, rel=1e-3)
            assert nxt["high_deg"] == pytest.approx(0.15 * done, rel=1e-3)
            assert nxt["tempo_up_s"] > np.mean([r.time_up for r in ex.reps(side)])  # slower
            assert nxt["cue"]
        # the truth: right 35 deg (abduction) / 65 deg (flexion), left 70 % of it
        right, left = p.next[key]["right"], p.next[key]["left"]
        assert left["best_deg"] / right["best_deg"] == pytest.approx(0.70, abs=0.02)
        hist = p.rules[key].sides["left"].history
        # 70 % prescribed; the client's sway moves each range by up to 0.5 deg (1-2 %)
        assert [h.mode for h in hist] == ["reduced"]
        assert re.search(r"range: left (69|70|71)%", hist[0].detail), hist[0].detail


def test_no_reduction_before_both_sides_did_their_first_set(demo_session):
    right_only = [m for m in demo_session.markers if m.get("side") == "right"]
    kin = analyse(demo_session.notifications, demo_session.markers).kinematics
    p = plan(score_session(kin, right_only), [])
    nxt = p.next["side_lying_leg_lift"]
    assert set(nxt) == {"right"} and nxt["right"]["mode"] == "full"
    assert nxt["right"]["reason"] == "first"  # nothing to compare yet


def test_symmetric_reduced_sets_step_back_up_to_full_in_the_configured_steps():
    """Session 0: the 70 % client; then symmetric sessions at the band each time, with
    5 % repetition variability, pauses and 0.2 deg tremor."""
    base = Client()
    protocols = [Protocol(base, reps=5)]
    for share in (0.125, 0.25, 0.5, 0.75):  # the client does what the band asks
        protocols.append(
            Protocol(
                Client(
                    abduction_deg=35.0 * share,
                    side_lying_flexion_deg=1.0,
                    side_lying_rotation_deg=0.5,
                    march_flexion_deg=65.0 * share,
                    march_adduction_deg=0.0,
                    march_rotation_deg=0.5,
                    left_range_scale=1.0,
                    left_jerk=0.0,
                    pelvis_hike_left_deg=0.0,
                    march_pelvis_rotation_deg=0.0,
                ),
                reps=5,
                variability=0.05,
                pauses=1.0,
                tremor_deg=0.2,
                seed=len(protocols),
            )
        )
    plans = _sessions(protocols, seed0=10)
    key = "side_lying_leg_lift"
    shares = [p.next[key]["right"]["share"][1] for _, p in plans]
    reasons = [p.next[key]["left"]["reason"] for _, p in plans]
    assert shares == [0.15, 0.25, 0.5, 0.75, 1.0]
    assert reasons == ["asymmetry", "progress", "progress", "progress", "progress"]
    assert plans[-1][1].next[key]["left"]["mode"] == "full"
    # the reference stays the range each side did before the reduction
    ref = plans[0][1].next[key]["left"]["best_deg"]
    for _, p in plans[1:-1]:
        assert p.next[key]["left"]["best_deg"] == ref
    # every step and its reason is kept across sessions
    hist = plans[-1][1].rules[key].sides["left"].history
    assert [h.mode for h in hist] == ["reduced", "building", "building", "building", "full"]
    # today's repetitions were counted against the band the rule had set
    assert plans[1][1].results[key]["right"].inside >= 4


def test_within_a_session_a_symmetric_reduced_round_steps_up():
    rule = ExerciseRule("marching", RuleConfig(steps=(0.5, 1.0)))
    rule.observe(_set("right", 40))
    assert rule.step("right") is None  # waits for the left side
    rule.observe(_set("left", 28))
    assert [rule.step(s).mode for s in ("right", "left")] == ["reduced", "reduced"]
    assert np.rad2deg(rule.step("left").high) == pytest.approx(0.15 * 28, rel=0.05)
    rule.observe(_set("right", 5, seed=3))
    rule.observe(_set("left", 5, seed=3))
    assert rule.step("left").mode == "building" and rule.step("left").share == (0.45, 0.5)
    assert rule.step("left").reason == "progress"
    rule.observe(_set("right", 20, seed=4))
    rule.observe(_set("left", 14, seed=4))  # asymmetric again: back to reduced
    assert rule.step("left").mode == "reduced" and rule.step("left").reason == "asymmetry"
    # the reduced band is again of the range before the first reduction
    assert np.rad2deg(rule.step("left").reference) == pytest.approx(28, rel=0.05)
    again = ExerciseRule.from_dict("marching", rule.to_dict(), rule.config)
    assert again.to_dict() == rule.to_dict()


def test_asymmetry_inside_a_small_band_is_relative_not_a_2_degree_floor():
    # 4.5 deg against 3.15 deg: 1.35 deg apart, 70 %
    v = judge(_set("right", 4.5), _set("left", 3.15), RuleConfig())
    assert any(a.startswith("range: left 70%") for a in v.asymmetry)
    v = judge(_set("right", 4.5), _set("left", 4.4), RuleConfig())
    assert v.asymmetry == []


def test_compensation_one_sided_reduces_both_sided_holds_the_step():
    cfg = RuleConfig()
    rule = ExerciseRule("marching", cfg)
    rule.observe(_set("right", 40))
    rule.observe(_set("left", 40, comp_deg=6.0))
    assert rule.step("left").mode == "reduced" and rule.step("left").reason == "compensation"
    assert "pelvis hike on the left side" in rule.step("left").detail
    rule = ExerciseRule("marching", cfg)
    rule.observe(_set("right", 40, comp_deg=8.0))
    rule.observe(_set("left", 40, comp_deg=8.0))
    for side in ("right", "left"):
        assert rule.step(side).mode == "full" and rule.step(side).reason == "compensation"


def test_the_trainer_overrides_the_band_and_the_rule_continues_from_it():
    rule = ExerciseRule("marching", RuleConfig())
    rule.observe(_set("right", 40))
    rule.observe(_set("left", 28))
    rule.override("left", 6 * DEG, 8 * DEG, "knee sore")
    step = rule.step("left")
    assert (step.mode, step.reason, step.detail) == ("trainer", "trainer", "knee sore")
    assert np.rad2deg(step.low) == pytest.approx(6.0) and np.rad2deg(step.high) == pytest.approx(8)
    rule.observe(_set("right", 4.2, seed=5))
    rule.observe(_set("left", 4.2, seed=5))
    # symmetric: from the override (8/28 = 29 %) up to the next configured step (50 %)
    assert rule.step("left").share == (0.45, 0.5)
    assert [h.reason for h in rule.sides["left"].history] == ["asymmetry", "trainer", "progress"]
    with pytest.raises(ValueError, match="low < high"):
        rule.override("left", 8 * DEG, 6 * DEG)


def test_bad_rule_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="reduced_share"):
        RuleConfig(reduced_share=(0.2, 0.1))
    with pytest.raises(ValueError, match=r"rise strictly to 1\.0"):
        RuleConfig(steps=(0.5, 0.25, 1.0))
    assert Step.from_dict(Step("reduced", "asymmetry", (0.1, 0.15), 0.5).to_dict()).share == (
        0.1,
        0.15,
    )


def test_a_wider_reduced_band_keeps_only_the_steps_above_it():
    from hipimu.scoring.rule import config_for_share

    assert config_for_share((0.2, 0.3)).steps == (0.5, 0.75, 1.0)
    assert config_for_share((0.1, 0.15)).steps == (0.25, 0.5, 0.75, 1.0)
