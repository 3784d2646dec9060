"""The live view's side panel: the set's counters, left against right, pelvis
compensation, the calibration steps and the sensors' links (degrees here)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from hipimu.analysis.live.pipeline import ROLES, LivePipeline
from hipimu.analysis.live.reps import ExerciseSpec, symmetry_angle
from hipimu.app.live.style import (
    BAD_COLOR,
    BAND_COLOR,
    COMPENSATION,
    LEFT_COLOR,
    MUTED,
    OK_COLOR,
    PLANE_LABEL,
    RIGHT_COLOR,
    ROLE_LABEL,
    WARN_COLOR,
    latency,
    style_axis,
)
from hipimu.scoring.reps import SegmentParams

#: below scoring's smallest repetition a ratio of two ranges is noise (0.4 against 0.3
#: degrees at the start of a set read "left 146 % of right")
MIN_RANGE_DEG = float(np.rad2deg(SegmentParams().min_excursion))

CLOCK_OFF_TIP = (
    "A sample cannot arrive before it was taken: while the time sync settles, the host's "
    "mapping of this sensor's clock is off by at least this much."
)


def _set_style(widget: QtWidgets.QWidget, css: str) -> None:
    """Set a style sheet unless the widget has it already (every call re-polishes the
    widget and its children, whether the text changed or not)."""
    if widget.styleSheet() != css:
        widget.setStyleSheet(css)


class SidePanel(QtWidgets.QWidget):
    """The column right of the plots; :meth:`refresh` redraws it from the pipeline.
    Refreshing changes only what differs from what is shown (a style sheet, a table
    cell or the range bars set anew cost a re-polish, a relayout or a repaint)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("panel")
        self.setFixedWidth(380)
        col = QtWidgets.QVBoxLayout(self)
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
        self._shown_range: tuple = ()  # bar widths and axis end shown
        self.range_view.setMouseEnabled(False, False)
        item = self.range_plot.getPlotItem()
        assert item is not None
        item.hideButtons()
        item.setMenuEnabled(False)
        ax = self.range_plot.getAxis("left")
        ax.setTicks([[(1, "Right"), (0, "Left")]])
        for axis in ("left", "bottom"):
            style_axis(self.range_plot.getAxis(axis))
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
        # the delay may read "clock off 12 ms" (docs/live.md): as wide as its text
        header.setSectionResizeMode(4, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.sensor_table.verticalHeader().setDefaultSectionSize(24)
        self.sensor_table.setShowGrid(False)
        self.sensor_table.setStyleSheet("QTableWidget { border: none; }")
        self.sensor_table.setFixedHeight(3 * 24 + header.sizeHint().height() + 4)
        for i, role in enumerate(ROLES):
            self.sensor_table.setItem(i, 0, QtWidgets.QTableWidgetItem(ROLE_LABEL[role]))
        lay.addWidget(self.sensor_table)
        col.addWidget(box)
        col.addStretch(1)

    @staticmethod
    def _group(title: str) -> tuple[QtWidgets.QGroupBox, QtWidgets.QVBoxLayout]:
        box = QtWidgets.QGroupBox(title)
        lay = QtWidgets.QVBoxLayout(box)
        lay.setSpacing(4)
        return box, lay

    def refresh(
        self,
        pipe: LivePipeline,
        spec: ExerciseSpec | None,
        target_hi: float,
        sensor_status: dict,
    ) -> None:
        """Show the pipeline's state: the set, ranges, pelvis, calibration and sensors
        (``spec``: the exercise shown; ``sensor_status``: battery and delay per address)."""
        tracker = pipe.tracker
        current = pipe.current
        running = current is not None
        if current is not None:
            side = current[1]
            side_text = "both sides" if side == "both" else f"{side} side"
            self.set_title.setText(f"{current[0].label} — {side_text}")
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
                _set_style(self.hold_labels[side], f"color: {OK_COLOR}; font-weight: 700;")
            elif st.last_hold_s:
                self.hold_labels[side].setText(f"last hold {st.last_hold_s:.1f} s")
                _set_style(self.hold_labels[side], f"color: {MUTED};")
            else:
                self.hold_labels[side].setText("")
        self._refresh_ranges(pipe, spec, target_hi, running)
        self._refresh_compensation(pipe, running)
        self._refresh_calibration(pipe)
        self._refresh_sensors(pipe, sensor_status)

    def _refresh_ranges(
        self, pipe: LivePipeline, spec: ExerciseSpec | None, target_hi: float, running: bool
    ) -> None:
        if spec is None:
            return
        tracker = pipe.tracker
        ranges = {}
        for side in ("right", "left"):
            st = tracker.sides.get(side) if running else None
            value = st.range if st is not None else np.nan
            if not np.isfinite(value):
                value = next(
                    (
                        r.range[side]
                        for r in reversed(pipe.sets)
                        if r.exercise == spec.name and side in r.range
                    ),
                    np.nan,
                )
            ranges[side] = float(np.rad2deg(value))
        widths = [float(np.nan_to_num(ranges["right"])), float(np.nan_to_num(ranges["left"]))]
        top = max(target_hi, *widths, 10.0) * 1.15
        if (widths, top) != self._shown_range:
            self._shown_range = (widths, top)
            self.range_bars.setOpts(width=widths)
            self.range_view.setXRange(0, top, padding=0)
        r, lft = ranges["right"], ranges["left"]
        least = MIN_RANGE_DEG
        if np.isfinite(r) and np.isfinite(lft) and r >= least and lft >= least:
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

    def _refresh_compensation(self, pipe: LivePipeline, running: bool) -> None:
        angles = pipe.pelvis_excursion(3.0) if running else np.empty((0, 3))
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
            _set_style(self.comp_values[name], f"color: {color}; font-weight: 600;")
            self.comp_bars[name].setValue(int(min(excursion, 15.0) * 10))
            _set_style(
                self.comp_bars[name],
                f"QProgressBar {{ border: 1px solid #d9dee5; border-radius: 3px; "
                f"background: #eef2f6; }} QProgressBar::chunk {{ background: {color}; }}",
            )

    def _refresh_calibration(self, pipe: LivePipeline) -> None:
        step = pipe.cal
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

    def _refresh_sensors(self, pipe: LivePipeline, extra: dict) -> None:
        by_role = pipe.by_role()
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
                    latency(status.get("latency_ms", s.latency_ms)),
                ]
                colors = [
                    OK_COLOR if live else BAD_COLOR,
                    BAD_COLOR if isinstance(battery, int | float) and battery < 15 else "#1f2933",
                    OK_COLOR if loss < 1 else WARN_COLOR if loss < 5 else BAD_COLOR,
                    "#1f2933",
                ]
            for j, (text, color) in enumerate(zip(cells, colors, strict=True)):
                item = self.sensor_table.item(i, j + 1)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    self.sensor_table.setItem(i, j + 1, item)
                if item.text() != text:
                    item.setText(text)
                    item.setToolTip(CLOCK_OFF_TIP if text.startswith("clock off") else "")
                qcolor = QtGui.QColor(color)
                if item.foreground().color() != qcolor:
                    item.setForeground(qcolor)
