"""Research formats: one data model, a writer per format (docs/formats.md).

The data model (:class:`ExportData`) is in :mod:`hipimu.export.data`.
:func:`write` writes one format of analysed results; ``export_session`` (which opens and
analyses a session first) is :func:`hipimu.workflow.session.export_session`.
"""

from __future__ import annotations

import os
from pathlib import Path

from hipimu.core.names import ANGLE_COLUMNS, ROLES
from hipimu.export.data import ExportData, from_analysis, raw_export_data

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
    "check_format",
    "from_analysis",
    "raw_export_data",
    "target_path",
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
        check_format(fmt)
    return path


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def target_path(directory: Path, name: str, fmt: str, out: str | Path | None = None) -> Path:
    """Where ``export`` writes: ``out`` (a file, or a directory: existing, or given with a
    trailing slash), else ``directory/name.<suffix>``; its folder is created."""
    check_format(fmt)
    target = Path(out) if out else directory / f"{name}{SUFFIX[fmt]}"
    if target.is_dir() or str(out or "").endswith(("/", os.sep)):
        target = target / f"{name}{SUFFIX[fmt]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def __getattr__(name: str):
    # the workflow layer runs the pipeline; its entry point is re-exported here lazily
    # for scripts written against hipimu.export.formats.export_session
    if name == "export_session":
        from hipimu.workflow.session import export_session

        return export_session
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
