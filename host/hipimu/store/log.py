"""The session log: append-only, self-describing, a CRC per record (docs/session-format.md).

Layout: the 8-byte magic ``b"HIPLOG\\x00\\x01"``, then records::

    sync   2 bytes  A5 5A
    kind   u8       1 meta (JSON), 2 sensor (u16 index + address), 3 notification
                    (f64 host time, u16 sensor index, payload), 4 event (JSON)
    length u32      body length (at most 1 MiB)
    body   length bytes
    crc    u32      CRC-32 of kind, length and body

Durability: every record is handed to the operating system as it is written (a killed
process loses nothing it had written), and the file is fsynced at least every
``fsync_interval`` seconds, also while no records arrive, so a power cut loses at most
that much. The reader recovers everything intact: a corrupt record is skipped by
searching for the next valid record, a torn tail is dropped, and :class:`Recovery` says
what was kept and what was not.

Redundancy against damage (still format version 1, so older readers read new logs):
each sensor is declared again every ``REDECLARE_EVERY`` of its notifications, and the
reader assigns notifications read before a (lost) declaration once a later one names
their index; the first metadata record carries ``log_format`` (the version again), so a
damaged header is recognised and read; closing writes the metadata again (merged);
a set's marker is opened (``marker_start``) when
it begins and closed (``marker``) when it ends, so a log cut mid-set keeps the set.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
import uuid
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hipimu.core.types import Notification

FORMAT_VERSION = 1
MAGIC_PREFIX = b"HIPLOG\x00"
MAGIC = MAGIC_PREFIX + bytes([FORMAT_VERSION])
SYNC = b"\xa5\x5a"
KIND_META, KIND_SENSOR, KIND_NOTIFY, KIND_EVENT = 1, 2, 3, 4
KIND_NAMES = {KIND_META: "metadata", KIND_SENSOR: "sensor", KIND_NOTIFY: "notification",
              KIND_EVENT: "event"}  # fmt: skip
MAX_BODY = 1 << 20
MAX_PROBLEMS = 20  # problems listed one by one; the rest are counted
REDECLARE_EVERY = 100  # notifications of a sensor between repeats of its declaration
FORMAT_KEY = "log_format"  # the format version, repeated in the first metadata record
MARKER_START = "marker_start"  # event type: a set began (closed by a "marker" event)
_HEAD = struct.Struct("<2sBI")  # sync, kind, length
_CRC = struct.Struct("<I")
_NOTIFY = struct.Struct("<dH")


class LogFormatError(ValueError):
    """The file is not a hipimu session log, or one of a newer format version."""


def new_client_id() -> str:
    """A random pseudonymous client id (``c-`` and 12 hex digits): no name in the log."""
    return f"c-{uuid.uuid4().hex[:12]}"


class LogDamageWarning(UserWarning):
    """A session log was damaged; what was intact was read (``LogContents.recovery``)."""


def _read_header(path: Path, data: bytes) -> tuple[int, str | None]:
    """The format version of the log in ``data`` and what is wrong with its header
    (None if intact). A damaged header is recognised when all but one byte of the magic
    are intact or an intact record follows it; the version then comes from the first
    metadata record's ``log_format`` when the header's byte cannot be right."""
    n = len(MAGIC)
    if len(data) < n:
        if MAGIC.startswith(data):  # b"" too: created, killed before the header
            return FORMAT_VERSION, f"byte 0: the header is incomplete ({len(data)} bytes)"
        raise LogFormatError(f"{path}: not a hipimu session log (bad magic)")
    head, version = data[:n], data[n - 1]
    if head[:-1] == MAGIC_PREFIX and 1 <= version <= FORMAT_VERSION:
        return version, None
    declared = _declared_format(data)
    newer = LogFormatError(
        f"{path}: session log format version {declared or version}; this hipimu reads up "
        f"to version {FORMAT_VERSION}"
    )
    if head[:-1] == MAGIC_PREFIX:  # a newer version, or a damaged version byte
        if declared is not None and declared > FORMAT_VERSION:
            raise newer
        if declared is None and version > FORMAT_VERSION:
            raise newer  # an old log cannot tell a damaged byte from a newer version
        version = declared or FORMAT_VERSION
        return version, f"byte {n - 1}: the header's version byte is damaged, read as {version}"
    alike = sum(x == y for x, y in zip(head[:-1], MAGIC_PREFIX, strict=True))
    if alike < len(MAGIC_PREFIX) - 1 and not _record_at(data, n):
        raise LogFormatError(f"{path}: not a hipimu session log (bad magic)")
    if declared is not None:
        if declared > FORMAT_VERSION:
            raise newer
        version = declared
    version = min(version, FORMAT_VERSION)
    return version, f"byte 0: the header is damaged ({bytes(head)!r}), read as version {version}"


def _declared_format(data: bytes, scan: int = 1 << 16) -> int | None:
    """``log_format`` of the first intact metadata record near the start, if any."""
    pos = _next_record(data, len(MAGIC), scan)
    while 0 <= pos < scan:
        _, kind, length = _HEAD.unpack_from(data, pos)
        if kind == KIND_META:
            try:
                value = json.loads(data[pos + _HEAD.size : pos + _HEAD.size + length])
            except (ValueError, UnicodeDecodeError):
                return None
            found = value.get(FORMAT_KEY) if isinstance(value, dict) else None
            return found if isinstance(found, int) and found >= 0 else None
        pos = _next_record(data, pos + _HEAD.size + length + _CRC.size, scan)
    return None


class SessionLogWriter:
    """Append records to a session log; use as a context manager.

    ``fsync_interval`` (s) bounds what a power cut can lose: a background thread fsyncs
    every interval whatever was written since (``background_sync=False``: the writing
    call does, once the interval has passed, as tests with a fake ``clock`` need);
    ``float("inf")`` writes in bulk (buffered, synced once on close) for logs made from
    data already safe elsewhere (simulated or imported sessions). Appending to an
    existing log continues it (sensor indices are kept; a torn tail left by a crash stays
    in place and is skipped by the reader, so no byte already written is ever changed).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fsync_interval: float = 0.5,
        *,
        clock: Callable[[], float] = time.monotonic,
        background_sync: bool = True,
    ) -> None:
        self.path = Path(path)
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new and self.path.stat().st_size < len(MAGIC):
            if MAGIC.startswith(self.path.read_bytes()):  # a crash while creating it
                self.path.write_bytes(b"")
                new = True
        existing = None if new else read_log(self.path, warn=False)  # refuses a non-log
        self.fsync_interval = fsync_interval
        self._bulk = fsync_interval == float("inf")
        self._clock = clock
        self._file = open(self.path, "ab", buffering=-1 if self._bulk else 0)
        self._sensors: dict[str, int] = {}
        self._since_declared: dict[str, int] = {}  # notifications since the declaration
        self._meta: dict = {}  # all metadata this writer wrote, merged
        self._format_pending = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.records = 0
        self.syncs = 0
        self._last_sync = clock()
        self._dirty = False
        if new:
            self._file.write(MAGIC)
            self._format_pending = True  # the version again, in the first metadata record
            self._fsync()
            _fsync_directory(self.path.parent)
            self._dirty = False
        elif existing is not None:
            self._sensors = dict(existing.sensor_index)  # declared again at first use
        self._stop = threading.Event()
        if background_sync and not self._bulk:
            self._thread = threading.Thread(
                target=self._sync_loop, name=f"hiplog-sync {self.path.name}", daemon=True
            )
            self._thread.start()

    # -- writing ------------------------------------------------------------------------
    def _record(self, kind: int, body: bytes) -> None:
        if self._format_pending and kind != KIND_META:  # data before any metadata
            self._format_pending = False
            self._record(KIND_META, json.dumps({FORMAT_KEY: FORMAT_VERSION}).encode())
        if len(body) > MAX_BODY:
            raise ValueError(f"record of {len(body)} bytes exceeds {MAX_BODY}")
        if self._file.closed:
            raise ValueError(f"{self.path}: the session log is closed")
        head = _HEAD.pack(SYNC, kind, len(body))
        crc = zlib.crc32(body, zlib.crc32(head[2:]))
        record = memoryview(head + body + _CRC.pack(crc))
        while record:  # unbuffered: reaches the OS now (a raw write may be partial)
            record = record[self._file.write(record) or 0 :]
        self.records += 1
        self._dirty = True
        if self._thread is None:  # else the background thread syncs, off the caller's loop
            self.sync_if_due()

    def meta(self, metadata: dict) -> None:
        """Session metadata; several records merge in order (docs/session-format.md):
        ``client`` (pseudonymous id), ``placement``, ``firmware`` ({address: version}),
        ``hipimu``, ``source``, ``started_utc``, ..."""
        record = {**metadata, FORMAT_KEY: FORMAT_VERSION} if self._format_pending else metadata
        self._format_pending = False
        self._record(KIND_META, json.dumps(record, sort_keys=True).encode())
        self._meta.update(metadata)  # written again, merged, on close

    def event(self, event: dict) -> None:
        """A marker, note or calibration: a JSON object with a ``type`` key."""
        if "type" not in event:
            raise ValueError("an event needs a 'type'")
        self._record(KIND_EVENT, json.dumps(event, sort_keys=True).encode())

    def marker_start(self, exercise: str, side: str | None, start: float, **extra) -> None:
        """Open an exercise marker when the set begins (written now, so a log cut before
        the set ends keeps it); :meth:`marker` with the same exercise, side and start
        closes it. An open marker reads as ending at the last notification."""
        self.event(
            {"type": MARKER_START, "exercise": exercise, "side": side, "start": start, **extra}
        )

    def marker(self, exercise: str, side: str | None, start: float, end: float, **extra) -> None:
        """An exercise marker: ``start``/``end`` in host seconds (the notifications' clock).
        Closes the :meth:`marker_start` of the same exercise, side and start, if any."""
        self.event(
            {"type": "marker", "exercise": exercise, "side": side, "start": start, "end": end,
             **extra}
        )  # fmt: skip

    def note(self, text: str, host_time: float | None = None, **extra) -> None:
        """A free-text note (the client's own report, the trainer's remark)."""
        self.event({"type": "note", "text": text, "time": host_time, **extra})

    def calibration(self, calibration: dict, host_time: float | None = None) -> None:
        """The calibration in use from ``host_time`` on: the ``hipimu-calibration/1``
        object (``json.loads(Calibration.to_json())``), its keys at the event's top level."""
        self.event({"type": "calibration", "time": host_time, **calibration})

    def notification(self, note: Notification) -> None:
        index = self._sensors.get(note.sensor)
        if index is None:
            index = self._sensors[note.sensor] = len(self._sensors)
        since = self._since_declared.get(note.sensor, 0)
        if since % REDECLARE_EVERY == 0:  # first use, and every REDECLARE_EVERY after it
            self._record(KIND_SENSOR, struct.pack("<H", index) + note.sensor.encode())
            since = 0
        self._since_declared[note.sensor] = since + 1
        self._record(KIND_NOTIFY, _NOTIFY.pack(note.host_time, index) + bytes(note.payload))

    # -- durability ---------------------------------------------------------------------
    def _fsync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self.syncs += 1

    def sync(self) -> None:
        """Flush to the OS and to the disk."""
        with self._lock:
            if self._file.closed:
                return
            self._dirty = False  # a record written during the fsync marks it dirty again
            self._fsync()
            self._last_sync = self._clock()

    def sync_if_due(self) -> bool:
        """Sync if unsynced records are ``fsync_interval`` old; True if it synced."""
        if self._dirty and self._clock() - self._last_sync >= self.fsync_interval:
            self.sync()
            return True
        return False

    def _sync_loop(self) -> None:
        # every interval, fsync what was written since: a record is durable at most one
        # interval after it was written, also when the stream stalls; the caller's event
        # loop never waits for the disk
        while not self._stop.wait(self.fsync_interval):
            try:
                if self._dirty:
                    self.sync()
            except (OSError, ValueError):  # closed under us; close() syncs anyway
                return

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self._file.closed:
            if self._meta:  # a second copy: a damaged first record loses nothing
                self._record(KIND_META, json.dumps(self._meta, sort_keys=True).encode())
            self.sync()
            with self._lock:
                self._file.close()

    def __enter__(self) -> SessionLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class Recovery:
    """What reading a log kept and what it could not."""

    records: int = 0
    header_damaged: bool = False
    corrupt_records: int = 0
    skipped_bytes: int = 0
    torn_tail_bytes: int = 0
    file_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    more_problems: int = 0
    first_time: float | None = None  # host time of the first and last notification kept
    last_time: float | None = None

    @property
    def clean(self) -> bool:
        return not (
            self.header_damaged or self.corrupt_records or self.skipped_bytes
            or self.torn_tail_bytes
        )  # fmt: skip

    def _problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        else:
            self.more_problems += 1

    def summary(self) -> str:
        span = (
            f", notifications from {self.first_time:.3f} s to {self.last_time:.3f} s"
            if self.first_time is not None and self.last_time is not None
            else ", no notifications"
        )
        if self.clean:
            return f"{self.records} records, intact{span}"
        return (
            f"{self.records} records recovered{span}; "
            f"{'damaged header; ' if self.header_damaged else ''}{self.corrupt_records} "
            f"corrupt records and {self.skipped_bytes} bytes skipped; torn tail of "
            f"{self.torn_tail_bytes} bytes"
        )

    def report(self) -> str:
        """The summary and every problem, one per line (what and where)."""
        lines = [self.summary(), *(f"  {p}" for p in self.problems)]
        if self.more_problems:
            lines.append(f"  ... and {self.more_problems} more problems")
        return "\n".join(lines)


@dataclass
class LogContents:
    """Everything a log holds, in file order. ``notifications`` is a list, or for a log
    read whole a :class:`~hipimu.core.batch.NotificationBatch` (a read-only sequence of
    the same notifications, kept as arrays)."""

    metadata: dict = field(default_factory=dict)
    sensor_index: dict[str, int] = field(default_factory=dict)
    notifications: Sequence[Notification] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    recovery: Recovery = field(default_factory=Recovery)
    version: int = FORMAT_VERSION

    def _events(self, kind: str) -> list[dict]:
        return [
            {k: v for k, v in e.items() if k != "type"}
            for e in self.events
            if e.get("type") == kind
        ]

    @property
    def markers(self) -> list[dict]:
        """Exercise markers, closed ones in file order, then open ones: a set whose end
        was never written (the log was
        cut, the program died, its closing record was damaged) has ``"open": True`` and
        ends at the next set's start or else at the last notification (sets do not
        overlap: starting one ends the running one)."""
        closed = self._events("marker")
        done = {_marker_key(m) for m in closed}
        last = self.notifications[-1].host_time if self.notifications else None
        starts = sorted(
            m["start"] for m in (*closed, *self._events(MARKER_START)) if _number(m.get("start"))
        )
        opened = []
        for m in self._events(MARKER_START):
            if _marker_key(m) in done:
                continue
            done.add(_marker_key(m))
            start = m.get("start")
            end = last
            if _number(start):
                later = [t for t in starts if t > start]
                end = min([t for t in (last, *later[:1]) if t is not None] or [start])
                end = max(end, start)
            opened.append({**m, "end": end, "open": True})
        return closed + opened

    @property
    def notes(self) -> list[dict]:
        return self._events("note")

    @property
    def calibrations(self) -> list[dict]:
        return self._events("calibration")

    @property
    def duration(self) -> float:
        """Seconds from the first to the last notification (0 without notifications)."""
        if not self.notifications:
            return 0.0
        return self.notifications[-1].host_time - self.notifications[0].host_time


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _marker_key(marker: dict) -> tuple:
    return (marker.get("exercise"), marker.get("side"), marker.get("start"))


def read_log(path: str | os.PathLike, *, warn: bool = True) -> LogContents:
    """Read a session log, recovering what is intact; raises only if it is not a log.

    Damage is in ``recovery`` and, with ``warn``, also issued as a
    :class:`LogDamageWarning` (the command line prints it on stderr)."""
    path = Path(path)
    data = path.read_bytes()
    version, header_problem = _read_header(path, data)
    out = LogContents(version=version)
    names: dict[int, str] = {}
    rec = out.recovery
    rec.file_bytes = len(data)
    if header_problem is not None:
        rec.header_damaged = True
        rec._problem(header_problem)
    waiting: dict[int, list[int]] = {}  # undeclared index: positions in notifications
    pos = min(len(MAGIC), len(data))
    end = len(data)
    pos = _read_intact(data, pos, out, names, waiting)  # the intact run, all at once
    while pos < end:
        if end - pos < _HEAD.size + _CRC.size and _only_torn(data, pos):
            _torn(rec, pos, end)
            break
        sync, kind, length = _HEAD.unpack_from(data, pos) if end - pos >= _HEAD.size else (
            b"", 0, 0)  # fmt: skip
        total = _HEAD.size + length + _CRC.size
        valid_head = sync == SYNC and kind in KIND_NAMES and length <= MAX_BODY
        if valid_head and pos + total > end and _only_torn(data, pos):
            _torn(rec, pos, end)
            break
        why = "bad record header"
        if valid_head and pos + total <= end:
            body = data[pos + _HEAD.size : pos + _HEAD.size + length]
            (crc,) = _CRC.unpack_from(data, pos + _HEAD.size + length)
            if crc == zlib.crc32(body, zlib.crc32(data[pos + 2 : pos + _HEAD.size])):
                why = _apply(out, names, waiting, kind, body)
                if why is None:
                    rec.records += 1
                    pos += total
                    continue
            else:
                why = f"{KIND_NAMES[kind]} record fails its CRC"
        elif valid_head:
            why = f"{KIND_NAMES[kind]} record of {length} bytes runs past the end of the file"
        # corrupt: resynchronise on the next record that is intact
        nxt = _next_record(data, pos + 1)
        nxt = end if nxt < 0 else nxt
        rec.corrupt_records += 1
        rec.skipped_bytes += nxt - pos
        rec._problem(f"byte {pos}: {why}; skipped {nxt - pos} bytes")
        pos = nxt
    if waiting:  # never declared (the declarations were lost): dropped, and said so
        lost = {i for positions in waiting.values() for i in positions}
        out.notifications = [n for i, n in enumerate(out.notifications) if i not in lost]
        for index, positions in sorted(waiting.items()):
            rec.records -= len(positions)
            rec.corrupt_records += len(positions)
            rec._problem(
                f"{len(positions)} notifications for undeclared sensor index {index} "
                "(no intact declaration), dropped"
            )
    out.metadata.pop(FORMAT_KEY, None)  # read with the header (_read_header)
    out.sensor_index = {name: i for i, name in names.items()}
    if out.notifications:
        rec.first_time = out.notifications[0].host_time
        rec.last_time = max(n.host_time for n in out.notifications[-64:])
    if warn and not rec.clean:
        warnings.warn(f"{path}: damaged session log: {rec.summary()}", LogDamageWarning, 2)
    return out


_SCAN_ROWS = 1 << 16  # records per call of the C scan


def _read_intact(
    data: bytes, pos: int, out: LogContents, names: dict[int, str],
    waiting: dict[int, list[int]],
) -> int:  # fmt: skip
    """Apply the intact records from ``pos`` on, as the record loop of :func:`read_log`
    would, with the notifications taken together (the C scan ``_core.log_scan`` finds and
    checks the records); returns where the loop goes on: at the first record that is
    not intact or not usable, or at the end. The notifications are named after the other
    records: a declaration only adds a name, so each gets the name the loop would have
    given it (at once, or when the declaration came); undeclared ones wait. A log read
    whole this way, every sensor declared, keeps its notifications as a
    :class:`~hipimu.core.batch.NotificationBatch` (no object per notification)."""
    import numpy as np

    from hipimu import _core

    rows = np.empty((_SCAN_ROWS, 3), dtype=np.int64)
    notes: list[np.ndarray] = []  # notification records (offset, kind, length), in order
    start = pos
    while True:
        count, stop = _core.log_scan(data, pos, rows)
        found = rows[:count]
        cut = count  # records before this one are applied
        notify = found[:, 1] == KIND_NOTIFY
        short = np.flatnonzero(notify & (found[:, 2] < _NOTIFY.size))
        if len(short):
            cut = int(short[0])
        head = _HEAD.size
        for i in np.flatnonzero(~notify[:cut]).tolist():
            offset, kind, length = found[i].tolist()
            body = data[offset + head : offset + head + length]
            if _apply(out, names, waiting, kind, body) is not None:
                cut = i  # the record loop says why
                break
        notes.append(found[:cut][notify[:cut]].copy())
        out.recovery.records += cut
        if cut < count:
            pos = int(found[cut, 0])
            break
        pos = stop
        if count < len(rows) or stop >= len(data):
            break
    found = np.concatenate(notes)
    fields = _notify_fields(data, found)
    whole = pos == len(data) and start == min(len(MAGIC), len(data)) and not out.notifications
    if whole and len(found) and set(np.unique(fields[1]).tolist()) <= names.keys():
        from hipimu.core.batch import NotificationBatch

        index = sorted(names)
        lookup = np.full(max(index) + 1, -1, dtype=np.int64)
        lookup[index] = np.arange(len(index))
        first = found[:, 0] + _HEAD.size + _NOTIFY.size
        out.notifications = NotificationBatch(
            fields[0], lookup[fields[1]], [names[i] for i in index], data, first,
            found[:, 0] + _HEAD.size + found[:, 2],
        )  # fmt: skip
    else:
        _add_notifications(data, found, fields, out, names, waiting)
    return pos


def _notify_fields(data: bytes, found):
    """Host times (float64) and sensor indices of notification records (rows of
    offset, kind, length)."""
    import numpy as np

    raw = np.frombuffer(data, dtype=np.uint8)
    at = raw[(found[:, 0] + _HEAD.size)[:, None] + np.arange(_NOTIFY.size)]
    return at[:, :8].copy().view("<f8")[:, 0], at[:, 8:].copy().view("<u2")[:, 0].astype(np.int64)


def _add_notifications(
    data: bytes, found, fields, out: LogContents, names: dict[int, str],
    waiting: dict[int, list[int]],
) -> None:  # fmt: skip
    """Notification records (rows of offset, kind, length) appended to ``out``, named by
    the declarations so far; undeclared ones wait, as in :func:`_apply`."""
    if not len(found):
        return
    host, index = fields[0].tolist(), fields[1].tolist()
    start = found[:, 0] + _HEAD.size
    lo = (start + _NOTIFY.size).tolist()
    hi = (start + found[:, 2]).tolist()
    first = len(out.notifications)
    for k in set(index) - names.keys():
        waiting.setdefault(k, []).extend(
            first + j for j, i in enumerate(index) if i == k
        )  # fmt: skip
    name = [names.get(i, "") for i in index]
    out.notifications.extend(
        map(Notification, host, name, map(data.__getitem__, map(slice, lo, hi)))
    )


def _torn(rec: Recovery, pos: int, end: int) -> None:
    rec.torn_tail_bytes += end - pos
    rec._problem(
        f"byte {pos}: the last record is incomplete ({end - pos} bytes; the writer was "
        "interrupted), dropped"
    )


def _record_at(data: bytes, pos: int) -> bool:
    """Whether an intact record starts at ``pos``."""
    if len(data) - pos < _HEAD.size + _CRC.size:
        return False
    sync, kind, length = _HEAD.unpack_from(data, pos)
    if sync != SYNC or kind not in KIND_NAMES or length > MAX_BODY:
        return False
    stop = pos + _HEAD.size + length
    if stop + _CRC.size > len(data):
        return False
    (crc,) = _CRC.unpack_from(data, stop)
    return crc == zlib.crc32(data[pos + _HEAD.size : stop], zlib.crc32(data[pos + 2 : pos + 7]))


def _next_record(data: bytes, start: int, stop: int | None = None) -> int:
    """Offset of the next intact record at or after ``start`` (and before ``stop``), or -1."""
    pos = data.find(SYNC, start, stop)
    while pos >= 0:
        if _record_at(data, pos):
            return pos
        pos = data.find(SYNC, pos + 1, stop)
    return -1


def _only_torn(data: bytes, pos: int) -> bool:
    """A record at ``pos`` that cannot be complete is a torn tail only if no intact
    record follows it (else its length field is corrupt, and the rest is recoverable)."""
    return _next_record(data, pos + 1) < 0


def _apply(
    out: LogContents, names: dict[int, str], waiting: dict[int, list[int]], kind: int,
    body: bytes,
) -> str | None:  # fmt: skip
    """Apply an intact record; returns why it cannot be used, or None. Notifications of
    an index not declared yet wait in ``waiting`` for a later (repeated) declaration."""
    try:
        if kind == KIND_META:
            meta = json.loads(body)
            if not isinstance(meta, dict):
                return "metadata record is not a JSON object"
            out.metadata.update(meta)
        elif kind == KIND_EVENT:
            event = json.loads(body)
            if not isinstance(event, dict):
                return "event record is not a JSON object"
            out.events.append(event)
        elif kind == KIND_SENSOR:
            (index,) = struct.unpack_from("<H", body)
            name = body[2:].decode()
            if names.get(index, name) != name:
                return f"sensor index {index} declared again as {name!r} (was {names[index]!r})"
            names[index] = name
            for i in waiting.pop(index, ()):  # read before this declaration
                n = out.notifications[i]
                out.notifications[i] = Notification(n.host_time, name, n.payload)
        elif kind == KIND_NOTIFY:
            host_time, index = _NOTIFY.unpack_from(body)
            if index not in names:
                waiting.setdefault(index, []).append(len(out.notifications))
            name = names.get(index, "")
            out.notifications.append(Notification(host_time, name, body[_NOTIFY.size :]))
    except (ValueError, UnicodeDecodeError, struct.error) as exc:
        return f"{KIND_NAMES[kind]} record unreadable ({exc})"
    return None
