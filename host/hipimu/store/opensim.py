"""OpenSim tables: quaternion ``.sto`` for OpenSense, and ``.mot`` coordinates in degrees.

The quaternion ``.sto`` header is OpenSim's own (as written by OpenSim 4.x for Xsens
data)::

    <table name, may be empty>
    DataRate=100.000000
    DataType=Quaternion
    version=3
    OpenSimVersion=4.1
    endheader
    time<TAB>pelvis_imu<TAB>femur_r_imu<TAB>femur_l_imu
    0<TAB>w,x,y,z<TAB>w,x,y,z<TAB>w,x,y,z

Each cell is ``q_GS`` scalar-first: the sensor frame in a Z-up earth frame shared by all
sensors (hipimu's ENU, as Xsens's), which is what OpenSense's IMU placer expects with
``sensor_to_opensim_rotations = -90 0 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hipimu.stream.assembler import AlignedSamples

ROLE_COLUMNS = {"pelvis": "pelvis_imu", "femur_r": "femur_r_imu", "femur_l": "femur_l_imu"}
MOT_COLUMNS = (
    "pelvis_tilt", "pelvis_list", "pelvis_rotation",
    "hip_flexion_r", "hip_adduction_r", "hip_rotation_r",
    "hip_flexion_l", "hip_adduction_l", "hip_rotation_l",
)  # fmt: skip


TRANSLATIONS = ("_tx", "_ty", "_tz")


class OpenSimFormatError(ValueError):
    """The file is not the OpenSim table expected; the message names file and line."""


@dataclass
class StoOrientations:
    """An OpenSim quaternion table in hipimu's model: time (s) and ``q_GS`` (N, 4) per
    role (``pelvis``, ``femur_r``, ``femur_l``; other IMUs under their column names)."""

    time: np.ndarray
    quat: dict[str, np.ndarray]
    rate_hz: float
    header: dict[str, str]
    columns: dict[str, str]  # role -> column name in the file

    def aligned(self, roles: tuple[str, ...] = tuple(ROLE_COLUMNS)) -> AlignedSamples:
        """The roles present as the pipeline's :class:`AlignedSamples` (one time grid),
        ready for ``hipimu.body.calibration.calibrate`` and ``hipimu.body.kinematics.compute``;
        rows that are not finite unit quaternions (within 5 %) are gaps."""
        quat, valid = {}, {}
        for role in roles:
            if role not in self.quat:
                continue
            q = self.quat[role]
            norm = np.linalg.norm(q, axis=1)
            ok = np.isfinite(norm) & (np.abs(norm - 1.0) < 0.05)
            safe = np.where(ok, norm, 1.0)[:, None]
            quat[role] = np.where(ok[:, None], q / safe, np.nan)
            valid[role] = ok
        if not quat:
            raise ValueError(f"none of the roles {', '.join(roles)} in this table")
        return AlignedSamples(self.time.copy(), quat, valid, self.rate_hz)


def _fmt(v: float, spec: str) -> str:
    return format(v, spec) if np.isfinite(v) else "nan"


def write_sto_quaternions(
    path: str | Path,
    time: np.ndarray,
    quats: dict[str, np.ndarray],
    rate_hz: float,
    name: str = "",
    columns: dict[str, str] | None = None,
) -> None:
    """Write sensor orientations (role -> (N, 4)) as an OpenSense quaternion ``.sto``."""
    columns = columns or ROLE_COLUMNS
    roles = [r for r in columns if r in quats] + [r for r in quats if r not in columns]
    if not roles:
        raise ValueError("no orientations to write")
    n = len(time)
    for r in roles:
        if quats[r].shape != (n, 4):
            raise ValueError(f"{r}: orientations of shape {quats[r].shape}, expected ({n}, 4)")
    cells = np.column_stack([quats[r] for r in roles])
    finite = np.isfinite(cells).all()
    row_fmt = "\t".join([",".join(["%.16g"] * 4)] * len(roles))
    with open(path, "w", newline="\n") as f:
        f.write(f"{name}\nDataRate={rate_hz:.6f}\nDataType=Quaternion\nversion=3\n")
        f.write("OpenSimVersion=4.1\nendheader\n")
        f.write("\t".join(["time", *(columns.get(r, r) for r in roles)]) + "\n")
        for t, row in zip(time, cells, strict=True):
            text = row_fmt % tuple(row) if finite else _nan_row(row, len(roles))
            f.write(f"{_fmt(t, '.10g')}\t{text}\n")


def _nan_row(row: np.ndarray, count: int) -> str:
    return "\t".join(
        ",".join(_fmt(v, ".16g") for v in row[4 * i : 4 * i + 4]) for i in range(count)
    )


def _header(path: Path, lines: list[str]) -> tuple[int, dict[str, str]]:
    try:
        end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    except StopIteration:
        raise OpenSimFormatError(f"{path}: no 'endheader' line; not an OpenSim table") from None
    header = {}
    for line in lines[:end]:
        if "=" in line:
            key, value = line.split("=", 1)
            header[key.strip()] = value.strip()
    if end + 1 >= len(lines):
        raise OpenSimFormatError(f"{path}:{end + 2}: no column header after 'endheader'")
    return end, header


def read_sto_quaternions(
    path: str | Path, columns: dict[str, str] | None = None
) -> StoOrientations:
    """Read an OpenSim quaternion ``.sto`` (OpenSense input) into per-role ``q_GS``."""
    path = Path(path)
    lines = path.read_text().splitlines()
    end, header = _header(path, lines)
    if header.get("DataType", "Quaternion") != "Quaternion":
        raise OpenSimFormatError(f"{path}: DataType={header['DataType']}, expected Quaternion")
    names = lines[end + 1].rstrip("\n").split("\t")
    if names[0].strip() != "time":
        raise OpenSimFormatError(f"{path}:{end + 2}: the column header must start with 'time'")
    names = [n.strip() for n in names[1:]]
    body = [(i, line) for i, line in enumerate(lines[end + 2 :], start=end + 3) if line.strip()]
    time = np.empty(len(body))
    values = np.empty((len(body), len(names), 4))
    for k, (lineno, line) in enumerate(body):
        cells = line.split("\t")
        if len(cells) != len(names) + 1:
            raise OpenSimFormatError(
                f"{path}:{lineno}: {len(cells)} cells, the header names {len(names) + 1}"
            )
        try:
            time[k] = float(cells[0])
            for j, cell in enumerate(cells[1:]):
                parts = cell.split(",")
                if len(parts) != 4:
                    raise ValueError(f"column {names[j]!r}: {len(parts)} values, expected w,x,y,z")
                values[k, j] = [float(p) for p in parts]
        except ValueError as exc:
            raise OpenSimFormatError(f"{path}:{lineno}: {exc}") from None
    columns = columns or ROLE_COLUMNS
    by_column = {name: values[:, j] for j, name in enumerate(names)}
    quat, found = {}, {}
    for role, column in columns.items():
        if column in by_column:
            quat[role] = by_column.pop(column)
            found[role] = column
    quat.update(by_column)
    if "DataRate" in header:
        rate = float(header["DataRate"])
    elif len(time) > 1:
        rate = float(1.0 / np.median(np.diff(time)))
    else:
        rate = float("nan")
    return StoOrientations(time, quat, rate, header, found)


def write_mot(
    path: str | Path, time: np.ndarray, angles: dict[str, np.ndarray], name: str = "hipimu"
) -> None:
    """Write OpenSim coordinates (radians in, ``inDegrees=yes`` out) as a ``.mot``."""
    names = [c for c in MOT_COLUMNS if c in angles] + [c for c in angles if c not in MOT_COLUMNS]
    data = np.column_stack([time] + [np.rad2deg(angles[c]) for c in names])
    with open(path, "w", newline="\n") as f:
        f.write(f"{name}\nversion=1\nnRows={len(time)}\nnColumns={len(names) + 1}\n")
        f.write("inDegrees=yes\nendheader\n")
        f.write("\t".join(["time", *names]) + "\n")
        np.savetxt(f, data, fmt="%.8g", delimiter="\t")


def read_mot(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, str]]:
    """Read an OpenSim ``.mot``/``.sto`` of scalars: time (s), rotational columns in
    radians where the file says ``inDegrees=yes`` (SI inside; ``*_tx/_ty/_tz``
    translations stay in metres), and the header."""
    path = Path(path)
    lines = path.read_text().splitlines()
    end, header = _header(path, lines)
    names = lines[end + 1].split()
    if not names or names[0] != "time":
        raise OpenSimFormatError(f"{path}:{end + 2}: the column header must start with 'time'")
    try:
        data = np.loadtxt(lines[end + 2 :], ndmin=2)
    except ValueError as exc:
        raise OpenSimFormatError(f"{path}: {exc}") from None
    if data.size and data.shape[1] != len(names):
        raise OpenSimFormatError(f"{path}: {data.shape[1]} columns, the header names {len(names)}")
    data = data.reshape(-1, len(names))
    degrees = header.get("inDegrees", "no").lower() == "yes"
    cols = {
        n: np.deg2rad(data[:, i + 1])
        if degrees and not n.endswith(TRANSLATIONS)
        else data[:, i + 1]
        for i, n in enumerate(names[1:])
    }
    return data[:, 0], cols, header
