"""One workflow layer (open -> analyse -> score -> write) behind report, export, replay
and batch: each command analyses a session once, the commands agree with each other,
and the user's whole path (a recorded session -> report) finds what the simulator did."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import hipimu.analysis.pipeline as pipeline
from hipimu.app.cli import main
from hipimu.export.tables import read_angles_csv
from hipimu.simulate import Protocol, simulate_session
from hipimu.store.log import read_log
from hipimu.store.recorder import write_session
from hipimu.workflow import session as workflow

REPS = 4


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    sim = simulate_session(Protocol(reps=REPS), seed=5)
    root = tmp_path_factory.mktemp("wf")
    meta = {"client": "c-9", "source": "simulated", "host_clock": "simulated"}
    write_session(root / "s", sim.notifications, sim.markers, meta)
    return sim, root / "s"


@pytest.fixture
def analyses(monkeypatch):
    """Counts the pipeline runs (the real pipeline still runs)."""
    calls = []
    real = pipeline.analyse

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "analyse", counted)
    return calls


def test_report_runs_the_pipeline_once_and_finds_the_simulated_repetitions(
    recorded, analyses, capsys
):
    sim, directory = recorded
    assert main(["report", str(directory), "--json", "--no-save"]) == 0
    assert len(analyses) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["client"] == "c-9" and data["session"] == "s"
    assert data["session_id"] == read_log(directory / "session.hiplog").metadata["session_id"]
    simulated = {m["exercise"] for m in sim.markers} - {"standing", "heading_alignment"}
    assert {ex["exercise"] for ex in data["exercises"]} <= simulated
    assert data["exercises"]
    for ex in data["exercises"]:  # the simulator's protocol: REPS per side
        assert ex["sides"]["right"]["repetitions"] == ex["sides"]["left"]["repetitions"] == REPS


def test_export_and_replay_agree_and_each_analyses_once(recorded, analyses, tmp_path):
    _, directory = recorded
    assert main(["export", str(directory), "-f", "csv", "--out", str(tmp_path / "a.csv")]) == 0
    assert len(analyses) == 1
    assert main(["replay", str(directory), "--out", str(tmp_path / "r")]) == 0
    assert len(analyses) == 2
    t_export, exported = read_angles_csv(tmp_path / "a.csv")
    t_replay, replayed = read_angles_csv(tmp_path / "r" / "angles.csv")
    np.testing.assert_allclose(t_export, t_replay, atol=1e-4)
    for name, values in exported.items():  # printed to 4 and 3 decimals of a degree
        np.testing.assert_allclose(values, replayed[name], atol=np.deg2rad(1e-3), equal_nan=True)


def test_batch_rows_come_from_the_same_flow(recorded, analyses, tmp_path, capsys):
    _, directory = recorded
    out = tmp_path / "t.csv"
    assert main(["batch", str(directory.parent), "--workers", "1", "--out", str(out)]) == 0
    assert len(analyses) == 1
    with open(out) as f:
        (row,) = list(csv.DictReader(f))
    meta = read_log(directory / "session.hiplog").metadata
    assert row["session_id"] == meta["session_id"] and row["client"] == "c-9"
    analysis = workflow.analyse_session(directory)
    expected: dict[str, float] = {}
    for r in analysis.ranges:
        for plane, value in zip(("flexion", "adduction", "rotation"), r.range, strict=True):
            key = f"{r.exercise}_{r.side}_{plane}_deg"
            expected[key] = max(expected.get(key, -np.inf), float(np.rad2deg(value)))
    assert len(expected) >= 6
    for key, value in expected.items():
        assert float(row[key]) == pytest.approx(value, abs=1e-3), key


def test_old_entry_points_still_import_and_call_the_workflow():
    from hipimu.export.formats import export_session
    from hipimu.report import session_report
    from hipimu.report.client import session_report as from_client
    from hipimu.workflow.batch import run_batch

    assert export_session is workflow.export_session
    assert session_report is from_client is workflow.session_report
    assert callable(run_batch)


def test_a_session_without_data_is_named(tmp_path):
    write_session(tmp_path / "empty", [], [], {})
    with pytest.raises(ValueError, match=r"empty.*no notifications"):
        workflow.export_session(tmp_path / "empty", "csv")
