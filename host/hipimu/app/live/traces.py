"""The live view's traces: one plot per hip plane shown, right and left hip over the
last seconds, with the target band (degrees here)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets

from hipimu.analysis.live.pipeline import HIP_L, HIP_R, T
from hipimu.analysis.live.reps import ExerciseSpec
from hipimu.app.live.style import (
    BAND_COLOR,
    LABEL_STYLE,
    LEFT_COLOR,
    PLANE_CHOICE,
    PLANE_LABEL,
    PLANES,
    RIGHT_COLOR,
    Y_RANGE,
    style_axis,
)


class Canvas(pg.GraphicsLayoutWidget):
    """The plot canvas; reports every paint (for frame rate and screen latency)."""

    painted = QtCore.Signal()

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        super().paintEvent(ev)
        self.painted.emit()


#: rows drawn: every DISPLAY_STEP-th grid row, ending at the newest (50 points a second at
#: 100 Hz, 2 pixels apart on a 10 s trace; hip movements stay below a few hertz). Qt's
#: raster painter spends most of a frame stroking the wide pens, per segment.
DISPLAY_STEP = 2


class Traces:
    """The plots on a :class:`Canvas`: :meth:`build` lays them out, :meth:`draw` shows
    the newest grid rows, :meth:`set_band` the target band."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.canvas = Canvas()
        self.canvas.setBackground("w")
        self.plots: list[tuple[pg.PlotItem, str, float, pg.PlotDataItem, pg.PlotDataItem]] = []
        self.bands: list[pg.LinearRegionItem] = []
        self.mirror = False

    def build(self, plane_choice: str, layout_choice: str, spec: ExerciseSpec) -> None:
        """Plots anew: ``plane_choice`` "primary" (``spec``'s plane), "all" or one plane;
        ``layout_choice`` "overlay" or "mirror" (the left side negated)."""
        self.canvas.ci.clear()
        self.plots = []
        self.bands = []
        self.mirror = layout_choice == "mirror"
        width = 2.5 if plane_choice != "all" else 2.0
        if plane_choice == "all":
            planes = [PLANE_CHOICE[p] for p in ("flexion", "abduction", "rotation")]
        elif plane_choice == "primary":
            planes = [(spec.plane, spec.direction)]
        else:
            planes = [PLANE_CHOICE[plane_choice]]
        mirror = self.mirror
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
                style_axis(plot.getAxis(axis))
            lo, hi = Y_RANGE[plane]
            lo, hi = (lo, hi) if sign > 0 else (-hi, -lo)
            if mirror:
                top = max(abs(lo), abs(hi))
                lo, hi = -top, top
            view.setYRange(lo, hi, padding=0)
            view.enableAutoRange(enable=False)
            if plane_choice != "all" and plane == spec.plane:
                for _ in range(2 if mirror else 1):  # the mirrored band below zero
                    band = pg.LinearRegionItem(
                        orientation="horizontal",
                        movable=False,
                        brush=pg.mkBrush(*BAND_COLOR),
                        pen=pg.mkPen((46, 160, 67, 120), width=1),
                    )
                    band.setZValue(-10)
                    plot.addItem(band)
                    self.bands.append(band)
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

    def set_band(self, lo: float, hi: float) -> None:
        """The target band (degrees) on the exercise's plane (mirrored on a mirrored plot)."""
        for i, band in enumerate(self.bands):
            band.setRegion((-hi, -lo) if i == 1 else (lo, hi))

    def draw(self, rows: np.ndarray) -> None:
        """Show grid ``rows`` (the live pipeline's columns), time 0 at the newest; every
        :data:`DISPLAY_STEP`-th row, the newest always."""
        rows = rows[(len(rows) - 1) % DISPLAY_STEP :: DISPLAY_STEP]
        x = rows[:, T] - rows[-1, T]
        for _plot, plane, sign, right, left in self.plots:
            j = PLANES.index(plane)
            r = np.rad2deg(rows[:, HIP_R][:, j]) * sign
            lft = np.rad2deg(rows[:, HIP_L][:, j]) * sign
            if self.mirror:
                lft = -lft
            right.setData(x, r, connect="finite")
            left.setData(x, lft, connect="finite")
