"""Python reference of the ``hipimu._core.log_scan`` kernel (the session log's record
scan, :mod:`hipimu.store.log`). Written for clarity; the tests compare the kernel to it."""

from __future__ import annotations

import struct
import zlib

_HEAD = struct.Struct("<2sBI")


def log_scan(data: bytes, pos: int) -> tuple[list[tuple[int, int, int]], int]:
    """The intact records from ``pos`` on as ``(offset, kind, length)`` and where the scan
    stopped: at the first record that is not intact, or at the end of ``data``."""
    records = []
    while len(data) - pos >= _HEAD.size + 4:
        sync, kind, length = _HEAD.unpack_from(data, pos)
        if sync != b"\xa5\x5a" or not 1 <= kind <= 4 or length > 1 << 20:
            break
        stop = pos + _HEAD.size + length
        if stop + 4 > len(data):
            break
        if zlib.crc32(data[pos + 2 : stop]) != int.from_bytes(data[stop : stop + 4], "little"):
            break
        records.append((pos, kind, length))
        pos = stop + 4
    return records, pos
