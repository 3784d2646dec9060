"""Host encoding of control writes, replies, status and advertisement, against the spec
(docs/protocol.md) and the golden vectors both sides check (tests/vectors/control.json)."""

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


def test_advertisement_of_the_firmware_parses():
    from hipimu_fw import status

    adv, resp = status.advert_payloads(1, 0x01020304, 87)
    name, manufacturer, uuids = parse_ad(adv + resp)
    assert uuids == ["8e3b0001-6869-7069-6d75-000000000000"]
    ad = control.parse_advert("AA", name, manufacturer, -60)
    assert (ad.name, ad.role_name, ad.kit, ad.battery_percent) == (
        "hipimu-femur_r",
        "femur_r",
        0x01020304,
        87,
    )
    # without manufacturer data the role still comes from the name; the kit is unknown
    bare = control.parse_advert("BB", "hipimu-pelvis", {}, None)
    assert bare.role == 0 and bare.kit is None
