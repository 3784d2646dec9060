"""The BLE side under CPython: Link over the fake aioble, the App's asyncio tasks end to end."""

import asyncio
import struct

import aioble
import machine
import pytest
import sensors

from hipimu_fw import app as fw_app
from hipimu_fw import clock, config, status
from hipimu_fw.imu.bno085 import BNO085
from hipimu_fw.link import Link


def _bno():
    machine.reset_fakes()
    sensors.FakeBNO085()
    cs = machine.Pin(4, machine.Pin.OUT, value=1)
    intn = machine.Pin(3, machine.Pin.IN)
    rst = machine.Pin(2, machine.Pin.OUT, value=1)
    wake = machine.Pin(43, machine.Pin.OUT, value=1)
    bno = BNO085(
        machine.SPI(1), cs, intn, rst, fw_app._ticks_ms, fw_app._ticks_diff, lambda ms: None, wake
    )
    assert bno.begin(100, 1)
    return bno


async def _scenario(tmp_path):
    aioble.reset_fake()
    cfg = config.Config(str(tmp_path / "cfg.json"))
    link = Link()
    app = fw_app.App(cfg, _bno(), clock.SensorClock(), link)
    runner = asyncio.create_task(app.run())
    await asyncio.sleep(0.05)
    assert aioble.advertisements, "not advertising"
    _, adv, resp = aioble.advertisements[0]
    assert adv == status.advert_payloads(255, 0, 255)[0] and len(resp) == 18
    conn = aioble.DeviceConnection(mtu=247)
    aioble.pending_connections.append(conn)
    await asyncio.sleep(0.05)
    assert link.connected()
    link.control.host_write(conn, b"\x05\x01")  # SET_ROLE femur_r (unassigned: no bond needed)
    link.control.host_write(conn, b"\x01")  # START
    await asyncio.sleep(0.5)
    assert conn.notified[:2] == [b"\x85\x00", b"\x81\x00"]
    data = [p for p in conn.notified[2:] if len(p) >= 12]
    assert len(data) >= 5, len(data)
    seqs = [struct.unpack_from("<H", p, 2)[0] for p in data]
    assert seqs == list(range(len(seqs)))
    assert all(p[0] == 1 and p[1] == 1 for p in data)
    # notify failures keep the samples
    conn.fail_notify = True
    await asyncio.sleep(0.2)
    failures = app.streamer.notify_failures
    held = app.streamer.available()
    conn.fail_notify = False
    await asyncio.sleep(0.2)
    assert failures > 0 and held > 0 and app.streamer.dropped == 0
    after = [struct.unpack_from("<H", p, 2)[0] for p in conn.notified if len(p) >= 12]
    assert after == list(range(len(after)))  # no sequence gap: nothing lost
    # the guarded write is refused once a role is set and the link is not bonded
    link.control.host_write(conn, b"\x09\x01\x00\x00\x00")
    await asyncio.sleep(0.05)
    assert b"\x89\x03" in conn.notified
    conn.disconnect_now()
    await asyncio.sleep(0.05)
    assert not app.streaming and not link.connected()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    return app


def test_link_end_to_end(tmp_path):
    asyncio.run(_scenario(tmp_path))


def test_watchdog_fed_while_sampling_and_status_published(tmp_path):
    async def scenario():
        cfg = config.Config(str(tmp_path / "cfg.json"))
        link = fw_app.NullLink()
        published = []
        link.set_status = lambda payload, notify=True: published.append(bytes(payload))
        app = fw_app.App(cfg, _bno(), clock.SensorClock(), link)

        class Wdt:
            feeds = 0

            def feed(self):
                Wdt.feeds += 1

        runner = asyncio.create_task(app.run(Wdt()))
        await asyncio.sleep(0.3)
        fed = Wdt.feeds
        beats = app.heartbeat
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
        return fed, beats, published

    fed, beats, published = asyncio.run(scenario())
    assert beats >= 20  # the sampler ticks at 100 Hz even when not streaming
    assert fed >= 5
    assert published and len(published[0]) == 19 and published[0][3] == 1
