"""Advertisement payloads, the status characteristic, battery level and LED patterns.

Pure (tested under CPython and in the MicroPython VM).

Advertising payloads (31 bytes each, docs/protocol.md "Advertisement"). hipimu has no
Bluetooth SIG company identifier, so it sends no manufacturer data: its 7 bytes
(version, role, kit id, battery percent) are service data under its own 128-bit service
UUID (AD type 0x21). The advertisement holds the flags and that service data, 3 + 25 =
28 bytes; the local name ``hipimu-<role>`` (at most 19 bytes, complete for every role)
is in the scan response. A scanner identifies a sensor from the advertisement alone.
"""

import binascii
import struct

from hipimu_fw import packet
from hipimu_fw.gatt import (  # re-exported: status.SERVICE_UUID etc. predate gatt.py
    CONTROL_UUID,  # noqa: F401
    DATA_UUID,  # noqa: F401
    SERVICE_UUID,
    STATUS_UUID,  # noqa: F401
)

ADV_MAX = 31
_AD_FLAGS = 0x01
_AD_NAME_SHORT = 0x08
_AD_NAME_COMPLETE = 0x09
_AD_SERVICE_DATA_128 = 0x21

STATE_STREAMING = 0x01
STATE_CONFIG_DEFAULTS = 0x02
STATE_LOW_BATTERY = 0x04
STATE_IMU_ERROR = 0x08

STATUS_SIZE = 19
LOW_BATTERY_MV = 3400


def role_name(role):
    name = packet.ROLE_NAMES.get(role)
    return name if name is not None else f"seg{role}"


def device_name(role):
    return "hipimu-" + role_name(role)


def uuid_bytes_le(uuid):
    """A UUID string as the 16 little-endian bytes advertising data carries."""
    b = binascii.unhexlify(uuid.replace("-", ""))
    return bytes(b[i] for i in range(len(b) - 1, -1, -1))


def _ad(t, payload):
    return bytes((len(payload) + 1, t)) + payload


def service_data(role, kit, battery_pct):
    """The 7 advertised bytes: protocol version, role, kit id (u32), battery percent."""
    return struct.pack("<BBIB", packet.VERSION, role, kit & 0xFFFFFFFF, battery_pct)


def advert_payloads(role, kit, battery_pct=255):
    """(adv_data, resp_data) for a role, kit id and battery percent (255: unknown).

    adv_data: flags, then the service data under the 128-bit service UUID (28 bytes).
    resp_data: the local name, complete (shortened, AD type 0x08, only if a future role
    name were longer than the 29 bytes the scan response holds).
    """
    flags = _ad(_AD_FLAGS, b"\x06")  # LE general discoverable, BR/EDR not supported
    sd = _ad(
        _AD_SERVICE_DATA_128, uuid_bytes_le(SERVICE_UUID) + service_data(role, kit, battery_pct)
    )
    adv = flags + sd
    name = device_name(role).encode()
    room = ADV_MAX - 2
    if len(name) <= room:
        resp = _ad(_AD_NAME_COMPLETE, name)
    else:
        resp = _ad(_AD_NAME_SHORT, name[:room])
    return adv, resp


# LiPo open-circuit voltage (mV) -> percent, piecewise linear
_CURVE = (
    (3300, 0),
    (3500, 3),
    (3600, 10),
    (3700, 25),
    (3800, 45),
    (3900, 62),
    (4000, 78),
    (4100, 90),
    (4200, 100),
)


def battery_percent(mv):
    """Percent from mV; 255 (unknown) below 2500 mV, i.e. no battery or no divider."""
    if mv < 2500:
        return 255
    if mv <= _CURVE[0][0]:
        return 0
    for i in range(1, len(_CURVE)):
        v1, p1 = _CURVE[i]
        if mv <= v1:
            v0, p0 = _CURVE[i - 1]
            return p0 + (p1 - p0) * (mv - v0) // (v1 - v0)
    return 100


def sat16(v):
    return 65535 if v > 65535 else v


def pack_status(
    buf,
    fw,
    imu_type,
    battery_mv,
    battery_pct,
    state,
    role,
    kit,
    notify_failures,
    dropped,
    bus_errors,
):
    """Write the 19-byte status record into ``buf``."""
    struct.pack_into(
        "<BBBBHBBBIHHH",
        buf,
        0,
        packet.VERSION,
        fw[0],
        fw[1],
        imu_type,
        battery_mv if battery_mv < 65535 else 65535,
        battery_pct,
        state,
        role,
        kit & 0xFFFFFFFF,
        sat16(notify_failures),
        sat16(dropped),
        sat16(bus_errors),
    )
    return buf


# LED patterns: (period ms, on ms); checked in this order of priority
LED_OFF = (0, 0)
LED_ON = (1, 1)
LED_IDENTIFY = (200, 100)  # 5 Hz blink while IDENTIFY runs
LED_IMU_ERROR = (500, 250)  # 2 Hz even blink: no IMU answered
LED_LOW_BATTERY = (2000, 100)  # short flash every 2 s (when not streaming)
LED_ADVERTISING = (1000, 100)  # 1 flash per second: waiting for the host
LED_CONNECTED = (1, 1)  # steady on: connected, not streaming
LED_STREAMING = (3000, 30)  # brief flash every 3 s: streaming (saves power)
LED_DEFAULTS = (300, 150)  # used for 3 s after boot when the config fell back


def led_pattern(identify, imu_error, config_fallback_boot, low_battery, connected, streaming):
    if identify:
        return LED_IDENTIFY
    if imu_error:
        return LED_IMU_ERROR
    if config_fallback_boot:
        return LED_DEFAULTS
    if streaming:
        return LED_STREAMING
    if low_battery:
        return LED_LOW_BATTERY
    if connected:
        return LED_CONNECTED
    return LED_ADVERTISING


def led_on(pattern, t_ms):
    period, on = pattern
    if period == 0:
        return False
    if period == 1:
        return True
    return t_ms % period < on
