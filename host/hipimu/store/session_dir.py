"""A session directory: the log, and the results derived from it (docs/session-format.md).

session.hiplog     the append-only log: metadata, notifications, markers (record/log.py)
calibration.json   the calibration used (reusable with a later session)
angles.csv         time (s) and angles in degrees, OpenSim column names
results.json       ranges, side comparison, sensor statistics, (simulated) errors
truth.npz          simulated sessions only: the simulator's ground truth
"""

from __future__ import annotations

from pathlib import Path

from hipimu.core.types import Notification
from hipimu.store.log import LogContents, SessionLogWriter, read_log

LOG_NAME = "session.hiplog"


def write_session(
    directory: str | Path,
    notifications: list[Notification],
    markers: list[dict],
    metadata: dict,
) -> Path:
    """Write a complete session log (used for simulated and imported sessions)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_NAME
    if path.exists():
        path.unlink()
    with SessionLogWriter(path, fsync_interval=float("inf")) as log:
        log.meta(metadata)
        for note in notifications:
            log.notification(note)
        for m in markers:
            log.event({"type": "marker", **m})
    return path


def load_session(path: str | Path) -> LogContents:
    """Read a session directory (or a log file directly)."""
    path = Path(path)
    if path.is_dir():
        path = path / LOG_NAME
    if not path.exists():
        raise FileNotFoundError(f"no session log at {path}")
    return read_log(path)
