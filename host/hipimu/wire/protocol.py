"""Decode wire protocol v1 data notifications (docs/protocol.md).

The decoder never raises on bad input: it returns :class:`Rejected` with a reason
(one of :data:`REJECT_REASONS`) and a sentence that says what was wrong, and
:class:`Decoder` counts rejections per reason so the pipeline carries on.
The sample block of a packet is decoded with one ``numpy`` structured view;
:func:`decode_batch` decodes many notifications at once (a session log) with the same
checks and the same results, a few numpy operations for all of them.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hipimu_fw import gatt

VERSION = 1
HEADER = struct.Struct("<BBHIBBBB")
HEADER_SIZE = HEADER.size
MAX_SAMPLES = 16
Q14 = 16384.0
UNIT_TOLERANCE = 0.02
STANDARD_GRAVITY = 9.80665

# the GATT UUIDs are the firmware's (hipimu_fw.gatt: one source of truth)
SERVICE_UUID = gatt.SERVICE_UUID
DATA_UUID = gatt.DATA_UUID
CONTROL_UUID = gatt.CONTROL_UUID
STATUS_UUID = gatt.STATUS_UUID

ROLE_NAMES: dict[int, str] = {0: "pelvis", 1: "femur_r", 2: "femur_l", 255: "unassigned"}
ROLES_BY_NAME: dict[str, int] = {name: code for code, name in ROLE_NAMES.items()}
VALID_ROLES = frozenset(range(16)) | {255}

CONTENT_QUAT, CONTENT_GYR, CONTENT_ACC, CONTENT_MAG = 1, 2, 4, 8
FLAG_CAL_MASK, FLAG_REST, FLAG_MAG_DISTURBED, FLAG_OVERFLOW = 0x03, 0x04, 0x08, 0x10
FLAG_RESERVED = 0xE0

RATE_HZ: dict[int, float] = {1: 25.0, 2: 50.0, 3: 100.0, 4: 200.0, 5: 400.0, 6: 12.5}
GYR_FS_DPS = (125, 250, 500, 1000, 2000, 4000)
ACC_FS_G = (2, 4, 8, 16)
MAG_FS_UT = (400, 800, 1200, 1600)

REJECT_REASONS = (
    "too_short",
    "unknown_version",
    "unknown_role",
    "bad_count",
    "no_content",
    "bad_rate",
    "bad_range",
    "reserved_flags",
    "length_mismatch",
    "non_unit_quaternion",
)


def role_name(role: int) -> str:
    """Name of a role code (``femur_r``), or ``role<N>`` for reserved codes."""
    return ROLE_NAMES.get(role, f"role{role}")


def sample_size(content: int) -> int:
    """Bytes per sample for a content mask."""
    return 8 * bool(content & CONTENT_QUAT) + 6 * (
        bool(content & CONTENT_GYR) + bool(content & CONTENT_ACC) + bool(content & CONTENT_MAG)
    )


@dataclass(frozen=True)
class Packet:
    """One decoded data notification. Arrays are float64 in SI units, one row a sample."""

    role: int
    seq: int
    t0_us: int
    count: int
    flags: int
    rate_hz: float
    quat: np.ndarray | None = None
    gyr: np.ndarray | None = None
    acc: np.ndarray | None = None
    mag: np.ndarray | None = None

    @property
    def period_us(self) -> float:
        return 1e6 / self.rate_hz

    @property
    def role_name(self) -> str:
        return role_name(self.role)


@dataclass(frozen=True)
class Rejected:
    """A payload the decoder refused: ``reason`` is machine-readable, ``detail`` says why."""

    reason: str
    detail: str
    length: int

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail} ({self.length} bytes)"


def _sample_dtype(content: int) -> np.dtype:
    fields = []
    if content & CONTENT_QUAT:
        fields.append(("quat", "<i2", (4,)))
    for bit, name in ((CONTENT_GYR, "gyr"), (CONTENT_ACC, "acc"), (CONTENT_MAG, "mag")):
        if content & bit:
            fields.append((name, "<i2", (3,)))
    return np.dtype(fields)


_DTYPES = {c: _sample_dtype(c) for c in range(1, 16)}


def decode(payload: bytes | bytearray | memoryview) -> Packet | Rejected:
    """Decode one notification; never raises for any byte string."""
    data = bytes(payload)
    n = len(data)
    if n < HEADER_SIZE:
        return Rejected("too_short", f"header needs {HEADER_SIZE} bytes", n)
    version, role, seq, t0_us, count, flags, content_byte, ranges = HEADER.unpack_from(data)
    if version != VERSION:
        return Rejected("unknown_version", f"version {version}, this host reads {VERSION}", n)
    if role not in VALID_ROLES:
        return Rejected("unknown_role", f"role code {role}", n)
    if not 1 <= count <= MAX_SAMPLES:
        return Rejected("bad_count", f"count {count} not in 1..{MAX_SAMPLES}", n)
    content, rate_code = content_byte & 0x0F, content_byte >> 4
    if content == 0:
        return Rejected("no_content", "content mask is 0", n)
    if rate_code not in RATE_HZ:
        return Rejected("bad_rate", f"rate code {rate_code}", n)
    gyr_code, acc_code, mag_code = ranges & 7, (ranges >> 3) & 3, (ranges >> 5) & 3
    if gyr_code >= len(GYR_FS_DPS) or ranges & 0x80:
        return Rejected("bad_range", f"ranges byte 0x{ranges:02x}", n)
    if flags & FLAG_RESERVED:
        return Rejected("reserved_flags", f"flags 0x{flags:02x}", n)
    expected = HEADER_SIZE + count * sample_size(content)
    if n != expected:
        return Rejected(
            "length_mismatch", f"{count} samples of content 0x{content:x} need {expected}", n
        )
    samples = np.frombuffer(data, dtype=_DTYPES[content], count=count, offset=HEADER_SIZE)
    quat = gyr = acc = mag = None
    if content & CONTENT_QUAT:
        quat = samples["quat"].astype(np.float64) / Q14
        norm = np.sqrt(np.sum(quat * quat, axis=1))
        worst = int(np.argmax(np.abs(norm - 1.0)))
        if abs(norm[worst] - 1.0) > UNIT_TOLERANCE:
            return Rejected("non_unit_quaternion", f"sample {worst} has norm {norm[worst]:.4f}", n)
    if content & CONTENT_GYR:
        gyr = samples["gyr"] * (np.deg2rad(GYR_FS_DPS[gyr_code]) / 32768.0)
    if content & CONTENT_ACC:
        acc = samples["acc"] * (ACC_FS_G[acc_code] * STANDARD_GRAVITY / 32768.0)
    if content & CONTENT_MAG:
        mag = samples["mag"] * (MAG_FS_UT[mag_code] / 32768.0)
    return Packet(role, seq, t0_us, count, flags, RATE_HZ[rate_code], quat, gyr, acc, mag)


@dataclass
class Decoder:
    """Stateful wrapper over :func:`decode` that counts what it accepted and rejected."""

    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    last_rejection: Rejected | None = None

    def decode(self, payload: bytes | bytearray | memoryview) -> Packet | None:
        """Decode one payload; returns None (and counts the reason) for a rejected one."""
        result = decode(payload)
        if isinstance(result, Rejected):
            self.rejected[result.reason] += 1
            self.last_rejection = result
            return None
        self.accepted += 1
        return result

    def decode_batch(
        self, payloads: list[bytes]
    ) -> tuple[dict[int, PacketBatch], list[tuple[int, Rejected]]]:
        """:func:`decode_batch`, counted as :meth:`decode` counts."""
        return self._count(*decode_batch(payloads))

    def decode_batch_buffer(
        self, data: bytes, start: np.ndarray, stop: np.ndarray
    ) -> tuple[dict[int, PacketBatch], list[tuple[int, Rejected]]]:
        """:func:`decode_batch_buffer`, counted as :meth:`decode` counts."""
        return self._count(*decode_batch_buffer(data, start, stop))

    def _count(
        self, batches: dict[int, PacketBatch], rejected: list[tuple[int, Rejected]]
    ) -> tuple[dict[int, PacketBatch], list[tuple[int, Rejected]]]:
        self.accepted += sum(len(b) for b in batches.values())
        for _i, result in rejected:
            self.rejected[result.reason] += 1
            self.last_rejection = result
        return batches, rejected


#: the header as a numpy structured type (little-endian, as :data:`HEADER`)
HEADER_DTYPE = np.dtype(
    [
        ("version", "u1"),
        ("role", "u1"),
        ("seq", "<u2"),
        ("t0_us", "<u4"),
        ("count", "u1"),
        ("flags", "u1"),
        ("content", "u1"),
        ("ranges", "u1"),
    ]
)
_SAMPLE_SIZE = np.array([sample_size(c) for c in range(16)], dtype=np.int64)
_RATE_BY_CODE = np.array([RATE_HZ.get(code, np.nan) for code in range(16)])
_GYR_SCALE = np.array([np.deg2rad(fs) / 32768.0 for fs in GYR_FS_DPS] + [np.nan, np.nan])
_ACC_SCALE = np.array([fs * STANDARD_GRAVITY / 32768.0 for fs in ACC_FS_G])
_MAG_SCALE = np.array([fs / 32768.0 for fs in MAG_FS_UT])


@dataclass
class PacketBatch:
    """Decoded packets of one content mask as arrays: one entry per packet (``index``: its
    position in the payloads given), samples concatenated in packet order."""

    index: np.ndarray  # (P,) positions in the decoded payload list
    content: int
    role: np.ndarray  # (P,) uint8
    seq: np.ndarray  # (P,) int64 (raw u16)
    t0_us: np.ndarray  # (P,) int64 (raw u32)
    count: np.ndarray  # (P,) int64
    flags: np.ndarray  # (P,) uint8
    rate_hz: np.ndarray  # (P,) float64
    start: np.ndarray  # (P,) first sample row of each packet
    quat: np.ndarray | None = None  # (S, 4) and so on, as Packet
    gyr: np.ndarray | None = None
    acc: np.ndarray | None = None
    mag: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.index)

    def take(self, which: np.ndarray) -> PacketBatch:
        """The packets at positions ``which`` (indices or a mask) of this batch."""
        which = np.flatnonzero(which) if np.asarray(which).dtype == bool else np.asarray(which)
        count = self.count[which]
        rows = sample_rows(self.start[which], count)
        start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)

        def pick(block: np.ndarray | None) -> np.ndarray | None:
            return None if block is None else block[rows]

        return PacketBatch(
            self.index[which], self.content, self.role[which], self.seq[which],
            self.t0_us[which], count, self.flags[which], self.rate_hz[which], start,
            pick(self.quat), pick(self.gyr), pick(self.acc), pick(self.mag),
        )  # fmt: skip

    def packet(self, i: int) -> Packet:
        """Packet ``i`` of the batch as :func:`decode` returns it."""
        a, n = int(self.start[i]), int(self.count[i])

        def pick(block: np.ndarray | None) -> np.ndarray | None:
            return None if block is None else block[a : a + n]

        return Packet(
            int(self.role[i]), int(self.seq[i]), int(self.t0_us[i]), n, int(self.flags[i]),
            float(self.rate_hz[i]), pick(self.quat), pick(self.gyr), pick(self.acc),
            pick(self.mag),
        )  # fmt: skip


def sample_rows(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Row indices ``start[i] .. start[i] + count[i] - 1`` of every packet, concatenated."""
    count = np.asarray(count, dtype=np.int64)
    total = int(count.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(count)[:-1]])
    return np.repeat(np.asarray(start, dtype=np.int64) - first, count) + np.arange(total)


def decode_batch(
    payloads: list[bytes],
) -> tuple[dict[int, PacketBatch], list[tuple[int, Rejected]]]:
    """Decode many notifications at once: one :class:`PacketBatch` per content mask, and
    the rejected ones as ``(position, Rejected)``. Accepts and rejects exactly what
    :func:`decode` does, with the same reasons and values.

    Payloads of one length are decoded together from one ``(k, length)`` byte array;
    anything a vectorised check refuses goes through :func:`decode` for its reason.
    """
    n = len(payloads)
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=n)

    def rows(pos: np.ndarray, length: int) -> np.ndarray:
        raw = np.frombuffer(b"".join([payloads[i] for i in pos.tolist()]), dtype=np.uint8)
        return raw.reshape(len(pos), length)

    return _decode_grouped(lengths, rows, payloads.__getitem__)


def decode_batch_buffer(
    data: bytes, start: np.ndarray, stop: np.ndarray
) -> tuple[dict[int, PacketBatch], list[tuple[int, Rejected]]]:
    """:func:`decode_batch` of the payloads ``data[start[i]:stop[i]]`` (a session log's
    bytes), read from ``data`` in place: no bytes object per payload."""
    start = np.asarray(start, dtype=np.int64)
    lengths = np.asarray(stop, dtype=np.int64) - start
    if len(start) and (start.min() < 0 or (start + lengths).max() > len(data) or lengths.min() < 0):
        raise ValueError("decode_batch_buffer: payload bounds outside the data")
    u8 = np.frombuffer(data, dtype=np.uint8)

    def rows(pos: np.ndarray, length: int) -> np.ndarray:
        return u8[start[pos][:, None] + np.arange(length)]

    def payload(i: int) -> bytes:
        return data[int(start[i]) : int(start[i] + lengths[i])]

    return _decode_grouped(lengths, rows, payload)


def _decode_grouped(
    lengths: np.ndarray,
    rows: Callable[[np.ndarray, int], np.ndarray],
    payload: Callable[[int], bytes],
) -> tuple[dict[int, PacketBatch], list[tuple[int, Rejected]]]:
    """The body of :func:`decode_batch`: ``rows(pos, length)`` gives the payloads at
    ``pos`` (all ``length`` bytes long) as a ``(k, length)`` uint8 array, ``payload(i)``
    one payload's bytes (for :func:`decode`'s reason when a check refuses it)."""
    suspect = np.flatnonzero(lengths < HEADER_SIZE).tolist()
    parts: dict[int, list[PacketBatch]] = {}
    for length in np.unique(lengths[lengths >= HEADER_SIZE]).tolist():
        pos = np.flatnonzero(lengths == length)
        raw = rows(pos, length)
        head = raw[:, :HEADER_SIZE].copy().view(HEADER_DTYPE)[:, 0]
        count = head["count"].astype(np.int64)
        content = (head["content"] & 0x0F).astype(np.int64)
        rate = _RATE_BY_CODE[head["content"] >> 4]
        ranges = head["ranges"]
        good = (
            (head["version"] == VERSION)
            & ((head["role"] < 16) | (head["role"] == 255))
            & (count >= 1)
            & (count <= MAX_SAMPLES)
            & (content != 0)
            & np.isfinite(rate)
            & ((ranges & 7) < len(GYR_FS_DPS))
            & ((ranges & 0x80) == 0)
            & ((head["flags"] & FLAG_RESERVED) == 0)
            & (length == HEADER_SIZE + count * _SAMPLE_SIZE[content])
        )
        suspect.extend(pos[~good].tolist())
        for c in np.unique(content[good]).tolist():
            sel = np.flatnonzero(good & (content == c))
            cnt = int(count[sel[0]])  # one length and content: one count
            body = raw[sel, HEADER_SIZE:] if len(sel) < len(pos) else raw[:, HEADER_SIZE:]
            samples = np.ascontiguousarray(body).reshape(len(sel) * cnt, -1)
            samples = samples.view(_DTYPES[c])[:, 0]
            parts.setdefault(c, []).append(
                _batch(pos[sel], c, head[sel], rate[sel], cnt, samples, suspect)
            )
    batches = {}
    for c, found in parts.items():
        found = [b for b in found if len(b)]
        if not found:
            continue
        batch = found[0] if len(found) == 1 else _concat(found)
        batches[c] = batch
    rejected = []
    for i in sorted(suspect):
        result = decode(payload(i))
        if not isinstance(result, Rejected):  # the checks above are decode's: cannot happen
            raise AssertionError(f"decode_batch rejected payload {i} that decode accepts")
        rejected.append((i, result))
    return batches, rejected


def _batch(
    index: np.ndarray,
    content: int,
    head: np.ndarray,
    rate: np.ndarray,
    count: int,
    samples: np.ndarray,
    suspect: list[int],
) -> PacketBatch:
    """Packets of one content and count; those with a non-unit quaternion go to
    ``suspect`` (:func:`decode` names them)."""
    p = len(index)
    rg = head["ranges"]
    quat = gyr = acc = mag = None
    keep = None
    if content & CONTENT_QUAT:
        quat = samples["quat"].astype(np.float64) / Q14
        off = np.abs(np.sqrt(np.sum(quat * quat, axis=1)) - 1.0) > UNIT_TOLERANCE
        if off.any():
            keep = ~off.reshape(p, count).any(axis=1)
    if content & CONTENT_GYR:
        gyr = samples["gyr"] * np.repeat(_GYR_SCALE[rg & 7], count)[:, None]
    if content & CONTENT_ACC:
        acc = samples["acc"] * np.repeat(_ACC_SCALE[(rg >> 3) & 3], count)[:, None]
    if content & CONTENT_MAG:
        mag = samples["mag"] * np.repeat(_MAG_SCALE[(rg >> 5) & 3], count)[:, None]
    batch = PacketBatch(
        index, content, head["role"], head["seq"].astype(np.int64),
        head["t0_us"].astype(np.int64), np.full(p, count, dtype=np.int64), head["flags"],
        rate, np.arange(p, dtype=np.int64) * count, quat, gyr, acc, mag,
    )  # fmt: skip
    if keep is not None:
        suspect.extend(index[~keep].tolist())
        batch = batch.take(keep)
    return batch


def _concat(batches: list[PacketBatch]) -> PacketBatch:
    """Batches of one content as one, packets in payload order (the samples stay where
    they are: ``start`` points at each packet's rows)."""
    starts = np.cumsum([0] + [int(b.count.sum()) for b in batches[:-1]])

    def cat(name: str) -> np.ndarray | None:
        blocks = [getattr(b, name) for b in batches]
        return None if blocks[0] is None else np.concatenate(blocks)

    index = np.concatenate([b.index for b in batches])
    order = np.argsort(index, kind="stable")

    def per_packet(name: str) -> np.ndarray:
        return np.concatenate([getattr(b, name) for b in batches])[order]

    start = np.concatenate([b.start + s for b, s in zip(batches, starts, strict=True)])
    return PacketBatch(
        index[order], batches[0].content, per_packet("role"), per_packet("seq"),
        per_packet("t0_us"), per_packet("count"), per_packet("flags"), per_packet("rate_hz"),
        start[order], cat("quat"), cat("gyr"), cat("acc"), cat("mag"),
    )  # fmt: skip
