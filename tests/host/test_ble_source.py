"""The BLE source against the fake bleak backend: virtual sensors run the firmware's
code; faults are injected on the links; everything goes through bleak's public API.
Expectations come from the fake's own accounting (what it sent, lost, duplicated) and
the simulator's true clocks, never from the source under test."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("bleak")

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
)

from hipimu.sources.ble import (
    BluetoothUnavailable,
    CommandError,
    assign,
    connect_role,
    scan,
)
from hipimu.sources.ble.fake import Faults, simulated_world, stream_for
from hipimu.sources.ble.vtime import run_virtual
from hipimu.stream.assembler import U32, SessionAssembler
from hipimu.wire import control
from hipimu.wire.protocol import SERVICE_UUID, decode

KIT = 0x1234ABCD
PELVIS, FEMUR_R, FEMUR_L, FOREIGN = (f"SIM:00:00:00:00:0{i}" for i in range(1, 5))


def world(faults=None, seed=1, **kw):
    return simulated_world(KIT, seed=seed, faults=faults, motion="swing", **kw)


def run(w, seconds, **kw):
    kw.setdefault("seed", 7)
    return run_virtual(stream_for(w, KIT, seconds, **kw))


def assemble(result):
    asm = SessionAssembler()
    asm.extend(result.notifications)
    for e in result.events:
        asm.add_event(e)
    return asm


def delivered(w, address):
    """Samples the firmware sent that the fake neither lost nor cut off at the close."""
    st = w.stats[address]
    return w.peripherals[address].samples_sent - st.lost_samples - st.undelivered_samples


def true_host_times(w, tl):
    """Host times at which the sensor really took each sample (from its true clock)."""
    p = w.peripherals[tl.sensor]
    approx = np.array([p.clock.device_us(t - w.epoch) for t in tl.host_time])
    dev = tl.device_us + np.round((approx - tl.device_us) / U32) * U32
    return p.clock.true_time(dev) + w.epoch


def test_streams_every_own_kit_sensor_and_ignores_the_foreign_one():
    w = world()
    res = run(w, 20.0)
    assert {n.sensor for n in res.notifications} == {PELVIS, FEMUR_R, FEMUR_L}
    assert w.stats[FOREIGN].connects == 0
    assert len(res.notifications) == sum(s.delivered for s in w.stats.values())
    assert all(not hasattr(decode(n.payload), "reason") for n in res.notifications)
    timelines = assemble(res).timelines()
    assert set(timelines) == {"pelvis", "femur_r", "femur_l"}
    for tl in timelines.values():
        # every sample the firmware sent arrived, in order, without a gap
        assert len(tl.device_us) == delivered(w, tl.sensor)
        assert not tl.gaps
    # the sensors were configured through the control characteristic, in this order
    assert w.writes[PELVIS][:4] == [
        control.stop(),
        control.set_rate(100),
        control.set_content(1),
        control.set_batch(4),
    ]
    assert w.writes[PELVIS].count(control.start()) == 1
    links = {s.role: s for s in res.source.status()}
    assert links["pelvis"].battery_percent is not None and links["pelvis"].rssi == -50


def test_loss_duplicates_and_reordering_are_accounted_for():
    w = world(Faults(loss=0.03, duplicate=0.03, reorder=0.03))
    res = run(w, 60.0)
    asm = assemble(res)
    for tl in asm.timelines().values():
        stats = w.stats[tl.sensor]
        assert stats.lost > 0 and stats.duplicated > 0 and stats.reordered > 0
        assert len(tl.device_us) == delivered(w, tl.sensor)
        assert np.all(np.diff(tl.device_us) > 0)  # reordered packets put back in order
        assert tl.duplicates == stats.duplicated
        assert tl.lost_packets <= stats.lost
    for s in res.source.status():
        stats = w.stats[s.address]
        assert s.duplicates == stats.duplicated
        assert s.lost <= stats.lost and s.lost >= stats.lost - 2  # lost at the very end


def test_latency_shows_an_injected_delay():
    def median_latency(delay):
        res = run(world(Faults(delay_s=delay)), 30.0)
        return np.median([s.latency_ms for s in res.source.status()])

    assert median_latency(0.050) - median_latency(0.0) == pytest.approx(50.0, abs=3.0)


def test_an_mtu_of_23_gets_one_sample_per_notification():
    w = world(Faults(mtu=23))
    res = run(w, 10.0)
    assert control.set_batch(1) in w.writes[PELVIS]
    counts = {n.payload[8] for n in res.notifications}
    assert counts == {1} and max(len(n.payload) for n in res.notifications) == 20
    for tl in assemble(res).timelines().values():
        assert len(tl.device_us) == delivered(w, tl.sensor)


def test_a_dropped_link_reconnects_marks_the_gap_and_the_others_stream_on():
    w = world(Faults(drops={PELVIS: [10.0, 25.0]}, down_s=2.0))
    res = run(w, 45.0, connect_timeout=3.0)
    pelvis = [e for e in res.events if e.get("sensor") == PELVIS and e["type"] == "link"]
    states = [e["state"] for e in pelvis]
    assert states.count("disconnected") == 2 and states.count("streaming") == 3
    gaps = [e for e in res.events if e["type"] == "gap"]
    assert [g["sensor"] for g in gaps] == [PELVIS, PELVIS]
    for g, (d0, d1) in zip(gaps, w.stats[PELVIS].down, strict=True):
        assert g["start"] <= w.host_time(d0) and g["end"] >= w.host_time(d1)
    timelines = assemble(res).timelines()
    long_gaps = [g for g in timelines["pelvis"].gaps if g[1] - g[0] > 1.0]
    assert len(long_gaps) == 2
    for (g0, g1), (d0, d1) in zip(long_gaps, w.stats[PELVIS].down, strict=True):
        assert g0 <= w.host_time(d0) + 0.05 and g1 >= w.host_time(d1) - 0.05
    for role in ("femur_r", "femur_l"):
        assert not timelines[role].gaps
    assert len(timelines["pelvis"].device_us) == delivered(w, PELVIS)


def test_reconnect_attempts_back_off_exponentially():
    w = world(Faults(drops={FEMUR_L: [5.0]}, down_s=60.0))
    res = run(w, 90.0, connect_timeout=0.5, backoff_s=1.0, backoff_max_s=16.0)
    fails = [
        e["time"] for e in res.events if e.get("sensor") == FEMUR_L and e.get("state") == "failed"
    ]
    waits = np.diff(fails) - 0.5  # minus the failed attempt itself (its 0.5 s timeout)
    assert len(fails) >= 4
    # backoff 1, 2, 4, 8, 16 s, each times a random factor in [0.5, 1]
    for k, wait in enumerate(waits, start=1):
        assert 0.5 * min(16.0, 2.0**k) - 0.05 <= wait <= min(16.0, 2.0**k) + 0.05
    assert res.source.links[FEMUR_L].stats.state in ("streaming", "closed")
    assert any(
        e.get("state") == "streaming" and e["time"] > w.host_time(65.0)
        for e in res.events
        if e.get("sensor") == FEMUR_L
    )


def test_failed_connects_are_retried():
    w = world(Faults(connect_fail=0.5), seed=3)
    res = run(w, 30.0)
    assert sum(s.failed_connects for s in w.stats.values()) > 0
    assert {n.sensor for n in res.notifications} == {PELVIS, FEMUR_R, FEMUR_L}


def test_time_sync_aligns_the_sensors_within_2_ms():
    w = world(Faults(loss=0.02, jitter_s=0.004, drops={FEMUR_R: [40.0]}), seed=5)
    res = run(w, 180.0)
    timelines = assemble(res).timelines()
    err = {}
    for role, tl in timelines.items():
        assert tl.sync_points > 100
        err[role] = tl.host_time - true_host_times(w, tl)
    grid = np.linspace(20.0, 170.0, 200) + w.epoch
    on_grid = {role: np.interp(grid, timelines[role].host_time, e) for role, e in err.items()}
    roles = list(on_grid)
    worst = max(np.max(np.abs(on_grid[a] - on_grid[b])) for a in roles for b in roles if a < b)
    assert worst < 0.002
    # the common bias is about half the connection interval (docs/ble.md)
    assert all(0.0 < np.mean(e) < 0.030 for e in err.values())


def test_identify_blinks_the_sensor_of_that_role():
    w = world()

    async def go():
        scanner, client = w.backends()
        c, link = await connect_role(
            2, KIT, scan_timeout_s=0.5, scanner_backend=scanner, client_backend=client
        )
        await link.command(control.identify(7))
        await c.disconnect()

    run_virtual(go())
    assert w.writes[FEMUR_L] == [control.identify(7)]
    assert w.peripherals[FEMUR_L].app.identify_active
    assert not w.peripherals[PELVIS].app.identify_active


def test_identity_writes_need_a_bond_where_the_sensor_supports_one():
    w = world()
    w.peripherals[FEMUR_R].can_bond = False

    async def go(role):
        scanner, client = w.backends()
        c, link = await connect_role(
            role, KIT, scan_timeout_s=0.5, scanner_backend=scanner, client_backend=client
        )
        try:
            # without pairing, a sensor with a role refuses SET_KIT (status 3)
            with pytest.raises(CommandError, match="bond"):
                await link.command(control.set_kit(99))
            await assign(link, kit=99)  # pairs first
        finally:
            await c.disconnect()

    run_virtual(go(0))
    assert w.peripherals[PELVIS].cfg.kit == 99 and w.peripherals[PELVIS].cfg.saved["kit"] == 99
    with pytest.raises(CommandError, match="bond"):
        run_virtual(go(1))
    assert w.peripherals[FEMUR_R].cfg.kit == KIT


def test_scan_reports_role_kit_battery_and_rssi():
    w = world()
    found = run_virtual(scan(0.5, backend=w.backends()[0]))
    by_addr = {f.device.address: f.advert for f in found}
    assert set(by_addr) == {PELVIS, FEMUR_R, FEMUR_L, FOREIGN}
    assert by_addr[FOREIGN].kit != KIT and by_addr[FEMUR_L].kit == KIT
    assert [by_addr[a].role_name for a in (PELVIS, FEMUR_R, FEMUR_L)] == [
        "pelvis",
        "femur_r",
        "femur_l",
    ]
    assert all(a.battery_percent is not None and a.rssi is not None for a in by_addr.values())


def _bystanders():
    """Other advertisers in the room: a heart-rate strap (UUID list 0x180D), a device
    using manufacturer data 0xFFFF under its own name, and a sensor still on the old
    firmware (name + manufacturer data 0xFFFF, the service UUID in its scan response)."""
    svc = bytes.fromhex(SERVICE_UUID.replace("-", ""))[::-1]
    old_name = b"hipimu-femur_l"
    old_manu = b"\xff\xff" + bytes([1, 2]) + (0x77).to_bytes(4, "little") + bytes([55])
    old_adv = b"\x02\x01\x06" + bytes([len(old_name) + 1, 9]) + old_name
    old_adv += bytes([len(old_manu) + 1, 0xFF]) + old_manu
    return {
        "HR": (b"\x02\x01\x06\x03\x03\x0d\x18", b"\x06\x09Polar"),
        "PROBE": (b"\x02\x01\x06\x05\xff\xff\xff\x01\x02", b"\x06\x09probe"),
        "OLDFW": (old_adv, b"\x11\x07" + svc),
    }


@pytest.mark.parametrize("mode", ["active", "passive"])
def test_scan_identifies_sensors_by_service_data_among_other_devices(mode):
    """The sensors advertise service data under the hipimu UUID and no manufacturer
    data; the scan (unfiltered, through bleak) keeps exactly the sensors, reads role, kit
    and battery from the advertisement itself (a passive scan has no scan response,
    hence no name), and still reads a sensor on the old 0xFFFF firmware."""
    from bleak import BleakScanner

    w = world()
    w.bystanders.update(_bystanders())
    scanner = w.backends()[0]
    seen: dict = {}

    async def go():
        async with BleakScanner(
            lambda d, ad: seen.__setitem__(d.address, ad), scanning_mode=mode, backend=scanner
        ):
            await asyncio.sleep(0.5)

    run_virtual(go())
    sensors = (PELVIS, FEMUR_R, FEMUR_L, FOREIGN)
    for a in sensors:  # what went on air: service data, never manufacturer data
        assert seen[a].manufacturer_data == {} and SERVICE_UUID in seen[a].service_data
    found = run_virtual(_scan_with(mode, scanner))
    by_addr = {f.device.address: f.advert for f in found}
    assert set(by_addr) == {*sensors, "OLDFW"}
    for a in sensors:
        p = w.peripherals[a]
        want = (p.cfg.role, p.cfg.kit, p.app.battery_pct)
        assert (by_addr[a].role, by_addr[a].kit, by_addr[a].battery_percent) == want
        assert by_addr[a].name == ("hipimu-" + by_addr[a].role_name if mode == "active" else "")
    assert (by_addr["OLDFW"].role, by_addr["OLDFW"].kit, by_addr["OLDFW"].battery_percent) == (
        2,
        0x77,
        55,
    )


async def _scan_with(mode, scanner):
    """``scan`` with the backend forced to ``mode`` (the host scans actively)."""
    backend = type("ModeScanner", (scanner,), {})
    init = scanner.__init__

    def __init__(self, detection_callback, service_uuids, scanning_mode="active", **kw):
        init(self, detection_callback, service_uuids, mode, **kw)

    backend.__init__ = __init__
    return await scan(0.5, backend=backend)


def test_a_uuid_list_filter_would_miss_the_sensors():
    """Why the host scans unfiltered: on stacks whose service UUID filter matches UUID
    lists only (older BlueZ; the fake behaves so), a filtered scan would miss the
    sensors, which carry their UUID in service data only."""
    from bleak import BleakScanner

    w = world()
    seen: dict = {}

    async def go():
        async with BleakScanner(
            lambda d, ad: seen.__setitem__(d.address, ad),
            [SERVICE_UUID],
            backend=w.backends()[0],
        ):
            await asyncio.sleep(0.5)

    run_virtual(go())
    assert seen == {}


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (FileNotFoundError(2, "No such file or directory"), "D-Bus"),
        (BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []), "bluetoothd"),
        (
            BleakBluetoothNotAvailableError(
                "No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
            ),
            "adapter",
        ),
    ],
)
def test_no_bluetooth_is_reported_in_one_line(error, words):
    w = world()
    w.unavailable = error
    with pytest.raises(BluetoothUnavailable, match=words) as info:
        run_virtual(scan(0.5, backend=w.backends()[0]))
    assert "\n" not in str(info.value)


def test_this_machine_without_an_adapter_says_so():
    from pathlib import Path

    if Path("/var/run/dbus/system_bus_socket").exists():
        pytest.skip("this machine has a D-Bus system bus; the test needs one without")
    with pytest.raises(BluetoothUnavailable, match="D-Bus"):
        asyncio.run(scan(0.5))


def test_queue_is_bounded_and_counts_what_a_stalled_consumer_loses():
    """No unbounded queue between the BLE callbacks and the consumer."""
    import asyncio as _asyncio

    from hipimu.core.types import Notification
    from hipimu.sources.ble.source import BleSource

    async def run():
        source = BleSource(1, queue_limit=5)
        source._queue = _asyncio.Queue(maxsize=source.queue_limit)
        for i in range(8):
            source._push(Notification(float(i), "A", bytes([i])))
        source._push(None)  # close always gets through
        return source, [source._queue.get_nowait() for _ in range(5)]

    source, kept = asyncio_run(run)
    assert source.received == 8 and source.dropped == 4
    assert [n.payload[0] for n in kept[:-1]] == [4, 5, 6, 7] and kept[-1] is None


def asyncio_run(factory):
    import asyncio as _asyncio

    return _asyncio.run(factory())
