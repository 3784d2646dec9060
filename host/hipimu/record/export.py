"""Research formats: one data model, a writer per format (docs/formats.md).

:class:`ExportData` is what every format carries: time in seconds from the first aligned
sample, the nine angles (radians inside, OpenSim names), the sensors' orientations
``q_GS`` and the segments' ``q_GB`` per role, markers, metadata and the calibration.
:func:`export_session` reads a session, analyses it and writes one format.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hipimu.pipeline import Analysis
from hipimu.record.log import LogContents
from hipimu.smoothing import DEFAULT_CUTOFF_HZ

ROLES = ("pelvis", "femur_r", "femur_l")
ANGLE_COLUMNS = (
    "hip_flexion_r", "hip_adduction_r", "hip_rotation_r",
    "hip_flexion_l", "hip_adduction_l", "hip_rotation_l",
    "pelvis_tilt", "pelvis_list", "pelvis_rotation",
)  # fmt: skip
FORMATS = ("csv", "sto", "mot", "hdf5", "c3d")
SUFFIX = {"csv": ".csv", "sto": ".sto", "mot": ".mot", "hdf5": ".h5", "c3d": ".c3d"}


@dataclass
class ExportData:
    """A session's results on one uniform time grid (SI units)."""

    time: np.ndarray  # (N,) seconds from the first aligned sample
    angles: dict[str, np.ndarray]  # ANGLE_COLUMNS -> (N,) radians, NaN in gaps
    sensors: dict[str, np.ndarray] = field(default_factory=dict)  # role -> q_GS (N, 4)
    segments: dict[str, np.ndarray] = field(default_factory=dict)  # role -> q_GB (N, 4)
    rate_hz: float = 100.0
    time_offset: float = 0.0  # host time (s) of time 0: markers are in host time
    markers: list[dict] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    name: str = "hipimu"
    # per role, the sensor's own samples before resampling: host_time (s), device_us,
    # quat (q_ES), gyr (rad/s), acc (m/s^2), mag (uT) where the sensor sent them
    raw: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def angle_matrix(self, degrees: bool = True) -> np.ndarray:
        """(N, 9) in ANGLE_COLUMNS order, degrees by default."""
        m = np.column_stack([self.angles[c] for c in ANGLE_COLUMNS])
        return np.rad2deg(m) if degrees else m


def from_analysis(
    analysis: Analysis, contents: LogContents | None = None, name: str = "hipimu"
) -> ExportData:
    """The export model of an analysed session (``contents``: its log, for metadata)."""
    kin = analysis.kinematics
    angles = kin.opensim_coordinates()
    return ExportData(
        time=kin.time - kin.time[0],
        angles={k: np.asarray(v, dtype=np.float64) for k, v in angles.items()},
        sensors={r: q for r, q in analysis.aligned.quat.items()},
        segments=dict(kin.segments),
        rate_hz=float(analysis.aligned.rate_hz),
        time_offset=float(kin.time[0]),
        markers=contents.markers if contents else [],
        metadata=dict(contents.metadata) if contents else {},
        calibration=json.loads(analysis.calibration.to_json()),
        name=name,
        raw={role: _raw(tl) for role, tl in analysis.timelines.items()},
    )


def _raw(tl) -> dict[str, np.ndarray]:
    out = {"host_time": tl.host_time, "device_us": tl.device_us}
    for name in ("quat", "gyr", "acc", "mag"):
        value = getattr(tl, name)
        if value is not None:
            out[name] = value
    return out


def write(data: ExportData, fmt: str, path: str | Path) -> Path:
    """Write ``data`` in format ``fmt`` (one of :data:`FORMATS`) to ``path``."""
    path = Path(path)
    if fmt == "csv":
        from hipimu.record.tables import write_angles_csv

        write_angles_csv(path, data)
    elif fmt == "sto":
        from hipimu.record.opensim import write_sto_quaternions

        write_sto_quaternions(path, data.time, data.sensors, data.rate_hz)
    elif fmt == "mot":
        from hipimu.record.opensim import write_mot

        write_mot(path, data.time, data.angles, data.name)
    elif fmt == "hdf5":
        from hipimu.record.hdf5 import write_hdf5

        write_hdf5(path, data)
    elif fmt == "c3d":
        from hipimu.record.c3d import write_c3d

        write_c3d(path, data)
    else:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return path


def export_session(
    session: str | Path,
    fmt: str,
    out: str | Path | None = None,
    lowpass_hz: float | None = DEFAULT_CUTOFF_HZ,
) -> Path:
    """Analyse a session (directory or log) and write it as ``fmt``; returns the path.
    ``lowpass_hz``: zero-phase low-pass of the orientations (None: raw; hipimu.smoothing)."""
    from hipimu.pipeline import analyse_log
    from hipimu.record.session_dir import LOG_NAME, load_session

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    session = Path(session)
    contents = load_session(session)
    if not contents.notifications:
        raise ValueError(f"{session}: the session log holds no notifications")
    directory = session if session.is_dir() else session.parent
    name = directory.name if session.is_dir() or session.name == LOG_NAME else session.stem
    data = from_analysis(analyse_log(contents, lowpass_hz=lowpass_hz), contents, name)
    target = Path(out) if out else directory / f"{name}{SUFFIX[fmt]}"
    if target.is_dir() or str(out or "").endswith(("/", os.sep)):
        target = target / f"{name}{SUFFIX[fmt]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    return write(data, fmt, target)
