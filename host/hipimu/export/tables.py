"""CSV: hipimu's angle table, and raw IMU CSV from other systems (docs/formats.md).

Angle CSV: ``time`` (s from the first aligned sample) then the nine OpenSim-named
angles in degrees, ``nan`` in gaps. Raw IMU CSV: a header row naming ``time``, three
``gyr``, three ``acc`` and optionally three ``mag`` columns, units in brackets
(``gyr_x [deg/s]``) or given by the caller; read into SI (s, rad/s, m/s^2, uT).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hipimu.core.names import ANGLE_COLUMNS
from hipimu.export.data import ExportData

G = 9.80665
UNITS: dict[str, dict[str, float]] = {
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9},
    "gyr": {"rad/s": 1.0, "deg/s": np.pi / 180, "dps": np.pi / 180},
    "acc": {"m/s^2": 1.0, "g": G, "mg": G / 1000},
    "mag": {"uT": 1.0, "nT": 1e-3, "mT": 1e3, "gauss": 100.0, "G": 100.0, "mG": 0.1,
            "a.u.": 1.0},
}  # fmt: skip
DEFAULT_UNITS = {"time": "s", "gyr": "rad/s", "acc": "m/s^2", "mag": "uT"}
TIME_NAMES = ("time", "t", "timestamp", "time_s", "sampletimefine")
PREFIXES = {
    "gyr": ("gyr", "gyro", "gyroscope", "angular_velocity", "gyr_"),
    "acc": ("acc", "accel", "accelerometer", "acceleration", "free_acc"),
    "mag": ("mag", "magn", "magnetometer", "magnetic_field"),
}


class ImuCsvError(ValueError):
    """The CSV cannot be read as raw IMU data; the message names file, line, column."""


# -- angles -------------------------------------------------------------------------------
def write_angles_csv(path: str | Path, data: ExportData) -> None:
    """``time`` in seconds, then the angles in degrees (OpenSim names)."""
    table = np.column_stack([data.time, data.angle_matrix(degrees=True)])
    with open(path, "w", newline="\n") as f:
        f.write(",".join(("time", *ANGLE_COLUMNS)) + "\n")
        np.savetxt(f, table, fmt=["%.4f"] + ["%.4f"] * len(ANGLE_COLUMNS), delimiter=",")


def read_angles_csv(path: str | Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time (s) and angles in radians from a hipimu angle CSV (also ``angles.csv``)."""
    path = Path(path)
    with open(path) as f:
        names = f.readline().strip().split(",")
        if names[0] != "time":
            raise ImuCsvError(f"{path}:1: the first column must be 'time', got {names[0]!r}")
        unknown = [n for n in names[1:] if n not in ANGLE_COLUMNS]
        if unknown:
            raise ImuCsvError(f"{path}:1: unknown angle columns {', '.join(unknown)}")
        data = np.loadtxt(f, delimiter=",", ndmin=2).reshape(-1, len(names))
    return data[:, 0], {n: np.deg2rad(data[:, i + 1]) for i, n in enumerate(names[1:])}


# -- raw IMU ------------------------------------------------------------------------------
@dataclass
class RawImu:
    """Raw IMU samples in SI: time (s), gyr (rad/s), acc (m/s^2), mag (uT or the file's
    arbitrary units, see ``units``) as (N, 3) arrays."""

    time: np.ndarray
    gyr: np.ndarray
    acc: np.ndarray
    mag: np.ndarray | None
    units: dict[str, str] = field(default_factory=dict)  # the units the file was read in

    @property
    def rate_hz(self) -> float:
        if len(self.time) < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.time)))


_UNIT_IN_NAME = re.compile(r"^(.*?)\s*[\[(]\s*([^\])]+?)\s*[\])]\s*$")


def _split_unit(name: str) -> tuple[str, str | None]:
    m = _UNIT_IN_NAME.match(name.strip())
    return (m.group(1), m.group(2)) if m else (name.strip(), None)


def _classify(name: str) -> tuple[str, int] | None:
    """``("gyr", 0)`` for ``gyr_x``, ``Gyr_X``, ``gyro x``, ``gyrX`` ...; None otherwise."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    if key in TIME_NAMES:
        return ("time", 0)
    for quantity, prefixes in PREFIXES.items():
        for p in prefixes:
            for axis, letter in enumerate("xyz"):
                if key in (f"{p}_{letter}", f"{p}{letter}"):
                    return (quantity, axis)
    return None


def _norm_unit(unit: str) -> str:
    u = unit.strip().lower().replace(" ", "").replace("µ", "u").replace("²", "^2")
    return u.replace("sec", "s").replace("°", "deg").replace("m/s2", "m/s^2")


def _factor(path: Path, quantity: str, unit: str) -> float:
    table = {_norm_unit(k): v for k, v in UNITS[quantity].items()}
    factor = table.get(_norm_unit(unit))
    if factor is None:
        raise ImuCsvError(
            f"{path}: unknown unit {unit!r} for {quantity}; known: {', '.join(UNITS[quantity])}"
        )
    return factor


def read_csv_header(path: Path) -> tuple[list[tuple[int, str]], str, list[str]]:
    """The data lines of a CSV file (with their line numbers; blank lines and ``//`` or
    ``#`` comments skipped, the header first), its delimiter and the header's names."""
    lines = [(i, line) for i, line in enumerate(path.read_text().splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith(("//", "#"))]  # fmt: skip
    if not lines:
        raise ImuCsvError(f"{path}: no header row")
    head = lines[0][1]
    try:
        delimiter = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    return lines, delimiter, next(csv.reader(io.StringIO(head), delimiter=delimiter))


def read_imu_csv(path: str | Path, units: dict[str, str] | None = None) -> RawImu:
    """Read raw IMU CSV from another system into SI.

    Columns are found by name, case-insensitively: ``time`` (or ``timestamp``, Xsens
    ``SampleTimeFine`` in microseconds), ``gyr_x..z`` (``gyro``, ``Gyr_X``), ``acc_x..z``,
    ``mag_x..z`` (optional). Units come from the header (``acc_x [g]``) or ``units``
    (``{"gyr": "deg/s", "acc": "g", "mag": "uT", "time": "ms"}``), else the SI defaults.
    Comma, semicolon or tab separated; lines starting with ``//`` or ``#`` are skipped.
    """
    path = Path(path)
    lines, delimiter, names = read_csv_header(path)
    head_no = lines[0][0]
    where: dict[str, list[int | None]] = {q: [None, None, None] for q in ("gyr", "acc", "mag")}
    where["time"] = [None]
    file_units: dict[str, str] = {}
    for col, name in enumerate(names):
        base, unit = _split_unit(name)
        kind = _classify(base)
        if kind is None:
            continue
        quantity, axis = kind
        if where[quantity][axis] is None:
            where[quantity][axis] = col
            if unit:
                file_units.setdefault(quantity, unit)
    if where["time"][0] is None:
        raise ImuCsvError(f"{path}:{head_no}: no time column (one of {', '.join(TIME_NAMES)})")
    for quantity in ("gyr", "acc"):
        missing = [a for a, c in zip("xyz", where[quantity], strict=True) if c is None]
        if missing:
            raise ImuCsvError(
                f"{path}:{head_no}: no {quantity} column for axis {', '.join(missing)} "
                f"(columns: {', '.join(names)})"
            )
    has_mag = all(c is not None for c in where["mag"])
    chosen = {**DEFAULT_UNITS, **file_units, **(units or {})}
    if "time" not in file_units and not (units and "time" in units):
        if names[where["time"][0]].strip().lower() == "sampletimefine":
            chosen["time"] = "us"
    cols = [where["time"][0], *where["gyr"], *where["acc"], *(where["mag"] if has_mag else [])]
    data = np.empty((len(lines) - 1, len(cols)))
    for k, (lineno, line) in enumerate(lines[1:]):
        cells = line.split(delimiter)
        try:
            data[k] = [float(cells[c]) if cells[c].strip() else np.nan for c in cols]
        except IndexError:
            raise ImuCsvError(
                f"{path}:{lineno}: {len(cells)} cells, the header names {len(names)}"
            ) from None
        except ValueError as exc:
            raise ImuCsvError(f"{path}:{lineno}: {exc}") from None
    t = data[:, 0] * _factor(path, "time", chosen["time"])
    if np.any(np.diff(t) <= 0):
        bad = int(np.argmax(np.diff(t) <= 0)) + 1
        raise ImuCsvError(f"{path}:{lines[1 + bad][0]}: time does not increase")
    used = {"time": chosen["time"], "gyr": chosen["gyr"], "acc": chosen["acc"]}
    gyr = data[:, 1:4] * _factor(path, "gyr", chosen["gyr"])
    acc = data[:, 4:7] * _factor(path, "acc", chosen["acc"])
    mag = None
    if has_mag:
        mag = data[:, 7:10] * _factor(path, "mag", chosen["mag"])
        used["mag"] = chosen["mag"]
    return RawImu(t, gyr, acc, mag, used)


def write_imu_csv(path: str | Path, imu: RawImu) -> None:
    """Write raw IMU data in SI with units in the header (the format read above)."""
    cols = [imu.time[:, None], imu.gyr, imu.acc] + ([imu.mag] if imu.mag is not None else [])
    names = ["time [s]"] + [f"gyr_{a} [rad/s]" for a in "xyz"] + [f"acc_{a} [m/s^2]" for a in "xyz"]
    if imu.mag is not None:
        names += [f"mag_{a} [uT]" for a in "xyz"]
    with open(path, "w", newline="\n") as f:
        f.write(",".join(names) + "\n")
        np.savetxt(f, np.hstack(cols), fmt="%.9g", delimiter=",")
