"""Decode wire protocol v1 data notifications (docs/protocol.md).

The decoder never raises on bad input: it returns :class:`Rejected` with a reason
(one of :data:`REJECT_REASONS`) and a sentence that says what was wrong, and
:class:`Decoder` counts rejections per reason so the pipeline carries on.
The sample block of a packet is decoded with one ``numpy`` structured view.
"""

from __future__ import annotations

import struct
from collections import Counter
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
