"""The live view (Qt, pyqtgraph): both hips side by side for the trainer.

One :class:`LiveWindow` serves every source. A ``QTimer`` ticks at about 60 Hz: it
drains the bounded buffer of the source thread into the :class:`LivePipeline`, extends
the grid, and redraws the traces; the side panel (counters, ranges, pelvis, sensors)
refreshes at 5 Hz. Degrees appear here and only here.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from hipimu.analysis.live.pipeline import HIP_L, HIP_R, ROLES, LivePipeline, T
from hipimu.analysis.live.reps import ExerciseSpec, exercise_catalog, symmetry_angle
from hipimu.app.live.bridge import SourceThread
from hipimu.core.types import Notification

RIGHT_COLOR = "#1f6fb4"  # blue
LEFT_COLOR = "#e8710a"  # orange (blue/orange: distinguishable with colour-blindness)
BAND_COLOR = (46, 160, 67, 45)
OK_COLOR, WARN_COLOR, BAD_COLOR, MUTED = "#2e8b57", "#d08700", "#c62828", "#6b7280"
PLANES = ("flexion", "adduction", "rotation")
PLANE_LABEL = {
    ("flexion", 1.0): "Flexion",
    ("flexion", -1.0): "Extension",
    ("adduction", 1.0): "Adduction",
    ("adduction", -1.0): "Abduction",
    ("rotation", 1.0): "Internal rotation",
    ("rotation", -1.0): "External rotation",
}
# what the trainer picks -> (hip angle plane, sign): user text says abduction, the
# frontal-plane lift every exercise here trains; ``adduction`` stays accepted
PLANE_CHOICE = {
    "flexion": ("flexion", 1.0),
    "abduction": ("adduction", -1.0),
    "rotation": ("rotation", 1.0),
}
PLANE_ALIAS = {"adduction": "abduction"}  # the frontal plane's older option name
Y_RANGE = {"flexion": (-15.0, 80.0), "adduction": (-45.0, 20.0), "rotation": (-25.0, 25.0)}
ROLE_LABEL = {"pelvis": "Pelvis", "femur_r": "Right thigh", "femur_l": "Left thigh"}
COMPENSATION = (("Tilt", 2), ("Obliquity", 1), ("Rotation", 0))  # pelvis_angles columns
STYLE = """
QWidget { font-size: 10.5pt; color: #1f2933; }
QMainWindow, QWidget#panel { background: #f5f7fa; }
QGroupBox { background: white; border: 1px solid #d9dee5; border-radius: 6px;
            margin-top: 14px; padding: 8px 8px 6px 8px; font-weight: 600; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #52606d; }
QPushButton { padding: 4px 10px; border: 1px solid #c3cad3; border-radius: 4px;
              background: white; }
QPushButton:hover { background: #eef2f6; }
QPushButton:checked { background: #c62828; color: white; border-color: #a61b1b; }
QComboBox, QLineEdit, QDoubleSpinBox { padding: 2px 6px; border: 1px solid #c3cad3;
              border-radius: 4px; background: white; }
QStatusBar { color: #52606d; }
"""


LABEL_STYLE = {"color": "#3e4c59", "font-size": "10.5pt"}


def _style_axis(axis: pg.AxisItem) -> None:
    font = QtGui.QFont()
    font.setPointSizeF(9.5)
    axis.setTickFont(font)
    axis.setTextPen("#3e4c59")
    axis.setPen("#9aa5b1")


def _ms(value: float | None) -> str:
    return f"{value:.0f} ms" if value is not None and np.isfinite(value) else "–"


def _latency(value: float | None) -> str:
    """A link latency; a negative one is the sensor clock mapping still being off by that
    much (a sample cannot arrive before it was taken), so it is shown as a clock offset."""
    if value is not None and np.isfinite(value) and value < 0:
        return f"clock off {-value:.0f} ms"
    return _ms(value)


class _Canvas(pg.GraphicsLayoutWidget):
    """The plot canvas; reports every paint (for frame rate and screen latency)."""

    painted = QtCore.Signal()

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        super().paintEvent(ev)
        self.painted.emit()


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
        frame_ms: int = 15,
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
        self.writer = None
        self.set_spec: ExerciseSpec | None = None  # the set running or about to run
        self._shown_set: tuple | None = None
        self._logged_sets = 0
        self.frames = 0
        self.latencies: deque[float] = deque(maxlen=2000)  # seconds, arrival to paint
        self._recent_latency: deque[float] = deque(maxlen=200)  # about 3 s of notifications
        self._arrivals: deque[tuple[int, float]] = deque(maxlen=8192)
        self._drawn_serial = 0
        self._drawn_key: tuple = ()
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
        outer.addWidget(self._build_toolbar())
        body = QtWidgets.QHBoxLayout()
        body.setSpacing(10)
        outer.addLayout(body, 1)
        self.canvas = _Canvas()
        self.canvas.setBackground("w")
        self.canvas.painted.connect(self._on_paint)
        body.addWidget(self.canvas, 1)
        body.addWidget(self._build_panel())
        self.status = QtWidgets.QStatusBar()
        self.setStatusBar(self.status)
        plane = PLANE_ALIAS.get(plane, plane)
        for box, value in ((self.plane_box, plane), (self.layout_box, layout)):
            index = box.findData(value)
            if index < 0:
                raise ValueError(f"unknown view option {value!r}")
            box.blockSignals(True)
            box.setCurrentIndex(index)
            box.blockSignals(False)
        self.plane_choice = plane
        self.layout_choice = layout
        self._select_exercise(self.catalog[0].name)
        self._build_plots()
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.step)
        self.frame_ms = frame_ms

    # ================================================================ building
    def _build_toolbar(self) -> QtWidgets.QWidget:
        bar = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.exercise_box = QtWidgets.QComboBox()
        self.exercise_box.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.exercise_box.setMinimumContentsLength(16)
        for spec in self.catalog:
            self.exercise_box.addItem(spec.label, spec.name)
        self.exercise_box.currentIndexChanged.connect(
            lambda _i: self._select_exercise(self.exercise_box.currentData())
        )
        self.side_box = QtWidgets.QComboBox()
        for side in ("right", "left", "both"):
            self.side_box.addItem(side.capitalize(), side)
        self.target_lo = QtWidgets.QDoubleSpinBox()
        self.target_hi = QtWidgets.QDoubleSpinBox()
        for box in (self.target_lo, self.target_hi):
            box.setRange(-90.0, 150.0)
            box.setDecimals(0)
            box.setSuffix("°")
            box.valueChanged.connect(lambda _v: self._update_band())
        # clicked(bool) would pass ``checked`` as the first argument: call through lambdas
        self.set_button = QtWidgets.QPushButton("Start set")
        self.set_button.clicked.connect(lambda: self._toggle_set())
        self.plane_box = QtWidgets.QComboBox()
        for text, value in (
            ("Exercise plane", "primary"),
            ("Flexion", "flexion"),
            ("Abduction", "abduction"),
            ("Rotation", "rotation"),
            ("All three", "all"),
        ):
            self.plane_box.addItem(text, value)
        self.plane_box.currentIndexChanged.connect(self._on_plot_choice)
        self.layout_box = QtWidgets.QComboBox()
        self.layout_box.addItem("Overlaid", "overlay")
        self.layout_box.addItem("Mirrored", "mirror")
        self.layout_box.currentIndexChanged.connect(self._on_plot_choice)
        self.cal_button = QtWidgets.QPushButton("Calibrate")
        self.cal_button.clicked.connect(lambda: self._calibrate_clicked())
        self.record_button = QtWidgets.QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.record_button.toggled.connect(self._toggle_record)
        self.mark_button = QtWidgets.QPushButton("Mark")
        self.mark_button.clicked.connect(lambda: self.add_event("flag", label="mark"))
        self.note_edit = QtWidgets.QLineEdit()
        self.note_edit.setPlaceholderText("Note (Enter adds it)")
        self.note_edit.setMinimumWidth(150)
        self.note_edit.returnPressed.connect(self._add_note)

        def label(text: str) -> QtWidgets.QLabel:
            w = QtWidgets.QLabel(text)
            w.setStyleSheet(f"color: {MUTED};")
            return w

        for w in (
            label("Exercise"),
            self.exercise_box,
            self.side_box,
            label("Target"),
            self.target_lo,
            label("–"),
            self.target_hi,
            self.set_button,
            self.plane_box,
            self.layout_box,
            self.cal_button,
            self.record_button,
            self.mark_button,
        ):
            row.addWidget(w)
        row.addWidget(self.note_edit, 1)
        return bar

    def _group(self, title: str) -> tuple[QtWidgets.QGroupBox, QtWidgets.QVBoxLayout]:
        box = QtWidgets.QGroupBox(title)
        lay = QtWidgets.QVBoxLayout(box)
        lay.setSpacing(4)
        return box, lay

    def _build_panel(self) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget()
        panel.setObjectName("panel")
        panel.setFixedWidth(380)
        col = QtWidgets.QVBoxLayout(panel)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)

        box, lay = self._group("Set")
        self.set_title = QtWidgets.QLabel("No set running")
        self.set_title.setStyleSheet("font-size: 12pt; font-weight: 600;")
        self.set_title.setWordWrap(True)
        lay.addWidget(self.set_title)
        counters = QtWidgets.QGridLayout()
        self.rep_labels: dict[str, QtWidgets.QLabel] = {}
        self.band_labels: dict[str, QtWidgets.QLabel] = {}
        self.hold_labels: dict[str, QtWidgets.QLabel] = {}
        for j, (side, color) in enumerate((("right", RIGHT_COLOR), ("left", LEFT_COLOR))):
            head = QtWidgets.QLabel(f"{side.upper()} reps")
            head.setStyleSheet(f"color: {color}; font-weight: 700;")
            head.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            count = QtWidgets.QLabel("–")
            count.setStyleSheet(f"color: {color}; font-size: 30pt; font-weight: 700;")
            count.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            band = QtWidgets.QLabel("")
            band.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            band.setStyleSheet(f"color: {MUTED};")
            hold = QtWidgets.QLabel("")
            hold.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            counters.addWidget(head, 0, j)
            counters.addWidget(count, 1, j)
            counters.addWidget(band, 2, j)
            counters.addWidget(hold, 3, j)
            self.rep_labels[side], self.band_labels[side] = count, band
            self.hold_labels[side] = hold
        lay.addLayout(counters)
        col.addWidget(box)

        box, lay = self._group("Range, left against right")
        self.range_plot = pg.PlotWidget(background="w")
        self.range_plot.setFixedHeight(96)
        self.range_view = self.range_plot.getViewBox()
        self.range_view.setMouseEnabled(False, False)
        item = self.range_plot.getPlotItem()
        assert item is not None
        item.hideButtons()
        item.setMenuEnabled(False)
        ax = self.range_plot.getAxis("left")
        ax.setTicks([[(1, "Right"), (0, "Left")]])
        for axis in ("left", "bottom"):
            _style_axis(self.range_plot.getAxis(axis))
        self.range_view.setYRange(-0.6, 1.6, padding=0)
        self.range_bars = pg.BarGraphItem(
            x0=[0, 0], y=[1, 0], height=0.6, width=[0, 0], brushes=[RIGHT_COLOR, LEFT_COLOR]
        )
        self.range_plot.addItem(self.range_bars)
        self.range_band = pg.LinearRegionItem(
            orientation="vertical", movable=False, brush=pg.mkBrush(*BAND_COLOR), pen=pg.mkPen(None)
        )
        self.range_plot.addItem(self.range_band)
        lay.addWidget(self.range_plot)
        self.symmetry_label = QtWidgets.QLabel("")
        self.symmetry_label.setWordWrap(True)
        lay.addWidget(self.symmetry_label)
        col.addWidget(box)

        box, lay = self._group("Pelvis compensation (since set start)")
        grid = QtWidgets.QGridLayout()
        self.comp_bars: dict[str, QtWidgets.QProgressBar] = {}
        self.comp_values: dict[str, QtWidgets.QLabel] = {}
        for i, (name, _col) in enumerate(COMPENSATION):
            bar = QtWidgets.QProgressBar()
            bar.setRange(0, 150)
            bar.setTextVisible(False)
            bar.setFixedHeight(12)
            value = QtWidgets.QLabel("–")
            value.setMinimumWidth(56)
            value.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
            grid.addWidget(QtWidgets.QLabel(name), i, 0)
            grid.addWidget(bar, i, 1)
            grid.addWidget(value, i, 2)
            self.comp_bars[name], self.comp_values[name] = bar, value
        lay.addLayout(grid)
        col.addWidget(box)

        box, lay = self._group("Calibration")
        self.cal_label = QtWidgets.QLabel("")
        self.cal_label.setWordWrap(True)
        lay.addWidget(self.cal_label)
        self.cal_finish = QtWidgets.QPushButton("Finish now (skip marching)")
        self.cal_finish.clicked.connect(lambda: self._cal_next())
        self.cal_finish.hide()
        lay.addWidget(self.cal_finish)
        col.addWidget(box)

        box, lay = self._group("Sensors")
        self.sensor_table = QtWidgets.QTableWidget(3, 5)
        self.sensor_table.setHorizontalHeaderLabels(["", "Link", "Battery", "Loss", "Delay"])
        self.sensor_table.verticalHeader().hide()
        self.sensor_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sensor_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.sensor_table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        header = self.sensor_table.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.sensor_table.verticalHeader().setDefaultSectionSize(24)
        self.sensor_table.setShowGrid(False)
        self.sensor_table.setStyleSheet("QTableWidget { border: none; }")
        self.sensor_table.setFixedHeight(3 * 24 + header.sizeHint().height() + 4)
        for i, role in enumerate(ROLES):
            self.sensor_table.setItem(i, 0, QtWidgets.QTableWidgetItem(ROLE_LABEL[role]))
        lay.addWidget(self.sensor_table)
        col.addWidget(box)
        col.addStretch(1)
        return panel

    def _build_plots(self) -> None:
        self.canvas.ci.clear()
        self.plots: list[tuple[pg.PlotItem, str, float, pg.PlotDataItem, pg.PlotDataItem]] = []
        self.bands: list[pg.LinearRegionItem] = []
        spec = self.set_spec or self.catalog[0]
        width = 2.5 if self.plane_choice != "all" else 2.0
        if self.plane_choice == "all":
            planes = [PLANE_CHOICE[p] for p in ("flexion", "abduction", "rotation")]
        elif self.plane_choice == "primary":
            planes = [(spec.plane, spec.direction)]
        else:
            planes = [PLANE_CHOICE[self.plane_choice]]
        mirror = self.layout_choice == "mirror"
        for i, (plane, sign) in enumerate(planes):
            plot = self.canvas.ci.addPlot(row=i, col=0)
            plot.setMenuEnabled(False)
            view = plot.getViewBox()
            view.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.15)
            for name in ("left", "bottom"):
                # the axes (and the grid they draw) do not change: paint them from a
                # cached pixmap instead of replaying their picture every frame (~7x faster)
                plot.getAxis(name).setCacheMode(
                    QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
                )
            view.setXRange(-self.window_s, 0.0, padding=0)
            name = PLANE_LABEL[(plane, sign)]
            plot.setLabel("left", f"{name} (°)", **LABEL_STYLE)
            if i == len(planes) - 1:
                plot.setLabel("bottom", "time (s, now = 0)", **LABEL_STYLE)
            for axis in ("left", "bottom"):
                _style_axis(plot.getAxis(axis))
            lo, hi = Y_RANGE[plane]
            lo, hi = (lo, hi) if sign > 0 else (-hi, -lo)
            if mirror:
                top = max(abs(lo), abs(hi))
                lo, hi = -top, top
            view.setYRange(lo, hi, padding=0)
            view.enableAutoRange(enable=False)
            if self.plane_choice != "all" and plane == spec.plane:
                band = pg.LinearRegionItem(
                    orientation="horizontal",
                    movable=False,
                    brush=pg.mkBrush(*BAND_COLOR),
                    pen=pg.mkPen((46, 160, 67, 120), width=1),
                )
                band.setZValue(-10)
                plot.addItem(band)
                self.bands.append(band)
                if mirror:
                    mirrored = pg.LinearRegionItem(
                        orientation="horizontal",
                        movable=False,
                        brush=pg.mkBrush(*BAND_COLOR),
                        pen=pg.mkPen((46, 160, 67, 120), width=1),
                    )
                    mirrored.setZValue(-10)
                    plot.addItem(mirrored)
                    self.bands.append(mirrored)
            plot.addLine(y=0, pen=pg.mkPen("#9aa5b1", width=1))
            if i == 0:
                legend = plot.addLegend(
                    offset=(10, 8), labelTextSize="10.5pt", labelTextColor="#1f2933"
                )
                legend.setBrush(pg.mkBrush(255, 255, 255, 150))
            right = plot.plot(pen=pg.mkPen(RIGHT_COLOR, width=width), name="Right hip")
            left = plot.plot(
                pen=pg.mkPen(LEFT_COLOR, width=width),
                name="Left hip (mirrored)" if mirror else "Left hip",
            )
            for curve in (right, left):
                curve.setClipToView(False)
            self.plots.append((plot, plane, sign, right, left))
        self._update_band()

    # ================================================================ actions
    def _select_exercise(self, name: str) -> None:
        spec = next(s for s in self.catalog if s.name == name)
        if self.pipeline.current is None:
            self.set_spec = spec
        self._show_target(spec)
        if hasattr(self, "plots"):
            self._build_plots()

    def _show_target(self, spec: ExerciseSpec) -> None:
        lo, hi = self.pipeline.target(spec)
        for box, value in ((self.target_lo, lo), (self.target_hi, hi)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)

    def _on_plot_choice(self, _index: int = 0) -> None:
        self.plane_choice = self.plane_box.currentData()
        self.layout_choice = self.layout_box.currentData()
        self._build_plots()

    def _update_band(self) -> None:
        lo, hi = self.target_lo.value(), self.target_hi.value()
        for i, band in enumerate(getattr(self, "bands", [])):
            band.setRegion((-hi, -lo) if i == 1 else (lo, hi))
        self.range_band.setRegion((lo, hi))
        self.pipeline.set_target(self.exercise_box.currentData(), (lo, hi))

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
            self.set_spec = spec
            if self.exercise_box.findData(spec.name) < 0:  # a marker's variant name
                self.catalog = (*self.catalog, spec)
                self.exercise_box.blockSignals(True)
                self.exercise_box.addItem(f"{spec.label} ({spec.name})", spec.name)
                self.exercise_box.blockSignals(False)
            for box, value in ((self.exercise_box, spec.name), (self.side_box, side)):
                box.blockSignals(True)
                box.setCurrentIndex(box.findData(value))
                box.blockSignals(False)
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

    def start_recording(self, path: str | Path | None = None) -> Path:
        """Record every notification and event from now on to a session log."""
        from hipimu import __version__
        from hipimu.store.log import SessionLogWriter

        if path is None:
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = (self.record_dir or Path(".")) / f"hipimu-live-{stamp}" / "session.hiplog"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = SessionLogWriter(path)
        self.writer.meta(
            {
                "source": self.source_name,
                "hipimu": __version__,
                "recorded_by": "hipimu live",
                "started_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        if self.pipeline.calibration is not None:
            self._log_calibration()
        if not self.record_button.isChecked():
            self.record_button.blockSignals(True)
            self.record_button.setChecked(True)
            self.record_button.blockSignals(False)
        self.record_button.setText("■ Stop recording")
        return path

    def stop_recording(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.status.showMessage(f"Recording saved to {self.writer.path}", 10000)
            self.writer = None
        self.record_button.blockSignals(True)
        self.record_button.setChecked(False)
        self.record_button.blockSignals(False)
        self.record_button.setText("● Record")

    def _toggle_record(self, on: bool) -> None:
        if on:
            self.start_recording()
        else:
            self.stop_recording()

    def add_event(self, kind: str, **fields: object) -> dict:
        """A marker, flag or note at the current time, written to the log if recording."""
        now = self.pipeline.latest_time()
        event = {"type": kind, **fields}
        if kind != "marker":
            event.setdefault("time", now if np.isfinite(now) else None)
        if self.writer is not None:
            self.writer.event(event)
        return event

    def _add_note(self) -> None:
        text = self.note_edit.text().strip()
        if text:
            self.add_event("note", text=text)
            self.note_edit.clear()
            self.status.showMessage(f"Note added: {text}", 5000)

    def _log_calibration(self) -> None:
        import json

        cal = self.pipeline.calibration
        if self.writer is not None and cal is not None:
            self.writer.event({"type": "calibration", **json.loads(cal.to_json())})

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
            if self.writer is not None:
                self.writer.notification(note)

    def step(self) -> None:
        """One frame: drain the source, extend the grid, redraw."""
        if self.feed is not None:
            self.ingest(self.feed.drain())
            if self.feed.error is not None and self.source_error is None:
                self.source_error = f"source stopped: {self.feed.error}"
                self.status.showMessage(self.source_error)
        had_cal = self.pipeline.calibration
        self.pipeline.update()
        if self.pipeline.calibration is not had_cal:
            self._log_calibration()
        self._sync_set()
        self._draw()
        now = time.perf_counter()
        if now - self._last_panel >= 0.2:
            self._last_panel = now
            self._refresh_panel()

    def _draw(self) -> None:
        key = (self.pipeline.serial, id(self.plots), self.pipeline.cal.phase)
        now = time.perf_counter()
        if key != self._drawn_key:
            self._drawn_key, self._changed_at = key, now
        elif now - self._changed_at > 0.5:
            return  # the stream is idle (paused, ended): stop repainting the same picture
        rows = self.pipeline.window(self.window_s)
        if len(rows) == 0:
            return
        x = rows[:, T] - rows[-1, T]
        mirror = self.layout_choice == "mirror"
        for _plot, plane, sign, right, left in self.plots:
            j = PLANES.index(plane)
            r = np.rad2deg(rows[:, HIP_R][:, j]) * sign
            lft = np.rad2deg(rows[:, HIP_L][:, j]) * sign
            if mirror:
                lft = -lft
            right.setData(x, r, connect="finite")
            left.setData(x, lft, connect="finite")
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
        pipe, tracker = self.pipeline, self.pipeline.tracker
        current = pipe.current
        running = current is not None
        if current is not None:
            spec, side = current[0], current[1]
            side_text = "both sides" if side == "both" else f"{side} side"
            self.set_title.setText(f"{spec.label} — {side_text}")
        else:
            self.set_title.setText("No set running: pick an exercise, then Start set")
        for side in ("right", "left"):
            st = tracker.sides.get(side) if running else None
            if st is None:
                last = next((s for s in reversed(pipe.sets) if side in s.reps), None)
                self.rep_labels[side].setText(str(last.reps[side]) if last else "–")
                self.band_labels[side].setText("last set" if last else "")
                self.hold_labels[side].setText("")
                continue
            self.rep_labels[side].setText(str(len(st.reps)))
            self.band_labels[side].setText(f"{st.in_band} in target")
            if st.hold_s >= 0.5:
                self.hold_labels[side].setText(f"hold {st.hold_s:4.1f} s")
                self.hold_labels[side].setStyleSheet(f"color: {OK_COLOR}; font-weight: 700;")
            elif st.last_hold_s:
                self.hold_labels[side].setText(f"last hold {st.last_hold_s:.1f} s")
                self.hold_labels[side].setStyleSheet(f"color: {MUTED};")
            else:
                self.hold_labels[side].setText("")
        self._refresh_ranges(running)
        self._refresh_compensation(running)
        self._refresh_calibration()
        self._refresh_sensors()
        t = pipe.latest_time() - pipe.start_time
        clock = f"{int(t // 60):02d}:{t % 60:04.1f}" if np.isfinite(t) else "--:--"
        recent = self._recent_latency
        lat = np.median(recent) * 1e3 if recent else float("nan")
        dropped = self.feed.dropped if self.feed is not None else 0
        rec = f" · recording to {self.writer.path}" if self.writer is not None else ""
        problem = next(iter(pipe.problems.values()), None)
        self.status.showMessage(
            self.source_error
            or problem
            or (
                f"{self.source_name} · {clock} · {self.fps:4.0f} fps · screen latency "
                f"{lat:4.0f} ms · dropped {dropped}{rec}"
            )
        )

    def _refresh_ranges(self, running: bool) -> None:
        spec = self.set_spec
        if spec is None:
            return
        tracker = self.pipeline.tracker
        ranges = {}
        for side in ("right", "left"):
            st = tracker.sides.get(side) if running else None
            value = st.range if st is not None else np.nan
            if not np.isfinite(value):
                value = next(
                    (
                        r.range[side]
                        for r in reversed(self.pipeline.sets)
                        if r.exercise == spec.name and side in r.range
                    ),
                    np.nan,
                )
            ranges[side] = float(np.rad2deg(value))
        widths = [np.nan_to_num(ranges["right"]), np.nan_to_num(ranges["left"])]
        self.range_bars.setOpts(width=widths)
        top = max(self.target_hi.value(), *widths, 10.0) * 1.15
        self.range_view.setXRange(0, top, padding=0)
        r, lft = ranges["right"], ranges["left"]
        if np.isfinite(r) and np.isfinite(lft) and r > 0 and lft > 0:
            sa = symmetry_angle(lft, r)
            more = "right" if r > lft else "left"
            color = OK_COLOR if abs(sa) < 5 else WARN_COLOR if abs(sa) < 10 else BAD_COLOR
            self.symmetry_label.setText(
                f"<span style='color:{RIGHT_COLOR}'>R {r:.0f}°</span> · "
                f"<span style='color:{LEFT_COLOR}'>L {lft:.0f}°</span> · left "
                f"{100 * lft / r:.0f}% of right<br><b style='color:{color}'>symmetry angle "
                f"{abs(sa):.1f}%</b> ({more} moves more; 0% = symmetric)"
            )
        else:
            self.symmetry_label.setText(
                f"{PLANE_LABEL[(spec.plane, spec.direction)]} range per side of the latest "
                "sets; both sides give the symmetry angle"
            )

    def _refresh_compensation(self, running: bool) -> None:
        angles = self.pipeline.pelvis_excursion(3.0) if running else np.empty((0, 3))
        for name, j in COMPENSATION:
            values = angles[:, j]
            values = np.rad2deg(values[np.isfinite(values)])
            if len(values) < 2:
                self.comp_values[name].setText("–")
                self.comp_bars[name].setValue(0)
                continue
            excursion = float(np.max(np.abs(values)))
            color = OK_COLOR if excursion < 3 else WARN_COLOR if excursion < 6 else BAD_COLOR
            self.comp_values[name].setText(f"{excursion:4.1f}°")
            self.comp_values[name].setStyleSheet(f"color: {color}; font-weight: 600;")
            self.comp_bars[name].setValue(int(min(excursion, 15.0) * 10))
            self.comp_bars[name].setStyleSheet(
                f"QProgressBar {{ border: 1px solid #d9dee5; border-radius: 3px; "
                f"background: #eef2f6; }} QProgressBar::chunk {{ background: {color}; }}"
            )

    def _refresh_calibration(self) -> None:
        step = self.pipeline.cal
        color = {"done": OK_COLOR, "failed": BAD_COLOR, "idle": WARN_COLOR}.get(
            step.phase, RIGHT_COLOR
        )
        text = step.message
        if step.phase in ("case", "stand", "march"):
            text = f"<b style='font-size:13pt'>{step.message}</b><br>{step.remaining_s:.1f} s left"
        elif step.phase == "done" and step.calibration is not None:
            warnings = step.calibration.quality.warnings
            if warnings:
                # the first clause of each warning; the whole text in the tooltip
                short = "<br>⚠ ".join(w.split(":")[0].split(";")[0] for w in warnings)
                text += f"<br><span style='color:{WARN_COLOR}'>⚠ {short}</span>"
            self.cal_label.setToolTip("\n".join(warnings))
        self.cal_label.setText(f"<span style='color:{color}'>{text}</span>")
        self.cal_finish.setText(
            "Sensors on: stand still" if step.phase == "strap" else "Finish now (skip marching)"
        )
        self.cal_finish.setVisible(step.phase in ("strap", "march"))

    def _refresh_sensors(self) -> None:
        pipe = self.pipeline
        by_role = pipe.by_role()
        extra = self.sensor_status() or {}
        for i, role in enumerate(ROLES):
            s = by_role.get(role)
            if s is None:
                cells = ["○ waiting", "–", "–", "–"]
                colors = [MUTED] * 4
            else:
                live = pipe.connected(s)
                status = extra.get(s.address, {})
                battery = status.get("battery")
                loss = s.loss_percent
                cells = [
                    "● live" if live else "○ lost",
                    f"{battery:.0f}%" if isinstance(battery, int | float) else "–",
                    f"{loss:.1f}%",
                    _latency(status.get("latency_ms", s.latency_ms)),
                ]
                colors = [
                    OK_COLOR if live else BAD_COLOR,
                    BAD_COLOR if isinstance(battery, int | float) and battery < 15 else "#1f2933",
                    OK_COLOR if loss < 1 else WARN_COLOR if loss < 5 else BAD_COLOR,
                    "#1f2933",
                ]
            for j, (text, color) in enumerate(zip(cells, colors, strict=True)):
                item = QtWidgets.QTableWidgetItem(text)
                item.setForeground(QtGui.QColor(color))
                self.sensor_table.setItem(i, j + 1, item)

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
