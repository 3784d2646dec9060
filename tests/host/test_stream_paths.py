"""One stream core, three paths: the same notification streams (loss, duplicates,
reordering, a u32 clock wrap, a sensor reboot, time-sync round trips) through the
offline assembler, the live pipeline and the BLE link give the same samples, segments,
counts and clocks; and those match what the simulated sensors really sent."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from test_session import stream_notes

from hipimu.analysis.live.pipeline import LivePipeline
from hipimu.core.types import Notification
from hipimu.stream.assembler import SessionAssembler

pytest.importorskip("bleak")

from bleak.backends.device import BLEDevice

from hipimu.sources.ble.source import BleSource, Found, SensorLink
from hipimu.sources.ble.vtime import run_virtual
from hipimu.wire.control import Advert

RATE = 100.0
WRAP_US = 2**32 - 5_000_000  # sensor A's clock wraps 5 s in


def jittered(notes, rng, scale=0.004):
    """Arrival latency jitter (exponential, as BLE connection events add)."""
    return [Notification(n.host_time + rng.exponential(scale), n.sensor, n.payload) for n in notes]


def scenario(seed=3):
    """Notes in arrival order, time-sync events, and per sensor the true host time of
    every sample that arrived (in device order, segment by segment)."""
    rng = np.random.default_rng(seed)
    # sensor A (pelvis): u32 wrap, loss, duplicates, reordering, then a reboot
    a1 = jittered(stream_notes(1200, t_start_us=WRAP_US, offset_s=10.0 - WRAP_US / 1e6), rng)
    a2 = jittered(stream_notes(800, t_start_us=500_000, offset_s=25.0), rng)
    true_a1 = 10.0 + np.arange(1200) / RATE
    true_a2 = 25.5 + np.arange(800) / RATE
    lost = slice(100, 110)  # 10 notifications (40 samples) never arrive
    keep = np.ones(1200, dtype=bool)
    keep[lost.start * 4 : lost.stop * 4] = False
    del a1[lost]
    a1[250], a1[251] = (
        Notification(a1[250].host_time, "A", a1[251].payload),
        Notification(a1[251].host_time, "A", a1[250].payload),
    )  # the later packet arrives first
    copies = [Notification(a1[k].host_time + 0.03, "A", a1[k].payload) for k in (200, 201, 202)]
    # sensor B (femur_r): clean apart from a lost block
    b = jittered(stream_notes(2400, t_start_us=7_000_000, offset_s=3.0, address="B", role=1), rng)
    del b[400:405]
    keep_b = np.ones(2400, dtype=bool)
    keep_b[1600:1620] = False
    true_b = 3.0 + 7.0 + np.arange(2400) / RATE
    notes = sorted(a1 + a2 + copies + b, key=lambda n: n.host_time)
    # round trips once a second: the read sits midway in an 8 ms window
    events = []
    for h in np.arange(10.5, 21.5, 1.0):
        dev = round((h - 10.0) * 1e6) + WRAP_US
        events.append(("A", h, dev))
    for h in np.arange(26.0, 33.0, 1.0):
        events.append(("A", h, round((h - 25.0) * 1e6)))
    for h in np.arange(10.2, 33.0, 1.0):
        events.append(("B", h, round((h - 3.0) * 1e6)))
    events = [
        {"type": "time_sync", "sensor": s, "send": h - 0.004, "recv": h + 0.004,
         "device_us": dev % 2**32}
        for s, h, dev in events
    ]  # fmt: skip
    truth = {
        "pelvis": (np.concatenate([true_a1[keep], true_a2]), [int(keep.sum()), 800]),
        "femur_r": (true_b[keep_b], [int(keep_b.sum())]),
    }
    return notes, events, truth


def in_time_order(notes, events):
    """Notifications and events merged by when the host has them (events at ``recv``)."""
    items = [(n.host_time, 0, n) for n in notes] + [(e["recv"], 1, e) for e in events]
    items.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in items]


def offline(notes, events, one_by_one=False):
    asm = SessionAssembler()
    for e in events:
        asm.add_event(e)
    if one_by_one:
        for n in notes:
            asm.add(n)
    else:
        asm.extend(notes)
    return asm.timelines()


def live(notes, events):
    pipe = LivePipeline(clock_window_s=1e4, buffer_s=100.0)
    for k, item in enumerate(in_time_order(notes, events)):
        if isinstance(item, dict):
            assert pipe.add_event(item)
        else:
            pipe.feed(item)
        if k % 10 == 0:
            pipe.update()
    pipe.flush()
    return pipe


def ble(notes, events):
    """The BLE link: bleak's data callback per notification and the answered pings, on
    virtual time (``loop.time()`` is the host clock, as in the real source)."""
    recorded: list[dict] = []
    src = BleSource(0x1234ABCD, on_event=recorded.append)

    async def main() -> dict[str, SensorLink]:
        loop = asyncio.get_running_loop()
        src.loop = loop
        src._queue = asyncio.Queue(maxsize=src.queue_limit)
        links: dict[str, SensorLink] = {}
        for item in in_time_order(notes, events):
            at = item["recv"] if isinstance(item, dict) else item.host_time
            await asyncio.sleep(max(0.0, at - loop.time()))
            addr = item["sensor"] if isinstance(item, dict) else item.sensor
            link = links.get(addr)
            if link is None:
                advert = Advert(addr, "", -60, 0 if addr == "A" else 1, 0, 0, 90)
                link = links[addr] = SensorLink(Found(BLEDevice(addr, addr, None), advert), src)
            if isinstance(item, dict):
                link._round_trip(item["send"], item["recv"], item["device_us"])
            else:
                link._on_data(None, bytearray(item.payload))
        return links

    links = run_virtual(main())
    return links, src.pending(), recorded


@pytest.fixture(scope="module")
def paths():
    notes, events, truth = scenario()
    return notes, events, truth, offline(notes, events), live(notes, events), ble(notes, events)


def test_offline_batch_and_one_by_one_agree_and_match_the_truth(paths):
    notes, events, truth, tls, _, _ = paths
    one = offline(notes, events, one_by_one=True)
    for role, (true_host, lengths) in truth.items():
        tl, other = tls[role], one[role]
        assert np.array_equal(tl.device_us, other.device_us)
        assert np.array_equal(tl.quat, other.quat)
        assert np.array_equal(tl.host_time, other.host_time)
        assert (tl.packets, tl.duplicates, tl.lost_packets, tl.restarts) == (
            other.packets, other.duplicates, other.lost_packets, other.restarts
        )  # fmt: skip
        assert len(tl.host_time) == sum(lengths)
        # the round trips pin the offset; over less than 30 s (MIN_SYNC_SPAN_S) the drift
        # comes from the jittered arrivals
        assert np.max(np.abs(tl.host_time - true_host)) < 0.0025
        assert tl.restarts == len(lengths) - 1
    assert tls["pelvis"].duplicates == 3 and tls["pelvis"].lost_packets == 10
    assert tls["femur_r"].duplicates == 0 and tls["femur_r"].lost_packets == 5


def test_live_keeps_every_sample_the_offline_path_keeps(paths):
    _, _, truth, tls, pipe, _ = paths
    for s in pipe.sensors.values():
        tl = tls[s.role]
        n = len(s.dev_us)
        assert n == len(tl.device_us)  # nothing dropped after the reboot or the swap
        assert np.array_equal(s.dev_us.view()[:, 0], tl.device_us)
        assert np.array_equal(s.quat.view(), tl.quat)
        segments = s.segment.view()[:, 0].astype(int)
        assert np.array_equal(np.bincount(segments), truth[s.role][1])
        assert (s.packets, s.duplicates, s.lost, s.restarts, s.late) == (
            tl.packets, tl.duplicates, tl.lost_packets, tl.restarts, 0
        )  # fmt: skip
        # each segment's live clock (round trips included) gives the offline host times
        assert np.allclose(s.host_times(n), tl.host_time, rtol=0, atol=1e-6)
        for k, clock in enumerate(tl.clocks):
            assert s.clocks[k].offset == pytest.approx(clock.offset, abs=1e-6)
            assert s.clocks[k].scale == pytest.approx(clock.scale, abs=1e-9)
    assert pipe.stats.final_rows > 0


def test_the_ble_link_counts_and_clocks_as_the_other_paths(paths):
    notes, events, _, tls, _, (links, queued, recorded) = paths
    # everything received is handed on, duplicates included (the session log keeps them)
    assert [n.payload for n in queued] == [n.payload for n in notes]
    assert np.allclose([n.host_time for n in queued], [n.host_time for n in notes], atol=1e-9)
    assert len([e for e in recorded if e["type"] == "time_sync"]) == len(events)
    for link in links.values():
        tl = next(t for t in tls.values() if t.sensor == link.address)
        st = link.stats
        assert (st.packets, st.duplicates, st.lost, st.restarts) == (
            tl.packets, tl.duplicates, tl.lost_packets, tl.restarts
        )  # fmt: skip
        assert st.samples == len(tl.device_us)
        # latency through the round trips: the links' 5 ms plus the jitter (median 2.8 ms)
        assert 5.0 < st.latency_ms < 12.0
        # its clocks fit the last 512 packets of each segment: the same host times to
        # well under a sample period
        starts = np.flatnonzero(np.diff(tl.device_us) < 0) + 1
        for k, part in enumerate(np.split(np.arange(len(tl.device_us)), starts)):
            mine = link.stream.live_clock(k).host_time(tl.device_us[part])
            assert np.max(np.abs(mine - tl.host_time[part])) < 2e-4


def test_the_reboot_fixture_through_the_live_pipeline_keeps_all_packets():
    """The case of issue 13: live took all 200 packets after the reboot for duplicates."""
    from test_session_restart import rebooted

    first, second, truth = rebooted(600_000_000)
    pipe = LivePipeline()
    accepted = [pipe.feed(n) for n in first + second]
    pipe.flush()
    assert all(accepted)
    (s,) = pipe.sensors.values()
    assert len(s.dev_us) == 2000 and s.restarts == 1 and s.duplicates == 0
    assert np.max(np.abs(s.host_times(2000) - truth)) < 0.002


def test_live_packets_behind_a_lost_one_wait_at_most_the_reorder_time():
    a = stream_notes(400, t_start_us=1_000_000, offset_s=0.0)
    b = stream_notes(800, t_start_us=9_000_000, offset_s=-8.0, address="B", role=1)
    a = a[:53]  # then A goes quiet; B carries on
    del a[50]  # lost: A's last two packets wait for it
    pipe = LivePipeline()
    notes = sorted(a + b, key=lambda n: n.host_time)
    soon = a[-1].host_time + 0.05
    for n in notes:
        if n.host_time > soon:
            break
        pipe.feed(n)
        pipe.update()
    s = pipe.sensors["A"]
    assert len(s.dev_us) == 50 * 4  # still waiting 50 ms after A's last packet
    for n in notes:
        if n.host_time > soon:
            pipe.feed(n)
            pipe.update()
    assert len(s.dev_us) == 52 * 4 and s.lost == 1 and s.late == 0


def test_a_copy_from_long_ago_is_a_duplicate_live_as_offline():
    """A packet delivered again 30 s late (beyond the live clock window) is no reboot."""
    notes = stream_notes(4000, t_start_us=3_000_000, offset_s=1.0)
    late = notes[100]
    notes.insert(850, Notification(notes[849].host_time + 0.001, late.sensor, late.payload))
    pipe = LivePipeline()
    for n in notes:
        pipe.feed(n)
    pipe.flush()
    (s,) = pipe.sensors.values()
    tl = offline(notes, [])["pelvis"]
    assert (s.restarts, s.duplicates, len(s.dev_us)) == (tl.restarts, tl.duplicates, 4000)
    assert tl.restarts == 0 and tl.duplicates == 1


def test_live_rings_stay_in_time_order_around_a_swapped_first_packet_and_a_reboot():
    first = stream_notes(400, t_start_us=100_000_000, offset_s=-99.0)  # up for 100 s
    second = stream_notes(400, t_start_us=300_000, offset_s=first[-1].host_time + 2.0)
    # the first two packets arrive swapped: both are shown, in order
    first[0], first[1] = (
        Notification(first[0].host_time, "A", first[1].payload),
        Notification(first[1].host_time, "A", first[0].payload),
    )
    # the old clock's last packet arrives after the rebooted sensor's first ones were shown
    stray = first.pop()
    stray = Notification(second[5].host_time + 0.001, "A", stray.payload)
    other = stream_notes(2000, t_start_us=9_000_000, offset_s=-8.0, address="B", role=1)
    pipe = LivePipeline()
    for n in sorted([*first, *second[:6], stray, *second[6:], *other], key=lambda n: n.host_time):
        pipe.feed(n)
        pipe.update()
    pipe.flush()
    s = pipe.sensors["A"]
    assert s.late == 1 and s.restarts == 1
    assert len(s.dev_us) == (len(first) + len(second)) * 4
    times = s.host_times(len(s.dev_us))
    assert np.all(np.diff(times) > 0)  # one timeline: old clock, then the new one
