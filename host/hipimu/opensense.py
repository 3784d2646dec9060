"""OpenSense interop: OpenSim quaternion ``.sto`` in, hip and pelvis angles ``.mot`` out.

OpenSim's orientation files (``DataType=Quaternion``) hold one column per IMU, each
cell ``w,x,y,z``: the sensor frame relative to a Z-up earth frame shared by all sensors
(for Xsens, magnetic north). That is hipimu's ``q_GS`` directly. The calibration uses a
standing trial; the pelvis heading comes from a named pelvis sensor axis (as OpenSense's
``base_heading_axis``) or, without one, from hip flexion movements (docs/calibration.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hipimu import quaternion as quat
from hipimu.calibration import Calibration, calibrate
from hipimu.kinematics import Kinematics, compute
from hipimu.session import AlignedSamples

DEFAULT_COLUMNS = {"pelvis": "pelvis_imu", "femur_r": "femur_r_imu", "femur_l": "femur_l_imu"}
AXES = {
    "x": (1.0, 0.0, 0.0), "-x": (-1.0, 0.0, 0.0),
    "y": (0.0, 1.0, 0.0), "-y": (0.0, -1.0, 0.0),
    "z": (0.0, 0.0, 1.0), "-z": (0.0, 0.0, -1.0),
}  # fmt: skip
MOT_COLUMNS = (
    "pelvis_tilt", "pelvis_list", "pelvis_rotation",
    "hip_flexion_r", "hip_adduction_r", "hip_rotation_r",
    "hip_flexion_l", "hip_adduction_l", "hip_rotation_l",
)  # fmt: skip


class StoFormatError(ValueError):
    """The file is not an OpenSim quaternion table, or a required column is missing."""


@dataclass
class Orientations:
    """Sensor orientations from an OpenSim ``.sto``: time (s) and ``q_GS`` per column."""

    time: np.ndarray
    quat: dict[str, np.ndarray]
    header: dict[str, str]

    @property
    def rate_hz(self) -> float:
        if "DataRate" in self.header:
            return float(self.header["DataRate"])
        return float(1.0 / np.median(np.diff(self.time)))


def read_orientations(path: str | Path) -> Orientations:
    """Read an OpenSim quaternion ``.sto``; errors name the file and line."""
    path = Path(path)
    lines = path.read_text().splitlines()
    header: dict[str, str] = {}
    try:
        end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    except StopIteration:
        raise StoFormatError(f"{path}: no 'endheader' line; not an OpenSim table") from None
    for line in lines[:end]:
        if "=" in line:
            key, value = line.split("=", 1)
            header[key.strip()] = value.strip()
    if header.get("DataType", "Quaternion") != "Quaternion":
        raise StoFormatError(f"{path}: DataType={header['DataType']}, expected Quaternion")
    names = lines[end + 1].split("\t")
    if not names or names[0] != "time":
        raise StoFormatError(f"{path}:{end + 2}: the column header must start with 'time'")
    rows = [line.split("\t") for line in lines[end + 2 :] if line.strip()]
    time = np.empty(len(rows))
    quat = {name: np.empty((len(rows), 4)) for name in names[1:]}
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise StoFormatError(
                f"{path}:{end + 3 + i}: {len(row)} cells, the header names {len(names)}"
            )
        try:
            time[i] = float(row[0])
            for name, cell in zip(names[1:], row[1:], strict=True):
                quat[name][i] = [float(v) for v in cell.split(",")]
        except ValueError as exc:
            raise StoFormatError(f"{path}:{end + 3 + i}: {exc}") from None
    return Orientations(time, quat, header)


def to_aligned(orient: Orientations, columns: dict[str, str] | None = None) -> AlignedSamples:
    """The columns hipimu uses, as :class:`AlignedSamples` (already on one time grid)."""
    columns = columns or DEFAULT_COLUMNS
    missing = [c for c in columns.values() if c not in orient.quat]
    if "pelvis" not in columns or columns["pelvis"] in missing:
        raise StoFormatError(
            f"no pelvis column {columns.get('pelvis')!r}; columns: {', '.join(orient.quat)}"
        )
    quat, valid = {}, {}
    for role, name in columns.items():
        if name in missing:
            continue
        q = orient.quat[name]
        norm = np.linalg.norm(q, axis=1, keepdims=True)
        ok = np.isfinite(norm[:, 0]) & (np.abs(norm[:, 0] - 1.0) < 0.05)
        q = np.where(ok[:, None], q / np.where(norm > 0, norm, 1.0), np.nan)
        quat[role], valid[role] = q, ok
    return AlignedSamples(orient.time.copy(), quat, valid, orient.rate_hz)


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
    static = to_aligned(read_orientations(calibration), columns)
    trial = to_aligned(read_orientations(orientations), columns)
    cal = calibrate(
        static,
        pelvis_forward=forward_axis(pelvis_forward_axis),
        functional=trial,
        placement_prior=False,
    )
    return compute(trial, cal), cal


def opensim_pelvis(kin: Kinematics, room: np.ndarray) -> np.ndarray:
    """Pelvis (N, 3) tilt, list, rotation (radians) in OpenSim's ``ground_pelvis`` order.

    OpenSim's gait models rotate the pelvis about Z (tilt), then X (list), then Y
    (rotation) relative to ground; the ground is the room frame after the heading
    correction. hipimu's own pelvis angles use Baker's rotation-obliquity-tilt order,
    which differs once the pelvis turns (docs/frames.md); .mot files use OpenSim's.
    """
    return quat.euler_zxy(quat.relative(room, kin.segments["pelvis"]))


def mot_table(kin: Kinematics, room: np.ndarray) -> dict[str, np.ndarray]:
    """OpenSim coordinate columns in degrees, ready for an OpenSim ``.mot``."""
    deg = np.rad2deg
    pelvis = opensim_pelvis(kin, room)
    return {
        "pelvis_tilt": deg(pelvis[:, 0]),
        "pelvis_list": deg(pelvis[:, 1]),
        "pelvis_rotation": deg(pelvis[:, 2]),
        "hip_flexion_r": deg(kin.hip_right[:, 0]),
        "hip_adduction_r": deg(kin.hip_right[:, 1]),
        "hip_rotation_r": deg(kin.hip_right[:, 2]),
        "hip_flexion_l": deg(kin.hip_left[:, 0]),
        "hip_adduction_l": deg(kin.hip_left[:, 1]),
        "hip_rotation_l": deg(kin.hip_left[:, 2]),
    }


def write_mot(
    path: str | Path, time: np.ndarray, columns: dict[str, np.ndarray], name: str = "hipimu"
) -> None:
    """Write an OpenSim ``.mot`` (``inDegrees=yes``) with a ``time`` column."""
    names = list(columns)
    data = np.column_stack([time] + [columns[n] for n in names])
    with open(path, "w") as f:
        f.write(f"{name}\nversion=1\nnRows={len(time)}\nnColumns={len(names) + 1}\n")
        f.write("inDegrees=yes\nendheader\n")
        f.write("\t".join(["time", *names]) + "\n")
        for row in data:
            f.write("\t".join(f"{v:.6f}" for v in row) + "\n")


def read_mot(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read an OpenSim ``.mot``/``.sto`` of scalars: time and columns (as stored)."""
    lines = Path(path).read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    names = lines[end + 1].split()
    data = np.loadtxt(lines[end + 2 :], ndmin=2)
    return data[:, 0], {n: data[:, i + 1] for i, n in enumerate(names[1:])}
