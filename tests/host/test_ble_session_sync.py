"""Time sync in the session: ping/echo round trips fitted NTP-style (min round trip)."""

from __future__ import annotations

import numpy as np
import pytest

from hipimu.stream.assembler import U32, ClockModel, SessionAssembler


def pings(n, offset, drift_ppm, interval=0.030, seed=0, t0=0.0):
    """Round trips with the BLE asymmetry: the write waits for the next connection event,
    the reply leaves one interval later; the sensor reads its clock at the event."""
    rng = np.random.default_rng(seed)
    send = t0 + np.sort(rng.uniform(0, n, n))
    event = (np.floor(send / interval) + 1) * interval  # the write reaches the sensor
    recv = event + interval + rng.uniform(0, 0.002, n)
    device_us = (event - offset) * (1 + drift_ppm * 1e-6) * 1e6
    return send, recv, device_us, event


def test_fit_sync_recovers_drift_and_offset_within_half_the_minimum_round_trip():
    send, recv, dev, event = pings(1800, offset=-1234.5, drift_ppm=40.0)
    model = ClockModel.fit_sync(dev, send, recv)
    assert model.drift_ppm == pytest.approx(40.0, abs=0.5)
    err = model.host_time(dev) - event
    # the midpoint of the shortest round trips lies half an interval after the read:
    # a constant bias, the same for every sensor on links with the same interval
    assert np.ptp(err) < 1e-3
    assert 0.0 < np.mean(err) < 0.5 * (0.030 + 0.002) + 1e-3


def test_fit_sync_with_a_given_slope_fits_only_the_offset():
    send, recv, dev, event = pings(20, offset=5.0, drift_ppm=0.0)
    model = ClockModel.fit_sync(dev, send, recv, slope=1.0)
    assert model.scale == 1.0
    assert abs(np.mean(model.host_time(dev) - event)) < 0.020


def test_sync_points_unwrap_with_the_packets_and_drive_the_timeline():
    from hipimu.core.types import Notification
    from hipimu_fw.stream import Streamer

    offset_s = U32 / 1e6 - 30.0  # the sensor clock wraps 30 s into the session (of 3 min)
    base = int(offset_s * 1e6)
    streamer = Streamer(0, 1, 100.0, 0, capacity=64, batch=4)
    asm = SessionAssembler()
    # sync points before any packet: the assembler must accept them
    send, recv, _dev, event = pings(180, offset=-offset_s, drift_ppm=0.0)
    notes = []
    for k in range(18000):
        t = k / 100.0
        streamer.push_quat((base + 10_000 * k) % U32, 1.0, 0.0, 0.0, 0.0)
        pkt = streamer.next_packet()
        if pkt is not None:
            notes.append(Notification(t + 0.02, "AA", bytes(pkt)))
            streamer.commit()
    j = 0
    for s, r, e in zip(send, recv, event, strict=True):
        while j < len(notes) and notes[j].host_time < r:
            asm.add(notes[j])
            j += 1
        asm.add_event(
            {
                "type": "time_sync",
                "sensor": "AA",
                "send": s,
                "recv": r,
                "device_us": (base + int(e * 1e6)) % U32,
            }
        )
    asm.extend(notes[j:])
    assert not asm.add_event({"type": "marker"})
    tl = asm.timelines()["pelvis"]
    assert tl.sync_points == 180
    true = (tl.device_us - base) / 1e6
    err = tl.host_time - true
    assert np.ptp(err) < 1e-3 and abs(np.mean(err)) < 0.020
    assert np.all(np.diff(tl.device_us) == 10_000)  # unwrapped across the u32 wrap


def test_sync_point_received_before_sent_is_an_error():
    with pytest.raises(ValueError, match="AA"):
        SessionAssembler().add_sync("AA", 2.0, 1.0, 5)
