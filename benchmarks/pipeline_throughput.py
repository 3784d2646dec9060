"""Can the host pipeline keep up with 16 sensors at 200 Hz on one core?

The notifications are made by the firmware's own ``Streamer`` (quaternion content) and
fed through the host's live path, stage by stage, single-threaded:

  receive   ``SensorLink._on_data`` (the bleak notification callback: Notification,
            queue, sequence/loss/latency/rate statistics) and taking it off the queue
  log       ``SessionLogWriter.notification`` (CRC, write, fsync every 0.5 s)
  decode    ``SessionAssembler.add`` (decode, unwrap, de-duplicate, file)
  finish    ``SessionAssembler.timelines`` + ``resample`` (once, at the end)

Reported as CPU seconds per second of data (a ratio below 1 keeps up on one core), for
batches of 4 samples per notification (MTU >= 47) and 1 (MTU 23), and against two
peers that decode the same bytes: plain ``struct.unpack`` per notification, and numpy
decoding all notifications at once (the floor). ``--e2e`` also runs the whole BLE
source over the fake bleak backend on virtual time (that includes simulating the
sensors' firmware, so it is an upper bound).

    PYTHONPATH=host:firmware python benchmarks/pipeline_throughput.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hipimu.store.log import SessionLogWriter
from hipimu.stream.assembler import SessionAssembler, resample
from hipimu_fw import packet
from hipimu_fw.stream import Streamer

U32 = 1 << 32


def make_notifications(sensors: int, rate: int, seconds: float, batch: int):
    """(host_time, address, payload) in arrival order, made by the firmware's Streamer."""
    rng = np.random.default_rng(0)
    out = []
    period = round(1e6 / rate)
    n = int(seconds * rate)
    for s in range(sensors):
        st = Streamer(s % 16, packet.CONTENT_QUAT, rate, packet.ranges_byte(), 64, batch)
        base = int(rng.uniform(0, U32))
        phase = rng.uniform(0, 0.03)
        ang = np.linspace(0, 20 * np.pi, n)
        q = np.column_stack([np.cos(ang / 2), np.sin(ang / 2), np.zeros(n), np.zeros(n)])
        q14 = np.round(q * 16384).astype(int).tolist()
        addr = f"AA:00:00:00:00:{s:02X}"
        for k in range(n):
            st.push_q14((base + k * period) % U32, *q14[k])
            pkt = st.next_packet()
            if pkt is not None:
                out.append((k / rate + phase + 0.01, addr, bytes(pkt)))
                st.commit()
    out.sort(key=lambda x: x[0])
    return out


class _Src:
    """The parts of BleSource a SensorLink's callback uses."""

    def __init__(self, rate: int) -> None:
        import random

        self.rng = random.Random(0)
        self.batch = 4
        self.rate_hz = rate
        self.loop = self
        self.now = 0.0
        self.queue: asyncio.Queue | None = None
        self.received = 0
        self.notes: list = []

    def time(self) -> float:
        return self.now

    def _push(self, note) -> None:
        self.notes.append(note)

    def _event(self, event) -> None:
        pass


def cpu(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def run_stages(notes, rate: int, seconds: float) -> dict:
    from bleak.backends.device import BLEDevice

    from hipimu.sources.ble.source import Found, SensorLink
    from hipimu.stream.assembler import ClockModel
    from hipimu.wire.control import Advert

    src = _Src(rate)
    links = {}
    for _t, addr, _p in notes:
        if addr not in links:
            found = Found(BLEDevice(addr, None, None), Advert(addr, "", -60, 1, 0, 0, 90))
            link = SensorLink(found, src)  # type: ignore[arg-type]
            link._clock, link._clock_segment = ClockModel(0.0, 1.0), 0
            links[addr] = link
    res = {}

    def receive():
        q: list = []
        for t, addr, payload in notes:
            src.now = t
            links[addr]._on_data(None, bytearray(payload))
        q.extend(src.notes)

    res["receive"] = cpu(receive)
    received = src.notes
    with tempfile.TemporaryDirectory() as tmp:
        log = SessionLogWriter(Path(tmp) / "s.hiplog")
        res["log"] = cpu(lambda: [log.notification(n) for n in received])
        log.close()
    asm = SessionAssembler()
    res["decode"] = cpu(lambda: [asm.add(n) for n in received])
    res["finish"] = cpu(lambda: resample(asm.timelines()))
    res["total"] = sum(res.values())

    def struct_peer():
        h = struct.Struct("<BBHIBBBB")
        for _t, _a, p in notes:
            _v, _r, _s, _t0, count, _f, _c, _g = h.unpack_from(p)
            struct.unpack_from(f"<{4 * count}h", p, 12)

    def numpy_peer():
        by_len: dict[int, list[bytes]] = {}
        for _t, _a, p in notes:
            by_len.setdefault(len(p), []).append(p)
        for n, group in by_len.items():
            count = (n - 12) // 8
            dt = np.dtype([("h", "u1", 12), ("q", "<i2", (count, 4))])
            arr = np.frombuffer(b"".join(group), dtype=dt)
            _ = arr["q"].astype(np.float64) / 16384.0

    res["peer_struct_unpack"] = cpu(struct_peer)
    res["peer_numpy_batch"] = cpu(numpy_peer)
    return {k: v / seconds for k, v in res.items()}


def run_e2e(sensors: int, rate: int, seconds: float) -> tuple[float, float]:
    """CPU s per s of data for the BLE source over the fake backend (incl. simulation)."""
    from hipimu.simulate.peripheral import VirtualPeripheral, swing_motion
    from hipimu.simulate.sensors import SensorClock
    from hipimu.sources.ble.fake import FakeWorld, stream_for
    from hipimu.sources.ble.vtime import run_virtual

    ps = [
        VirtualPeripheral(
            f"SIM:{i:02X}", i % 16, 1, SensorClock(float(i), 10.0), swing_motion(), rate_hz=rate
        )
        for i in range(sensors)
    ]
    world = FakeWorld(ps, seed=0)
    count = [0]
    t0 = time.process_time()
    run_virtual(
        stream_for(
            world,
            1,
            seconds,
            keep=False,
            roles=None,
            rate_hz=rate,
            on_notification=lambda n: count.__setitem__(0, count[0] + 1),
        )
    )
    return (time.process_time() - t0) / seconds, count[0] / seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensors", type=int, default=16)
    ap.add_argument("--rate", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--e2e", action="store_true", help="also run the fake-backend end to end")
    args = ap.parse_args()
    print(
        f"{args.sensors} sensors x {args.rate} Hz, {args.seconds:g} s of data; "
        "CPU seconds per second of data (one core; < 1 keeps up)"
    )
    ok = True
    for batch in (4, 1):
        notes = make_notifications(args.sensors, args.rate, args.seconds, batch)
        r = run_stages(notes, args.rate, args.seconds)
        rate = len(notes) / args.seconds
        print(f"\nbatch {batch} ({rate:.0f} notifications/s):")
        for k in ("receive", "log", "decode", "finish", "total"):
            print(f"  {k:<8} {r[k]:.4f}")
        print(
            f"  peers: struct.unpack {r['peer_struct_unpack']:.4f}, numpy batch "
            f"{r['peer_numpy_batch']:.4f}"
        )
        print(
            f"  decode / struct.unpack = {r['decode'] / r['peer_struct_unpack']:.1f}x; "
            f"total / struct.unpack = {r['total'] / r['peer_struct_unpack']:.1f}x; "
            f"headroom {1 / r['total']:.1f}x real time"
        )
        ok &= r["total"] < 1.0
    if args.e2e:
        e2e, per_s = run_e2e(args.sensors, args.rate, min(args.seconds, 30.0))
        print(
            f"\nend to end over the fake backend, {per_s:.0f} notifications/s (incl. "
            f"simulating {args.sensors} sensors' firmware): {e2e:.3f} CPU s per s"
        )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
