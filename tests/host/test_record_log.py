"""Session log durability and recovery beyond the basics of test_log.py."""

from __future__ import annotations

import os
import struct
import time
import zlib

import pytest

from hipimu.core.types import Notification
from hipimu.store.log import (
    MAGIC,
    SYNC,
    LogDamageWarning,
    LogFormatError,
    SessionLogWriter,
    new_client_id,
    read_log,
)


def notes(n, rate=75.0):
    return [
        Notification(i / rate, f"AA:{i % 3}", bytes([i % 256]) * (30 + i % 5)) for i in range(n)
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class DurableWriter(SessionLogWriter):
    """Remembers the file size at every fsync: what a power cut would leave."""

    def _fsync(self) -> None:
        super()._fsync()
        self.durable = os.fstat(self._file.fileno()).st_size


def test_power_cut_loses_at_most_the_sync_interval(tmp_path):
    path = tmp_path / "s.hiplog"
    clock = Clock()
    items = notes(3000)
    worst = 0.0
    with DurableWriter(path, fsync_interval=0.5, clock=clock, background_sync=False) as log:
        log.meta({"client": "c-1"})
        for k, note in enumerate(items):
            clock.now = note.host_time
            log.notification(note)
            if k % 97 == 0:  # cut the power here: keep only the durable bytes
                cut = tmp_path / "cut.hiplog"
                cut.write_bytes(path.read_bytes()[: log.durable])
                kept = read_log(cut)
                assert kept.notifications == items[: len(kept.notifications)]
                last = kept.notifications[-1].host_time if kept.notifications else 0.0
                worst = max(worst, note.host_time - last)
    assert worst <= 0.5 + 1 / 75.0


def test_a_stalled_stream_is_still_synced(tmp_path):
    clock = Clock()
    log = DurableWriter(tmp_path / "s.hiplog", fsync_interval=0.5, clock=clock,
                        background_sync=False)  # fmt: skip
    log.notification(notes(1)[0])
    size = os.path.getsize(tmp_path / "s.hiplog")
    assert log.durable < size  # written, not yet durable
    clock.now = 0.6  # no further record arrives; the background loop's call:
    assert log.sync_if_due()
    assert log.durable == size
    assert not log.sync_if_due()  # nothing new
    log.close()


def test_background_thread_syncs_without_new_records(tmp_path):
    with DurableWriter(tmp_path / "s.hiplog", fsync_interval=0.05) as log:
        log.notification(notes(1)[0])
        syncs = log.syncs
        deadline = time.monotonic() + 10.0
        while log.syncs == syncs and time.monotonic() < deadline:
            time.sleep(0.01)
        assert log.syncs > syncs
        assert log.durable == os.path.getsize(tmp_path / "s.hiplog")


def test_a_killed_writer_loses_nothing_it_wrote(tmp_path):
    # records go to the OS unbuffered: the file holds them before close() or fsync
    path = tmp_path / "s.hiplog"
    log = SessionLogWriter(path, fsync_interval=1e9, background_sync=False)
    items = notes(50)
    for n in items:
        log.notification(n)
    assert read_log(path).notifications == items
    log.close()


def test_metadata_markers_notes_and_calibration(tmp_path):
    path = tmp_path / "s.hiplog"
    client = new_client_id()
    with SessionLogWriter(path) as log:
        log.meta({"client": client, "placement": "nominal"})
        log.meta({"firmware": {"AA:0": "0.3.1"}})
        log.notification(notes(1)[0])
        log.marker("marching", "both", 1.0, 5.0)
        log.note("left side feels tighter", 2.5, author="client")
        log.calibration({"format": "hipimu-calibration/1"}, 0.5)
    out = read_log(path)
    assert client.startswith("c-") and len(client) == 14
    assert out.metadata == {"client": client, "placement": "nominal",
                            "firmware": {"AA:0": "0.3.1"}}  # fmt: skip
    assert out.markers == [{"exercise": "marching", "side": "both", "start": 1.0, "end": 5.0}]
    assert out.notes == [{"text": "left side feels tighter", "time": 2.5, "author": "client"}]
    assert out.calibrations == [{"time": 0.5, "format": "hipimu-calibration/1"}]


def test_appending_after_a_crash_keeps_both_parts(tmp_path):
    path = tmp_path / "s.hiplog"
    items = notes(200)
    with SessionLogWriter(path) as log:
        for n in items[:100]:
            log.notification(n)
    path.write_bytes(path.read_bytes()[:-7])  # the crash tore the last record
    with SessionLogWriter(path) as log:
        for n in items[100:]:
            log.notification(n)
    out = read_log(path)
    assert out.notifications == items[:99] + items[100:]
    assert out.recovery.corrupt_records == 1
    assert "byte" in out.recovery.report()


def test_a_corrupt_length_field_does_not_swallow_the_rest(tmp_path):
    path = tmp_path / "s.hiplog"
    items = notes(300)
    with SessionLogWriter(path) as log:
        for n in items:
            log.notification(n)
    data = bytearray(path.read_bytes())
    # find the 100th record and make its length field point past the end of the file
    pos = len(MAGIC)
    for _ in range(100):
        (length,) = struct.unpack_from("<I", data, pos + 3)
        pos += 2 + 1 + 4 + length + 4
    struct.pack_into("<I", data, pos + 3, 1 << 19)
    path.write_bytes(bytes(data))
    out = read_log(path)
    kept = set(out.notifications)
    assert len(kept) == len(items) - 1
    assert kept <= set(items)
    assert out.recovery.torn_tail_bytes == 0
    assert out.recovery.corrupt_records == 1
    assert f"byte {pos}" in out.recovery.report()


def test_garbage_everywhere_is_accounted_for(tmp_path):
    path = tmp_path / "s.hiplog"
    items = notes(400)
    with SessionLogWriter(path) as log:
        for n in items:
            log.notification(n)
    data = bytearray(path.read_bytes())
    for k in range(1, 60):
        data[k * len(data) // 61] ^= 0xFF
    path.write_bytes(bytes(data))
    out = read_log(path)
    assert set(out.notifications) <= set(items)
    assert len(out.notifications) >= len(items) - 60
    rec = out.recovery
    assert rec.corrupt_records >= 1
    assert len(rec.problems) <= 20
    assert ("more problems" in rec.report()) == (rec.more_problems > 0)


def test_an_intact_record_of_an_unknown_sensor_is_reported(tmp_path):
    path = tmp_path / "s.hiplog"
    body = struct.pack("<dH", 1.0, 7) + b"payload"
    head = struct.pack("<2sBI", SYNC, 3, len(body))
    crc = zlib.crc32(body, zlib.crc32(head[2:]))
    path.write_bytes(MAGIC + head + body + struct.pack("<I", crc))
    out = read_log(path)
    assert out.notifications == []
    assert "undeclared sensor index 7" in out.recovery.report()


def test_a_newer_format_version_is_refused_with_the_version(tmp_path):
    path = tmp_path / "s.hiplog"
    path.write_bytes(MAGIC[:-1] + b"\x09")
    with pytest.raises(LogFormatError, match="version 9"):
        read_log(path)


def test_empty_and_magic_only_logs(tmp_path):
    path = tmp_path / "s.hiplog"
    SessionLogWriter(path).close()
    out = read_log(path)
    assert out.recovery.clean and out.notifications == [] and out.duration == 0.0
    assert "no notifications" in out.recovery.summary()
    path.write_bytes(b"")  # a header cut short at 0 bytes: an empty, damaged log
    with pytest.warns(LogDamageWarning):
        out = read_log(path)
    assert out.notifications == [] and not out.recovery.clean
