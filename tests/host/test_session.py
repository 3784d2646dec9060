"""Session assembly: unwrapping, duplicates, reordering, gaps, clock models, resampling."""

from __future__ import annotations

import numpy as np
import pytest

from hipimu.core.types import Notification
from hipimu.stream.assembler import ClockModel, SessionAssembler, resample, unwrap_near
from hipimu_fw import packet
from hipimu_fw.stream import Streamer


def test_unwrap_near_handles_both_directions():
    assert unwrap_near(5, 2**32 - 10, 2**32) == 2**32 + 5
    assert unwrap_near(2**32 - 10, 2**32 + 5, 2**32) == 2**32 - 10
    assert unwrap_near(3, 65530, 2**16) == 65539
    assert unwrap_near(100, 90, 2**16) == 100


def stream_notes(
    n_samples,
    *,
    t_start_us=0,
    rate=100.0,
    drift_ppm=0.0,
    offset_s=0.0,
    address="A",
    role=packet.ROLE_PELVIS,
    latency=0.005,
):
    """Notifications from the firmware Streamer with a known device->host relation."""
    s = Streamer(role, packet.CONTENT_QUAT, rate, packet.ranges_byte(), batch=4)
    period = int(1e6 / rate)
    notes = []
    for k in range(n_samples):
        t_us = t_start_us + k * period
        angle = 0.01 * k
        s.push_quat(t_us % 2**32, np.cos(angle / 2), 0.0, 0.0, np.sin(angle / 2))
        pkt = s.next_packet()
        if pkt is not None:
            s.commit()
            host = offset_s + (t_us / 1e6) * (1 + drift_ppm * 1e-6) + latency
            notes.append(Notification(host, address, bytes(pkt)))
    return notes


def test_device_time_wrap_is_unwrapped():
    start = 2**32 - 200_000  # wraps after 0.2 s
    notes = stream_notes(100, t_start_us=start)
    asm = SessionAssembler()
    asm.extend(notes)
    tl = asm.timelines()["pelvis"]
    assert np.all(np.diff(tl.device_us) == 10_000)
    assert tl.device_us[-1] > 2**32


def test_duplicates_are_dropped_and_reordering_restored():
    notes = stream_notes(400)
    rng = np.random.default_rng(0)
    shuffled = list(notes)
    for i in range(0, len(shuffled) - 3, 7):
        shuffled[i], shuffled[i + 2] = shuffled[i + 2], shuffled[i]
    shuffled += notes[10:15]  # duplicates
    asm = SessionAssembler()
    asm.extend(shuffled)
    tl = asm.timelines()["pelvis"]
    assert tl.duplicates == 5
    assert len(tl.device_us) == 400
    assert np.all(np.diff(tl.device_us) == 10_000)
    assert rng is not None


def test_lost_notifications_become_counted_gaps():
    notes = stream_notes(400)
    kept = notes[:30] + notes[33:]
    asm = SessionAssembler()
    asm.extend(kept)
    tl = asm.timelines()["pelvis"]
    assert tl.lost_packets == 3
    assert len(tl.gaps) == 1
    g0, g1 = tl.gaps[0]
    assert g1 - g0 == pytest.approx(0.13, abs=0.002)  # 3 packets of 4 samples + 1 period
    aligned = resample({"pelvis": tl}, 100.0)
    inside = (aligned.time > g0) & (aligned.time < g1)
    assert inside.sum() >= 11
    assert np.isnan(aligned.quat["pelvis"][inside]).all()
    assert not aligned.valid["pelvis"][inside].any()


def test_malformed_notifications_are_counted_per_sensor_and_do_not_stop_assembly():
    notes = stream_notes(40)
    asm = SessionAssembler()
    asm.add(Notification(0.0, "A", b"\x00\x01"))
    asm.extend(notes)
    assert asm.rejected_by_sensor == {"A": 1}
    assert len(asm.timelines()["pelvis"].device_us) == 40


def test_two_sensors_claiming_one_role_is_an_error_naming_both():
    asm = SessionAssembler()
    asm.extend(stream_notes(8, address="AA"))
    asm.extend(stream_notes(8, address="BB"))
    with pytest.raises(ValueError, match="AA and BB both report role pelvis"):
        asm.timelines()


def test_clock_model_recovers_offset_and_drift_from_jittered_arrivals():
    rng = np.random.default_rng(3)
    dev = np.arange(0, 600e6, 40_000.0)  # 10 minutes of packets, us
    true_host = 12.5 + (dev / 1e6) * (1 + 40e-6)
    arrival = true_host + 0.003 + rng.exponential(0.008, len(dev))
    model = ClockModel.fit(dev, arrival)
    err = model.host_time(dev) - (true_host + 0.003)
    assert np.max(np.abs(err)) < 0.001
    assert model.drift_ppm == pytest.approx(-40, abs=1.0)


def test_resample_interpolates_between_samples():
    notes = stream_notes(200)
    asm = SessionAssembler()
    asm.extend(notes)
    aligned = resample(asm.timelines(), 100.0)
    q = aligned.quat["pelvis"]
    yaw = 2 * np.arctan2(q[:, 3], q[:, 0])
    # the sensor turned 0.01 rad per sample (1 rad/s): yaw grows linearly with time
    slope = np.polyfit(aligned.time, yaw, 1)[0]
    assert slope == pytest.approx(1.0, rel=1e-6)


def test_resample_explains_what_is_missing():
    with pytest.raises(ValueError, match="no sensor"):
        resample({})


def test_recorded_time_sync_events_pin_the_clock():
    """Round trips in the log pin the clock; arrivals alone sit a latency late."""
    from hipimu.stream.assembler import SessionAssembler as Assembler

    latency = 0.020
    notes = stream_notes(1200, latency=latency)  # device time = host time, 12 s
    events = [
        {"type": "time_sync", "sensor": "A", "send": t - 0.004, "recv": t + 0.004,
         "device_us": int(t * 1e6)}
        for t in np.arange(0.5, 12.0, 1.0)
    ]  # fmt: skip
    with_sync = Assembler()
    for e in events:
        assert with_sync.add_event(e)
    with_sync.extend(notes)
    arrivals_only = Assembler()
    arrivals_only.extend(notes)
    synced = with_sync.timelines()["pelvis"]
    late = arrivals_only.timelines()["pelvis"]
    true = synced.device_us / 1e6
    assert np.max(np.abs(synced.host_time - true)) < 0.002
    assert np.median(late.host_time - true) == pytest.approx(latency, abs=0.002)
