"""The live view's traces: one plot per hip plane shown, right and left hip over the
last seconds, with the target band (degrees here)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.PlotCurveItem import arrayToLineSegments
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
    """The plot canvas; reports every paint (for frame rate and screen latency).

    Items that do not move with the data (axes with their grid and tick labels, the
    target band, the zero line) are painted once into the view's cached background
    (``QGraphicsView.CacheBackground``) instead of on every frame: a frame then blits
    one opaque pixmap and strokes the curves. The cache is redrawn when one of those
    items moves, resizes or changes (:meth:`set_static`): their places and states are
    compared on every frame for :data:`SETTLE_FRAMES` frames after anything that can
    change them (new items, a resize, :meth:`static_changed`: the layout settles over a
    few frames), and every :data:`SETTLE_FRAMES`-th frame otherwise (the comparison
    costs 0.1 ms, a twentieth of a frame)."""

    painted = QtCore.Signal()

    #: frames of checking the static items on every frame after a change
    SETTLE_FRAMES = 30

    def __init__(self) -> None:
        super().__init__()
        self._static: list[QtWidgets.QGraphicsItem] = []
        self._static_key: tuple = ()
        self._settle = self.SETTLE_FRAMES  # frames left to check on every frame
        self._frame = 0
        # the cached background covers the whole viewport every frame: Qt need not fill
        # it with the palette first
        self.viewport().setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)

    def set_static(self, items: list[QtWidgets.QGraphicsItem]) -> None:
        """Paint ``items`` in the cached background (the scene no longer paints them;
        their children still paint themselves unless listed too)."""
        for item in items:
            item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self._static = list(items)
        self._static_key = ()
        self.static_changed()

    def static_changed(self) -> None:
        """One of the static items changes now (a band moves): check them every frame
        for a while."""
        self._settle = self.SETTLE_FRAMES

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        self.static_changed()

    def _sync_background(self) -> None:
        self._frame += 1
        if self._settle > 0:
            self._settle -= 1
        elif self._frame % self.SETTLE_FRAMES:
            return
        key = tuple((_place(item.sceneTransform()), _state(item)) for item in self._static)
        if key != self._static_key:
            self._static_key = key
            self.resetCachedContent()
            self.static_changed()

    def drawBackground(self, painter: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        super().drawBackground(painter, rect)
        for item in self._static:
            if not item.isVisible() or item.scene() is not self.scene():
                continue
            item.boundingRect()  # lines and bands lay themselves out for the view here
            painter.save()
            painter.setTransform(item.sceneTransform(), True)
            painter.setClipRect(item.mapRectFromScene(rect))
            item.paint(painter, QtWidgets.QStyleOptionGraphicsItem(), self.viewport())
            painter.restore()

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:
        self._sync_background()
        super().paintEvent(ev)
        self.painted.emit()


def _place(t: QtGui.QTransform) -> tuple:
    return (t.m11(), t.m22(), t.dx(), t.dy())


def _state(item: QtWidgets.QGraphicsItem) -> tuple:
    """What a static item shows besides its place: an axis's size and range (the view it
    follows), a band's region, a line's value."""
    if isinstance(item, pg.AxisItem):
        return (item.size().toTuple(), tuple(item.range))
    if isinstance(item, pg.LinearRegionItem):
        return tuple(item.getRegion())
    if isinstance(item, pg.InfiniteLine):
        return (item.value(),)
    return ()


#: rows drawn: every DISPLAY_STEP-th grid row, ending at the newest (50 points a second at
#: 100 Hz, 2 pixels apart on a 10 s trace; hip movements stay below a few hertz). Qt's
#: raster painter spends most of a frame stroking the wide pens, per segment.
DISPLAY_STEP = 2


#: the largest distance (pixels) between a grid row left out and the line drawn past it
#: (two passes of :func:`thin` at half of it each); lines are 2-2.5 pixels wide.
THIN_PX = 0.5


def thin(x: np.ndarray, y: np.ndarray, tol: float) -> np.ndarray:
    """Which points (pixel coordinates) to draw: two passes that each drop every other
    interior point lying within ``tol / 2`` of the chord between its neighbours, so a
    dropped point lies within ``tol`` of the drawn line. Points next to a gap (NaN) stay."""
    keep = np.arange(len(x))
    for _ in range(2):
        if len(keep) < 3:
            break
        px, py = x[keep], y[keep]
        ax, ay = px[2::2] - px[:-2:2], py[2::2] - py[:-2:2]  # chords over the odd points
        n = len(ax)
        bx, by = px[1 : 2 * n : 2] - px[: 2 * n - 1 : 2], py[1 : 2 * n : 2] - py[: 2 * n - 1 : 2]
        # distance |a x b| / |a| <= tol / 2, squared (no per-element hypot); NaN (gaps)
        # and zero-length chords stay
        cross = ax * by - ay * bx
        chord2 = ax * ax + ay * ay
        with np.errstate(invalid="ignore"):
            near = (cross * cross <= (tol / 2) ** 2 * chord2) & (chord2 > 0)
        drop = np.zeros(len(keep), bool)
        drop[1 : 2 * n : 2] = near
        keep = keep[~drop]
    return keep


class LiveCurve(pg.PlotCurveItem):
    """A curve in a plot whose range never follows the data.

    * Its bounding rectangle is the view's range (the view box clips its children to
      it), so new points need no bounds (pyqtgraph's per-``setData`` NaN-aware min and
      max, pixel padding), no geometry change and no auto-range notice.
    * A new frame repaints only the band of the plot's height the old and the new
      points span, widened by the pen: Qt restores less of the cached background there
      and strokes less (a hip at rest, or the other side's, is a thin band).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._view_rect: QtCore.QRectF | None = None
        self._device_lines = None  # the segments in device pixels, reused
        self._device_for: tuple = ()  # the points and mapping they were made for
        self._band: tuple[float, float] | None = None  # lowest, highest y shown

    def set_points(
        self, x: np.ndarray, y: np.ndarray, pixel: tuple[float, float] | None = None
    ) -> None:
        """Draw the points ``x``, ``y`` (1-D float arrays of one length) from now on;
        ``pixel``: the view's data units per pixel (x, y), to repaint only the band the
        old and new points span (without it, the whole plot)."""
        self.xData, self.yData = x, y
        self.path = None
        self._mouseShape = None
        self._lineSegmentsRendered = False
        old, band = self._band, None
        if len(y) and pixel is not None:
            with np.errstate(invalid="ignore"):
                lo, hi = float(np.fmin.reduce(y)), float(np.fmax.reduce(y))
            if np.isfinite(lo) and np.isfinite(hi):
                band = (lo, hi)
        self._band = band
        if old is None or band is None or pixel is None:
            self.update()
            return
        rect = self.boundingRect()
        pad = (self.opts["pen"].widthF() / 2 + 2.0) * abs(pixel[1])  # pen, rounding
        lo, hi = min(old[0], band[0]) - pad, max(old[1], band[1]) + pad
        self.update(QtCore.QRectF(rect.left(), lo, rect.width(), hi - lo))

    def repaint(self) -> None:
        """Paint the same points again (the band they span)."""
        band = self._band
        if band is None:
            self.update()
            return
        rect = self.boundingRect()
        self.update(QtCore.QRectF(rect.left(), band[0], rect.width(), band[1] - band[0]))

    def boundingRect(self) -> QtCore.QRectF:
        if self._view_rect is None:
            view = self.getViewBox()
            if view is None:
                return super().boundingRect()
            self._view_rect = view.viewRect()
        return self._view_rect

    def paint(self, painter: QtGui.QPainter, option, widget) -> None:
        """Stroke the points as line segments given in device pixels: Qt's raster engine
        strokes a wide cosmetic pen about three times faster without a scaling
        transform (the same segments pyqtgraph draws, mapped by the item's transform)."""
        x, y, pen = self.xData, self.yData, self.opts["pen"]
        t = painter.transform()
        if (
            x is None
            or len(x) < 2
            or not pen.isCosmetic()
            or not self._shouldUseDrawLineSegments(pen)
            or self.opts["stepMode"]
            or self.opts["fillLevel"] is not None
            or self.opts["compositionMode"] is not None
            or self._exportOpts is not False
            or t.type().value > QtGui.QTransform.TransformationType.TxScale.value
        ):
            super().paint(painter, option, widget)
            return
        mapping = (t.m11(), t.m22(), t.dx(), t.dy())
        made = self._device_for  # the points (held, so compared by identity) and mapping
        if not (made and made[0] is x and made[1] is y and made[2] == mapping):
            self._device_for = (x, y, mapping)  # else the same points painted again
            self._device_lines = arrayToLineSegments(
                mapping[0] * x + mapping[2],
                mapping[1] * y + mapping[3],
                connect=self.opts["connect"],
                finiteCheck=True,
                out=self._device_lines,
            )
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        painter.setPen(pen)
        painter.drawLines(*self._device_lines.drawargs())
        painter.restore()

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()
        self._view_rect = None
        self._band = None  # the whole plot next time
        self.invalidateBounds()


class Traces:
    """The plots on a :class:`Canvas`: :meth:`build` lays them out, :meth:`draw` shows
    the newest grid rows, :meth:`set_band` the target band."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.canvas = Canvas()
        self.canvas.setBackground("w")
        self.plots: list[tuple[pg.PlotItem, str, float, LiveCurve, LiveCurve]] = []
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
        static: list[QtWidgets.QGraphicsItem] = []
        for i, (plane, sign) in enumerate(planes):
            plot = self.canvas.ci.addPlot(row=i, col=0)
            plot.setMenuEnabled(False)
            view = plot.getViewBox()
            view.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.15)
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
                    static += [band, *band.lines]
            static.append(plot.addLine(y=0, pen=pg.mkPen("#9aa5b1", width=1)))
            # the axes (with the grid they draw and their tick labels) do not change
            static += [plot.getAxis("left"), plot.getAxis("bottom")]
            if i == 0:
                legend = plot.addLegend(
                    offset=(10, 8), labelTextSize="10.5pt", labelTextColor="#1f2933"
                )
                legend.setBrush(pg.mkBrush(255, 255, 255, 150))
            names = ("Right hip", "Left hip (mirrored)" if mirror else "Left hip")
            right, left = (
                # bare curves (LiveCurve), not PlotDataItems: no per-frame downsampling,
                # clipping and bounds bookkeeping for a view whose range never follows the data
                LiveCurve(pen=pg.mkPen(color, width=width), name=name, connect="finite")
                for color, name in zip((RIGHT_COLOR, LEFT_COLOR), names, strict=True)
            )
            for curve in (right, left):
                plot.addItem(curve)
            if plot.legend is not None:
                # the curves pass under the legend: it is repainted every frame, from
                # pixmaps instead of laying out its text anew
                items = [plot.legend]
                while items:
                    item = items.pop()
                    item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
                    items += item.childItems()
            self.plots.append((plot, plane, sign, right, left))
        self.canvas.set_static(static)

    def set_band(self, lo: float, hi: float) -> None:
        """The target band (degrees) on the exercise's plane (mirrored on a mirrored plot)."""
        for i, band in enumerate(self.bands):
            band.setRegion((-hi, -lo) if i == 1 else (lo, hi))
        self.canvas.static_changed()

    def repaint(self) -> None:
        """Paint the curves again as they are (a frame with nothing new)."""
        for _plot, _plane, _sign, right, left in self.plots:
            right.repaint()
            left.repaint()

    def draw(self, rows: np.ndarray) -> None:
        """Show grid ``rows`` (the live pipeline's columns), time 0 at the newest; every
        :data:`DISPLAY_STEP`-th row, the newest always, less the rows that lie within
        :data:`THIN_PX` of the line drawn past them (:func:`thin`)."""
        rows = rows[(len(rows) - 1) % DISPLAY_STEP :: DISPLAY_STEP]
        x = rows[:, T] - rows[-1, T]
        for plot, plane, sign, right, left in self.plots:
            j = PLANES.index(plane)
            r = np.rad2deg(rows[:, HIP_R][:, j]) * sign
            lft = np.rad2deg(rows[:, HIP_L][:, j]) * sign
            if self.mirror:
                lft = -lft
            sx, sy = plot.getViewBox().viewPixelSize()  # data units per pixel
            for curve, y in ((right, r), (left, lft)):
                keep = thin(x / sx, y / sy, THIN_PX)
                curve.set_points(x[keep], y[keep], (sx, sy))
