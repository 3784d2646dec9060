"""The live view (Qt, pyqtgraph): both hips side by side for the trainer.

One :class:`LiveWindow` serves every source. A ``QTimer`` ticks at about 60 Hz: it
drains the bounded buffer of the source thread into the :class:`LivePipeline`, extends
the grid, and redraws the traces; the side panel (counters, ranges, pelvis, sensors)
refreshes at 5 Hz. Degrees appear here and only here.

The window wires its parts together and handles the trainer's actions; each part has
one job: :mod:`~hipimu.app.live.toolbar` (controls), :mod:`~hipimu.app.live.traces`
(plots), :mod:`~hipimu.app.live.panel` (side panel), :mod:`~hipimu.app.live.recording`
(the session log, through the one recorder), :mod:`~hipimu.app.live.style` (the look).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from hipimu.analysis.live.pipeline import LivePipeline
from hipimu.analysis.live.reps import ExerciseSpec, exercise_catalog
from hipimu.app.live.bridge import SourceThread
from hipimu.app.live.panel import SidePanel
from hipimu.app.live.recording import LiveRecording, default_target
from hipimu.app.live.style import LEFT_COLOR, PLANE_ALIAS, RIGHT_COLOR, STYLE
from hipimu.app.live.toolbar import Toolbar
from hipimu.app.live.traces import Traces
from hipimu.core.types import Notification

__all__ = ["LEFT_COLOR", "RIGHT_COLOR", "LiveWindow"]


#: the frame timer: 15 ms, about 66 frames a second (issue 8: at least 60, and a packet on
#: screen within 30 ms of its arrival). The view then takes 16-21 % of a core at 3 x 100 Hz
#: offscreen, 0.6 of a bare pyqtgraph plot's (issue 18: at most a fifth;
#: benchmarks/live_fps.py --frame-ms; docs/live.md).
FRAME_MS = 15


def _same(a: tuple, b: tuple) -> bool:
    """Two :meth:`LiveWindow._inputs`: equal values, the same objects."""
    return (
        len(a) == len(b)
        and a[:3] == b[:3]
        and all(x is y for x, y in zip(a[3:], b[3:], strict=True))
    )


class LiveWindow(QtWidgets.QMainWindow):
    """The trainer's live view over a :class:`LivePipeline` fed by a :class:`SourceThread`."""

    def __init__(
        self,
        pipeline: LivePipeline,
        feed: SourceThread | None = None,
        *,
        source_name: str = "",
        markers: list[dict] | None = None,
        follow_markers: bool = True,
        window_s: float = 10.0,
        plane: str = "primary",
        layout: str = "overlay",
        record_dir: str | Path | None = None,
        sensor_status: Callable[[], dict] | None = None,
        frame_ms: int = FRAME_MS,
        session_info: dict | None = None,
    ) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.feed = feed
        self.source_name = source_name
        self.window_s = window_s
        self.catalog = exercise_catalog()
        if follow_markers and markers:
            pipeline.follow(markers, self.catalog)
        self.record_dir = Path(record_dir) if record_dir else None
        self.sensor_status = sensor_status or (lambda: {})
        # what a recording says about the source: source, host_clock, seed, kit, ...
        self.session_info = dict(session_info or {"source": source_name or "live"})
        self.recording: LiveRecording | None = None
        self.set_spec: ExerciseSpec | None = None  # the set running or about to run
        self._shown_set: tuple | None = None
        self._logged_sets = 0
        self.frames = 0
        self.latencies: deque[float] = deque(maxlen=2000)  # seconds, arrival to paint
        self._recent_latency: deque[float] = deque(maxlen=200)  # about 3 s of notifications
        self._arrivals: deque[tuple[int, float]] = deque(maxlen=8192)
        self._drawn_serial = 0
        self._drawn_key: tuple = ()
        self._last_inputs: tuple = ()
        self._drawn_rows = False  # the last frame drew rows
        self._changed_at = 0.0
        self._paint_times: deque[float] = deque(maxlen=240)
        self._last_panel = 0.0
        self.source_error: str | None = None
        self.case_s = 3.0  # the calibration's case step (raw 6D sensors), seconds

        self.setWindowTitle(f"hipimu live — {source_name}" if source_name else "hipimu live")
        self.setStyleSheet(STYLE)
        self.resize(1366, 820)
        central = QtWidgets.QWidget()
        self.setCentralWidget(central)
        outer = QtWidgets.QVBoxLayout(central)
        outer.setContentsMargins(10, 8, 10, 4)
        outer.setSpacing(8)
        self.toolbar = Toolbar(self.catalog)
        outer.addWidget(self.toolbar)
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(10)
        outer.addLayout(body, 1)
        self.traces = Traces(window_s)
        self.canvas = self.traces.canvas
        self.canvas.painted.connect(self._on_paint)
        body.addWidget(self.canvas, 1)
        self.panel = SidePanel()
        body.addWidget(self.panel)
        self.status = QtWidgets.QStatusBar()
        self.setStatusBar(self.status)
        self._expose_widgets()
        self._connect()
        self.toolbar.select(self.plane_box, PLANE_ALIAS.get(plane, plane))
        self.toolbar.select(self.layout_box, layout)
        self.plane_choice = plane
        self.layout_choice = layout
        self._select_exercise(self.catalog[0].name)
        self._build_plots()
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.step)
        self.frame_ms = frame_ms

    def _expose_widgets(self) -> None:
        """The toolbar's and the panel's widgets under the window's own names (the
        trainer's actions below, scripts and tests use them)."""
        bar, panel = self.toolbar, self.panel
        self.exercise_box, self.side_box = bar.exercise_box, bar.side_box
        self.target_lo, self.target_hi = bar.target_lo, bar.target_hi
        self.set_button, self.plane_box, self.layout_box = (
            bar.set_button,
            bar.plane_box,
            bar.layout_box,
        )
        self.cal_button, self.record_button = bar.cal_button, bar.record_button
        self.mark_button, self.note_edit = bar.mark_button, bar.note_edit
        self.set_title, self.rep_labels = panel.set_title, panel.rep_labels
        self.band_labels, self.hold_labels = panel.band_labels, panel.hold_labels
        self.range_band, self.symmetry_label = panel.range_band, panel.symmetry_label
        self.cal_label, self.cal_finish = panel.cal_label, panel.cal_finish
        self.sensor_table = panel.sensor_table

    def _connect(self) -> None:
        """The controls to their actions (clicked(bool) would pass ``checked`` as the
        first argument: buttons call through lambdas)."""
        bar, panel = self.toolbar, self.panel
        bar.exercise_box.currentIndexChanged.connect(
            lambda _i: self._select_exercise(bar.exercise_box.currentData())
        )
        for box in (bar.target_lo, bar.target_hi):
            box.valueChanged.connect(lambda _v: self._trainer_band())
        bar.side_box.currentIndexChanged.connect(
            lambda _i: self._show_target(self.set_spec or self.catalog[0])
        )
        bar.set_button.clicked.connect(lambda: self._toggle_set())
        bar.plane_box.currentIndexChanged.connect(self._on_plot_choice)
        bar.layout_box.currentIndexChanged.connect(self._on_plot_choice)
        bar.cal_button.clicked.connect(lambda: self._calibrate_clicked())
        bar.record_button.toggled.connect(self._toggle_record)
        bar.mark_button.clicked.connect(lambda: self.add_event("flag", label="mark"))
        bar.note_edit.returnPressed.connect(self._add_note)
        panel.cal_finish.clicked.connect(lambda: self._cal_next())

    @property
    def plots(self) -> list:
        """The plots shown: (plot, plane, sign, right curve, left curve) each."""
        return self.traces.plots

    @property
    def writer(self) -> LiveRecording | None:
        """The recording in progress (None when not recording); its ``path`` is the log."""
        return self.recording

    # ================================================================ choices
    def _build_plots(self) -> None:
        self.traces.build(self.plane_choice, self.layout_choice, self.set_spec or self.catalog[0])
        self._update_band()

    def _select_exercise(self, name: str) -> None:
        spec = next(s for s in self.catalog if s.name == name)
        if self.pipeline.current is None:
            self.set_spec = spec
        self._show_target(spec)
        if self.traces.plots:
            self._build_plots()

    def _band_side(self) -> str | None:
        side = self.side_box.currentData()
        return side if side in ("right", "left") else None

    def _show_target(self, spec: ExerciseSpec) -> None:
        """The band for the chosen exercise and side (the trainer's, the rule's from the
        client's history, or the catalog's) and why."""
        side = self._band_side()
        why = self.pipeline.target_reason(spec, side) if side else "both sides: default band"
        self.toolbar.show_target(*self.pipeline.target(spec, side), why)
        self._update_band()

    def _on_plot_choice(self, _index: int = 0) -> None:
        self.plane_choice = self.plane_box.currentData()
        self.layout_choice = self.layout_box.currentData()
        self._build_plots()

    def _update_band(self) -> None:
        """Draw the band the spin boxes hold."""
        lo, hi = self.target_lo.value(), self.target_hi.value()
        self.traces.set_band(lo, hi)
        self.range_band.setRegion((lo, hi))

    def _trainer_band(self) -> None:
        """The trainer changed the band: it overrides the rule for this exercise (and
        side), is recorded as a ``target_override`` event, and the reason says so."""
        exercise, side = self.exercise_box.currentData(), self._band_side()
        lo, hi = self.target_lo.value(), self.target_hi.value()
        self.pipeline.set_target(exercise, (lo, hi))
        rules = self.pipeline.rule_targets
        if rules is not None and side is not None:
            now = self.pipeline.latest_time()
            event = rules.override(exercise, side, lo, hi, now if np.isfinite(now) else 0.0)
            self.add_event(
                event["type"], **{k: v for k, v in event.items() if k not in ("type", "time")}
            )
        spec = next(s for s in self.catalog if s.name == exercise)
        self.toolbar.show_target(lo, hi, self.pipeline.target_reason(spec, side or "right"))
        self._update_band()

    # ================================================================ actions
    def start_set(self, exercise: str, side: str) -> None:
        """Begin a set of ``exercise`` on ``side`` ("right", "left" or "both") now."""
        spec = next((s for s in self.catalog if s.name == exercise), None)
        if spec is None:
            raise ValueError(f"unknown exercise {exercise!r}")
        if side not in ("right", "left", "both"):
            raise ValueError(f"side must be right, left or both, got {side!r}")
        self.pipeline.start_set(spec, side)
        self._sync_set()

    def end_set(self) -> None:
        """End the running set; its counts go to ``pipeline.sets`` and the log."""
        self.pipeline.stop_set()
        self._sync_set()

    def _toggle_set(self) -> None:
        if self.pipeline.current is None:
            self.start_set(self.exercise_box.currentData(), self.side_box.currentData())
        else:
            self.end_set()

    def _sync_set(self) -> None:
        """Follow the pipeline's set (started here or from the session's markers)."""
        for result in self.pipeline.sets[self._logged_sets :]:
            self.add_event("marker", **result.marker())
        self._logged_sets = len(self.pipeline.sets)
        current = self.pipeline.current
        key = None if current is None else (current[0].name, current[1], current[2])
        if key == self._shown_set:
            return
        self._shown_set = key
        if current is not None:
            spec, side = current[0], current[1]
            self.add_event("marker_start", exercise=spec.name, side=side, start=current[2])
            self.set_spec = spec
            if self.exercise_box.findData(spec.name) < 0:  # a marker's variant name
                self.catalog = (*self.catalog, spec)
                self.exercise_box.blockSignals(True)
                self.exercise_box.addItem(f"{spec.label} ({spec.name})", spec.name)
                self.exercise_box.blockSignals(False)
            self.toolbar.select(self.exercise_box, spec.name)
            self.toolbar.select(self.side_box, side)
            self._show_target(spec)
            self.set_button.setText("End set")
        else:
            self.set_button.setText("Start set")
        self._build_plots()
        self._refresh_panel()

    def start_calibration(
        self, stand_s: float = 5.0, march_s: float = 6.0, start: float | None = None
    ) -> None:
        """Guided calibration: stand still ``stand_s``, then march ``march_s`` seconds
        (from ``start``, grid time; default now)."""
        self.pipeline.start_calibration(stand_s, march_s, start)
        self._refresh_panel()

    def _calibrate_clicked(self) -> None:
        """Calibrate: sensors fused on the host without a magnetometer first lie in their
        case (heading alignment); the others go straight to standing still."""
        pipe = self.pipeline
        if pipe.raw_six_d() and not pipe.heading_offsets:
            pipe.start_heading_alignment(self.case_s)
            self._refresh_panel()
        else:
            self.start_calibration()

    def _cal_next(self) -> None:
        """The calibration panel's button: continue after strapping on, or finish now."""
        if self.pipeline.cal.phase == "strap":
            self.pipeline.continue_calibration()
        else:
            self.pipeline.finish_calibration_now()
        self._refresh_panel()

    # ================================================================ recording
    def start_recording(self, target: str | Path | None = None, *, force: bool = False) -> Path:
        """Record every notification and event from now on into a new session
        (``target``: a directory, default ``hipimu-live-<time>`` in ``record_dir``; an
        existing one is refused unless ``force`` moves it aside); returns the log's path."""
        target = default_target(self.record_dir) if target is None else target
        self.recording = LiveRecording(target, self.session_info, force=force)
        if self.pipeline.calibration is not None:
            self._log_calibration()
        if self.pipeline.current is not None:  # a set already running
            spec, side, start = self.pipeline.current[:3]
            self.add_event("marker_start", exercise=spec.name, side=side, start=start)
        self.toolbar.show_recording(True)
        return self.recording.path

    def stop_recording(self) -> None:
        if self.recording is not None:
            self.recording.close()
            self.status.showMessage(f"Recording saved to {self.recording.path}", 10000)
            self.recording = None
        self.toolbar.show_recording(False)

    def _toggle_record(self, on: bool) -> None:
        if not on:
            self.stop_recording()
            return
        try:
            self.start_recording()
        except OSError as exc:  # e.g. the folder is not writable: say so, keep running
            self.toolbar.show_recording(False)
            self.status.showMessage(f"Cannot record: {exc}", 10000)

    def add_event(self, kind: str, **fields: object) -> dict:
        """A marker, flag or note at the current time, written to the log if recording."""
        now = self.pipeline.latest_time()
        event = {"type": kind, **fields}
        if kind not in ("marker", "marker_start"):  # a set's start is in the marker
            event.setdefault("time", now if np.isfinite(now) else None)
        if self.recording is not None:
            self.recording.event(event)
        return event

    def _add_note(self) -> None:
        text = self.note_edit.text().strip()
        if text:
            self.add_event("note", text=text)
            self.note_edit.clear()
            self.status.showMessage(f"Note added: {text}", 5000)

    def _log_calibration(self) -> None:
        cal = self.pipeline.calibration
        if self.recording is not None and cal is not None:
            self.recording.calibration(cal)

    # ================================================================ running
    def run(self) -> None:
        """Start the source thread (if not running) and the frame timer."""
        if self.feed is not None and not self.feed.started:
            self.feed.start()
        self.timer.start(self.frame_ms)

    def ingest(self, items: list[tuple[float, Notification]]) -> None:
        """Feed (arrival time, notification) pairs to the pipeline (and the log)."""
        pipe = self.pipeline
        for arrival, note in items:
            pipe.feed(note)
            self._arrivals.append((pipe.serial, arrival))
            if self.recording is not None:
                self.recording.notification(note)

    def step(self) -> None:
        """One frame: drain the source, extend the grid, redraw."""
        events = 0
        if self.feed is not None:
            for event in self.feed.drain_events():  # before the packets they pin
                events += 1
                self.pipeline.add_event(event)
                if self.recording is not None:
                    self.recording.event(event)
            self.ingest(self.feed.drain())
            if self.feed.error is not None and self.source_error is None:
                self.source_error = f"source stopped: {self.feed.error}"
                self.status.showMessage(self.source_error)
        # nothing new since the last frame (no notification, event or trainer action: a
        # quarter of the frames at 3 x 100 Hz) gives the same rows: shown again, not
        # computed again
        changed = events > 0 or not _same(self._inputs(), self._last_inputs)
        if changed:
            had_cal = self.pipeline.calibration
            self.pipeline.update()
            if self.pipeline.calibration is not had_cal:
                self._log_calibration()
        self._sync_set()
        inputs = self._inputs()
        changed = changed or not _same(inputs, self._last_inputs)
        self._last_inputs = inputs
        self._draw(changed)
        now = time.perf_counter()
        if now - self._last_panel >= 0.2:
            self._last_panel = now
            self._refresh_panel()

    def _inputs(self) -> tuple:
        """What the grid rows and the traces depend on: values (the notifications fed,
        the calibration's step, the sets ended), then objects replaced when they change
        (the calibration, the mounts, the running set, the plots; held here, so a new
        one never takes an old one's place in memory)."""
        pipe = self.pipeline
        return (
            pipe.serial,
            pipe.cal.phase,
            len(pipe.sets),
            pipe.calibration,
            pipe.mounts,
            pipe.current,
            self.traces.plots,
        )

    def _draw(self, changed: bool = True) -> None:
        """Show the newest rows (``changed``: computed anew since the last frame; if not,
        the same picture is painted again, as a frame)."""
        key = (self.pipeline.serial, id(self.traces.plots), self.pipeline.cal.phase)
        now = time.perf_counter()
        if key != self._drawn_key:
            self._drawn_key, self._changed_at = key, now
        elif now - self._changed_at > 0.5:
            return  # the stream is idle (paused, ended): stop repainting the same picture
        if not changed and self._drawn_rows:
            self.traces.repaint()
            self.frames += 1
            return
        rows = self.pipeline.window(self.window_s)
        self._drawn_rows = len(rows) > 0
        if len(rows) == 0:
            return
        self.traces.draw(rows)
        self._drawn_serial = self.pipeline.shown_serial
        self.frames += 1

    def _on_paint(self) -> None:
        now = time.perf_counter()
        self._paint_times.append(now)
        while self._arrivals and self._arrivals[0][0] <= self._drawn_serial:
            _serial, arrival = self._arrivals.popleft()
            self.latencies.append(now - arrival)
            self._recent_latency.append(now - arrival)

    @property
    def fps(self) -> float:
        """Paints per second over the last frames."""
        t = self._paint_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    # ================================================================ panel
    def _refresh_panel(self) -> None:
        pipe = self.pipeline
        spec, target_hi = self.set_spec, self.target_hi.value()
        self.panel.refresh(pipe, spec, target_hi, self.sensor_status() or {})
        t = pipe.latest_time() - pipe.start_time
        clock = f"{int(t // 60):02d}:{t % 60:04.1f}" if np.isfinite(t) else "--:--"
        recent = self._recent_latency
        lat = np.median(recent) * 1e3 if recent else float("nan")
        dropped = self.feed.dropped if self.feed is not None else 0
        rec = f" · recording to {self.recording.path}" if self.recording is not None else ""
        problem = next(iter(pipe.problems.values()), None)
        self.status.showMessage(
            self.source_error
            or problem
            or (
                f"{self.source_name} · {clock} · {self.fps:4.0f} fps · screen latency "
                f"{lat:4.0f} ms · dropped {dropped}{rec}"
            )
        )

    # ================================================================ output
    def rep_counts(self) -> dict[str, int | None]:
        """What the counters show, per side (None when they show a dash)."""
        out: dict[str, int | None] = {}
        for side, label in self.rep_labels.items():
            text = label.text()
            out[side] = int(text) if text.isdigit() else None
        return out

    def screenshot(self, path: str | Path) -> Path:
        """Save the whole window as a PNG."""
        self._refresh_panel()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.grab().save(str(path)):
            raise OSError(f"could not write the screenshot {path}")
        return path

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.timer.stop()
        if self.pipeline.current is not None:
            self.end_set()
        if self.feed is not None:
            self.feed.stop()
        self.stop_recording()
        super().closeEvent(event)
