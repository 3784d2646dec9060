"""Every session writer goes through the one recorder: each log's metadata is what
docs/session-format.md documents, and no command overwrites or mixes a session."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import struct
from pathlib import Path

import pytest

import hipimu
from hipimu.app.cli import main
from hipimu.simulate import Protocol, simulate_session
from hipimu.sources.simulated import SimulatedSource
from hipimu.store.log import read_log
from hipimu.store.recorder import (
    METADATA_SCHEMA,
    SessionExistsError,
    record_source,
    write_session,
)

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "session-format.md"
TYPES = {
    "string": (str,),
    "string or null": (str, type(None)),
    "list": (list,),
    "object": (dict,),
    "integer": (int,),
}


def doc_tables() -> tuple[dict[str, str], dict[str, str]]:
    """The documented metadata: (always-present key -> type, optional key -> type)."""
    text = DOC.read_text()
    section = text[text.index("## Session metadata") :]
    section = section[: section.index("\n## ", 3)]
    always, optional = {}, {}
    table = always
    for line in section.splitlines():
        if line.startswith("Keys some writers add"):
            table = optional
        m = re.match(r"\| `(\w+)` \| ([a-z ]+) \|", line)
        if m:
            table[m.group(1)] = m.group(2).strip()
    return always, optional


def first_metadata_record(path: Path) -> dict:
    """The log's first record, parsed by hand from the documented layout: it must be the
    opening metadata (kind 1)."""
    data = path.read_bytes()
    assert data[:6] == b"HIPLOG"
    sync, kind, length = struct.unpack_from("<2sBI", data, 8)
    assert sync == b"\xa5\x5a" and kind == 1
    return json.loads(data[15 : 15 + length])


@pytest.fixture(scope="module")
def sim():
    return simulate_session(Protocol(reps=2), seed=3)


def written_by_api(tmp: Path, sim) -> Path:
    meta = {"client": "c-1", "source": "simulated", "host_clock": "simulated"}
    return write_session(tmp / "api", sim.notifications, sim.markers, meta)


def written_by_record_source(tmp: Path, sim) -> Path:
    path = tmp / "rs" / "session.hiplog"
    source = SimulatedSource(sim, speed=float("inf"))
    asyncio.run(record_source(source, path, {"source": "simulated", "host_clock": "simulated"}))
    return path


def written_by_demo(tmp: Path, sim) -> Path:
    assert main(["demo", "--out", str(tmp / "demo"), "--quiet"]) == 0
    return tmp / "demo" / "session.hiplog"


def written_by_record(tmp: Path, sim) -> Path:
    pytest.importorskip("bleak")
    out = tmp / "rec"
    args = ["record", "--out", str(out), "--simulate", "--fast", "--duration", "3", "--quiet"]
    assert main([*args, "--note", "left knee"]) == 0
    return out / "session.hiplog"


def written_by_live(tmp: Path, sim) -> Path:
    pytest.importorskip("pyqtgraph")
    pytest.importorskip("PySide6")
    out = tmp / "live"
    args = ["live", "--simulate", "--speed", "20", "--duration", "1.5", "--record", str(out)]
    assert main(args) == 0
    return out / "session.hiplog"


def written_by_import(tmp: Path, sim) -> Path:
    from hipimu.analysis.pipeline import analyse
    from hipimu.store.opensim import write_sto_quaternions

    an = analyse(sim.notifications, sim.markers)
    sto = tmp / "walk.sto"
    t = an.aligned.time[:1000] - an.aligned.time[0]
    write_sto_quaternions(sto, t, {r: q[:1000] for r, q in an.aligned.quat.items()}, 100.0)
    assert main(["import", str(sto), "--out", str(tmp / "imp")]) == 0
    return tmp / "imp" / "session.hiplog"


WRITERS = {
    "api": written_by_api,
    "record_source": written_by_record_source,
    "demo": written_by_demo,
    "record": written_by_record,
    "live": written_by_live,
    "import": written_by_import,
}


def test_the_documented_schema_is_the_recorders():
    always, optional = doc_tables()
    assert set(always) == set(METADATA_SCHEMA)
    for key, kind in always.items():
        assert TYPES[kind] == METADATA_SCHEMA[key][0], key
    assert optional and not set(optional) & set(always)


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_writer_writes_the_documented_metadata(writer, sim, tmp_path):
    always, optional = doc_tables()
    path = WRITERS[writer](tmp_path, sim)
    first = first_metadata_record(path)
    for key, kind in always.items():  # the opening record holds every key
        assert key in first, f"{writer}: {key} missing"
        assert isinstance(first[key], TYPES[kind]), f"{writer}: {key}={first[key]!r}"
    log = read_log(path)
    assert log.recovery.clean and log.notifications
    meta = log.metadata
    undocumented = set(meta) - set(always) - set(optional)
    assert not undocumented, f"{writer} writes undocumented keys {undocumented}"
    for key in set(meta) & set(optional):
        assert isinstance(meta[key], TYPES[optional[key]]), f"{writer}: {key}={meta[key]!r}"
    assert re.fullmatch(r"[0-9a-f]{32}", meta["session_id"])
    assert meta["hipimu"] == hipimu.__version__
    assert meta["recorder"] == {"record_source": "api"}.get(writer, writer)
    started = dt.datetime.strptime(meta["started_utc"], "%Y-%m-%dT%H:%M:%SZ")
    assert started <= dt.datetime.strptime(meta["stopped_utc"], "%Y-%m-%dT%H:%M:%SZ")
    # record streams through the BLE code path on the host clock; the rest are simulated
    clocks = {"record": "monotonic", "import": "imported"}
    assert meta["host_clock"] == clocks.get(writer, "simulated")
    if writer == "record":
        assert meta["notes"] == ["left knee"] and [n["text"] for n in log.notes] == ["left knee"]
        assert set(meta["firmware"]) == set(meta["sensors"])  # known once connected


def test_session_ids_are_unique(sim, tmp_path):
    ids = {read_log(write_session(tmp_path / f"s{i}", sim.notifications, [], {})).metadata[
        "session_id"] for i in range(20)}  # fmt: skip
    assert len(ids) == 20


# -- never overwrite, never mix -----------------------------------------------------------
def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_write_session_refuses_an_existing_session_and_force_moves_it_aside(sim, tmp_path):
    target = tmp_path / "s"
    write_session(target, sim.notifications[:50], [], {"client": "first"})
    before = snapshot(target)
    with pytest.raises(SessionExistsError, match=r"already exists.*--force"):
        write_session(target, sim.notifications, [], {"client": "second"})
    assert snapshot(target) == before
    write_session(target, sim.notifications, [], {"client": "second"}, force=True)
    write_session(target, sim.notifications, [], {"client": "third"}, force=True)
    aside = sorted(tmp_path.glob("s.old-*"))
    assert len(aside) == 2  # the same second twice: the second gets a suffix
    clients = {read_log(p / "session.hiplog").metadata["client"] for p in aside}
    assert clients == {"first", "second"}
    assert any(snapshot(p) == before for p in aside)  # moved byte for byte
    assert read_log(target / "session.hiplog").metadata["client"] == "third"


def test_record_source_refuses_an_existing_log(sim, tmp_path):
    path = tmp_path / "x.hiplog"
    path.write_bytes(b"not mine")
    source = SimulatedSource(sim, speed=float("inf"))
    with pytest.raises(SessionExistsError):
        asyncio.run(record_source(source, path, {}))
    assert path.read_bytes() == b"not mine"


def test_demo_over_a_recording_refuses_and_force_moves_it_aside(sim, tmp_path, capsys):
    out = tmp_path / "rec"
    write_session(out, sim.notifications, sim.markers, {"client": "c-real", "source": "ble"})
    (out / "report.html").write_text("the client's report")
    before = snapshot(out)
    assert main(["demo", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert str(out) in err and "--force" in err
    assert snapshot(out) == before
    assert main(["demo", "--out", str(out), "--quiet", "--force"]) == 0
    (aside,) = tmp_path.glob("rec.old-*")
    assert snapshot(aside) == before
    assert not (out / "report.html").exists()  # nothing of the old session mixed in
    new, old = (read_log(d / "session.hiplog").metadata for d in (out, aside))
    assert new["recorder"] == "demo" and new["session_id"] != old["session_id"]


def test_live_record_refuses_an_existing_session(sim, tmp_path, capsys):
    pytest.importorskip("pyqtgraph")
    pytest.importorskip("PySide6")
    out = tmp_path / "rec"
    write_session(out, sim.notifications, sim.markers, {"client": "c-real"})
    before = snapshot(out)
    args = ["live", "--simulate", "--speed", "20", "--duration", "1", "--record", str(out)]
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert snapshot(out) == before
    assert main([*args, "--force"]) == 0
    (aside,) = tmp_path.glob("rec.old-*")
    assert snapshot(aside) == before
    log = read_log(out / "session.hiplog")
    assert log.recovery.clean and log.metadata["recorder"] == "live"
    assert log.notifications[0].host_time < log.notifications[-1].host_time


def test_live_record_button_twice_in_a_second_makes_two_sessions(tmp_path):
    from hipimu.app.live.recording import LiveRecording, default_target

    info = {"source": "simulated", "host_clock": "simulated"}
    first = LiveRecording(default_target(tmp_path), info)
    first.close()
    second = LiveRecording(default_target(tmp_path), info)
    second.close()
    assert first.path.parent != second.path.parent
    ids = {read_log(r.path).metadata["session_id"] for r in (first, second)}
    assert len(ids) == 2


def test_force_never_moves_the_current_directory(sim, tmp_path, monkeypatch):
    here = tmp_path / "work"
    here.mkdir()
    (here / "notes.txt").write_text("mine")
    monkeypatch.chdir(here)
    for target in (".", str(here), str(tmp_path)):
        with pytest.raises(SessionExistsError, match="current directory"):
            write_session(target, sim.notifications, [], {}, force=True)
    assert (here / "notes.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1


def test_only_the_recorder_opens_a_session_log_for_writing():
    """One recorder: no module of the package writes a log past store/recorder.py."""
    import ast

    host = Path(hipimu.__file__).resolve().parent
    allowed = {host / "store" / "log.py", host / "store" / "recorder.py"}
    writers = []
    for path in host.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        if "SessionLogWriter" in names and path not in allowed:
            writers.append(str(path.relative_to(host)))
    assert not writers, f"write sessions through hipimu.store.recorder: {writers}"
