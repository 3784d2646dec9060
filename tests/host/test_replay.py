"""Replay: a recorded session feeds the pipeline with exactly the live packets."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from hipimu.analysis.pipeline import analyse
from hipimu.app.cli import main
from hipimu.core.types import Source
from hipimu.simulate import Protocol, simulate_session
from hipimu.sources.replay import ReplaySource
from hipimu.store.recorder import check_metadata
from hipimu.store.session_dir import LOG_NAME, write_session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rec") / "s"
    sim = simulate_session(Protocol(reps=2), seed=5)
    write_session(directory, sim.notifications, sim.markers, {"client": "c-7"})
    np.savez(directory / "truth.npz", **sim.truth.as_arrays())
    return directory, sim


async def _collect(source):
    return [n async for n in source.stream()]


def test_replay_yields_the_recorded_packets_and_markers(recorded):
    directory, sim = recorded
    source = ReplaySource(directory, speed=float("inf"))
    assert isinstance(source, Source)
    assert asyncio.run(_collect(source)) == sim.notifications
    assert source.markers == sim.markers
    assert source.metadata["client"] == "c-7"  # what was given, completed to the schema
    assert check_metadata(source.metadata) == []
    assert source.recovery.clean


def test_replayed_analysis_equals_the_live_one(recorded):
    directory, sim = recorded
    live = analyse(sim.notifications, sim.markers)
    source = ReplaySource(directory / LOG_NAME, speed=1e4)
    again = analyse(asyncio.run(_collect(source)), source.markers)
    assert np.array_equal(live.kinematics.hip_left, again.kinematics.hip_left, equal_nan=True)
    assert [r.range.tolist() for r in live.ranges] == [r.range.tolist() for r in again.ranges]


def test_paced_replay_keeps_order_and_a_consumer_can_stop_early(recorded):
    directory, sim = recorded

    async def first(k):
        out = []
        async for n in ReplaySource(directory, speed=1e3).stream():
            out.append(n)
            if len(out) == k:
                break
        return out

    assert asyncio.run(first(50)) == sim.notifications[:50]


def test_bad_speed_is_refused(recorded, capsys):
    with pytest.raises(ValueError, match="speed must be positive"):
        ReplaySource(recorded[0], speed=0)
    with pytest.raises(SystemExit):
        main(["replay", str(recorded[0]), "--speed", "-2"])
    assert "speed must be positive" in capsys.readouterr().err


def test_replay_command_prints_the_analysis_and_errors(recorded, capsys, tmp_path):
    assert main(["replay", str(recorded[0]), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "intact" in out
    assert "Range of motion" in out and "marching" in out
    assert "against the simulator's truth" in out
    assert (tmp_path / "r" / "results.json").exists()


def test_replay_of_a_damaged_log_says_what_was_recovered(recorded, tmp_path, capsys):
    src = recorded[0] / LOG_NAME
    data = bytearray(src.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 8] = b"\x00" * 8
    damaged = tmp_path / "d" / LOG_NAME
    damaged.parent.mkdir()
    damaged.write_bytes(bytes(data[:-5]))
    assert main(["replay", str(damaged)]) == 0
    captured = capsys.readouterr()
    assert "corrupt" in captured.err and "torn tail" in captured.err
    assert "Range of motion" in captured.out


def test_replay_with_the_recorded_calibration(recorded, tmp_path, capsys):
    import json

    from hipimu.store.log import SessionLogWriter

    _, sim = recorded
    live = analyse(sim.notifications, sim.markers)
    copy = tmp_path / "c"
    write_session(copy, sim.notifications, sim.markers, {})
    assert main(["replay", str(copy), "--recorded-calibration"]) == 1
    assert "no calibration event" in capsys.readouterr().err
    recorded_cal = json.loads(live.calibration.to_json())
    recorded_cal["mounts_q_SB"]["femur_l"] = [1.0, 0.0, 0.0, 0.0]  # not what it would find
    with SessionLogWriter(copy / LOG_NAME) as log:
        log.calibration(recorded_cal, 12.5)
    assert main(["replay", str(copy), "--recorded-calibration", "--out", str(tmp_path / "r")]) == 0
    assert "recorded at host time 12.500 s" in capsys.readouterr().out
    saved = json.loads((tmp_path / "r" / "calibration.json").read_text())
    assert saved["mounts_q_SB"] == recorded_cal["mounts_q_SB"]


def test_replay_of_a_missing_session_is_a_clear_error(tmp_path, capsys):
    assert main(["replay", str(tmp_path / "nothing")]) == 1
    assert "no session log at" in capsys.readouterr().err


def test_replay_with_one_thigh_sensor_missing_reports_the_side_it_has(recorded, tmp_path, capsys):
    _, sim = recorded
    left = sim.sensors["femur_l"].address
    notes = [n for n in sim.notifications if n.sensor != left]
    write_session(tmp_path / "two", notes, sim.markers, {})
    assert main(["replay", str(tmp_path / "two")]) == 0
    out = capsys.readouterr().out
    assert "no side to compare" in out
    assert "marching              right" in out and "left " not in out.split("sensor")[0]
