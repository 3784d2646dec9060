"""A session log that survives damage: flipped bytes anywhere (header, sensor
declarations, markers), truncation anywhere, markers written as sets happen.

The expectation is independent of the reader: the records of the undamaged log are
parsed here from the format's description (docs/session-format.md), and every record
the damage did not touch must come back.
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from collections import Counter

import pytest
from _paths import import_path

from hipimu.core.types import Notification
from hipimu.simulate import simulate_session
from hipimu.store.log import (
    MAGIC,
    REDECLARE_EVERY,
    LogDamageWarning,
    LogFormatError,
    SessionLogWriter,
    read_log,
)
from hipimu.store.session_dir import write_session

HEAD = struct.Struct("<2sBI")


def parse(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(start, stop, kind, body) of every record of an intact log."""
    out, pos = [], len(MAGIC)
    while pos < len(data):
        sync, kind, length = HEAD.unpack_from(data, pos)
        assert sync == b"\xa5\x5a"
        body = data[pos + 7 : pos + 7 + length]
        (crc,) = struct.unpack_from("<I", data, pos + 7 + length)
        assert crc == zlib.crc32(body, zlib.crc32(data[pos + 2 : pos + 7]))
        out.append((pos, pos + 11 + length, kind, body))
        pos += 11 + length
    return out


def expected(records, names):
    """What a perfect reader returns from these records: notifications, events and
    metadata items (the data records; sensor declarations only serve notifications)."""
    notes, events, meta = Counter(), Counter(), set()
    for _, _, kind, body in records:
        if kind == 3:
            t, i = struct.unpack_from("<dH", body)
            notes[Notification(t, names[i], body[10:])] += 1
        elif kind == 4:
            events[json.dumps(json.loads(body), sort_keys=True)] += 1
        elif kind == 1:
            meta.update(
                (k, json.dumps(v)) for k, v in json.loads(body).items() if k != "log_format"
            )  # merged: an item comes back if any copy of it is intact
    return notes, events, meta


def recovered(out, want) -> int:
    notes, events, meta = want
    got_notes = Counter(out.notifications)
    got_events = Counter(json.dumps(e, sort_keys=True) for e in out.events)
    got_meta = {(k, json.dumps(v)) for k, v in out.metadata.items()}
    return len(meta & got_meta) + sum(
        min(n, got[k]) for want_, got in ((notes, got_notes), (events, got_events))
        for k, n in want_.items()
    )  # fmt: skip


@pytest.fixture(scope="module")
def session_log(tmp_path_factory):
    """A 3-sensor simulated recording (real payloads, loss and jitter), 12 s of it."""
    sim = simulate_session(seed=5)
    notes = [n for n in sim.notifications if n.host_time < sim.notifications[0].host_time + 12]
    markers = [dict(m, start=m["start"], end=m["end"]) for m in sim.markers if m["start"] < 12]
    path = write_session(tmp_path_factory.mktemp("log"), notes, markers, {"client": "c-fuzz"})
    data = path.read_bytes()
    records = parse(data)
    names = {}
    for _, _, kind, body in records:
        if kind == 2:
            names[struct.unpack_from("<H", body)[0]] = body[2:].decode()
    return data, records, names, notes, markers


def test_fuzz_flips_and_truncations_recover_99_percent(session_log, tmp_path):
    data, records, names, notes, _ = session_log
    path = tmp_path / "d.hiplog"
    rng = random.Random(18)
    total_want = total_got = 0
    worst = 1.0
    positions = rng.sample(range(1, len(data)), 700)  # distinct
    # and 300 in the few bytes that matter most: header, declarations, metadata, markers
    vital = [0, *range(len(MAGIC))] + [b for r in records if r[2] != 3 for b in range(*r[:2])]
    trials = [("flip", p) for p in positions[:300] + rng.sample(vital, 300)]
    trials += [("cut", p) for p in positions[300:]]
    for how, p in trials:
        if how == "flip":
            damaged = bytearray(data)
            damaged[p] ^= rng.randrange(1, 256)
            intact = [r for r in records if not r[0] <= p < r[1]]
        else:
            damaged = data[:p]
            intact = [r for r in records if r[1] <= p]
        path.write_bytes(bytes(damaged))
        with pytest.warns(LogDamageWarning) if how == "flip" else _maybe_warns():
            out = read_log(path)  # nothing raises
        want = expected(intact, names)
        n_want = sum(want[0].values()) + sum(want[1].values()) + len(want[2])
        n_got = recovered(out, want)
        total_want += n_want
        total_got += n_got
        if n_want:
            worst = min(worst, n_got / n_want)
        if how == "flip":
            assert not out.recovery.clean, f"a flip at byte {p} went unnoticed"
        assert set(out.notifications) <= set(notes), f"{how} at {p}: invented a notification"
    print(f"recovered {total_got}/{total_want} undamaged records, worst trial {worst:.2%}")
    assert total_got / total_want >= 0.99
    assert worst >= 0.99, f"worst trial recovered {worst:.1%} of the undamaged records"


class _maybe_warns:
    """A cut on a record boundary leaves a valid, shorter log: a warning is optional."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", LogDamageWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def test_a_flipped_sensor_declaration_loses_no_notification(session_log, tmp_path):
    data, records, _, notes, _ = session_log
    declarations = [r for r in records if r[2] == 2]
    assert len(declarations) > 3  # repeated: REDECLARE_EVERY notifications apart
    first = declarations[0]
    damaged = bytearray(data)
    damaged[first[0] + 9] ^= 0x04  # one bit of the address
    path = tmp_path / "d.hiplog"
    path.write_bytes(bytes(damaged))
    with pytest.warns(LogDamageWarning, match="1 corrupt records"):
        out = read_log(path)
    assert out.notifications == notes
    assert out.recovery.corrupt_records == 1


def test_a_sensor_whose_every_declaration_is_lost_is_reported(tmp_path):
    path = tmp_path / "s.hiplog"
    items = [Notification(i / 100, "AA:01", bytes([i]) * 20) for i in range(REDECLARE_EVERY // 2)]
    with SessionLogWriter(path) as log:
        for n in items:
            log.notification(n)
    data = bytearray(path.read_bytes())
    decl = data.index(b"AA:01")
    data[decl] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.warns(LogDamageWarning):
        out = read_log(path)
    assert out.notifications == []
    assert f"{len(items)} notifications for undeclared sensor index 0" in out.recovery.report()


@pytest.mark.parametrize("byte", range(len(MAGIC)))
def test_any_damaged_header_byte_is_recovered(session_log, tmp_path, byte):
    data, _, _, notes, markers = session_log
    for flip in (0x01, 0x80, 0xFF):
        damaged = bytearray(data)
        damaged[byte] ^= flip
        path = tmp_path / "h.hiplog"
        path.write_bytes(bytes(damaged))
        with pytest.warns(LogDamageWarning, match="damaged header"):
            out = read_log(path)
        assert out.notifications == notes and out.version == 1
        assert out.metadata["client"] == "c-fuzz" and "log_format" not in out.metadata
        assert [(m["exercise"], m["end"]) for m in out.markers] == [
            (m["exercise"], m["end"]) for m in markers
        ]
        assert out.recovery.header_damaged and "byte" in out.recovery.report()


def test_a_header_cut_short_is_an_empty_log_and_garbage_is_still_refused(tmp_path):
    path = tmp_path / "s.hiplog"
    for cut in (5, 0):  # 0: killed between creating the file and writing its header
        path.write_bytes(MAGIC[:cut])
        with pytest.warns(LogDamageWarning):
            out = read_log(path)
        assert out.notifications == [] and "incomplete" in out.recovery.report()
    with SessionLogWriter(path) as log:  # a log whose creation was cut short is begun anew
        log.notification(Notification(1.0, "AA", b"x"))
    assert read_log(path).notifications == [Notification(1.0, "AA", b"x")]
    path.write_bytes(b"PK\x03\x04" + bytes(200))  # a zip file, say
    with pytest.raises(LogFormatError, match="not a hipimu session log"):
        read_log(path)


def test_a_log_written_before_the_redundancy_still_reads_clean(tmp_path):
    """Format version 1 as first written: one declaration per sensor, no log_format."""

    def record(kind, body):
        head = struct.pack("<2sBI", b"\xa5\x5a", kind, len(body))
        return head + body + struct.pack("<I", zlib.crc32(body, zlib.crc32(head[2:])))

    old = MAGIC + record(1, b'{"client": "c-old"}') + record(2, b"\x00\x00AA:01")
    items = [Notification(i / 100, "AA:01", bytes([i % 256]) * 30) for i in range(300)]
    for n in items:
        old += record(3, struct.pack("<dH", n.host_time, 0) + n.payload)
    old += record(4, b'{"end": 2.0, "exercise": "marching", "side": "both", "start": 1.0, '
                     b'"type": "marker"}')  # fmt: skip
    path = tmp_path / "old.hiplog"
    path.write_bytes(old)
    out = read_log(path)
    assert out.recovery.clean and out.notifications == items and out.version == 1
    assert out.metadata == {"client": "c-old"}
    assert out.markers == [{"exercise": "marching", "side": "both", "start": 1.0, "end": 2.0}]
    with SessionLogWriter(path) as log:  # appending to it continues the old indices
        log.notification(Notification(3.0, "AA:01", b"x"))
    assert read_log(path).notifications == [*items, Notification(3.0, "AA:01", b"x")]


def test_markers_are_in_the_log_as_sets_happen(session_log, tmp_path):
    """Cut the log at 99.9 %, or in the middle of any set: every set begun is kept, an
    unfinished one ends at the last notification kept and says it is open."""
    data, records, _, notes, markers = session_log
    path = tmp_path / "c.hiplog"
    end = records[-1][0] if records[-1][2] == 1 else len(data)  # before the closing metadata
    path.write_bytes(data[: int(end * 0.999)])
    with _maybe_warns():
        out = read_log(path)
    assert [m["exercise"] for m in out.markers] == [m["exercise"] for m in markers]
    assert out.markers[-1]["open"]  # the set running at the cut
    for m in markers:
        t_mid = (m["start"] + m["end"]) / 2
        if t_mid > notes[-1].host_time:
            continue
        stop = next(r[0] for r in records if r[2] == 3 and
                    struct.unpack_from("<d", r[3])[0] > t_mid)  # fmt: skip
        path.write_bytes(data[:stop])
        cut = read_log(path)
        last = cut.markers[-1]
        assert (last["exercise"], last["side"], last["start"]) == (
            m["exercise"], m["side"], m["start"])  # fmt: skip
        assert last["open"] and last["end"] == cut.notifications[-1].host_time
        assert all("open" not in k for k in cut.markers[:-1])


def test_a_damaged_metadata_record_loses_nothing_once_the_log_was_closed(tmp_path):
    path = tmp_path / "m.hiplog"
    with SessionLogWriter(path) as log:
        log.meta({"client": "c-0123456789ab", "placement": "nominal"})
        log.notification(Notification(1.0, "AA", b"x"))
        log.meta({"firmware": {"AA": "0.4"}})
    data = bytearray(path.read_bytes())
    data[data.index(b"c-0123456789ab")] ^= 0x20  # the first metadata record
    path.write_bytes(bytes(data))
    with pytest.warns(LogDamageWarning):
        out = read_log(path)
    assert out.metadata == {
        "client": "c-0123456789ab", "placement": "nominal", "firmware": {"AA": "0.4"}
    }  # fmt: skip


def test_a_damaged_closing_marker_ends_the_set_at_the_next_one(session_log, tmp_path):
    data, records, _, _, markers = session_log
    closing = [r for r in records if r[2] == 4 and json.loads(r[3])["type"] == "marker"]
    damaged = bytearray(data)
    damaged[closing[0][0] + 20] ^= 0x01  # the first set's closing record
    path = tmp_path / "d.hiplog"
    path.write_bytes(bytes(damaged))
    with pytest.warns(LogDamageWarning):
        out = read_log(path)
    first = next(m for m in out.markers if m["start"] == markers[0]["start"])
    assert first["open"] and first["end"] == markers[1]["start"]  # not the log's end


def test_marker_start_and_marker_pair_up(tmp_path):
    path = tmp_path / "m.hiplog"
    with SessionLogWriter(path) as log:
        log.marker_start("marching", "both", 1.0)
        log.notification(Notification(1.5, "AA", b"x"))
        log.marker("marching", "both", 1.0, 2.0)
        log.marker_start("bridge", None, 3.0, note="second")
        log.notification(Notification(4.0, "AA", b"y"))
    out = read_log(path)
    assert out.markers == [
        {"exercise": "marching", "side": "both", "start": 1.0, "end": 2.0},
        {"exercise": "bridge", "side": None, "start": 3.0, "note": "second", "end": 4.0,
         "open": True},
    ]  # fmt: skip


def _env() -> dict:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = import_path()
    return env


def test_commands_report_damage_on_stderr(tmp_path):
    """report, export and replay on a damaged log: a warning naming the file and what
    was lost on stderr, exit 0 with what was intact (docs/session-format.md)."""
    import subprocess
    import sys

    sim = simulate_session(seed=1)
    session = tmp_path / "s"
    path = write_session(session, sim.notifications, sim.markers, {"client": "c-x"})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    data[3] ^= 0x01  # and the header
    path.write_bytes(bytes(data[:-5]))
    runs = {
        "report": ["report", str(session), "--json", "--no-save"],
        "export": ["export", str(session), "-f", "csv", "--out", str(tmp_path / "a.csv")],
        "replay": ["replay", str(path)],
    }
    for command, argv in runs.items():
        proc = subprocess.run(
            [sys.executable, "-m", "hipimu.app.cli", *argv], capture_output=True, text=True,
            env=_env(), timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        warning = f"hipimu {command}: warning: {path if command != 'report' else ''}"
        assert warning in proc.stderr, proc.stderr
        assert "damaged session log" in proc.stderr and "damaged header" in proc.stderr
        assert "torn tail of" in proc.stderr
    assert (tmp_path / "a.csv").stat().st_size > 0
