"""Loop-cost measurement shared by benchmarks/firmware_loop.py (VM and CPython).

Three numbers, in microseconds per sample:
- ``stream``: Streamer.push_q14 + next_packet/commit (the firmware's streaming core);
- ``bno_parse``: BNO085 driver parse + pack of one report packet already in its buffer
  (what the driver costs on top of the SPI transfer itself);
- ``mahony_int``: one 9D update of the integer Mahony filter (LSM6DSOX path);
- ``full_fake``: App.tick + App.pump with the BNO085 on the fake SPI bus (includes the
  fake's byte-by-byte bus emulation in Python: an upper bound, not device cost);
- ``lsm_fifo``: LSM6DSOX FIFO path per sample without the bus: three FIFO words already
  read (timestamp, gyro, acc), their device time, the 9D integer filter, interpolation
  onto the grid and ``pack`` (what the driver costs on top of the I2C transfers).
"""

import sys

MICROPYTHON = sys.implementation.name == "micropython"
if MICROPYTHON:
    import time

    def now_us():
        return time.ticks_us()

    def elapsed(t0):
        return time.ticks_diff(time.ticks_us(), t0)
else:
    import time

    def now_us():
        return time.perf_counter()

    def elapsed(t0):
        return (time.perf_counter() - t0) * 1e6


def bench_loop(n):
    """Calibration: one iteration of ``x += i`` in a ``for``/``range`` loop (us)."""
    x = 0
    t0 = now_us()
    for i in range(n):
        x += i
    return elapsed(t0) / n


def bench_stream(n):
    from hipimu_fw.stream import Streamer

    s = Streamer(1, 1, 100, 0x0C, capacity=64, batch=4)
    t = 0
    t0 = now_us()
    for _ in range(n):
        s.push_q14(t, 16384, 10, -20, 30, 3)
        t += 10_000
        if t >= 0x40000000:
            t -= 0x40000000
        if s.next_packet() is not None:
            s.commit()
    return elapsed(t0) / n


def bench_bno_parse(n):
    import fwcases

    _fake, bno = fwcases._bno()
    assert bno.begin(100, 1)
    # one real channel-3 packet into the driver's buffer
    bno.cs.value(0)
    bno.spi.readinto(bno._hdr, 0)
    ln = (bno.rx[0] | (bno.rx[1] << 8)) & 0x7FFF
    bno.spi.readinto(bno._body_view(ln), 0)
    bno.cs.value(1)
    import machine

    machine.sources[3] = lambda: 1  # H_INTN high: read() finds no new packet on the bus
    sample = bytearray(8)
    t0 = now_us()
    for _ in range(n):
        bno._parse(ln)
        bno.read(sample)
    return elapsed(t0) / n


def bench_mahony_int(n):
    from hipimu_fw.fusion_int import MahonyInt

    f = MahonyInt(100, 0.035 * 3.141592653589793 / 180, 8197)
    t0 = now_us()
    for i in range(n):
        f.update(i & 63, -20, 7, 100, -50, 8190, 0, 3421, -2053, True)
    return elapsed(t0) / n


def bench_full_fake(n):
    import fwcases

    app, _link, ticks = fwcases._app()
    app.start()
    t0 = now_us()
    fwcases._run(app, ticks, n)
    return elapsed(t0) / n


def bench_lsm_fifo(n):
    import struct

    import machine
    import sensors

    from hipimu_fw.imu.lsm6dsox import RawImu

    machine.reset_fakes()
    sensors.FakeLSM6DSOX()
    sensors.FakeLIS3MDL()
    raw = RawImu(machine.I2C(0), int1=machine.Pin(3, machine.Pin.IN))
    assert raw.begin(100, 15)
    sample = bytearray(26)
    pack = raw.pack

    def sink(t):
        pack(sample)

    raw.sink = sink
    w = bytearray(21)
    w[0], w[7], w[14] = 4 << 3, 1 << 3, 2 << 3
    struct.pack_into("<hhh", w, 8, 20, -30, 40)  # gyro word
    struct.pack_into("<hhh", w, 15, 0, 100, 8197)  # acc word
    m = raw.m
    m[1], m[2] = 3421, -2053  # the magnetometer (read once per wake, not per sample)
    word = raw._word
    ts = 0
    t = 1_000_000
    t0 = now_us()
    for _ in range(n):
        ts += 384
        t += 9600  # 104 Hz samples onto the 100 Hz grid
        struct.pack_into("<I", w, 1, ts)
        word(w, 0, ts, t)
        word(w, 7, ts, t)
        word(w, 14, ts, t)
    assert raw.samples == n and raw.gaps == 0, (raw.samples, raw.gaps)
    return elapsed(t0) / n


def main(n=5000):
    import fwcases

    fwcases.setup("/vectors" if MICROPYTHON else "tests/vectors", "/tmp")
    out = {
        "loop": bench_loop(n * 100),
        "stream": bench_stream(n),
        "bno_parse": bench_bno_parse(n),
        "mahony_int": bench_mahony_int(n // 5),
        "full_fake": bench_full_fake(n // 5),
        "lsm_fifo": bench_lsm_fifo(n // 5),
    }
    return out
