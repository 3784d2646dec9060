"""A session directory: the log, and the results derived from it (docs/session-format.md).

session.hiplog     the append-only log: metadata, notifications, markers (store/log.py)
calibration.json   the calibration used (reusable with a later session)
angles.csv         time (s) and angles in degrees, OpenSim column names
results.json       ranges, side comparison, sensor statistics, (simulated) errors
truth.npz          simulated sessions only: the simulator's ground truth

Sessions are written only through :mod:`hipimu.store.recorder` (``write_session`` is
re-exported here for scripts written against this module).
"""

from __future__ import annotations

from pathlib import Path

from hipimu.store.log import LogContents, read_log
from hipimu.store.recorder import LOG_NAME, write_session

__all__ = ["LOG_NAME", "load_session", "session_log_path", "write_session"]


def session_log_path(path: str | Path) -> Path:
    """The log of a session directory (or the log file itself)."""
    path = Path(path)
    return path / LOG_NAME if path.is_dir() else path


def load_session(path: str | Path) -> LogContents:
    """Read a session directory (or a log file directly)."""
    path = session_log_path(path)
    if not path.exists():
        raise FileNotFoundError(f"no session log at {path}")
    return read_log(path)
