"""HDF5 export (h5py): every array with its units as an attribute (docs/formats.md).

Layout::

    /                 attrs: format "hipimu-hdf5/1", name, rate_hz, time_offset_s,
                      metadata, calibration, markers (JSON text), conventions
    /time             (N,) s
    /angles/<name>    (N,) deg, OpenSim names (hip_flexion_r, ..., pelvis_rotation);
                      empty, with the reason in metadata "uncalibrated", when the
                      session has no standing pose to calibrate on
    /sensors/<role>   (N, 4) q_GS, scalar-first, the sensor in the ENU earth frame
    /segments/<role>  (N, 4) q_GB, the ISB segment in the ENU earth frame
    /raw/<role>/...   each sensor's own samples before resampling: host_time (s),
                      device_us (us), quat (q_ES), gyr (rad/s), acc (m/s^2), mag (uT)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hipimu.core.names import ANGLE_COLUMNS
from hipimu.export.data import ExportData

FORMAT = "hipimu-hdf5/1"
CONVENTIONS = (
    "Quaternions scalar-first [w, x, y, z], Hamilton; q_AB rotates vectors from B into A. "
    "G: ENU earth (z up). Hip angles: R = R_pelvis^T R_femur, intrinsic Z-X-Y (flexion, "
    "adduction, internal rotation; same sign meaning both sides). Pelvis relative to the "
    "room: Y-X-Z (rotation, list, tilt). See hipimu docs/frames.md."
)


RAW_UNITS = {
    "host_time": ("s", "host time of each sample through the sensor's clock model"),
    "device_us": ("us", "sensor clock, unwrapped"),
    "quat": ("1", "q_ES as the sensor sent it, scalar-first"),
    "gyr": ("rad/s", "angular velocity, sensor axes"),
    "acc": ("m/s^2", "specific force, sensor axes"),
    "mag": ("uT", "magnetic field, sensor axes"),
}


def _h5py():
    from hipimu.core.extras import require

    return require("h5py", "HDF5 export", "export")


def _dataset(group, name: str, data: np.ndarray, units: str, description: str) -> None:
    opts = (
        {"compression": "gzip", "compression_opts": 4, "shuffle": True} if data.size > 1024 else {}
    )
    ds = group.create_dataset(name, data=data, **opts)
    ds.attrs["units"] = units
    ds.attrs["description"] = description


def write_hdf5(path: str | Path, data: ExportData) -> None:
    """Write ``data`` to an HDF5 file at ``path`` (replaced if it exists)."""
    h5py = _h5py()
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["name"] = data.name
        f.attrs["rate_hz"] = data.rate_hz
        f.attrs["time_offset_s"] = data.time_offset
        f.attrs["metadata"] = json.dumps(data.metadata, sort_keys=True)
        f.attrs["calibration"] = json.dumps(data.calibration, sort_keys=True)
        f.attrs["markers"] = json.dumps(data.markers)
        f.attrs["conventions"] = CONVENTIONS
        _dataset(f, "time", np.asarray(data.time, np.float64), "s",
                 "seconds from the first aligned sample (host time - time_offset_s)")  # fmt: skip
        angles = f.create_group("angles")
        for name in (c for c in ANGLE_COLUMNS if c in data.angles):  # none uncalibrated
            _dataset(angles, name, np.rad2deg(data.angles[name]), "deg", name)
        for group_name, quats, what in (
            ("sensors", data.sensors, "q_GS: sensor frame in the earth frame"),
            ("segments", data.segments, "q_GB: ISB segment frame in the earth frame"),
        ):
            group = f.create_group(group_name)
            for role, q in quats.items():
                _dataset(group, role, np.asarray(q, np.float64), "1", f"{role} {what}")
        raw = f.create_group("raw")
        for role, arrays in data.raw.items():
            group = raw.create_group(role)
            for name, values in arrays.items():
                units, what = RAW_UNITS[name]
                _dataset(group, name, np.asarray(values), units, f"{role} {what}")


def read_hdf5(path: str | Path) -> ExportData:
    """Read a file written by :func:`write_hdf5` back into the export model (SI)."""
    h5py = _h5py()
    path = Path(path)
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} file (format={f.attrs.get('format')!r})")
        angles = {}
        for name in (c for c in ANGLE_COLUMNS if c in f["angles"]):
            ds = f["angles"][name]
            if ds.attrs["units"] != "deg":
                raise ValueError(f"{path}: /angles/{name} in {ds.attrs['units']!r}, expected deg")
            angles[name] = np.deg2rad(ds[()])
        return ExportData(
            time=f["time"][()],
            angles=angles,
            sensors={r: ds[()] for r, ds in f["sensors"].items()},
            segments={r: ds[()] for r, ds in f["segments"].items()},
            raw={r: {name: ds[()] for name, ds in g.items()} for r, g in f.get("raw", {}).items()},
            rate_hz=float(f.attrs["rate_hz"]),
            time_offset=float(f.attrs["time_offset_s"]),
            markers=json.loads(f.attrs["markers"]),
            metadata=json.loads(f.attrs["metadata"]),
            calibration=json.loads(f.attrs["calibration"]),
            name=str(f.attrs["name"]),
        )
