"""Generate the golden vectors from docs/protocol.md (run once; the JSON is then frozen).

    python tests/vectors/make_vectors.py          # refuses to overwrite existing files
    python tests/vectors/make_vectors.py --force  # regenerate (only on a protocol change)

The encoder here is written from the spec text, independently of
``firmware/hipimu_fw/packet.py``: the firmware tests check that the firmware produces
these bytes, the host tests that ``hipimu.wire.protocol.decode`` returns the decoded values.

Files:
- ``packets.json``: list of valid notifications: encoder inputs, ``hex``, ``expected``.
- ``rejects.json``: list of invalid payloads with the decoder's rejection ``reason``.
- ``control.json``: list of control writes with the state before, the reply, the
  state after.
- ``wire.json``: the GATT table (UUIDs and properties), the control opcodes with their
  write lengths and the reply status codes, copied from docs/protocol.md (the firmware's
  ``hipimu_fw.gatt`` and the host's ``hipimu.wire`` must both equal it).
- ``advert.json``: advertising data and scan responses (docs/protocol.md
  "Advertisement") for a few roles, kits and battery levels, with the values a host
  must read back.

Hand check (see docs/protocol.md), case ``quat_pelvis_4x100hz``, header
``01 00 0700 40420f00 04 03 31 0c``: version 1, role 0, seq 7, t0 1000000 us
(0x000F4240), 4 samples, flags 3 (calibration high), content 0x31 = rate code 3
(100 Hz) << 4 | quaternion, ranges 0x0C = gyro code 4 (2000 deg/s) | acc code 1 (4 g) << 3.
First sample [1, 0, 0, 0] -> ``0040 0000 0000 0000`` (16384 = 0x4000 LE).
Case ``mtu23_single_quat``: 12 + 8 = 20 bytes = ATT MTU 23 - 3.
"""

import json
import math
import struct
import sys
from pathlib import Path

HERE = Path(__file__).parent
G = 9.80665
RATE_CODE = {25: 1, 50: 2, 100: 3, 200: 4, 400: 5, 12.5: 6}
GYR_FS = (125, 250, 500, 1000, 2000, 4000)
ACC_FS = (2, 4, 8, 16)
MAG_FS = (400, 800, 1200, 1600)
ROLE_NAMES = {0: "pelvis", 1: "femur_r", 2: "femur_l", 255: "unassigned"}


def q14(v):
    """Round half away from zero to int16 (the firmware's rule), saturating."""
    i = math.floor(abs(v) * 16384 + 0.5)
    i = i if v >= 0 else -i
    return max(-32768, min(32767, i))


def encode(case):
    content = case["content"]
    rate = RATE_CODE[case["rate_hz"]]
    gyr, acc, mag = case["ranges"]["gyr"], case["ranges"]["acc"], case["ranges"]["mag"]
    ranges = gyr | (acc << 3) | (mag << 5)
    out = struct.pack(
        "<BBHIBBBB",
        1,
        case["role"],
        case["seq"],
        case["t0_us"],
        len(case["samples"]),
        case["flags"],
        content | (rate << 4),
        ranges,
    )
    for s in case["samples"]:
        if content & 1:
            out += struct.pack("<4h", *(q14(v) for v in s["q"]))
        if content & 2:
            out += struct.pack("<3h", *s["gyr"])
        if content & 4:
            out += struct.pack("<3h", *s["acc"])
        if content & 8:
            out += struct.pack("<3h", *s["mag"])
    return out, ranges


def decoded(case, ranges):
    content = case["content"]
    period = 1e6 / case["rate_hz"]
    g, a, m = case["ranges"]["gyr"], case["ranges"]["acc"], case["ranges"]["mag"]
    gyr_fs = GYR_FS[g] * math.pi / 180.0
    acc_fs = ACC_FS[a] * G
    mag_fs = float(MAG_FS[m])
    n = len(case["samples"])
    exp = {
        "version": 1,
        "role": case["role"],
        "role_name": ROLE_NAMES.get(case["role"], "reserved"),
        "seq": case["seq"],
        "t0_us": case["t0_us"],
        "count": n,
        "flags": case["flags"],
        "calibration": case["flags"] & 3,
        "rest": bool(case["flags"] & 4),
        "mag_disturbed": bool(case["flags"] & 8),
        "overflow": bool(case["flags"] & 16),
        "content": content,
        "ranges": ranges,
        "rate_hz": case["rate_hz"],
        "period_us": period,
        "gyr_fs_rad_s": gyr_fs,
        "acc_fs_m_s2": acc_fs,
        "mag_fs_ut": mag_fs,
        "sample_size": 8 * (content & 1)
        + 6 * bool(content & 2)
        + 6 * bool(content & 4)
        + 6 * bool(content & 8),
        # sensor time of each sample, wrapped to u32 like t0 (the host unwraps)
        "t_us": [(case["t0_us"] + k * period) % 2**32 for k in range(n)],
    }
    if content & 1:
        exp["q"] = [[q14(v) / 16384 for v in s["q"]] for s in case["samples"]]
    if content & 2:
        exp["gyr_rad_s"] = [[c / 32768 * gyr_fs for c in s["gyr"]] for s in case["samples"]]
    if content & 4:
        exp["acc_m_s2"] = [[c / 32768 * acc_fs for c in s["acc"]] for s in case["samples"]]
    if content & 8:
        exp["mag_ut"] = [[c / 32768 * mag_fs for c in s["mag"]] for s in case["samples"]]
    return exp


def quat(axis, angle_deg):
    h = math.radians(angle_deg) / 2
    n = math.sqrt(sum(v * v for v in axis))
    return [math.cos(h)] + [math.sin(h) * v / n for v in axis]


def sample(q=None, gyr=None, acc=None, mag=None):
    s = {}
    if q is not None:
        s["q"] = [round(v, 9) for v in q]
    if gyr is not None:
        s["gyr"], s["acc"], s["mag"] = gyr, acc, mag
    return s


R_DEFAULT = {"gyr": 4, "acc": 1, "mag": 0}

PACKET_CASES = [
    {
        "name": "quat_pelvis_4x100hz",
        "role": 0,
        "content": 1,
        "rate_hz": 100,
        "ranges": R_DEFAULT,
        "seq": 7,
        "t0_us": 1_000_000,
        "flags": 3,
        "samples": [
            sample([1.0, 0.0, 0.0, 0.0]),
            sample(quat([0, 0, 1], 10.0)),
            sample(quat([1, 2, 3], -37.5)),
            sample([-0.5, 0.5, -0.5, 0.5]),
        ],
    },
    {
        "name": "raw9d_femur_r_2x100hz",
        "role": 1,
        "content": 15,
        "rate_hz": 100,
        "ranges": {"gyr": 4, "acc": 1, "mag": 0},
        "seq": 1234,
        "t0_us": 123_456_789,
        "flags": 2 | 4,
        "samples": [
            sample(quat([0, 1, 0], 90.0), [16, -16, 32767], [0, 0, 8192], [4096, -2048, -32768]),
            sample(quat([0, 1, 0], 90.5), [-32768, 1, 0], [-8192, 100, 8100], [4100, -2050, 0]),
        ],
    },
    {
        "name": "wrap_seq_t0_femur_l_4x200hz",
        "role": 2,
        "content": 1,
        "rate_hz": 200,
        "ranges": R_DEFAULT,
        "seq": 65535,
        "t0_us": 2**32 - 7_500,
        "flags": 1 | 8,
        "samples": [sample(quat([1, 0, 0], a)) for a in (0.0, 1.0, 2.0, 3.0)],
    },
    {
        "name": "after_wrap_seq0_femur_l_1x200hz",
        "role": 2,
        "content": 1,
        "rate_hz": 200,
        "ranges": R_DEFAULT,
        "seq": 0,
        "t0_us": 12_500,
        "flags": 1,
        "samples": [sample(quat([1, 0, 0], 4.0))],
    },
    {
        "name": "t0_above_2pow31_pelvis_2x50hz",
        "role": 0,
        "content": 1,
        "rate_hz": 50,
        "ranges": R_DEFAULT,
        "seq": 300,
        "t0_us": 0xC0000000 + 0x12345,
        "flags": 3,
        "samples": [sample(quat([0, 0, 1], -170.0)), sample(quat([0, 0, 1], -171.0))],
    },
    {
        "name": "mtu23_single_quat",
        "role": 2,
        "content": 1,
        "rate_hz": 50,
        "ranges": R_DEFAULT,
        "seq": 42,
        "t0_us": 20_000,
        "flags": 0,
        "samples": [sample([0.7071067812, 0.0, 0.7071067812, 0.0])],
    },
    {
        "name": "raw6d_overflow_400hz",
        "role": 1,
        "content": 2 | 4,
        "rate_hz": 400,
        "ranges": {"gyr": 3, "acc": 2, "mag": 0},
        "seq": 9,
        "t0_us": 55,
        "flags": 16,
        "samples": [
            {"gyr": [1, 2, 3], "acc": [-1, -2, -3]},
            {"gyr": [100, -200, 300], "acc": [4096, 0, -4096]},
            {"gyr": [0, 0, 0], "acc": [0, 0, 4096]},
        ],
    },
    {
        "name": "quat_gyro_mag_ranges_25hz",
        "role": 0,
        "content": 1 | 2 | 8,
        "rate_hz": 25,
        "ranges": {"gyr": 5, "acc": 3, "mag": 3},
        "seq": 100,
        "t0_us": 40_000,
        "flags": 2,
        "samples": [
            {"q": [0.0, 0.0, 0.0, 1.0], "gyr": [-1, -1, -1], "mag": [123, 456, -789]},
            {"q": [0.0, 0.0, -0.0087265, 0.9999619], "gyr": [2, 2, 2], "mag": [124, 455, -790]},
        ],
    },
    {
        "name": "max16_unassigned_12p5hz",
        "role": 255,
        "content": 1,
        "rate_hz": 12.5,
        "ranges": {"gyr": 0, "acc": 0, "mag": 0},
        "seq": 65000,
        "t0_us": 4_000_000_000,
        "flags": 0,
        "samples": [sample(quat([1, 1, 0], 7.0 * k)) for k in range(16)],
    },
    {
        "name": "reserved_role_7_quat_100hz",
        "role": 7,
        "content": 1,
        "rate_hz": 100,
        "ranges": R_DEFAULT,
        "seq": 1,
        "t0_us": 10_000,
        "flags": 3,
        "samples": [sample(quat([0, 1, 1], 45.0))],
    },
]


def reject_cases():
    good = bytes.fromhex(encode(PACKET_CASES[0])[0].hex())

    def patch(off, val):
        b = bytearray(good)
        b[off] = val
        return bytes(b)

    zero = bytearray(good)
    zero[12:20] = bytes(8)
    skew = bytearray(good)
    struct.pack_into("<4h", skew, 12, 16384, 0, 0, 3800)  # norm 1.0265
    return [
        ("empty", b"", "too_short"),
        ("header_11_bytes", good[:11], "too_short"),
        ("version_2", patch(0, 2), "unknown_version"),
        ("role_16", patch(1, 16), "unknown_role"),
        ("role_254", patch(1, 254), "unknown_role"),
        ("count_0", patch(8, 0), "bad_count"),
        ("count_17", patch(8, 17), "bad_count"),
        ("content_nibble_0", patch(10, 0x30), "no_content"),
        ("rate_code_0", patch(10, 0x01), "bad_rate"),
        ("rate_code_7", patch(10, 0x71), "bad_rate"),
        ("gyr_range_6", patch(11, 0x0E), "bad_range"),
        ("range_bit7", patch(11, 0x8C), "bad_range"),
        ("flag_bit5", patch(9, 0x23), "reserved_flags"),
        ("one_byte_short", good[:-1], "length_mismatch"),
        ("one_byte_long", good + b"\x00", "length_mismatch"),
        ("count_says_3_has_4", patch(8, 3), "length_mismatch"),
        ("zero_quaternion", bytes(zero), "non_unit_quaternion"),
        ("norm_1p0265", bytes(skew), "non_unit_quaternion"),
    ]


def control_cases():
    base = {
        "streaming": False,
        "bonded": False,
        "role": 255,
        "rate": 100,
        "content": 1,
        "kit": 0,
        "batch": 4,
        "secure": True,
        "now_us": 3_000_000_123,
        "supported_content": 15,
    }
    c = []

    def add(name, write, reply, before=None, after=None, calls=None):
        st = dict(base)
        st.update(before or {})
        end = dict(st)
        end.update(after or {})
        c.append(
            {
                "name": name,
                "before": st,
                "write": write,
                "reply": reply,
                "after": end,
                "calls": calls or [],
            }
        )

    add("start", "01", "8100", after={"streaming": True}, calls=["start"])
    add("start_again", "01", "8100", before={"streaming": True})
    add(
        "stop", "02", "8200", before={"streaming": True}, after={"streaming": False}, calls=["stop"]
    )
    add("start_bad_length", "0100", "8101")
    add("set_rate_200", "03c800", "8300", after={"rate": 200}, calls=["apply:rate"])
    add("set_rate_25", "031900", "8300", after={"rate": 25}, calls=["apply:rate"])
    add("set_rate_30_bad", "031e00", "8302")
    add("set_rate_short", "03c8", "8301")
    add("set_rate_streaming_busy", "036400", "8305", before={"streaming": True})
    add("set_content_9d", "040f", "8400", after={"content": 15}, calls=["apply:content"])
    add("set_content_0", "0400", "8402")
    add("set_content_16", "0410", "8402")
    add("set_content_mag_unsupported", "0409", "8402", before={"supported_content": 7})
    add("set_content_streaming_busy", "0403", "8405", before={"streaming": True})
    add("set_role_unassigned_no_bond", "0501", "8500", after={"role": 1}, calls=["apply:role"])
    add("set_role_assigned_no_bond", "0502", "8503", before={"role": 1})
    add(
        "set_role_assigned_bonded",
        "0502",
        "8500",
        before={"role": 1, "bonded": True},
        after={"role": 2},
        calls=["apply:role"],
    )
    add(
        "set_role_insecure_no_bond",
        "0500",
        "8500",
        before={"role": 1, "secure": False},
        after={"role": 0},
        calls=["apply:role"],
    )
    add("set_role_16_bad", "0510", "8502")
    add(
        "set_role_255",
        "05ff",
        "8500",
        before={"role": 0, "bonded": True},
        after={"role": 255},
        calls=["apply:role"],
    )
    add("set_role_streaming_busy", "0501", "8505", before={"streaming": True})
    t = base["now_us"]
    add("time_ping", "0678563412", "8600" + "78563412" + struct.pack("<I", t).hex())
    add("time_ping_short", "06785634", "8601")
    add("tare", "07", "8700", calls=["tare"])
    add("identify_5s", "0805", "8800", calls=["identify:5"])
    add("identify_no_arg", "08", "8801")
    add("set_kit", "09efbeadde", "8900", after={"kit": 0xDEADBEEF}, calls=["apply:kit"])
    add("set_kit_assigned_no_bond", "0901000000", "8903", before={"role": 0})
    add("set_batch_8", "0a08", "8a00", after={"batch": 8}, calls=["apply:batch"])
    add("set_batch_0", "0a00", "8a02")
    add("set_batch_17", "0a11", "8a02")
    add(
        "set_batch_streaming_ok",
        "0a02",
        "8a00",
        before={"streaming": True},
        after={"batch": 2},
        calls=["apply:batch"],
    )
    add("save", "0b", "8b00", calls=["save"])
    add("save_assigned_no_bond", "0b", "8b03", before={"role": 2})
    add("save_assigned_bonded", "0b", "8b00", before={"role": 2, "bonded": True}, calls=["save"])
    add("unknown_0x42", "42", "c204")
    add("unknown_0x00", "00", "8004")
    add("empty_write", "", "8001")
    return c


def wire_table():
    """docs/protocol.md "GATT service", "Control" and "Advertisement", as data."""
    base = "-6869-7069-6d75-000000000000"
    svc, data, ctl, st = (f"8e3b000{i}{base}" for i in (1, 2, 3, 4))
    ops = ["START", "STOP", "SET_RATE", "SET_CONTENT", "SET_ROLE", "TIME_PING", "TARE"]
    ops += ["IDENTIFY", "SET_KIT", "SET_BATCH", "SAVE"]
    lengths = [1, 1, 3, 2, 2, 5, 1, 2, 5, 2, 1]
    codes = ["OK", "BAD_LENGTH", "BAD_VALUE", "NOT_ALLOWED", "UNKNOWN", "BUSY"]
    return {
        "service_uuid": svc,
        "data_uuid": data,
        "control_uuid": ctl,
        "status_uuid": st,
        "services": [
            [svc, [[data, ["notify"]], [ctl, ["write", "notify"]], [st, ["read", "notify"]]]],
            ["180a", [["2a29", ["read"]], ["2a24", ["read"]], ["2a26", ["read"]]]],
            ["180f", [["2a19", ["read", "notify"]]]],
        ],
        "opcodes": {name: i + 1 for i, name in enumerate(ops)},
        "write_length": dict(zip(ops, lengths, strict=True)),
        "status_codes": {name: i for i, name in enumerate(codes)},
    }


def advert_cases():
    """docs/protocol.md "Advertisement": flags; service data (AD type 0x21) = the service
    UUID, little-endian, then version, role, u32 kit, battery; the name in the response."""
    svc = bytes.fromhex("8e3b0001686970696d75000000000000")[::-1]
    cases = []
    for role, kit, battery in ((0, 1, 80), (1, 0x01020304, 87), (2, 0xFFFFFFFF, 255), (7, 42, 0)):
        cases.append((role, kit, battery))
    cases.append((255, 0, 255))
    out = []
    for role, kit, battery in cases:
        payload = bytes([1, role]) + kit.to_bytes(4, "little") + bytes([battery])
        sd = bytes([1 + 16 + 7, 0x21]) + svc + payload
        adv = bytes([2, 0x01, 0x06]) + sd
        name = ("hipimu-" + ROLE_NAMES.get(role, f"seg{role}")).encode()
        resp = bytes([1 + len(name), 0x09]) + name
        assert len(adv) == 28 and len(resp) <= 31
        out.append(
            {
                "role": role,
                "kit": kit,
                "battery_percent": battery,
                "adv": adv.hex(),
                "resp": resp.hex(),
                "name": name.decode(),
            }
        )
    return out


def main(force=False):
    packets = []
    for case in PACKET_CASES:
        raw, ranges = encode(case)
        inputs = {k: v for k, v in case.items() if k != "name"}
        packets.append(
            {
                "name": case["name"],
                "input": inputs,
                "hex": raw.hex(),
                "length": len(raw),
                "expected": decoded(case, ranges),
            }
        )
    assert packets[0]["hex"].startswith("0100070040420f0004033" + "10c" + "00400000")
    assert (
        len(bytes.fromhex(next(p["hex"] for p in packets if p["name"] == "mtu23_single_quat")))
        == 20
    )
    rejects = [{"name": n, "hex": b.hex(), "reason": r} for n, b, r in reject_cases()]
    files = {
        "packets.json": packets,
        "rejects.json": rejects,
        "control.json": control_cases(),
        "wire.json": wire_table(),
        "advert.json": advert_cases(),
    }
    for name, data in files.items():
        path = HERE / name
        if path.exists() and not force:
            print(f"{path} exists (frozen); --force to regenerate")
            continue
        path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {path} ({len(data)} cases)")


if __name__ == "__main__":
    main(force="--force" in sys.argv)
