"""The session log: append-only, self-describing, a CRC per record (docs/session-format.md).

Layout: the 8-byte magic ``b"HIPLOG\\x00\\x01"``, then records::

    sync   2 bytes  A5 5A
    kind   u8       1 meta (JSON), 2 sensor (u16 index + address), 3 notification
                    (f64 host time, u16 sensor index, payload), 4 event (JSON)
    length u32      body length (at most 1 MiB)
    body   length bytes
    crc    u32      CRC-32 of kind, length and body

The writer flushes and fsyncs at least every ``fsync_interval`` seconds, so a crash or
power cut loses at most that much. The reader recovers everything intact: a corrupt
record is skipped by searching for the next sync, a torn tail is reported, and
:class:`Recovery` says what was kept and what was not.
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from hipimu.sources.base import Notification

MAGIC = b"HIPLOG\x00\x01"
SYNC = b"\xa5\x5a"
KIND_META, KIND_SENSOR, KIND_NOTIFY, KIND_EVENT = 1, 2, 3, 4
MAX_BODY = 1 << 20
_HEAD = struct.Struct("<2sBI")  # sync, kind, length
_CRC = struct.Struct("<I")
_NOTIFY = struct.Struct("<dH")


class LogFormatError(ValueError):
    """The file is not a hipimu session log."""


class SessionLogWriter:
    """Append records to a session log; use as a context manager."""

    def __init__(self, path: str | os.PathLike, fsync_interval: float = 0.5) -> None:
        self.path = Path(path)
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new:
            with open(self.path, "rb") as f:
                if f.read(len(MAGIC)) != MAGIC:
                    raise LogFormatError(f"{self.path}: exists and is not a hipimu session log")
        self._file = open(self.path, "ab")
        if new:
            self._file.write(MAGIC)
        self._sensors: dict[str, int] = {}
        if not new:
            self._sensors = dict(read_log(self.path).sensor_index)
        self.fsync_interval = fsync_interval
        self._last_sync = time.monotonic()
        self.records = 0

    def _record(self, kind: int, body: bytes) -> None:
        if len(body) > MAX_BODY:
            raise ValueError(f"record of {len(body)} bytes exceeds {MAX_BODY}")
        head = _HEAD.pack(SYNC, kind, len(body))
        crc = zlib.crc32(body, zlib.crc32(head[2:]))
        self._file.write(head + body + _CRC.pack(crc))
        self.records += 1
        if time.monotonic() - self._last_sync >= self.fsync_interval:
            self.sync()

    def meta(self, metadata: dict) -> None:
        """Session metadata (client id, placement, firmware versions, ...)."""
        self._record(KIND_META, json.dumps(metadata, sort_keys=True).encode())

    def event(self, event: dict) -> None:
        """A marker, note or calibration: a JSON object with a ``type`` key."""
        if "type" not in event:
            raise ValueError("an event needs a 'type'")
        self._record(KIND_EVENT, json.dumps(event, sort_keys=True).encode())

    def notification(self, note: Notification) -> None:
        index = self._sensors.get(note.sensor)
        if index is None:
            index = self._sensors[note.sensor] = len(self._sensors)
            self._record(KIND_SENSOR, struct.pack("<H", index) + note.sensor.encode())
        self._record(KIND_NOTIFY, _NOTIFY.pack(note.host_time, index) + bytes(note.payload))

    def sync(self) -> None:
        """Flush to the OS and to the disk."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self) -> SessionLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Recovery:
    """What reading a log kept and what it could not."""

    records: int = 0
    corrupt_records: int = 0
    skipped_bytes: int = 0
    torn_tail_bytes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.corrupt_records or self.skipped_bytes or self.torn_tail_bytes)

    def summary(self) -> str:
        if self.clean:
            return f"{self.records} records, intact"
        return (
            f"{self.records} records recovered; {self.corrupt_records} corrupt records and "
            f"{self.skipped_bytes} bytes skipped; torn tail of {self.torn_tail_bytes} bytes"
        )


@dataclass
class LogContents:
    """Everything a log holds, in file order."""

    metadata: dict = field(default_factory=dict)
    sensor_index: dict[str, int] = field(default_factory=dict)
    notifications: list[Notification] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    recovery: Recovery = field(default_factory=Recovery)

    @property
    def markers(self) -> list[dict]:
        return [
            {k: v for k, v in e.items() if k != "type"}
            for e in self.events
            if e.get("type") == "marker"
        ]


def read_log(path: str | os.PathLike) -> LogContents:
    """Read a session log, recovering what is intact; raises only if it is not a log."""
    data = Path(path).read_bytes()
    if data[: len(MAGIC)] != MAGIC:
        raise LogFormatError(f"{path}: not a hipimu session log (bad magic)")
    out = LogContents()
    names: dict[int, str] = {}
    rec = out.recovery
    pos = len(MAGIC)
    end = len(data)
    while pos < end:
        if end - pos < _HEAD.size + _CRC.size:
            rec.torn_tail_bytes += end - pos
            rec.problems.append(f"torn record at byte {pos}")
            break
        sync, kind, length = _HEAD.unpack_from(data, pos)
        total = _HEAD.size + length + _CRC.size
        valid_head = sync == SYNC and kind in (1, 2, 3, 4) and length <= MAX_BODY
        if valid_head and pos + total > end:
            rec.torn_tail_bytes += end - pos
            rec.problems.append(f"torn record at byte {pos}")
            break
        if valid_head:
            body = data[pos + _HEAD.size : pos + _HEAD.size + length]
            (crc,) = _CRC.unpack_from(data, pos + _HEAD.size + length)
            if crc == zlib.crc32(body, zlib.crc32(data[pos + 2 : pos + _HEAD.size])):
                if _apply(out, names, kind, body):
                    rec.records += 1
                    pos += total
                    continue
        # corrupt: resynchronise on the next sync pattern
        nxt = data.find(SYNC, pos + 1)
        nxt = end if nxt < 0 else nxt
        rec.corrupt_records += 1
        rec.skipped_bytes += nxt - pos
        rec.problems.append(f"corrupt record at byte {pos}, skipped {nxt - pos} bytes")
        pos = nxt
    out.sensor_index = {name: i for i, name in names.items()}
    return out


def _apply(out: LogContents, names: dict[int, str], kind: int, body: bytes) -> bool:
    try:
        if kind == KIND_META:
            out.metadata.update(json.loads(body))
        elif kind == KIND_EVENT:
            out.events.append(json.loads(body))
        elif kind == KIND_SENSOR:
            (index,) = struct.unpack_from("<H", body)
            names[index] = body[2:].decode()
        elif kind == KIND_NOTIFY:
            host_time, index = _NOTIFY.unpack_from(body)
            if index not in names:
                return False
            out.notifications.append(Notification(host_time, names[index], body[_NOTIFY.size :]))
    except (ValueError, UnicodeDecodeError, struct.error):
        return False
    return True
