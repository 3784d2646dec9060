"""The session log's fast read (the C record scan, notifications taken together) gives
exactly what the record-by-record loop gives, on intact and damaged logs; the C scan
against its Python twin (hipimu.reference.logscan)."""

from __future__ import annotations

import dataclasses
import random
import warnings

import numpy as np
import pytest

from hipimu import _core
from hipimu.reference.logscan import log_scan as scan_twin
from hipimu.simulate import simulate_session
from hipimu.store import log as log_module
from hipimu.store.log import MAGIC, LogDamageWarning, read_log
from hipimu.store.session_dir import write_session


@pytest.fixture(scope="module")
def log_bytes(tmp_path_factory) -> bytes:
    sim = simulate_session(seed=7)
    t0 = sim.notifications[0].host_time
    notes = [n for n in sim.notifications if n.host_time < t0 + 15]
    markers = [m for m in sim.markers if m["start"] < t0 + 15]
    path = write_session(tmp_path_factory.mktemp("log"), notes, markers, {"client": "c-fast"})
    return path.read_bytes()


def _scan_all(data: bytes, pos: int, rows: int) -> tuple[list[tuple[int, int, int]], int]:
    out = np.empty((rows, 3), dtype=np.int64)
    found: list[tuple[int, int, int]] = []
    while True:
        n, stop = _core.log_scan(data, pos, out)
        found += [tuple(r) for r in out[:n].tolist()]
        if n < rows:
            return found, stop
        pos = stop


def test_c_scan_matches_its_twin(log_bytes):
    rng = random.Random(1)
    cases = [log_bytes, log_bytes[:-3], log_bytes[: len(log_bytes) // 2]]
    for _ in range(30):
        damaged = bytearray(log_bytes)
        damaged[rng.randrange(len(MAGIC), len(damaged))] ^= rng.randrange(1, 256)
        cases.append(bytes(damaged))
    for data in cases:
        want = scan_twin(data, len(MAGIC))
        assert _scan_all(data, len(MAGIC), 1000) == want
        assert _scan_all(data, len(MAGIC), 7) == want  # resumed across full buffers
    assert len(scan_twin(log_bytes, len(MAGIC))[0]) > 1000
    assert scan_twin(log_bytes, len(MAGIC))[1] == len(log_bytes)


def test_c_scan_checks_its_arguments(log_bytes):
    with pytest.raises(ValueError, match="shape"):
        _core.log_scan(log_bytes, 8, np.empty((4, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        _core.log_scan(log_bytes, 8, np.empty((4, 3), dtype=np.float64))
    with pytest.raises(ValueError, match="outside the data"):
        _core.log_scan(log_bytes, len(log_bytes) + 1, np.empty((4, 3), dtype=np.int64))
    assert _core.log_scan(b"", 0, np.empty((4, 3), dtype=np.int64)) == (0, 0)


def _read(path, fast: bool, monkeypatch):
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(log_module, "_read_intact", lambda data, pos, *rest: pos)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LogDamageWarning)
            return read_log(path)


def _same(a, b) -> None:
    assert a.notifications == b.notifications
    assert a.events == b.events
    assert a.metadata == b.metadata
    assert a.sensor_index == b.sensor_index
    assert a.version == b.version
    assert dataclasses.asdict(a.recovery) == dataclasses.asdict(b.recovery)


def test_fast_read_equals_the_record_loop_on_intact_and_damaged_logs(
    log_bytes, tmp_path, monkeypatch
):
    path = tmp_path / "s.hiplog"
    path.write_bytes(log_bytes)
    clean = _read(path, True, monkeypatch)
    _same(clean, _read(path, False, monkeypatch))
    assert clean.recovery.clean and len(clean.notifications) > 1000
    rng = random.Random(2)
    # declarations, metadata and events: the records the fast read applies one by one
    vital = [r for r in scan_twin(log_bytes, len(MAGIC))[0] if r[1] != 3]
    for trial in range(240):
        data = bytearray(log_bytes)
        if trial % 4 == 3:
            data = data[: rng.randrange(1, len(data))]
        elif trial % 4 == 2:
            offset, _, length = rng.choice(vital)
            data[offset + rng.randrange(0, 11 + length)] ^= rng.randrange(1, 256)
        else:
            for _ in range(1 + trial % 3):
                data[rng.randrange(0, len(data))] ^= rng.randrange(1, 256)
        path.write_bytes(bytes(data))
        _same(_read(path, True, monkeypatch), _read(path, False, monkeypatch))


def test_an_intact_log_keeps_its_notifications_as_arrays(log_bytes, tmp_path, monkeypatch):
    from hipimu.core.batch import NotificationBatch

    path = tmp_path / "s.hiplog"
    path.write_bytes(log_bytes)
    fast = _read(path, True, monkeypatch)
    loop = _read(path, False, monkeypatch).notifications
    notes = fast.notifications
    assert isinstance(notes, NotificationBatch) and isinstance(loop, list)
    # a read-only sequence equal to the loop's list, element by element and sliced
    assert len(notes) == len(loop) > 1000
    assert notes == loop and loop == notes and list(notes) == loop
    assert notes[0] == loop[0] and notes[-1] == loop[-1] and notes[123] == loop[123]
    for sl in (slice(5, 50), slice(-64, None), slice(None, None, -7), slice(10, 2, -3)):
        assert notes[sl] == loop[sl]
    with pytest.raises(IndexError):
        notes[len(loop)]
    assert notes != loop[:-1] and bool(notes)
    # damaged: the list of the record loop
    damaged = bytearray(log_bytes)
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    assert isinstance(_read(path, True, monkeypatch).notifications, list)


def test_the_stream_core_files_a_batch_as_it_files_the_list(log_bytes, tmp_path, monkeypatch):
    from hipimu.stream.assembler import SessionAssembler, resample

    path = tmp_path / "s.hiplog"
    path.write_bytes(log_bytes)
    contents = _read(path, True, monkeypatch)
    out = []
    for notes in (contents.notifications, list(contents.notifications)):
        asm = SessionAssembler()
        for event in contents.events:
            asm.add_event(event)
        asm.extend(notes)
        out.append((asm, resample(asm.timelines())))
    (a, al_a), (b, al_b) = out
    assert list(a.streams) == list(b.streams)  # the same order of sensors
    assert dict(a.decoder.rejected) == dict(b.decoder.rejected)
    np.testing.assert_array_equal(al_a.time, al_b.time)
    for role in al_b.quat:
        np.testing.assert_array_equal(al_a.quat[role], al_b.quat[role])
