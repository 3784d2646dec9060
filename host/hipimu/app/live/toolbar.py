"""The live view's toolbar: exercise, side, target band, set, plot choice, calibration,
recording, marks and notes. Widgets only: the window connects them to its actions."""

from __future__ import annotations

from pyqtgraph.Qt import QtCore, QtWidgets

from hipimu.analysis.live.reps import ExerciseSpec
from hipimu.app.live.style import MUTED

PLANE_CHOICES = (
    ("Exercise plane", "primary"),
    ("Flexion", "flexion"),
    ("Abduction", "abduction"),
    ("Rotation", "rotation"),
    ("All three", "all"),
)
LAYOUT_CHOICES = (("Overlaid", "overlay"), ("Mirrored", "mirror"))


class Toolbar(QtWidgets.QWidget):
    """One row of controls above the plots."""

    def __init__(self, catalog: tuple[ExerciseSpec, ...] | list[ExerciseSpec]) -> None:
        super().__init__()
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.exercise_box = QtWidgets.QComboBox()
        self.exercise_box.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.exercise_box.setMinimumContentsLength(16)
        for spec in catalog:
            self.exercise_box.addItem(spec.label, spec.name)
        self.side_box = QtWidgets.QComboBox()
        for side in ("right", "left", "both"):
            self.side_box.addItem(side.capitalize(), side)
        self.target_lo = QtWidgets.QDoubleSpinBox()
        self.target_hi = QtWidgets.QDoubleSpinBox()
        for box in (self.target_lo, self.target_hi):
            box.setRange(-90.0, 150.0)
            box.setDecimals(0)
            box.setSuffix("°")
        self.target_why = QtWidgets.QLabel("")  # why the band is what it is (the rule)
        self.target_why.setStyleSheet(f"color: {MUTED}; font-size: 9pt;")
        self.target_why.setMaximumWidth(260)
        self.set_button = QtWidgets.QPushButton("Start set")
        self.plane_box = QtWidgets.QComboBox()
        for text, value in PLANE_CHOICES:
            self.plane_box.addItem(text, value)
        self.layout_box = QtWidgets.QComboBox()
        for text, value in LAYOUT_CHOICES:
            self.layout_box.addItem(text, value)
        self.cal_button = QtWidgets.QPushButton("Calibrate")
        self.record_button = QtWidgets.QPushButton("● Record")
        self.record_button.setCheckable(True)
        self.mark_button = QtWidgets.QPushButton("Mark")
        self.note_edit = QtWidgets.QLineEdit()
        self.note_edit.setPlaceholderText("Note (Enter adds it)")
        self.note_edit.setMinimumWidth(150)

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
            self.target_why,
            self.set_button,
            self.plane_box,
            self.layout_box,
            self.cal_button,
            self.record_button,
            self.mark_button,
        ):
            row.addWidget(w)
        row.addWidget(self.note_edit, 1)

    def select(self, box: QtWidgets.QComboBox, value: object) -> None:
        """Show ``value`` in ``box`` without emitting its change signal."""
        index = box.findData(value)
        if index < 0:
            raise ValueError(f"unknown view option {value!r}")
        box.blockSignals(True)
        box.setCurrentIndex(index)
        box.blockSignals(False)

    def show_target(self, lo: float, hi: float, why: str = "") -> None:
        """The target band's spin boxes, set without emitting their change signals, and
        the one-line reason for the band (elided here; whole in the tooltip)."""
        metrics = self.target_why.fontMetrics()
        self.target_why.setText(metrics.elidedText(why, QtCore.Qt.TextElideMode.ElideRight, 260))
        self.target_why.setToolTip(why)
        for box, value in ((self.target_lo, lo), (self.target_hi, hi)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)

    def show_recording(self, on: bool) -> None:
        """The Record button's state and text, set without toggling a recording."""
        self.record_button.blockSignals(True)
        self.record_button.setChecked(on)
        self.record_button.blockSignals(False)
        self.record_button.setText("■ Stop recording" if on else "● Record")
