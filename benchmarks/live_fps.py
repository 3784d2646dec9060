"""Live view frame rate and sample-to-screen latency, against a bare pyqtgraph peer.

Offscreen (``QT_QPA_PLATFORM=offscreen``), three simulated sensors at 100 Hz streamed in
real time through the same worker-thread bridge, a 10 s trace window (filled before the
measurement starts). Two views are measured on the same stream:

* ``hipimu``: :class:`hipimu.app.live.view.LiveWindow` (decode, clocks, grid, C hip-angle
  kernel, repetition tracking, side panel, all curves);
* ``peer``: a bare ``pyqtgraph.PlotWidget`` whose curves get ``setData`` with the
  newest decoded quaternion component of each sensor on every frame: the least a
  pyqtgraph live plot can do with these notifications (no clocks, no angles, no panel).

Frames/s counts paints of the plot canvas; latency runs from a notification's arrival
in the bridge (``perf_counter``) to the end of the first canvas paint that shows it;
cpu is the process's CPU time (all threads: source, bridge, pipeline, repetition worker,
Qt) over the wall time measured, as a share of one core (issue 18: at most 20 %).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=host:firmware python benchmarks/live_fps.py
"""

from __future__ import annotations

import argparse
import os
import time
from collections import deque

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from hipimu.analysis.live.pipeline import LivePipeline
from hipimu.analysis.live.ring import Ring
from hipimu.app.live.bridge import SourceThread
from hipimu.app.live.view import FRAME_MS, LiveWindow
from hipimu.core.types import Notification
from hipimu.simulate import Protocol, simulate_session
from hipimu.sources.simulated import SimulatedSource
from hipimu.wire.protocol import decode


class ShiftedSource:
    """Notifications from ``start`` s on, paced in real time from now (host times kept)."""

    def __init__(self, notes: list[Notification], start: float, seconds: float) -> None:
        self.notes = [n for n in notes if start <= n.host_time < start + seconds]
        self.start = start
        self.markers: list[dict] = []

    async def stream(self):
        import asyncio

        t0 = time.perf_counter()
        for note in self.notes:
            delay = (note.host_time - self.start) - (time.perf_counter() - t0)
            if delay > 0:
                await asyncio.sleep(delay)
            yield note


class _PeerCanvas(pg.PlotWidget):
    painted = QtCore.Signal()

    def paintEvent(self, event):
        super().paintEvent(event)
        self.painted.emit()


class Peer:
    """Bare pyqtgraph: decode, append to a ring per sensor, setData, nothing else."""

    def __init__(self, feed: SourceThread, curves: int, window_s: float) -> None:
        self.feed = feed
        self.widget = _PeerCanvas(background="w")
        self.widget.resize(1000, 800)
        self.curves = [self.widget.plot(pen=pg.mkPen("b", width=2.5)) for _ in range(curves)]
        self.rings: dict[str, Ring] = {}
        self.n = int(window_s * 100)
        self.serial = 0
        self.drawn = 0
        self.arrivals: deque[tuple[int, float]] = deque()
        self.latencies: list[float] = []
        self.paints: list[float] = []
        self.widget.painted.connect(self._painted)
        self.timer = QtCore.QTimer()
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.step)

    def prefill(self, notes: list[Notification]) -> None:
        for note in notes:
            self._file(note)

    def _file(self, note: Notification) -> None:
        pkt = decode(note.payload)
        ring = self.rings.setdefault(note.sensor, Ring(4 * self.n, 2))
        t = pkt.t0_us / 1e6 + np.arange(pkt.count) / pkt.rate_hz
        ring.append(np.column_stack([t, pkt.quat[:, 1]]))

    def step(self) -> None:
        for arrival, note in self.feed.drain():
            self.serial += 1
            self._file(note)
            self.arrivals.append((self.serial, arrival))
        rings = list(self.rings.values())
        for i, curve in enumerate(self.curves):
            data = rings[i % len(rings)].tail(self.n)
            curve.setData(data[:, 0] - data[-1, 0], data[:, 1])
        self.drawn = self.serial

    def _painted(self) -> None:
        now = time.perf_counter()
        self.paints.append(now)
        while self.arrivals and self.arrivals[0][0] <= self.drawn:
            self.latencies.append(now - self.arrivals.popleft()[1])


def measure(kind: str, plane: str, notes, start: float, seconds: float, frame_ms: int) -> dict:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    feed = SourceThread(ShiftedSource(notes, start, seconds), capacity=4096)
    prefill = [n for n in notes if n.host_time < start]
    if kind == "hipimu":
        pipeline = LivePipeline(background_reps=True)
        window = LiveWindow(pipeline, feed, source_name="benchmark", frame_ms=frame_ms, plane=plane)
        window.ingest([(0.0, n) for n in prefill])
        pipeline.update()
        window.start_set("side_lying_leg_lift", "both")
        window.show()
        app.processEvents()
        window.step()  # the prefilled notifications are not measured
        app.processEvents()
        window.latencies.clear()
        window._paint_times.clear()
        paints: list[float] = []
        window.canvas.painted.connect(lambda: paints.append(time.perf_counter()))
        window.run()
        stop = window
    else:
        peer = Peer(feed, 6 if plane == "all" else 2, 10.0)
        peer.prefill(prefill)
        peer.widget.show()
        app.processEvents()
        feed.start()
        peer.timer.start(frame_ms)
        stop = peer.widget
    t0 = time.perf_counter()
    cpu0 = time.process_time()  # every thread of the process: source, bridge, workers
    loop = QtCore.QEventLoop()
    poll = QtCore.QTimer()
    poll.timeout.connect(
        lambda: (feed.done or time.perf_counter() - t0 > seconds + 5) and loop.quit()
    )
    poll.start(20)
    loop.exec()
    poll.stop()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if kind == "hipimu":
        window.timer.stop()
        lat = np.array(window.latencies)
        dropped = feed.dropped
    else:
        peer.timer.stop()
        paints = peer.paints
        lat = np.array(peer.latencies)
        dropped = feed.dropped
    feed.stop()
    stop.close()
    app.processEvents()
    paints = [p for p in paints if p >= t0]
    return {
        "fps": len(paints) / elapsed,
        "cpu": cpu / elapsed,
        "lat_median_ms": float(np.median(lat) * 1e3) if len(lat) else float("nan"),
        "lat_p95_ms": float(np.percentile(lat, 95) * 1e3) if len(lat) else float("nan"),
        "lat_max_ms": float(np.max(lat) * 1e3) if len(lat) else float("nan"),
        "notes": len(lat),
        "dropped": dropped,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    ap.add_argument("--frame-ms", type=int, default=FRAME_MS, help="frame timer interval")
    ap.add_argument("--plane", choices=("primary", "all"), nargs="+", default=["primary", "all"])
    args = ap.parse_args()
    sim = simulate_session(Protocol(reps=4), seed=0)
    start = 10.0  # the 10 s window is full when measuring starts
    notes = SimulatedSource(sim).session.notifications
    print(
        f"offscreen, 3 sensors x 100 Hz ({sum(1 for n in notes if n.host_time < 1):d} "
        f"notifications/s), 10 s window, {args.seconds:.0f} s measured, frame timer "
        f"{args.frame_ms} ms"
    )
    header = (
        f"{'view':<26}{'fps':>7}{'lat median':>12}{'p95':>8}{'max':>8}{'notes':>7}{'drop':>6}"
        f"{'cpu':>7}"
    )
    print(header)
    results = {}
    for plane in args.plane:
        curves = 6 if plane == "all" else 2
        for kind in ("hipimu", "peer"):
            r = measure(kind, plane, notes, start, args.seconds, args.frame_ms)
            results[(kind, plane)] = r
            name = f"{kind} ({curves} curves)"
            print(
                f"{name:<26}{r['fps']:7.1f}{r['lat_median_ms']:10.1f}ms{r['lat_p95_ms']:6.1f}ms"
                f"{r['lat_max_ms']:6.1f}ms{r['notes']:7d}{r['dropped']:6d}{r['cpu']:6.1%}"
            )
        ours, peer = results[("hipimu", plane)], results[("peer", plane)]
        print(
            f"  ratio hipimu/peer ({curves} curves): fps {ours['fps'] / peer['fps']:.2f}, "
            f"median latency {ours['lat_median_ms'] / peer['lat_median_ms']:.2f}, "
            f"CPU {ours['cpu'] / peer['cpu']:.2f} (hipimu {ours['cpu']:.1%} of a core; "
            f"target <= 20 %: {'met' if ours['cpu'] <= 0.20 else 'NOT met'})"
        )
    print(f"load average {os.getloadavg()[0]:.1f} after the runs, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
