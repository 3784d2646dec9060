"""The wire constants have one source of truth (``hipimu_fw.gatt``): the host's names, the
simulated BLE backend's GATT table and the firmware's declaration all equal the golden
vectors written from docs/protocol.md (tests/vectors/wire.json). The firmware side is
checked by the same vectors in the MicroPython VM (tests/firmware/fwcases.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("bleak")

from bleak import BleakClient
from bleak.uuids import normalize_uuid_str

from hipimu.sources.ble.fake import device, simulated_world
from hipimu.wire import control, protocol

WIRE = json.loads((Path(__file__).parents[1] / "vectors" / "wire.json").read_text())


def test_host_uuids_and_opcodes_equal_the_vectors():
    assert protocol.SERVICE_UUID == WIRE["service_uuid"]
    assert protocol.DATA_UUID == WIRE["data_uuid"]
    assert protocol.CONTROL_UUID == WIRE["control_uuid"]
    assert protocol.STATUS_UUID == WIRE["status_uuid"]
    assert "company_id" not in WIRE and not hasattr(control, "COMPANY_ID")
    assert {name: code for code, name in control.OPCODE_NAMES.items()} == WIRE["opcodes"]
    for name, code in WIRE["opcodes"].items():
        assert getattr(control, name) == code
    assert set(control.STATUS_TEXT) == set(WIRE["status_codes"].values())
    # the host's encoders write exactly the declared lengths
    writes = {
        "START": control.start(),
        "STOP": control.stop(),
        "SET_RATE": control.set_rate(100),
        "SET_CONTENT": control.set_content(1),
        "SET_ROLE": control.set_role(1),
        "TIME_PING": control.time_ping(1),
        "TARE": control.tare(),
        "IDENTIFY": control.identify(1),
        "SET_KIT": control.set_kit(1),
        "SET_BATCH": control.set_batch(4),
        "SAVE": control.save(),
    }
    for name, payload in writes.items():
        assert payload[0] == WIRE["opcodes"][name], name
        assert len(payload) == WIRE["write_length"][name], name


def _norm(u: str) -> str:
    return normalize_uuid_str(u)


def test_simulated_backend_serves_the_declared_gatt_table():
    """What a bleak client discovers on a simulated sensor is the vectors' table."""
    world = simulated_world(7, motion="swing", foreign_kit=None)
    _, client_cls = world.backends()
    addr = next(iter(world.peripherals))

    async def discover():
        async with BleakClient(device(world, addr), backend=client_cls) as client:
            table = [
                [s.uuid, [[c.uuid, sorted(c.properties)] for c in s.characteristics]]
                for s in client.services
            ]
            revision = await client.read_gatt_char(_norm("2a26"))
            level = await client.read_gatt_char(_norm("2a19"))
            return table, bytes(revision), bytes(level)

    table, revision, level = asyncio.run(discover())
    expected = [
        [_norm(s), [[_norm(c), sorted(p)] for c, p in chars]] for s, chars in WIRE["services"]
    ]
    assert table == expected
    from hipimu_fw import VERSION

    assert revision.decode() == f"{VERSION[0]}.{VERSION[1]}"
    assert len(level) == 1 and 0 <= level[0] <= 100
