"""Recording from the live view, through the one recorder (:mod:`hipimu.store.recorder`).

Qt-free: the window hands over every notification it feeds the pipeline and every
event (sets, marks, notes, the calibration in use); the recorder writes them as they
happen into a new session directory that never replaces or joins another.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from hipimu.body.calibration import Calibration
from hipimu.core.types import Notification
from hipimu.store.recorder import SessionRecorder, session_metadata


def default_target(record_dir: str | Path | None) -> Path:
    """A new directory ``hipimu-live-<local time>`` in ``record_dir`` (default: here);
    ``-2``, ``-3``, ... appended when that name is taken (two recordings in a second)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = Path(record_dir or ".") / f"hipimu-live-{stamp}"
    n = 2
    while target.exists():
        target = target.with_name(f"hipimu-live-{stamp}-{n}")
        n += 1
    return target


class LiveRecording:
    """One recording of the live view; ``info`` says what the source is (``source``,
    ``host_clock``, ``seed``, ``kit``: docs/session-format.md)."""

    def __init__(self, target: str | Path, info: dict, *, force: bool = False) -> None:
        info = dict(info)
        meta = session_metadata(str(info.pop("source", "live")), "live", **info)
        self.recorder = SessionRecorder(target, meta, force=force)
        self.path = self.recorder.path
        self.moved_aside = self.recorder.moved_aside

    def notification(self, note: Notification) -> None:
        self.recorder.notification(note)

    def event(self, event: dict) -> None:
        self.recorder.event(event)

    def calibration(self, calibration: Calibration, host_time: float | None = None) -> None:
        """The calibration in use from now on (a replay can reuse it)."""
        self.recorder.calibration(json.loads(calibration.to_json()), host_time)

    def close(self) -> None:
        self.recorder.close()
