"""The session log: round trip, corruption and torn tails recovered with an account."""

from __future__ import annotations

import pytest

from hipimu.core.types import Notification
from hipimu.store.log import LogFormatError, SessionLogWriter, read_log


def notes(n):
    return [Notification(0.01 * i, f"S{i % 3}", bytes([i % 256]) * (20 + i % 7)) for i in range(n)]


def write(path, items, markers=()):
    with SessionLogWriter(path) as log:
        log.meta({"client": "c-001"})
        for n in items:
            log.notification(n)
        for m in markers:
            log.event({"type": "marker", **m})


def test_round_trip(tmp_path):
    items = notes(500)
    write(tmp_path / "s.hiplog", items, [{"exercise": "marching", "side": "both"}])
    out = read_log(tmp_path / "s.hiplog")
    assert out.recovery.clean
    assert out.notifications == items
    assert out.metadata == {"client": "c-001"}
    assert out.markers == [{"exercise": "marching", "side": "both"}]


def test_appending_to_an_existing_log_keeps_sensor_indices(tmp_path):
    path = tmp_path / "s.hiplog"
    items = notes(30)
    write(path, items[:10])
    with SessionLogWriter(path) as log:
        for n in items[10:]:
            log.notification(n)
    assert read_log(path).notifications == items


def test_torn_tail_keeps_everything_before_it(tmp_path):
    path = tmp_path / "s.hiplog"
    items = notes(100)
    write(path, items)
    data = path.read_bytes()
    data = data[: data.rindex(b"\xa5\x5a\x01")]  # a crash: no closing copy of the metadata
    path.write_bytes(data[:-10])
    out = read_log(path)
    assert out.notifications == items[:-1]
    assert out.recovery.torn_tail_bytes > 0
    assert "torn" in out.recovery.summary()


def test_corrupt_record_in_the_middle_is_skipped_and_counted(tmp_path):
    path = tmp_path / "s.hiplog"
    items = notes(100)
    write(path, items)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    out = read_log(path)
    assert out.recovery.corrupt_records >= 1
    assert len(out.notifications) >= 98
    got = set(out.notifications)
    assert got <= set(items)


def test_not_a_log_is_refused_clearly(tmp_path):
    path = tmp_path / "x.hiplog"
    path.write_bytes(b"hello world")
    with pytest.raises(LogFormatError, match="not a hipimu session log"):
        read_log(path)
    with pytest.raises(LogFormatError, match="not a hipimu session log"):
        SessionLogWriter(path)
