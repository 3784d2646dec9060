"""The live view's look: colours, labels, plot ranges and the style sheet (degrees here)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtGui

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


def style_axis(axis: pg.AxisItem) -> None:
    font = QtGui.QFont()
    font.setPointSizeF(9.5)
    axis.setTickFont(font)
    axis.setTextPen("#3e4c59")
    axis.setPen("#9aa5b1")


def ms(value: float | None) -> str:
    return f"{value + 0.0:.0f} ms".replace("-0 ms", "0 ms") if _finite(value) else "–"


def _finite(value: float | None) -> bool:
    return value is not None and bool(np.isfinite(value))


def latency(value: float | None) -> str:
    """A link latency; a negative one is the sensor clock mapping still being off by that
    much (a sample cannot arrive before it was taken), so it is shown as a clock offset."""
    if value is not None and np.isfinite(value) and value <= -0.5:  # not "clock off 0 ms"
        return f"clock off {-value:.0f} ms"
    return ms(value)
