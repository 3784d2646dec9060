"""Batch: simulated sessions into one table, serially, in a process pool and on Dask."""

from __future__ import annotations

import csv

import pytest

from hipimu.app.cli import main
from hipimu.simulate import Client, Protocol, simulate_session
from hipimu.store.session_dir import LOG_NAME, write_session
from hipimu.workflow.batch import find_sessions, run_batch, write_table

LEFT_SCALE = Client().left_range_scale  # the simulated client's left side moves 70 %


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for i, symmetric in enumerate((False, True, False)):
        client = Client.symmetric() if symmetric else Client()
        sim = simulate_session(Protocol(client, reps=2), seed=10 + i)
        write_session(root / f"client{i}" / "2026-11-29", sim.notifications, sim.markers,
                      {"client": f"c-{i}", "source": "simulated"})  # fmt: skip
    bad = root / "broken"
    bad.mkdir()
    (bad / LOG_NAME).write_bytes(b"not a log at all")
    return root


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "analysis_seconds"} for r in rows]


@pytest.fixture(scope="module")
def serial(tree):
    return run_batch(tree, workers=1)


def test_finds_nested_sessions(tree):
    found = [p.relative_to(tree).as_posix() for p in find_sessions(tree)]
    assert found == ["broken", "client0/2026-11-29", "client1/2026-11-29", "client2/2026-11-29"]


def test_follows_symlinked_directories_once(tree, tmp_path):
    (tmp_path / "linked").symlink_to(tree / "client1")
    (tmp_path / "linked" / "loop").symlink_to(tmp_path)
    found = [p.relative_to(tmp_path).as_posix() for p in find_sessions(tmp_path)]
    assert found == ["linked/2026-11-29"]
    (tmp_path / "linked" / "loop").unlink()


def test_rows_hold_the_scores_the_simulator_put_in(serial):
    rows = {r["session"]: r for r in serial}
    assert "not a hipimu session log" in rows["broken"]["error"]
    for name, symmetric in (("client0", False), ("client1", True), ("client2", False)):
        r = rows[f"{name}/2026-11-29"]
        assert "error" not in r
        assert r["log_intact"] is True and r["notifications"] > 1000
        assert r["marching_right_flexion_deg"] == pytest.approx(Client().march_flexion_deg, abs=2)
        expected = 100.0 if symmetric else 100.0 * LEFT_SCALE
        assert r["marching_flexion_left_percent_of_right"] == pytest.approx(expected, abs=3)
        assert r["side_lying_leg_lift_adduction_left_percent_of_right"] == pytest.approx(
            expected, abs=3
        )
        assert r["loss_percent_max"] >= 0 and r["calibration_heading"]


def test_process_pool_gives_the_same_table(tree, serial):
    assert _strip(run_batch(tree, workers=2)) == _strip(serial)


def test_dask_local_cluster_gives_the_same_table(tree, serial):
    distributed = pytest.importorskip(
        "distributed", reason="Dask batch needs dask[distributed] (the test extra)"
    )
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        rows = run_batch(tree, scheduler=cluster.scheduler_address)
    assert _strip(rows) == _strip(serial)


def test_command_writes_one_table(tree, tmp_path, capsys):
    out = tmp_path / "table.csv"
    # one session failed: the table is written, and the exit code says so
    assert main(["batch", str(tree), "--workers", "1", "--out", str(out), "--quiet"]) == 1
    with open(out) as f:
        table = list(csv.DictReader(f))
    assert next(r["session"] for r in table) == "broken"
    assert len(table) == 4
    assert list(table[0])[:4] == ["session", "client", "source", "error"]
    captured = capsys.readouterr()
    assert "4 sessions" in captured.out and "1 failed" in captured.out
    assert "broken" in captured.err
    assert "1 of 4 sessions failed" in captured.err


def test_bad_options_and_empty_trees(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(tmp_path), "--workers", "0"])
    assert exc.value.code == 2
    assert "argument --workers: must be 1..1024, got 0" in capsys.readouterr().err
    assert main(["batch", str(tmp_path), "--quiet"]) == 1
    assert "no session directories" in capsys.readouterr().err
    assert main(["batch", str(tmp_path / "missing"), "--quiet"]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_write_table_unions_columns(tmp_path):
    path = write_table([{"session": "a", "x": 1}, {"session": "b", "y": 2}], tmp_path / "t.csv")
    assert path.read_text().splitlines() == ["session,x,y", "a,1,", "b,,2"]
