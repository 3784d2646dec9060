"""The wire constants, defined once: GATT UUIDs, the GATT table, control opcodes and
status codes (docs/protocol.md).

The firmware builds its GATT server from ``SERVICES`` (``link.Link``); the host reads the
same names (``hipimu.wire.protocol`` and ``hipimu.wire.control`` re-export them) and its
simulated BLE backend serves ``SERVICES`` (``hipimu.sources.ble.fake``). The golden
vectors in ``tests/vectors/wire.json`` hold the same values and are checked on both
sides, in the MicroPython VM and under CPython, so a change here shows up everywhere.

Pure data (no imports): runs under MicroPython and CPython.
"""

SERVICE_UUID = "8e3b0001-6869-7069-6d75-000000000000"
DATA_UUID = "8e3b0002-6869-7069-6d75-000000000000"
CONTROL_UUID = "8e3b0003-6869-7069-6d75-000000000000"
STATUS_UUID = "8e3b0004-6869-7069-6d75-000000000000"

# standard services (Bluetooth SIG assigned numbers, 16-bit)
DEVICE_INFO_UUID = 0x180A
MANUFACTURER_NAME_UUID = 0x2A29
MODEL_NUMBER_UUID = 0x2A24
FIRMWARE_REVISION_UUID = 0x2A26
BATTERY_SERVICE_UUID = 0x180F
BATTERY_LEVEL_UUID = 0x2A19

MANUFACTURER_NAME = "hipimu (open hardware)"
MODEL_NUMBER = "hipimu-xiao-esp32s3"

# The advertisement carries no manufacturer data (hipimu has no Bluetooth SIG company
# identifier): its payload is service data under SERVICE_UUID (status.advert_payloads,
# docs/protocol.md "Advertisement").

# (uuid, properties) per characteristic, in handle order; properties as bleak names them
SERVICES = (
    (
        SERVICE_UUID,
        (
            (DATA_UUID, ("notify",)),
            (CONTROL_UUID, ("write", "notify")),
            (STATUS_UUID, ("read", "notify")),
        ),
    ),
    (
        DEVICE_INFO_UUID,
        (
            (MANUFACTURER_NAME_UUID, ("read",)),
            (MODEL_NUMBER_UUID, ("read",)),
            (FIRMWARE_REVISION_UUID, ("read",)),
        ),
    ),
    (BATTERY_SERVICE_UUID, ((BATTERY_LEVEL_UUID, ("read", "notify")),)),
)

# control opcodes (first byte of a control write; the reply's first byte is op | 0x80)
START = 0x01
STOP = 0x02
SET_RATE = 0x03
SET_CONTENT = 0x04
SET_ROLE = 0x05
TIME_PING = 0x06
TARE = 0x07
IDENTIFY = 0x08
SET_KIT = 0x09
SET_BATCH = 0x0A
SAVE = 0x0B

OPCODES = {
    "START": START,
    "STOP": STOP,
    "SET_RATE": SET_RATE,
    "SET_CONTENT": SET_CONTENT,
    "SET_ROLE": SET_ROLE,
    "TIME_PING": TIME_PING,
    "TARE": TARE,
    "IDENTIFY": IDENTIFY,
    "SET_KIT": SET_KIT,
    "SET_BATCH": SET_BATCH,
    "SAVE": SAVE,
}

# opcode -> exact write length (opcode byte included)
WRITE_LENGTH = {
    START: 1,
    STOP: 1,
    SET_RATE: 3,
    SET_CONTENT: 2,
    SET_ROLE: 2,
    TIME_PING: 5,
    TARE: 1,
    IDENTIFY: 2,
    SET_KIT: 5,
    SET_BATCH: 2,
    SAVE: 1,
}

# reply status codes (second byte of a reply)
OK = 0
BAD_LENGTH = 1
BAD_VALUE = 2
NOT_ALLOWED = 3
UNKNOWN = 4
BUSY = 5  # also: SAVE could not write the flash (retry)

STATUS_CODES = {
    "OK": OK,
    "BAD_LENGTH": BAD_LENGTH,
    "BAD_VALUE": BAD_VALUE,
    "NOT_ALLOWED": NOT_ALLOWED,
    "UNKNOWN": UNKNOWN,
    "BUSY": BUSY,
}


def uuid_str(uuid):
    """A UUID as text: 128-bit UUIDs as they are, 16-bit ones as 4 hex digits."""
    return uuid if isinstance(uuid, str) else f"{uuid:04x}"


def table():
    """Everything above as one JSON-able dict (what ``tests/vectors/wire.json`` holds)."""
    return {
        "service_uuid": SERVICE_UUID,
        "data_uuid": DATA_UUID,
        "control_uuid": CONTROL_UUID,
        "status_uuid": STATUS_UUID,
        "services": [
            [uuid_str(svc), [[uuid_str(c), list(p)] for c, p in chars]] for svc, chars in SERVICES
        ],
        "opcodes": OPCODES,
        "write_length": {k: WRITE_LENGTH[v] for k, v in OPCODES.items()},
        "status_codes": STATUS_CODES,
    }
