"""OpenSense interop: OpenSim quaternion ``.sto`` in, hip and pelvis angles ``.mot`` out.

OpenSim's orientation files (``DataType=Quaternion``) hold one column per IMU, each
cell ``w,x,y,z``: the sensor frame relative to a Z-up earth frame shared by all sensors
(for Xsens, magnetic north). That is hipimu's ``q_GS`` directly. The calibration uses a
standing trial; the pelvis heading comes from a named pelvis sensor axis (as OpenSense's
``base_heading_axis``) or, without one, from hip flexion movements (docs/calibration.md).
File reading and writing is :mod:`hipimu.store.opensim`'s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hipimu.body.calibration import Calibration, calibrate
from hipimu.body.kinematics import Kinematics, compute
from hipimu.store.opensim import (
    ROLE_COLUMNS,
    OpenSimFormatError,
    read_sto_quaternions,
)
from hipimu.stream.assembler import AlignedSamples

AXES = {
    "x": (1.0, 0.0, 0.0), "-x": (-1.0, 0.0, 0.0),
    "y": (0.0, 1.0, 0.0), "-y": (0.0, -1.0, 0.0),
    "z": (0.0, 0.0, 1.0), "-z": (0.0, 0.0, -1.0),
}  # fmt: skip


def load_aligned(path: str | Path, columns: dict[str, str] | None = None) -> AlignedSamples:
    """An OpenSim quaternion ``.sto`` as :class:`AlignedSamples` (pelvis required)."""
    table = read_sto_quaternions(path, columns)
    if "pelvis" not in table.quat:
        raise OpenSimFormatError(
            f"{path}: no pelvis column {(columns or ROLE_COLUMNS)['pelvis']!r}; "
            f"columns: {', '.join(table.quat)}"
        )
    return table.aligned()


def forward_axis(name: str | None) -> np.ndarray | None:
    """Sensor axis name (``x``, ``-z``, ...) as a vector; None passes through."""
    if name is None:
        return None
    if name not in AXES:
        raise ValueError(f"pelvis forward axis must be one of {', '.join(AXES)}, got {name!r}")
    return np.array(AXES[name])


def angles_from_files(
    orientations: str | Path,
    calibration: str | Path,
    pelvis_forward_axis: str | None = None,
    columns: dict[str, str] | None = None,
) -> tuple[Kinematics, Calibration]:
    """Calibrate on a standing trial and compute the angles of a movement trial."""
    static = load_aligned(calibration, columns)
    trial = load_aligned(orientations, columns)
    cal = calibrate(
        static,
        pelvis_forward=forward_axis(pelvis_forward_axis),
        functional=trial,
        placement_prior=False,
    )
    return compute(trial, cal), cal
