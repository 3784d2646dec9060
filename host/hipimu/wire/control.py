"""Host side of the control and status characteristics and of the advertisement
(docs/protocol.md): build control writes, parse replies, status records and the
advertised service data. The opcodes, status codes and UUIDs come from the firmware's
table (``hipimu_fw.gatt``, one source of truth); the encoders and parsers here are the
host's own, and both sides are checked against the golden vectors in ``tests/vectors/``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hipimu.wire.protocol import ROLE_NAMES, VALID_ROLES, VERSION, role_name
from hipimu_fw import gatt

# Firmware before protocol.md's service-data advertisement sent its 7 bytes as
# manufacturer data under 0xFFFF (the SIG's test value): still read from sensors in the
# field that were not updated, never sent.
LEGACY_COMPANY_ID = 0xFFFF
ADVERT_SIZE = 7  # u8 version, u8 role, u32 kit, u8 battery

ADVERT_NAME_PREFIX = "hipimu-"

START, STOP, SET_RATE, SET_CONTENT = gatt.START, gatt.STOP, gatt.SET_RATE, gatt.SET_CONTENT
SET_ROLE, TIME_PING, TARE, IDENTIFY = gatt.SET_ROLE, gatt.TIME_PING, gatt.TARE, gatt.IDENTIFY
SET_KIT, SET_BATCH, SAVE = gatt.SET_KIT, gatt.SET_BATCH, gatt.SAVE
OPCODE_NAMES: dict[int, str] = {code: name for name, code in gatt.OPCODES.items()}
STATUS_TEXT = {
    gatt.OK: "ok",
    gatt.BAD_LENGTH: "bad length",
    gatt.BAD_VALUE: "bad value",
    gatt.NOT_ALLOWED: "not allowed (a bonded link is required)",
    gatt.UNKNOWN: "unknown opcode",
    gatt.BUSY: "busy",
}
SETTABLE_RATES = (25, 50, 100, 200, 400)
HEADER_SIZE = 12
MAX_SAMPLES = 16


def start() -> bytes:
    return bytes([START])


def stop() -> bytes:
    return bytes([STOP])


def set_rate(rate_hz: int) -> bytes:
    if rate_hz not in SETTABLE_RATES:
        raise ValueError(f"rate {rate_hz} Hz is not one of {SETTABLE_RATES}")
    return struct.pack("<BH", SET_RATE, rate_hz)


def set_content(mask: int) -> bytes:
    if not 1 <= mask <= 15:
        raise ValueError(f"content mask {mask} not in 1..15")
    return bytes([SET_CONTENT, mask])


def set_role(role: int) -> bytes:
    if role not in VALID_ROLES:
        raise ValueError(f"role code {role} not in 0..15 or 255")
    return bytes([SET_ROLE, role])


def time_ping(token: int) -> bytes:
    return struct.pack("<BI", TIME_PING, token & 0xFFFFFFFF)


def tare() -> bytes:
    return bytes([TARE])


def identify(seconds: int) -> bytes:
    if not 0 <= seconds <= 255:
        raise ValueError(f"identify for {seconds} s: must be 0..255")
    return bytes([IDENTIFY, seconds])


def set_kit(kit: int) -> bytes:
    if not 0 <= kit <= 0xFFFFFFFF:
        raise ValueError(f"kit id {kit} is not a u32")
    return struct.pack("<BI", SET_KIT, kit)


def set_batch(samples: int) -> bytes:
    if not 1 <= samples <= MAX_SAMPLES:
        raise ValueError(f"batch {samples} not in 1..{MAX_SAMPLES}")
    return bytes([SET_BATCH, samples])


def save() -> bytes:
    return bytes([SAVE])


def batch_for_mtu(mtu: int, sample_size: int, wanted: int = 4) -> int:
    """Samples per notification: ``wanted``, limited so one notification fits ``mtu - 3``.

    Raises ``ValueError`` when not even one sample fits.
    """
    fit = (mtu - 3 - HEADER_SIZE) // sample_size
    if fit < 1:
        raise ValueError(f"an MTU of {mtu} cannot carry one {sample_size}-byte sample")
    return max(1, min(wanted, fit, MAX_SAMPLES))


@dataclass(frozen=True)
class Reply:
    """A control reply: ``opcode`` (without the 0x80 bit), ``status``, ``payload``."""

    opcode: int
    status: int
    payload: bytes

    @property
    def ok(self) -> bool:
        return self.status == 0

    def describe(self) -> str:
        name = OPCODE_NAMES.get(self.opcode, f"0x{self.opcode:02x}")
        return f"{name}: {STATUS_TEXT.get(self.status, f'status {self.status}')}"


def parse_reply(data: bytes | bytearray) -> Reply | None:
    """A control notification as a :class:`Reply`, or None if it is not one."""
    if len(data) < 2 or not data[0] & 0x80:
        return None
    return Reply(data[0] & 0x7F, data[1], bytes(data[2:]))


def parse_ping_reply(reply: Reply) -> tuple[int, int] | None:
    """``(token, sensor time in us)`` of a TIME_PING reply, or None."""
    if reply.opcode != TIME_PING or not reply.ok or len(reply.payload) != 8:
        return None
    token, device_us = struct.unpack("<II", reply.payload)
    return token, device_us


STATUS = struct.Struct("<BBBBHBBBIHHH")
IMU_TYPES = {0: "unknown", 1: "BNO085", 2: "LSM6DSOX", 3: "LSM6DSOX+LIS3MDL", 4: "simulated"}


@dataclass(frozen=True)
class SensorStatus:
    """The status characteristic (19 bytes)."""

    version: int
    firmware: tuple[int, int]
    imu_type: int
    battery_mv: int
    battery_percent: int | None  # None: unknown
    state: int
    role: int
    kit: int
    notify_failures: int
    dropped: int
    bus_errors: int

    @property
    def streaming(self) -> bool:
        return bool(self.state & 1)

    @property
    def imu_name(self) -> str:
        return IMU_TYPES.get(self.imu_type, f"type {self.imu_type}")


def parse_status(data: bytes | bytearray) -> SensorStatus:
    """Parse the status record; ``ValueError`` (saying why) if it is not one."""
    if len(data) != STATUS.size:
        raise ValueError(f"status record of {len(data)} bytes, expected {STATUS.size}")
    v, fw_major, fw_minor, imu, mv, pct, state, role, kit, nf, dropped, bus = STATUS.unpack(
        bytes(data)
    )
    if v != VERSION:
        raise ValueError(f"status record of protocol version {v}, this host reads {VERSION}")
    return SensorStatus(
        v,
        (fw_major, fw_minor),
        imu,
        mv,
        None if pct == 255 else pct,
        state,
        role,
        kit,
        nf,
        dropped,
        bus,
    )


@dataclass(frozen=True)
class Advert:
    """What a sensor's advertisement says: role, kit id, battery."""

    address: str
    name: str
    rssi: int | None
    version: int | None
    role: int | None
    kit: int | None
    battery_percent: int | None

    @property
    def role_name(self) -> str:
        return "?" if self.role is None else role_name(self.role)


def _service_data_for(service_data: Mapping[str, bytes] | None) -> bytes | None:
    """Our service data, whatever case or form the backend spells the UUID in."""
    if not service_data:
        return None
    for uuid, data in service_data.items():
        if str(uuid).lower() == gatt.SERVICE_UUID:
            return bytes(data)
    return None


def is_sensor_advert(
    local_name: str | None,
    manufacturer_data: Mapping[int, bytes] | None = None,
    service_data: Mapping[str, bytes] | None = None,
    service_uuids: Iterable[str] = (),
) -> bool:
    """Whether an advertisement is a hipimu sensor's: service data under the hipimu
    service UUID; or, from older firmware, the service UUID in the scan response, or
    manufacturer data 0xFFFF with a ``hipimu-`` name."""
    if _service_data_for(service_data) is not None:
        return True
    if any(str(u).lower() == gatt.SERVICE_UUID for u in service_uuids):
        return True
    legacy = (manufacturer_data or {}).get(LEGACY_COMPANY_ID)
    return legacy is not None and (local_name or "").startswith(ADVERT_NAME_PREFIX)


def parse_advert(
    address: str,
    local_name: str | None,
    manufacturer_data: Mapping[int, bytes] | None = None,
    rssi: int | None = None,
    *,
    service_data: Mapping[str, bytes] | None = None,
) -> Advert:
    """Read the advertised 7 bytes (version, role, kit id, battery): service data under
    the hipimu service UUID, or on older firmware manufacturer data under 0xFFFF.

    Without either (a scan that missed them), the role comes from the name
    ``hipimu-<role>`` and the kit is unknown (None).
    """
    name = local_name or ""
    data = _service_data_for(service_data)
    if data is None:
        data = (manufacturer_data or {}).get(LEGACY_COMPANY_ID)
    if data is not None and len(data) >= ADVERT_SIZE:
        version, role, kit, battery = struct.unpack_from("<BBIB", data)
        return Advert(address, name, rssi, version, role, kit, None if battery == 255 else battery)
    role = None
    if name.startswith(ADVERT_NAME_PREFIX):
        wanted = name[len(ADVERT_NAME_PREFIX) :]
        role = next((code for code, n in ROLE_NAMES.items() if n == wanted), None)
    return Advert(address, name, rssi, None, role, None, None)
