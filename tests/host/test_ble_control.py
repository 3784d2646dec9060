"""Host encoding of control writes, replies, status and advertisement, against the spec
(docs/protocol.md) and the golden vectors both sides check (tests/vectors/control.json,
advert.json)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

pytest.importorskip("bleak")

from hipimu.sources.ble.fake import parse_ad
from hipimu.wire import control

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "control.json").read_text())
BY_NAME = {v["name"]: v for v in VECTORS}
ADVERTS = json.loads((Path(__file__).parents[1] / "vectors" / "advert.json").read_text())
SERVICE = "8e3b0001-6869-7069-6d75-000000000000"


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("start", control.start),
        ("stop", control.stop),
        ("set_rate_200", lambda: control.set_rate(200)),
        ("set_rate_25", lambda: control.set_rate(25)),
        ("set_content_9d", lambda: control.set_content(15)),
        ("set_role_assigned_bonded", lambda: control.set_role(2)),
        ("set_role_255", lambda: control.set_role(255)),
        ("time_ping", lambda: control.time_ping(0x12345678)),
        ("tare", control.tare),
        ("identify_5s", lambda: control.identify(5)),
        ("set_kit", lambda: control.set_kit(0xDEADBEEF)),
        ("set_batch_8", lambda: control.set_batch(8)),
        ("save", control.save),
    ],
)
def test_writes_match_the_golden_vectors(name, build):
    assert build().hex() == BY_NAME[name]["write"]


def test_invalid_arguments_are_refused_before_writing():
    for bad in (
        lambda: control.set_rate(30),
        lambda: control.set_content(0),
        lambda: control.set_role(16),
        lambda: control.set_batch(17),
        lambda: control.set_kit(-1),
        lambda: control.identify(256),
    ):
        with pytest.raises(ValueError):
            bad()


def test_replies_parse_as_the_spec_says():
    for v in VECTORS:
        reply = control.parse_reply(bytes.fromhex(v["reply"]))
        assert reply is not None
        write = bytes.fromhex(v["write"])
        assert reply.opcode == (write[0] if write else 0) & 0x7F
    ping = control.parse_reply(bytes.fromhex(BY_NAME["time_ping"]["reply"]))
    assert control.parse_ping_reply(ping) == (0x12345678, 3000000123)
    refused = control.parse_reply(bytes.fromhex(BY_NAME["set_role_assigned_no_bond"]["reply"]))
    assert refused.status == 3 and "bond" in refused.describe()
    assert control.parse_reply(b"\x01") is None  # not a reply


def test_batch_is_sized_to_the_mtu():
    assert control.batch_for_mtu(23, 8) == 1  # 12 + 8 = 20 bytes = MTU 23 - 3
    assert control.batch_for_mtu(247, 8) == 4
    assert control.batch_for_mtu(247, 8, wanted=16) == 16
    assert control.batch_for_mtu(100, 26, wanted=16) == 3
    with pytest.raises(ValueError, match="MTU of 23"):
        control.batch_for_mtu(23, 26)


def test_status_record_layout():
    raw = struct.pack("<BBBBHBBBIHHH", 1, 0, 3, 1, 3950, 71, 0x05, 2, 0xCAFE, 7, 8, 65535)
    st = control.parse_status(raw)
    assert st.firmware == (0, 3) and st.imu_name == "BNO085"
    assert (st.battery_mv, st.battery_percent, st.role, st.kit) == (3950, 71, 2, 0xCAFE)
    assert st.streaming and (st.notify_failures, st.dropped, st.bus_errors) == (7, 8, 65535)
    assert control.parse_status(raw[:6] + b"\xff" + raw[7:]).battery_percent is None
    with pytest.raises(ValueError, match="18 bytes"):
        control.parse_status(raw[:18])


@pytest.mark.parametrize("case", ADVERTS, ids=lambda c: c["name"])
def test_advertisement_vectors_parse(case):
    """The golden advertisements (written from protocol.md) read back to their values,
    from the advertising data alone (a passive scan) and with the scan response."""
    adv, resp = bytes.fromhex(case["adv"]), bytes.fromhex(case["resp"])
    battery = None if case["battery_percent"] == 255 else case["battery_percent"]
    for raw, name in ((adv, None), (adv + resp, case["name"])):
        ad = parse_ad(raw)
        assert ad.manufacturer == {} and ad.uuids == []  # service data only
        assert list(ad.service_data) == [SERVICE]
        assert control.is_sensor_advert(ad.name, ad.manufacturer, ad.service_data, ad.uuids)
        got = control.parse_advert(
            "AA", ad.name, ad.manufacturer, -60, service_data=ad.service_data
        )
        assert (got.name or None, got.version, got.role, got.kit, got.battery_percent) == (
            name,
            1,
            case["role"],
            case["kit"],
            battery,
        )


def test_firmware_advertises_no_manufacturer_data():
    """hipimu has no SIG company id: no role's advertisement or scan response carries
    manufacturer data (AD type 0xFF), 0xFFFF (the SIG's test value) least of all."""
    from hipimu_fw import status

    for role in [*range(16), 255]:
        adv, resp = status.advert_payloads(role, 0x01020304, 87)
        assert len(adv) <= 31 and len(resp) <= 31
        for raw in (adv, resp):
            ad = parse_ad(raw)
            assert ad.manufacturer == {}, (role, raw.hex())
        both = parse_ad(adv + resp)
        got = control.parse_advert("AA", both.name, {}, None, service_data=both.service_data)
        assert (got.role, got.kit, got.battery_percent) == (role, 0x01020304, 87)
        assert both.name is not None and both.name.startswith("hipimu-")  # complete name


def _legacy(role: int, kit: int, battery: int) -> tuple[bytes, bytes]:
    """What firmware before the service-data advertisement sent (protocol.md history):
    flags, name and manufacturer data 0xFFFF; the UUID list in the scan response."""
    name = ("hipimu-" + control.role_name(role)).encode()
    manu = struct.pack("<HBBIB", 0xFFFF, 1, role, kit, battery)
    adv = (
        b"\x02\x01\x06" + bytes([len(name) + 1, 0x09]) + name + bytes([len(manu) + 1, 0xFF]) + manu
    )
    resp = b"\x11\x07" + bytes.fromhex(SERVICE.replace("-", ""))[::-1]
    return adv, resp


def test_old_firmware_adverts_still_identify():
    adv, resp = _legacy(1, 0x01020304, 87)
    ad = parse_ad(adv + resp)
    assert control.is_sensor_advert(ad.name, ad.manufacturer, ad.service_data, ad.uuids)
    got = control.parse_advert("AA", ad.name, ad.manufacturer, -60, service_data=ad.service_data)
    assert (got.role, got.kit, got.battery_percent) == (1, 0x01020304, 87)
    # without the scan response (passive scan) the legacy bytes still identify it
    ad = parse_ad(adv)
    assert control.is_sensor_advert(ad.name, ad.manufacturer, ad.service_data, ad.uuids)


def test_other_devices_are_not_sensors():
    # a heart-rate strap, and a device using 0xFFFF manufacturer data under its own name
    hr = parse_ad(b"\x02\x01\x06\x03\x03\x0d\x18\x06\x09Polar")
    other = parse_ad(b"\x02\x01\x06\x05\xff\xff\xff\x01\x02\x05\x09probe")
    for ad in (hr, other):
        assert not control.is_sensor_advert(ad.name, ad.manufacturer, ad.service_data, ad.uuids)
    # service data under another UUID is not ours either
    assert not control.is_sensor_advert("x", {}, {"0000180f-0000-1000-8000-00805f9b34fb": b"\x50"})
    # without the advertised bytes the role still comes from the name; the kit is unknown
    bare = control.parse_advert("BB", "hipimu-pelvis", {}, None)
    assert bare.role == 0 and bare.kit is None
