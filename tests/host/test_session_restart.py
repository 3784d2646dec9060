"""A sensor that reboots mid-session: its seq and device clock begin anew."""

from __future__ import annotations

import numpy as np
import pytest
from test_session import stream_notes

from hipimu.stream.assembler import SessionAssembler, resample

RATE = 100.0


def rebooted(before_us: int, latency: float = 0.0):
    """1200 samples from device time ``before_us`` (host 10..22 s), a reboot, then 800
    samples from device time 0.5 s (host 25.5..33.5 s). Returns notes and true host times."""
    first = stream_notes(1200, t_start_us=before_us, offset_s=10.0 - before_us / 1e6,
                         latency=latency)  # fmt: skip
    second = stream_notes(800, t_start_us=500_000, offset_s=25.0, latency=latency)
    truth = np.concatenate([10.0 + np.arange(1200) / RATE, 25.5 + np.arange(800) / RATE])
    return first, second, truth


@pytest.mark.parametrize(
    "before_us",
    [600_000_000, 2**32 - 5_000_000],  # 10 min up; or the u32 clock wraps before the reboot
)
def test_a_reboot_starts_a_new_clock_segment_and_keeps_every_sample(before_us):
    first, second, truth = rebooted(before_us)
    asm = SessionAssembler()
    asm.extend(first + second)
    tl = asm.timelines()["pelvis"]
    assert tl.restarts == 1 and len(tl.clocks) == 2
    assert len(tl.host_time) == 2000 and tl.packets == 500  # nothing dropped
    assert tl.duplicates == 0 and tl.lost_packets == 0
    assert np.max(np.abs(tl.host_time - truth)) < 0.002
    assert np.all(np.diff(tl.host_time) > 0)
    assert len(tl.gaps) == 1
    g0, g1 = tl.gaps[0]
    assert g0 == pytest.approx(21.99, abs=0.002) and g1 == pytest.approx(25.5, abs=0.002)
    # the samples are the ones pushed, in order: yaw 0.01 rad per sample, from 0 again
    yaw = 2 * np.arctan2(tl.quat[:, 3], tl.quat[:, 0])
    expected = np.concatenate([0.01 * np.arange(1200), 0.01 * np.arange(800)])
    assert np.allclose(np.unwrap(yaw[:1200]), expected[:1200], atol=1e-3)
    assert np.allclose(np.unwrap(yaw[1200:]), expected[1200:], atol=1e-3)


def test_time_sync_round_trips_go_to_the_clock_that_ran_at_their_time():
    """Sync events filed after all notifications (as a session log is read) still pin
    each segment's clock: the arrivals sit 20 ms late, the round trips do not."""
    first, second, truth = rebooted(600_000_000, latency=0.020)
    events = [
        {"type": "time_sync", "sensor": "A", "send": h - 0.004, "recv": h + 0.004,
         "device_us": d % 2**32}
        for h, d in [(10.5 + k, 600_500_000 + k * 1_000_000) for k in range(11)]
        + [(26.0 + k, 1_000_000 + k * 1_000_000) for k in range(7)]
    ]  # fmt: skip
    asm = SessionAssembler()
    asm.extend(first + second)
    for e in events:
        assert asm.add_event(e)
    tl = asm.timelines()["pelvis"]
    assert tl.restarts == 1 and tl.sync_points == 18
    assert np.max(np.abs(tl.host_time - truth)) < 0.002


def test_a_repeated_packet_of_the_old_clock_after_the_reboot_is_a_duplicate():
    first, second, truth = rebooted(600_000_000)
    asm = SessionAssembler()
    asm.extend(first + second[:10])
    late = first[-3]  # delivered again, late, after the reboot
    asm.extend([type(late)(second[9].host_time + 0.01, late.sensor, late.payload)])
    asm.extend(second[10:])
    tl = asm.timelines()["pelvis"]
    assert tl.restarts == 1 and tl.duplicates == 1
    assert len(tl.host_time) == 2000
    assert np.max(np.abs(tl.host_time - truth)) < 0.002


def test_reordering_and_gaps_are_no_restart():
    notes = stream_notes(2000, t_start_us=50_000_000, offset_s=3.0)
    del notes[100:150]  # a 2 s dropout
    notes[300], notes[301] = notes[301], notes[300]
    asm = SessionAssembler()
    asm.extend(notes)
    tl = asm.timelines()["pelvis"]
    assert tl.restarts == 0 and len(tl.gaps) == 1 and tl.lost_packets == 50


def test_two_sensors_one_reboots_resample_stays_aligned():
    first, second, _ = rebooted(600_000_000)
    other = stream_notes(2400, t_start_us=7_000_000, offset_s=3.0, address="B", role=1)
    asm = SessionAssembler()
    asm.extend(sorted(first + second + other, key=lambda n: n.host_time))
    tls = asm.timelines()
    assert tls["pelvis"].restarts == 1 and tls[next(r for r in tls if r != "pelvis")].restarts == 0
    aligned = resample(tls)
    ok = aligned.valid["pelvis"]
    t = aligned.time
    assert not ok[(t > 21.995) & (t < 25.495)].any()  # the reboot: no samples
    assert ok[(t < 21.985) | (t > 25.505)].all()
