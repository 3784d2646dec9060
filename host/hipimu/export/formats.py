"""Research formats: one data model, a writer per format (docs/formats.md).

The data model (:class:`ExportData`) is in :mod:`hipimu.export.data`.
:func:`export_session` reads a session, analyses it and writes one format.
"""

from __future__ import annotations

import os
from pathlib import Path

from hipimu.core.names import ANGLE_COLUMNS, ROLES
from hipimu.export.data import ExportData, from_analysis, raw_export_data
from hipimu.orientation.lowpass import DEFAULT_CUTOFF_HZ

FORMATS = ("csv", "sto", "mot", "hdf5", "c3d")
RAW_FORMATS = ("sto", "hdf5")  # need no calibration: sensor orientations and raw samples
SUFFIX = {"csv": ".csv", "sto": ".sto", "mot": ".mot", "hdf5": ".h5", "c3d": ".c3d"}


__all__ = [
    "ANGLE_COLUMNS",
    "FORMATS",
    "RAW_FORMATS",
    "ROLES",
    "SUFFIX",
    "ExportData",
    "export_session",
    "from_analysis",
    "write",
]


def write(data: ExportData, fmt: str, path: str | Path) -> Path:
    """Write ``data`` in format ``fmt`` (one of :data:`FORMATS`) to ``path``."""
    path = Path(path)
    if fmt == "csv":
        from hipimu.export.tables import write_angles_csv

        write_angles_csv(path, data)
    elif fmt == "sto":
        from hipimu.store.opensim import write_sto_quaternions

        write_sto_quaternions(path, data.time, data.sensors, data.rate_hz)
    elif fmt == "mot":
        from hipimu.store.opensim import write_mot

        write_mot(path, data.time, data.angles, data.name)
    elif fmt == "hdf5":
        from hipimu.export.hdf5 import write_hdf5

        write_hdf5(path, data)
    elif fmt == "c3d":
        from hipimu.export.c3d import write_c3d

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
    ``lowpass_hz``: zero-phase low-pass of the orientations
    (None: raw; hipimu.orientation.lowpass)."""
    from hipimu.analysis.pipeline import analyse_log
    from hipimu.store.session_dir import LOG_NAME, load_session

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    session = Path(session)
    contents = load_session(session)
    if not contents.notifications:
        raise ValueError(f"{session}: the session log holds no notifications")
    directory = session if session.is_dir() else session.parent
    name = directory.name if session.is_dir() or session.name == LOG_NAME else session.stem
    from hipimu.body.calibration import CalibrationError

    try:
        data = from_analysis(analyse_log(contents, lowpass_hz=lowpass_hz), contents, name)
    except CalibrationError as exc:
        if fmt not in RAW_FORMATS:
            raise CalibrationError(
                f"{session}: cannot write {fmt}: its hip angles need a calibration, and {exc}. "
                f"The formats {' and '.join(RAW_FORMATS)} (sensor orientations, raw samples) "
                "need none"
            ) from exc
        data = raw_export_data(contents, name, str(exc))
    target = Path(out) if out else directory / f"{name}{SUFFIX[fmt]}"
    if target.is_dir() or str(out or "").endswith(("/", os.sep)):
        target = target / f"{name}{SUFFIX[fmt]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    return write(data, fmt, target)
