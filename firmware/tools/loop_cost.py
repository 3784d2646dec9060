"""Measure the per-sample loop cost and allocation on a real board.

    mpremote run firmware/tools/loop_cost.py

(with the firmware installed in /lib/hipimu_fw and aioble present, after a safe boot:
``mpremote fs touch :/nomain + reset``, docs/firmware.md). Uses the IMU the firmware
would use (BNO085, then LSM6DSOX; a simulated one when none answers) with a link that
accepts every notify, and prints microseconds per sample for: the calibration loop (compare with
benchmarks/firmware_loop.py's DEVICE_LOOP_US), the streaming core alone, and the full
tick + pump path including the bus; plus gc.mem_free before/after (0 expected on the
BNO085 and raw-only paths). Budget: 2000 us per sample at 100 Hz.
"""

import gc
import time

from hipimu_fw import app, clock, config, hal
from hipimu_fw.stream import Streamer

N = 2000


def loop_us(n):
    x = 0
    t0 = time.ticks_us()
    for i in range(n):
        x += i
    return time.ticks_diff(time.ticks_us(), t0) / n


def stream_us(n):
    s = Streamer(1, 1, 100, 0x0C, capacity=64, batch=4)
    t = 0
    t0 = time.ticks_us()
    for _ in range(n):
        s.push_q14(t, 16384, 0, 0, 0, 3)
        t = clock.add_lo(t, 10_000)
        if s.next_packet() is not None:
            s.commit()
    return time.ticks_diff(time.ticks_us(), t0) / n


def full_us(n, content):
    cfg = config.Config("/loop_cost_absent.json")
    imu, ok = app.detect_imu(hal, cfg)
    cfg.content = content & imu.supported
    a = app.App(cfg, imu, clock.SensorClock(hal.ticks_us), imu_ok=ok)
    a.apply("content")
    a.start()
    period = a.streamer.period_us
    t = a.clock.now_lo()
    for _ in range(200):  # warm-up
        t = clock.add_lo(t, period)
        a.tick(t)
        a.pump()
    gc.collect()
    gc.disable()
    f0 = gc.mem_free()
    worst = 0
    t_all = time.ticks_us()
    for _ in range(n):
        t0 = time.ticks_us()
        t = clock.add_lo(t, period)
        a.tick(t)
        a.pump()
        d = time.ticks_diff(time.ticks_us(), t0)
        if d > worst:
            worst = d
    total = time.ticks_diff(time.ticks_us(), t_all)
    f1 = gc.mem_free()
    gc.enable()
    return imu.kind, ok, total / n, worst, f0 - f1


def main():
    print(f"calibration loop: {loop_us(100_000):.3f} us/iter")
    print(f"streaming core: {stream_us(N):.1f} us/sample")
    for content in (1, 15):
        kind, ok, mean, worst, lost = full_us(N, content)
        print(
            f"content {content}, IMU type {kind} (ok {ok}): tick+pump mean {mean:.1f} us, "
            f"worst {worst} us, mem_free delta {lost} bytes over {N} samples"
        )


main()
