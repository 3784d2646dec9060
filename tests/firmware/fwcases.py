"""Firmware test cases that run unchanged in the MicroPython VM and under CPython.

Each ``case_*`` function raises AssertionError on failure and may return a dict of
measurements. ``vm_main.py`` runs them in the WebAssembly MicroPython VM (via
``run_vm.mjs``); ``test_fw_cpython.py`` runs them under pytest. ``setup(vectors_dir,
tmp_dir)`` must be called first. MicroPython-compatible code only.
"""

import gc
import json
import math
import struct
import sys

import machine
import sensors

from hipimu_fw import clock, config, control, gatt, packet, status
from hipimu_fw.app import App
from hipimu_fw.imu.bno085 import BNO085
from hipimu_fw.imu.lsm6dsox import RawImu
from hipimu_fw.stream import Streamer

MICROPYTHON = sys.implementation.name == "micropython"
_dirs = {"vectors": "tests/vectors", "tmp": "/tmp"}
PACKETS_OUT = []  # hex of packets made by the firmware, for the host decoder test


def setup(vectors_dir, tmp_dir):
    _dirs["vectors"] = vectors_dir
    _dirs["tmp"] = tmp_dir


def _load(name):
    with open(_dirs["vectors"] + "/" + name) as f:
        return json.load(f)


def _hex(b):
    return "".join(f"{x:02x}" for x in bytes(b))


def _unhex(s):
    return bytes(int(s[i : i + 2], 16) for i in range(0, len(s), 2))


def _ranges(r):
    return packet.ranges_byte(r["gyr"], r["acc"], r["mag"])


# -- golden vectors ----------------------------------------------------------------------
def case_golden_packets_encoder():
    n = 0
    for case in _load("packets.json"):
        inp = case["input"]
        content = inp["content"]
        enc = packet.PacketEncoder(
            inp["role"], content, packet.rate_code(inp["rate_hz"]), _ranges(inp["ranges"])
        )
        enc.seq = inp["seq"]
        ss = packet.sample_size(content)
        buf = bytearray(ss * len(inp["samples"]))
        off = 0
        for s in inp["samples"]:
            if content & packet.CONTENT_QUAT:
                q = s["q"]
                off = packet.pack_quat(buf, off, q[0], q[1], q[2], q[3])
            for bit, key in ((2, "gyr"), (4, "acc"), (8, "mag")):
                if content & bit:
                    v = s[key]
                    off = packet.pack_vec_raw(buf, off, v[0], v[1], v[2])
        out = enc.encode(inp["t0_us"], inp["flags"], buf, len(inp["samples"]))
        assert _hex(out) == case["hex"], (case["name"], _hex(out), case["hex"])
        n += 1
    return {"cases": n}


def case_golden_packets_streamer():
    """The streaming path (ring, batching, split time) makes the same bytes."""
    n = 0
    for case in _load("packets.json"):
        inp = case["input"]
        content = inp["content"]
        count = len(inp["samples"])
        s = Streamer(
            inp["role"], content, inp["rate_hz"], _ranges(inp["ranges"]), capacity=32, batch=count
        )
        s.encoder.seq = inp["seq"]
        period = s.period_us
        flags = inp["flags"] & ~packet.FLAG_OVERFLOW
        for k, smp in enumerate(inp["samples"]):
            t = (inp["t0_us"] + k * period) & 0xFFFFFFFF
            q = smp.get("q", (0.0, 0.0, 0.0, 0.0))
            s.push_raw(t, q, smp.get("gyr"), smp.get("acc"), smp.get("mag"), flags)
        if inp["flags"] & packet.FLAG_OVERFLOW:
            s._overflow = True
        pkt = s.next_packet()
        assert pkt is not None
        assert _hex(pkt) == case["hex"], (case["name"], _hex(pkt), case["hex"])
        s.commit()
        assert s.available() == 0
        assert s.encoder.seq == (inp["seq"] + 1) & 0xFFFF
        n += 1
    return {"cases": n}


class FakeDevice:
    def __init__(self, st):
        self.streaming = st["streaming"]
        self._bonded = st["bonded"]
        self.now = st["now_us"]
        self.supported = st["supported_content"]
        self.calls = []

    def start(self):
        self.streaming = True
        self.calls.append("start")

    def stop(self):
        self.streaming = False
        self.calls.append("stop")

    def tare(self):
        self.calls.append("tare")

    def identify(self, s):
        self.calls.append(f"identify:{s}")

    def now_u32(self):
        return self.now

    def bonded(self):
        return self._bonded

    def supports_content(self, mask):
        return not (mask & ~self.supported)

    def apply(self, key):
        self.calls.append("apply:" + key)

    def save(self):
        self.calls.append("save")
        return True


def case_golden_control():
    n = 0
    path = _dirs["tmp"] + "/hipimu_ctl.json"
    for case in _load("control.json"):
        st = case["before"]
        cfg = config.Config(path + ".absent")
        for key in ("role", "rate", "content", "kit", "batch", "secure"):
            setattr(cfg, key, st[key])
        dev = FakeDevice(st)
        ctl = control.Controller(cfg, dev)
        reply = ctl.handle(_unhex(case["write"]))
        assert _hex(reply) == case["reply"], (case["name"], _hex(reply), case["reply"])
        after = case["after"]
        for key in ("role", "rate", "content", "kit", "batch"):
            assert getattr(cfg, key) == after[key], (case["name"], key)
        assert dev.streaming == after["streaming"], case["name"]
        assert dev.calls == case["calls"], (case["name"], dev.calls)
        n += 1
    return {"cases": n}


def case_wire_table():
    """The firmware's GATT table, opcodes and codes equal the vectors (host checks the same)."""
    want = _load("wire.json")
    got = json.loads(json.dumps(gatt.table()))
    for key in want:
        assert got[key] == want[key], (key, got[key], want[key])
    assert len(got) == len(want)
    for name, code in want["opcodes"].items():
        assert getattr(control, name) == code, name
        assert control.NAMES[code] == name
    for name, code in want["status_codes"].items():
        assert getattr(control, name) == code, name
    assert status.SERVICE_UUID == want["service_uuid"]
    return {"opcodes": len(want["opcodes"])}


# -- Streamer semantics -------------------------------------------------------------------
def case_streamer_failure_keeps_samples():
    s = Streamer(0, packet.CONTENT_QUAT, 100, 0x0C, capacity=16, batch=4)
    for k in range(8):
        s.push_q14(k * 10_000, 16384, 0, 0, k)
    p1 = bytes(s.next_packet())
    s.failed()  # notify raised: nothing lost, seq not advanced
    assert s.available() == 8 and s.notify_failures == 1
    p2 = bytes(s.next_packet())
    assert p1 == p2
    s.commit()
    assert s.available() == 4
    p3 = s.next_packet()
    assert struct.unpack_from("<H", p3, 2)[0] == 1
    assert struct.unpack_from("<I", p3, 4)[0] == 40_000
    assert struct.unpack_from("<h", p3, 12 + 6)[0] == 4
    s.commit()
    assert s.next_packet() is None
    return {}


def case_streamer_overflow():
    s = Streamer(1, packet.CONTENT_QUAT, 100, 0x0C, capacity=16, batch=4)
    for k in range(20):
        s.push_q14(k * 10_000, 16384, 0, 0, k)
    assert s.dropped == 4 and s.available() == 16
    p = s.next_packet()
    assert p[9] & packet.FLAG_OVERFLOW
    s.commit()
    p = s.next_packet()
    assert not p[9] & packet.FLAG_OVERFLOW  # flag only on the first packet after the drop
    s.commit()
    return {"dropped": s.dropped}


def case_streamer_missed_tick_splits():
    s = Streamer(0, packet.CONTENT_QUAT, 100, 0x0C, capacity=16, batch=4)
    for t in (0, 10_000, 30_000, 40_000):  # 20 000 missing
        s.push_q14(t, 16384, 0, 0, 0)
    p = s.next_packet()
    assert p[8] == 2
    s.commit()
    assert s.next_packet() is None  # 2 left < batch
    p = s.next_packet(True)
    assert p[8] == 2 and struct.unpack_from("<I", p, 4)[0] == 30_000
    return {}


def case_streamer_time_split_and_wrap():
    """Firmware-style times: 30-bit ticks plus epoch, across the 2**30 and 2**32 wraps."""
    s = Streamer(0, packet.CONTENT_QUAT, 100, 0x0C, capacity=16, batch=4)
    s.epoch = 3
    t = 0x40000000 - 15_000
    for _ in range(4):
        s.epoch = 3 if t < 0x40000000 else 0
        s.push_q14(t & 0x3FFFFFFF, 16384, 0, 0, 0)
        t += 10_000
    p = s.next_packet()
    assert p[8] == 4, p[8]
    assert struct.unpack_from("<I", p, 4)[0] == 0xFFFFFFFF - 15_000 + 1
    return {}


def case_streamer_fit_mtu():
    s = Streamer(0, packet.CONTENT_QUAT, 100, 0x0C, batch=4)
    assert s.fit_mtu(23) == 1
    s.set_batch(16)
    assert s.fit_mtu(247) == 16
    s9 = Streamer(0, 15, 100, 0x0C, batch=8)
    try:
        s9.fit_mtu(23)
        raise AssertionError("no error")
    except ValueError:
        pass
    assert s9.fit_mtu(185) == 6  # (182 - 12) // 26
    return {}


# -- config -------------------------------------------------------------------------------
def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def case_config_fallback():
    base = _dirs["tmp"] + "/hipimu_cfg"
    cfg = config.Config(base + "_missing.json")
    assert not cfg.error and cfg.role == 255 and cfg.rate == 100
    p = base + "_corrupt.json"
    _write(p, '{"role": 1, "rate": 10')
    cfg = config.Config(p)
    assert cfg.error and cfg.role == 255 and cfg.rate == 100 and cfg.batch == 4
    _write(p, "[1, 2]")
    assert config.Config(p).error
    _write(p, '{"role": 1, "rate": 33, "batch": 99, "kit": 7}')
    cfg = config.Config(p)
    assert cfg.error and cfg.role == 1 and cfg.rate == 100 and cfg.batch == 4 and cfg.kit == 7
    _write(p, "\xff\xfe garbage")
    assert config.Config(p).error
    good = base + "_good.json"
    cfg = config.Config(good)
    cfg.role = 2
    cfg.kit = 0xDEADBEEF
    cfg.rate = 200
    assert cfg.save()
    cfg.role = 0
    assert cfg.save()  # replaces the existing file
    cfg2 = config.Config(good)
    assert not cfg2.error and cfg2.role == 0 and cfg2.kit == 0xDEADBEEF and cfg2.rate == 200
    return {}


# -- clock, status ------------------------------------------------------------------------
def case_clock_epoch():
    ticks = sensors.Ticks(0x3FFFFFFF - 5)
    c = clock.SensorClock(ticks)
    assert c.now_u32() == 0x3FFFFFFF - 5
    ticks.advance(10)
    assert c.now_lo() == 4 and c.epoch == 1
    assert c.now_u32() == 0x40000004
    assert c.epoch_of(0x3FFFFFFF - 1) == 0  # a tick just before the wrap
    assert c.epoch_of(100) == 1
    for _ in range(3):
        ticks.advance(0x20000000)
        c.now_lo()
        ticks.advance(0x20000000)
        c.now_lo()
    assert c.epoch == 0  # 4 wraps of 2**30 = one wrap of the u32
    assert clock.diff_lo(5, 0x3FFFFFFF) == 6
    assert clock.add_lo(0x3FFFFFFF, 2) == 1
    return {}


def _ad_structures(data):
    """[(AD type, body)] of advertising data; fails on a malformed structure."""
    out, i = [], 0
    while i < len(data):
        n = data[i]
        assert n > 0 and i + 1 + n <= len(data), (i, n, _hex(data))
        out.append((data[i + 1], bytes(data[i + 2 : i + 1 + n])))
        i += 1 + n
    return out


def case_status_and_advert():
    """Advertisement byte-exact to the vectors; no manufacturer data (AD type 0xFF), so no
    company id at all (hipimu has none: 0xFFFF is the SIG's test value)."""
    for case in _load("advert.json"):
        adv, resp = status.advert_payloads(case["role"], case["kit"], case["battery_percent"])
        assert _hex(adv) == case["adv"], (case["role"], _hex(adv), case["adv"])
        assert _hex(resp) == case["resp"], (case["role"], _hex(resp), case["resp"])
    roles = list(range(16))
    roles.append(255)  # (no PEP 448 unpacking in MicroPython)
    for role in roles:
        adv, resp = status.advert_payloads(role, 0xFFFFFFFF, 100)
        assert len(adv) <= 31 and len(resp) <= 31, (role, len(adv), len(resp))
        types = [t for t, _ in _ad_structures(adv)] + [t for t, _ in _ad_structures(resp)]
        assert 0xFF not in types, (role, types)
        assert types == [0x01, 0x21, 0x09], (role, types)  # complete name for every role
    buf = bytearray(status.STATUS_SIZE)
    status.pack_status(buf, (0, 1), 1, 3900, 62, 0x05, 2, 0xAABBCCDD, 70000, 3, 4)
    assert len(buf) == 19 and buf[0] == 1 and buf[3] == 1
    assert struct.unpack_from("<HBBBIHHH", buf, 4) == (3900, 62, 5, 2, 0xAABBCCDD, 65535, 3, 4)
    assert status.battery_percent(4200) == 100 and status.battery_percent(1000) == 255
    assert status.led_on(status.LED_ADVERTISING, 50) and not status.led_on(
        status.LED_ADVERTISING, 500
    )
    return {}


# -- drivers against register-level fakes -------------------------------------------------
def _bno(script=None):
    machine.reset_fakes()
    fake = sensors.FakeBNO085(script=script)
    cs = machine.Pin(4, machine.Pin.OUT, value=1)
    intn = machine.Pin(3, machine.Pin.IN, machine.Pin.PULL_UP)
    rst = machine.Pin(2, machine.Pin.OUT, value=1)
    wake = machine.Pin(43, machine.Pin.OUT, value=1)
    spi = machine.SPI(1, baudrate=3_000_000, polarity=1, phase=1)
    ms = sensors.Ticks(0)

    def ticks_ms():
        ms.advance(1)
        return ms.t

    def ticks_diff(a, b):
        return a - b

    def sleep_ms(n):
        ms.advance(n)

    bno = BNO085(spi, cs, intn, rst, ticks_ms, ticks_diff, sleep_ms, wake)
    return fake, bno


def case_bno085_vectors():
    v = sensors.BNO_VECTORS
    script = [
        [
            sensors.bno_report(k)
            for k in (
                "game_rv_90z",
                "gyro_z_1rad",
                "accel_1g_z",
                "mag_y40_zm30",
                "stability_stationary",
            )
        ]
    ]
    fake, bno = _bno(script)
    assert bno.begin(100, 15), "begin"
    assert bno.product is not None and bno.product[0] == 3
    for rid in (0x01, 0x02, 0x03, 0x08):
        assert fake.features[rid] == 10_000, (rid, fake.features)
        assert bno.features[rid] == 10_000
    sample = bytearray(26)
    flags = bno.read(sample)
    e = sensors.BNO_EXPECTED
    vals = struct.unpack("<4h3h3h3h", sample)
    assert vals[0:4] == e["game_rv_90z"], vals
    assert vals[6] == e["gyro_z_1rad"], vals
    assert vals[9] == e["accel_1g_z"], vals
    assert vals[10:13] == e["mag_y40_zm30"], vals
    assert flags & packet.FLAG_CAL_MASK == 3 and flags & packet.FLAG_REST
    assert not flags & packet.FLAG_MAG_DISTURBED
    assert bno.tare()
    bno.service()
    assert fake.commands and fake.commands[0][2] == 0x03
    fake.fail = True
    assert bno.read(sample) == -1
    return {"vectors": len(v)}


def _feed(bno, body):
    """Put one channel-3 packet (``body`` after the SHTP header) in the driver's buffer."""
    n = 4 + len(body)
    bno.rx[0:4] = struct.pack("<HBB", n, 3, 0)
    bno.rx[4:n] = body
    bno._parse(n)


def case_sh2_report_lengths():
    """Reports the hub may interleave are skipped by their sh2.c lengths (ceva-dsp/sh2,
    sh2ReportLens): pressure 0x0A 8, tap 0x10 5, significant motion 0x12 6, raw mag 0x16
    16, step detector 0x18 8, activity 0x1E 16, ARVR RV 0x28 14, ARVR GRV 0x29 12, GIRV
    0x2A 14. The game rotation vector after them must still be read."""
    _fake, bno = _bno()
    lengths = {0x0A: 8, 0x10: 5, 0x12: 6, 0x16: 16, 0x18: 8, 0x1E: 16, 0x28: 14, 0x29: 12}
    lengths[0x2A] = 14
    for rid, n in lengths.items():
        bno.q[0] = 0
        other = bytes((rid,)) + bytes(n - 1)
        grv = struct.pack("<BBBBhhhh", 0x08, 0, 3, 0, 1234, 0, 0, 16000)
        _feed(bno, b"\xfb\x00\x00\x00\x00" + other + grv)
        assert bno.q[0] == 1234, (hex(rid), bno.q)
    return {"ids": len(lengths)}


def case_bno085_sensor_timestamps():
    """Sample time = H_INTN edge - base (0xFB) + delay, in 100 us units (CEVA sh2.c)."""
    _fake, bno = _bno()
    got = []

    class Flag:
        def set(self):
            pass

    bno.attach(Flag(), lambda: 100_000, got.append)
    bno._isr(None)  # the edge, at t = 100000 us
    # base 3.0 ms before the edge; reports 1.0 ms and 3.5 ms after the base
    d1, d2 = 10, 35
    r1 = struct.pack("<BBBBhhhh", 0x08, 0, 3 | ((d1 >> 8) << 2), d1 & 0xFF, 1, 0, 0, 16384)
    r2 = struct.pack("<BBBBhhhh", 0x08, 1, 3 | ((d2 >> 8) << 2), d2 & 0xFF, 2, 0, 0, 16384)
    _feed(bno, b"\xfb" + struct.pack("<i", 30) + r1 + r2)
    assert got == [98_000, 100_500], got
    # a delay above 255 uses the status byte's upper six bits
    got[:] = []
    d3 = 300
    r3 = struct.pack("<BBBBhhhh", 0x08, 2, 3 | ((d3 >> 8) << 2), d3 & 0xFF, 3, 0, 0, 16384)
    _feed(bno, b"\xfb" + struct.pack("<i", 400) + r3)
    assert got == [100_000 - 10_000], got
    return {"stamps": 3}


def case_rate_limits():
    """The BNO085's magnetometer stops at 100 Hz: 9D above it is refused, not repeated."""
    _fake, bno = _bno()
    assert bno.max_rate(1) == 400 and bno.max_rate(15) == 100
    app, _link, _ticks = _app(content=15)
    assert _hex(app.controller.handle(b"\x03\x90\x01")) == "8302"  # SET_RATE 400: refused
    assert app.cfg.rate == 100
    app2, _link2, _ticks2 = _app(content=1)
    assert _hex(app2.controller.handle(b"\x03\x90\x01")) == "8300"
    assert app2.cfg.rate == 400
    assert _hex(app2.controller.handle(b"\x04\x0f")) == "8402"  # 9D at 400 Hz: refused
    return {}


def case_lsm6dsox_vectors():
    machine.reset_fakes()
    lv = sensors.LSM_VECTORS
    lsm = sensors.FakeLSM6DSOX(samples=[lv["rest_flat"], lv["gyro_x_100dps"]])
    imu = RawImu(machine.I2C(0))
    assert imu.begin(100, packet.CONTENT_GYR | packet.CONTENT_ACC)
    assert imu.kind == 2 and not imu.has_mag
    regs = dict(lsm.writes)
    assert regs[0x10] == b"\x48" and regs[0x11] == b"\x48" and regs[0x12] == b"\x44"
    s = bytearray(12)
    e = sensors.LSM_EXPECTED
    imu.read(s)
    assert struct.unpack("<3h3h", s) == e["rest_flat"][0] + e["rest_flat"][1]
    imu.read(s)
    assert struct.unpack("<3h3h", s) == e["gyro_x_100dps"][0] + e["gyro_x_100dps"][1]
    # with the magnetometer
    machine.reset_fakes()
    sensors.FakeLSM6DSOX(samples=[lv["rest_flat"]])
    mag = sensors.FakeLIS3MDL()
    imu = RawImu(machine.I2C(0))
    assert imu.begin(100, 15) and imu.kind == 3
    assert dict(mag.writes)[0x22] == b"\x00"
    s = bytearray(26)
    flags = 0
    for _ in range(300):  # 3 s at rest: fast start, then rest detection
        flags = imu.read(s)
    vals = struct.unpack("<4h3h3h3h", s)
    assert vals[10:13] == sensors.MAG_EXPECTED, vals
    assert flags & packet.FLAG_REST and flags & packet.FLAG_CAL_MASK == 3, flags
    # level: the quaternion is a pure rotation about z (tilt error below 0.5 deg)
    assert abs(vals[1]) < 72 and abs(vals[2]) < 72, vals
    return {}


def case_mahony_bias():
    """Gyro bias of 0.02 rad/s on z at rest, 9D: the integral term learns it."""
    from hipimu_fw.fusion import Mahony

    f = Mahony(100.0)
    for _ in range(6000):
        f.update(0.0, 0.0, 0.02, 0.0, 0.0, 9.80665, 0.0, 30.0, -40.0, True)
    b = f.bias()
    assert abs(b[2] - 0.02) < 0.004, b
    # heading: ENU, field along +y and down -> q near identity
    assert abs(f.q3) < 0.05 and f.q0 > 0.99, (f.q0, f.q3)
    return {"bias_z": b[2]}


def _qmul(a, b):
    return (
        a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
        a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
        a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
        a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
    )


def _rot_t(q, v):
    """R(q)^T v: an earth vector in the sensor frame."""
    qc = (q[0], -q[1], -q[2], -q[3])
    r = _qmul(_qmul(qc, (0.0, v[0], v[1], v[2])), q)
    return r[1], r[2], r[3]


def _angle_deg(a, b):
    d = abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])
    d = 1.0 if d > 1.0 else d
    return math.degrees(2 * math.acos(d))


def _fusion_run(use_mag, bias_z=0.0, n=1500, rate=100):
    """Swing about a tilted axis; returns the worst angle error (deg) after 3 s of both
    filters, and the integer filter's bias estimate."""
    from hipimu_fw.fusion import Mahony
    from hipimu_fw.fusion_int import MahonyInt

    rpc = 0.035 * math.pi / 180
    one_g = 8197
    fi = MahonyInt(rate, rpc, one_g)
    ff = Mahony(float(rate))
    u = (0.6, 0.0, 0.8)
    field = (0.0, 20.0, -40.0)
    worst_i = 0.0
    worst_f = 0.0
    for k in range(n):
        t = k / rate
        th = 0.6 * math.sin(2 * math.pi * 0.5 * t)
        dth = 0.6 * 2 * math.pi * 0.5 * math.cos(2 * math.pi * 0.5 * t)
        s = math.sin(th / 2)
        q = (math.cos(th / 2), u[0] * s, u[1] * s, u[2] * s)
        # the gyro reads the rate at mid-interval (exact for the integration step)
        tm = t + 0.5 / rate
        dthm = 0.6 * 2 * math.pi * 0.5 * math.cos(2 * math.pi * 0.5 * tm)
        g = (u[0] * dthm, u[1] * dthm, u[2] * dthm + bias_z)
        a = _rot_t(q, (0.0, 0.0, 9.80665))
        m = _rot_t(q, field)
        gc_ = [round(v / rpc) for v in g]
        ac = [round(v / 9.80665 * one_g) for v in a]
        mc = [round(v / 100 * 6842) for v in m]
        # the filter's state after this update is the orientation at t + dt
        t2 = (k + 1) / rate
        th2 = 0.6 * math.sin(2 * math.pi * 0.5 * t2)
        s2 = math.sin(th2 / 2)
        q2 = (math.cos(th2 / 2), u[0] * s2, u[1] * s2, u[2] * s2)
        fi.update(gc_[0], gc_[1], gc_[2], ac[0], ac[1], ac[2], mc[0], mc[1], mc[2], use_mag)
        ff.update(g[0], g[1], g[2], a[0], a[1], a[2], m[0], m[1], m[2], use_mag)
        if k > 3 * rate:
            qi = (fi.q0 / (1 << 28), fi.q1 / (1 << 28), fi.q2 / (1 << 28), fi.q3 / (1 << 28))
            e_i = _angle_deg(qi, q2)
            e_f = _angle_deg((ff.q0, ff.q1, ff.q2, ff.q3), q2)
            worst_i = e_i if e_i > worst_i else worst_i
            worst_f = e_f if e_f > worst_f else worst_f
        del dth
    return worst_i, worst_f, fi.bias()


def case_mahony_int_matches_float():
    """9D swing: the integer filter tracks the truth like the float one does."""
    wi, wf, _b = _fusion_run(True)
    assert wi < 1.0 and wf < 1.0, (wi, wf)
    return {"worst_deg_int": wi, "worst_deg_float": wf}


def case_mahony_int_bias():
    """Rest with a z-gyro bias of 0.02 rad/s, 9D: the integral learns it, heading holds."""
    from hipimu_fw.fusion_int import MahonyInt

    rpc = 0.035 * math.pi / 180
    f = MahonyInt(100, rpc, 8197)
    gz = round(0.02 / rpc)
    for _ in range(6000):
        f.update(0, 0, gz, 0, 0, 8197, 0, 1368, -2737, True)
    b = f.bias()
    assert abs(b[2] - gz * rpc) < 0.004, b
    assert abs(f.q3) < (1 << 28) // 20 and f.q0 > (1 << 28) * 99 // 100, (f.q0, f.q3)
    assert f.calibration() == 3 and f.rest
    return {"bias_z": b[2]}


def case_mahony_int_no_big_ints():
    """Full-scale inputs at every rate: no value leaves the small-int range.

    In the VM the updates run under ``micropython.heap_lock()``: a big int (or a float)
    would need the heap and raise MemoryError. Under CPython the bound is checked on the
    state after each update.
    """
    from hipimu_fw.fusion_int import MahonyInt

    rpc = 0.035 * math.pi / 180
    extremes = (32767, -32768, 0, 12345, -20000)
    steps = 0
    for rate in (12.5, 25, 50, 100, 200, 400):
        f = MahonyInt(rate, rpc, 8197)
        inputs = []
        for k in range(60):
            e = extremes
            inputs.append(
                (
                    e[k % 5],
                    e[(k + 1) % 5],
                    e[(k + 2) % 5],
                    e[(k + 3) % 5],
                    e[(k + 4) % 5],
                    e[k % 5],
                    e[(k + 2) % 5],
                    e[(k + 1) % 5],
                    e[(k + 3) % 5],
                )
            )
        if MICROPYTHON:
            import micropython

            micropython.heap_lock()
        try:
            for _ in range(5):
                for v in inputs:
                    f.update(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], True)
                    steps += 1
        finally:
            if MICROPYTHON:
                micropython.heap_unlock()
        for x in (f.q0, f.q1, f.q2, f.q3, f.bx, f.by, f.bz):
            assert -(1 << 30) <= x < (1 << 30), (rate, x)
        n = f.q0 * f.q0 + f.q1 * f.q1 + f.q2 * f.q2 + f.q3 * f.q3
        assert abs(n / (1 << 56) - 1) < 0.01, (rate, n)
    return {"updates": steps}


# -- the application ----------------------------------------------------------------------
class CaptureLink:
    """Keeps the last packet in a preallocated buffer; ``fail`` makes notify raise."""

    def __init__(self, mtu=247, keep=False):
        self.buf = bytearray(300)
        self.n = 0
        self.count = 0
        self.fail = False
        self._mtu = mtu
        self.keep = keep
        self.kept = []

    def connected(self):
        return True

    def send(self, pkt):
        if self.fail:
            raise OSError(12)
        n = len(pkt)
        self.buf[0:n] = pkt
        self.n = n
        self.count += 1
        if self.keep:
            self.kept.append(bytes(pkt))

    def mtu(self):
        return self._mtu

    def bonded(self):
        return False

    def set_status(self, payload, notify=True):
        self.status = bytes(payload)


def _app(content=packet.CONTENT_QUAT, keep=False, lsm=False, rate=100, batch=4):
    if lsm:
        machine.reset_fakes()
        sensors.FakeLSM6DSOX(
            samples=[sensors.LSM_VECTORS["rest_flat"], sensors.LSM_VECTORS["gyro_x_100dps"]]
        )
        sensors.FakeLIS3MDL()
        imu = RawImu(machine.I2C(0))
        assert imu.begin(rate, content)
    else:
        _fake, imu = _bno()
        assert imu.begin(rate, content)
    cfg = config.Config(_dirs["tmp"] + "/hipimu_app_absent.json")
    cfg.role = 1
    cfg.content = content
    cfg.rate = rate
    cfg.batch = batch
    ticks = sensors.Ticks(1000)
    clk = clock.SensorClock(ticks)
    link = CaptureLink(keep=keep)
    app = App(cfg, imu, clk, link, capacity=64)
    return app, link, ticks


def _run(app, ticks, n, pump_every=1):
    period = app.streamer.period_us
    t = ticks.t
    for i in range(n):
        ticks.advance(period)
        t = clock.add_lo(t, period)
        app.tick(t)
        if i % pump_every == 0:
            app.pump()


def case_app_stream_and_control():
    app, link, ticks = _app(content=15, keep=True)
    r = app.controller.handle(b"\x01")
    assert bytes(r) == b"\x81\x00" and app.streaming
    _run(app, ticks, 40)
    assert link.count == 10, link.count
    seqs = [struct.unpack_from("<H", p, 2)[0] for p in link.kept]
    assert seqs == list(range(10))
    t0s = [struct.unpack_from("<I", p, 4)[0] for p in link.kept]
    assert all(t0s[i + 1] - t0s[i] == 40_000 for i in range(9)), t0s
    assert all(len(p) == 12 + 4 * 26 and p[10] == 0x3F for p in link.kept)
    # notify failures: samples kept, then delivered
    link.fail = True
    _run(app, ticks, 12)
    assert app.streamer.notify_failures > 0 and app.streamer.available() == 12
    link.fail = False
    app.pump(8)
    assert app.streamer.available() == 0 and link.count == 13
    t_last = [struct.unpack_from("<I", p, 4)[0] for p in link.kept[-4:]]
    assert t_last[1] - t_last[0] == 40_000
    # stop flushes a partial batch
    _run(app, ticks, 2, pump_every=99)
    assert bytes(app.controller.handle(b"\x02")) == b"\x82\x00"
    app.pump()
    assert link.kept[-1][8] == 2 and app.streamer.available() == 0
    # status
    st = app.status_payload()
    assert st[3] == 1 and st[8] == 1
    for p in link.kept:
        PACKETS_OUT.append(_hex(p))
    return {"packets": link.count}


def case_app_overflow_counts():
    app, link, ticks = _app()
    app.start()
    link.fail = True
    _run(app, ticks, 100)
    assert app.streamer.dropped == 100 - 64, app.streamer.dropped
    link.fail = False
    app.pump(16)
    assert link.count == 16
    first = link.buf  # the last packet sent; check the first one via status counters
    st = app.status_payload()
    assert struct.unpack_from("<H", st, 15)[0] == 36
    assert len(first) >= 12
    return {"dropped": app.streamer.dropped}


def case_app_rate_content_change():
    app, link, ticks = _app()
    assert bytes(app.controller.handle(b"\x03\xc8\x00")) == b"\x83\x00"
    assert app.streamer.period_us == 5000
    assert bytes(app.controller.handle(b"\x04\x07")) == b"\x84\x00"
    assert app.streamer.ss == 20
    app.start()
    _run(app, ticks, 8)
    assert link.count == 2 and link.n == 12 + 4 * 20
    assert link.buf[10] == 0x47
    return {}


# -- memory: zero bytes per sample --------------------------------------------------------
def _allocations(path, parts):
    """``path(k, parts)`` for 400 steps to warm up (lazily made views, the fakes' caches),
    then 10 000 with the collector off (the bytes lost) and 1000 with the heap locked
    (whether nothing allocated). ``parts`` is one tuple the path unpacks: a star call or
    a closure over its parts would allocate on every call."""
    import micropython

    path(400, parts)
    gc.collect()
    gc.disable()
    try:
        f0 = gc.mem_free()
        path(10_000, parts)
        delta = f0 - gc.mem_free()
    finally:
        gc.enable()
    micropython.heap_lock()
    try:
        path(1000, parts)
        locked = True
    except MemoryError:
        locked = False
    finally:
        micropython.heap_unlock()
    return {"mem_free_delta_10000": delta, "heap_lock_ok": locked}


def _app_path(k, parts):
    """``k`` ticks of the app's polling loop."""
    app, ticks = parts
    _run(app, ticks, k)


def _irq_path(k, parts):
    """``k`` samples through the interrupt path: edge, packet parse, sample, notifier."""
    ticks, isr, parse, n, pump = parts
    for _ in range(k):
        ticks.advance(10_000)
        isr(None)
        parse(n)
        pump()


def _lsm_path(k, parts):
    """``k`` LSM6DSOX samples (104 Hz) through INT1, the FIFO drain and the notifier."""
    ticks, lsm, isr, drain, pump = parts
    for _ in range(k):
        ticks.advance(9600)
        lsm.ts_now += 384
        isr(None)
        drain()
        pump()


def case_memory_zero_alloc():
    if not MICROPYTHON:
        return {"skipped": "gc.mem_free exists only on MicroPython"}
    out = {}
    _fake, bno = _bno()
    assert bno.begin(100, 15)
    cfg = config.Config(_dirs["tmp"] + "/hipimu_mem_absent.json")
    cfg.content = 15
    gc.collect()
    f0 = gc.mem_free()
    app = App(cfg, bno, clock.SensorClock(sensors.Ticks(0)), CaptureLink())
    gc.collect()
    # App with its Streamer (9D, 256-sample ring), controller and buffers
    out["app_9d_ring256_heap_bytes"] = f0 - gc.mem_free()
    del app, bno, _fake
    for name, content, lsm in (
        ("bno085_quat", packet.CONTENT_QUAT, False),
        ("bno085_9d", 15, False),
        ("lsm6dsox_raw9d", packet.CONTENT_GYR | packet.CONTENT_ACC | packet.CONTENT_MAG, True),
        ("lsm6dsox_mahony_int_9d", 15, True),
    ):
        app, link, ticks = _app(content=content, lsm=lsm)
        app.start()
        out[name] = _allocations(_app_path, (app, ticks))
        out[name]["packets"] = link.count
        assert out[name]["mem_free_delta_10000"] == 0, (name, out[name])
        assert out[name]["heap_lock_ok"], name
    # the interrupt-driven path: the hard IRQ, parsing a packet with its timestamps, the
    # per-sample callback (pack + ring push) and the notifier
    app, link, ticks = _app(content=15)
    app.start()

    class Flag:
        def set(self):
            pass

    bno = app.imu
    bno.attach(Flag(), ticks, app.on_sample)
    body = bytearray(b"\xfb\x1e\x00\x00\x00")
    for rid, n in ((0x08, 12), (0x02, 10), (0x01, 10), (0x03, 10)):
        rep = bytearray(n)
        rep[0], rep[2], rep[3] = rid, 3, 10
        body += rep
    pkt_len = 4 + len(body)
    bno.rx[0:4] = struct.pack("<HBB", pkt_len, 3, 0)
    bno.rx[4:pkt_len] = body

    # the methods bound once, here (binding a method allocates)
    parts = (ticks, bno._isr, bno._parse, pkt_len, app.pump)
    out["bno085_irq_9d"] = res = _allocations(_irq_path, parts)
    assert res["mem_free_delta_10000"] == 0 and res["heap_lock_ok"], res
    # the LSM6DSOX FIFO path: INT1's hard IRQ, FIFO words with timestamps, the filter,
    # interpolation onto the grid, the per-sample callback and the notifier
    for name, content in (("lsm6dsox_fifo_9d", 15), ("lsm6dsox_fifo_raw", 6)):
        machine.reset_fakes()
        lsm = sensors.FakeLSM6DSOX(
            samples=[sensors.LSM_VECTORS["rest_flat"], sensors.LSM_VECTORS["gyro_x_100dps"]]
        )
        sensors.FakeLIS3MDL()
        raw = RawImu(machine.I2C(0), int1=machine.Pin(3, machine.Pin.IN))
        assert raw.begin(100, content)
        cfg = config.Config(_dirs["tmp"] + "/hipimu_app_absent.json")
        cfg.content, cfg.rate = content, 100
        lt = sensors.Ticks(1000)
        app = App(cfg, raw, clock.SensorClock(lt), CaptureLink(), capacity=64)
        app.start()
        lsm.script_fifo(384 * 10)
        raw.attach(Flag(), lt, app.on_sample)
        out[name] = res = _allocations(_lsm_path, (lt, lsm, raw._isr, raw.drain, app.pump))
        res["grid_samples"] = raw.outputs
        ok = res["mem_free_delta_10000"] == 0 and res["heap_lock_ok"]
        assert ok and raw.gaps == 0 and raw.stale == 0, res
    # for comparison: the float Mahony filter (fusion.py) leaves garbage on every update
    from hipimu_fw.fusion import Mahony

    f = Mahony(100.0)
    f.update(0.01, 0.02, 0.03, 0.0, 0.0, 9.8, 10.0, 20.0, -40.0, True)
    gc.collect()
    gc.disable()
    try:
        f0 = gc.mem_free()
        for _ in range(100):
            f.update(0.01, 0.02, 0.03, 0.0, 0.0, 9.8, 10.0, 20.0, -40.0, True)
        f1 = gc.mem_free()
    finally:
        gc.enable()
    out["float_mahony_bytes_per_update"] = (f0 - f1) / 100
    return out


def case_emit_packets():
    """Packets made on the firmware path, for the host decoder (printed by the harness)."""
    for content, lsm in ((packet.CONTENT_QUAT, False), (15, False), (14, True)):
        app, link, ticks = _app(content=content, keep=True, lsm=lsm)
        app.start()
        _run(app, ticks, 16)
        for p in link.kept:
            PACKETS_OUT.append(_hex(p))
    return {"packets": len(PACKETS_OUT)}


CASES = [
    case_golden_packets_encoder,
    case_golden_packets_streamer,
    case_golden_control,
    case_wire_table,
    case_streamer_failure_keeps_samples,
    case_streamer_overflow,
    case_streamer_missed_tick_splits,
    case_streamer_time_split_and_wrap,
    case_streamer_fit_mtu,
    case_config_fallback,
    case_clock_epoch,
    case_status_and_advert,
    case_bno085_vectors,
    case_sh2_report_lengths,
    case_bno085_sensor_timestamps,
    case_rate_limits,
    case_lsm6dsox_vectors,
    case_mahony_bias,
    case_mahony_int_matches_float,
    case_mahony_int_bias,
    case_mahony_int_no_big_ints,
    case_app_stream_and_control,
    case_app_overflow_counts,
    case_app_rate_content_change,
    case_memory_zero_alloc,
    case_emit_packets,
]
