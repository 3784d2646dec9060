"""One session through the whole flow: open -> analyse -> score -> write.

Every command that reads a recorded session goes through here (``report``, ``export``,
``replay``, ``batch``, ``live --replay``): :func:`open_session` reads the log once,
:func:`analyse_session` runs the pipeline, and the sinks (:mod:`hipimu.report`,
:mod:`hipimu.export`) receive the results and only write them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hipimu.orientation.lowpass import DEFAULT_CUTOFF_HZ
from hipimu.store.log import LogContents, Recovery
from hipimu.store.session_dir import LOG_NAME, load_session

if TYPE_CHECKING:
    import numpy as np

    from hipimu.analysis.results import Analysis
    from hipimu.body.calibration import Calibration
    from hipimu.core.types import Notification


@dataclass
class OpenSession:
    """A session read from disk: where it is, what it is called, what its log holds."""

    path: Path  # as given: the directory or the log file
    directory: Path  # the session directory (where results go)
    name: str  # the directory's name, or the log file's stem when it has its own name
    contents: LogContents

    @property
    def metadata(self) -> dict:
        return self.contents.metadata

    @property
    def recovery(self) -> Recovery:
        return self.contents.recovery

    def require_data(self) -> None:
        if not self.contents.notifications:
            raise ValueError(f"{self.path}: the session log holds no notifications")


def open_session(path: str | Path) -> OpenSession:
    """Read a session directory or ``.hiplog`` file (``FileNotFoundError`` if none)."""
    path = Path(path)
    contents = load_session(path)
    directory = path if path.is_dir() else path.parent
    name = directory.name if path.is_dir() or path.name == LOG_NAME else path.stem
    return OpenSession(path, directory, name, contents)


def _opened(session: str | Path | OpenSession) -> OpenSession:
    return session if isinstance(session, OpenSession) else open_session(session)


def analyse_session(
    session: str | Path | OpenSession,
    *,
    notifications: list[Notification] | None = None,
    calibration: Calibration | None = None,
    lowpass_hz: float | None = DEFAULT_CUTOFF_HZ,
    stage: Callable[[str], None] | None = None,
) -> Analysis:
    """Run the pipeline on a session: its notifications (or ``notifications``, e.g. as a
    replay streamed them), markers and time-sync events. ``stage`` is told each stage.
    An imported session's sensors were not placed by hipimu's convention, so its heading
    comes from its flexion movements alone."""
    from hipimu.analysis.pipeline import analyse
    from hipimu.body.calibration import CalibrationError

    s = _opened(session)
    s.require_data()
    imported = s.metadata.get("source") == "imported"
    try:
        return analyse(
            s.contents.notifications if notifications is None else notifications,
            s.contents.markers,
            calibration=calibration,
            events=s.contents.events,
            lowpass_hz=lowpass_hz,
            stage=stage,
            # other systems' sensors are not placed as hardware/placement.md says
            placement_prior=not imported,
        )
    except CalibrationError as exc:
        if imported and "standing" not in s.metadata.get("import", {}):
            raise CalibrationError(
                f"{exc}. A movement trial imported without its standing trial: import it "
                "again with the standing trial of the same sensors, hipimu import FILE "
                "--standing STATIC --out DIR (docs/formats.md)"
            ) from exc
        raise


def recorded_calibration(contents: LogContents) -> tuple[Calibration, float | None] | None:
    """The last calibration event of a log (the live view records the one it uses) and
    its host time; None when the log holds none. A malformed one is a ``ValueError``."""
    from hipimu.body.calibration import Calibration

    events = contents.calibrations
    if not events:
        return None
    event = {k: v for k, v in events[-1].items() if k != "type"}
    when = event.pop("time", None)
    try:
        return Calibration.from_json(json.dumps(event)), when
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"the recorded calibration is unusable: {exc}") from None


def truth_errors(directory: Path, analysis: Analysis) -> dict[str, np.ndarray] | None:
    """Errors against the simulator's ``truth.npz`` beside a simulated session, else None."""
    truth_file = directory / "truth.npz"
    if not truth_file.exists():
        return None
    from types import SimpleNamespace

    import numpy as np

    from hipimu.analysis.validation import hip_errors

    with np.load(truth_file) as t:
        truth = SimpleNamespace(time=t["time"], hip_right=t["hip_right"], hip_left=t["hip_left"])
    return hip_errors(analysis.kinematics, truth)


def json_default(value):
    """``json.dumps(..., default=json_default)``: numpy scalars and arrays as Python
    numbers, bools and lists (called only for what json cannot write itself, so the C
    encoder's speed is kept)."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# -- the commands' flows ------------------------------------------------------------------
def session_report(
    session: str | Path,
    html_out: str | Path | None = None,
    save: bool = True,
    share: tuple[float, float] | None = None,
) -> dict:
    """Score a session, write the HTML report (if ``html_out``) and ``scores.json`` (if
    ``save``); returns the JSON-ready scores with targets (``hipimu report``)."""
    from hipimu.report.client import report_data, write_report
    from hipimu.scoring.rule import config_for_share
    from hipimu.scoring.summary import score_session
    from hipimu.scoring.targets import DEFAULT_SHARE, SCORES_NAME, load_history, plan

    s = open_session(session)
    if not s.contents.notifications:
        raise ValueError(f"{s.path}: the session log holds no sensor data")
    analysis = analyse_session(s)
    scores = score_session(analysis.kinematics, analysis.sets)
    history = load_history(s.directory, client=str(s.contents.metadata.get("client") or ""))
    overrides = [e for e in s.contents.events if e.get("type") == "target_override"]
    config = config_for_share(share or DEFAULT_SHARE)
    planned = plan(scores, history, config, overrides, s.directory.name)
    targets = {"targets": planned.results, "next_targets": planned.next, "history": history}
    rule = planned.rule_dict()
    data = report_data(
        scores, s.contents, directory=s.directory, rule=rule, sets=analysis.sets, **targets
    )
    if html_out is not None:
        write_report(html_out, data, scores, analysis.kinematics, s.contents, **targets)
    if save:
        # compact: json's C encoder runs only without indent (0.02 s instead of 0.13 s for
        # a 30-minute session's 1 MB); `jq .` or `report --json` print it indented
        (s.directory / SCORES_NAME).write_text(
            json.dumps(data, separators=(",", ":"), default=json_default)
        )
    return data


def export_session(
    session: str | Path,
    fmt: str,
    out: str | Path | None = None,
    lowpass_hz: float | None = DEFAULT_CUTOFF_HZ,
) -> Path:
    """Analyse a session (directory or log) and write it as ``fmt``; returns the path
    (``hipimu export``). ``lowpass_hz``: zero-phase low-pass of the orientations (None:
    raw; :mod:`hipimu.orientation.lowpass`)."""
    from hipimu.body.calibration import CalibrationError
    from hipimu.export.formats import (
        RAW_FORMATS,
        check_format,
        from_analysis,
        raw_export_data,
        target_path,
        write,
    )

    check_format(fmt)
    s = open_session(session)
    s.require_data()
    try:
        data = from_analysis(analyse_session(s, lowpass_hz=lowpass_hz), s.contents, s.name)
    except CalibrationError as exc:
        if fmt not in RAW_FORMATS:
            raise CalibrationError(
                f"{s.path}: cannot write {fmt}: its hip angles need a calibration, and {exc}. "
                f"The formats {' and '.join(RAW_FORMATS)} (sensor orientations, raw samples) "
                "need none"
            ) from exc
        aligned, timelines = _uncalibrated(s.contents)
        data = raw_export_data(s.contents, aligned, timelines, s.name, str(exc))
    return write(data, fmt, target_path(s.directory, s.name, fmt, out))


def _uncalibrated(contents: LogContents):
    """The sensors' timelines (fused where raw) and their orientations on one grid: what
    a session that cannot be calibrated still offers."""
    from hipimu.analysis.pipeline import fuse_raw
    from hipimu.stream.assembler import SessionAssembler, resample

    assembler = SessionAssembler()
    for event in contents.events:
        assembler.add_event(event)
    assembler.extend(contents.notifications)
    timelines = assembler.timelines()
    fuse_raw(timelines)
    return resample(timelines), timelines


@dataclass
class Replayed:
    """A session replayed through the pipeline (``hipimu replay``)."""

    session: OpenSession
    analysis: Analysis
    errors: dict[str, np.ndarray] | None  # against truth.npz, simulated sessions only
    calibration_time: float | None = None  # host time of the recorded calibration used


def replay_session(
    session: str | Path | OpenSession,
    speed: float = float("inf"),
    use_recorded_calibration: bool = False,
) -> Replayed:
    """Stream a session's notifications with their recorded timing (``speed`` times
    faster; ``inf``: at once) through the pipeline, as a live recording would be."""
    import asyncio  # only replay streams; report and export need no event loop

    from hipimu.sources.replay import ReplaySource

    s = _opened(session)
    s.require_data()
    calibration, when = None, None
    if use_recorded_calibration:
        found = recorded_calibration(s.contents)
        if found is None:
            raise ValueError(f"{s.path}: the log holds no calibration event")
        calibration, when = found
    source = ReplaySource(s.contents, speed=speed)

    async def collect() -> list[Notification]:
        return [note async for note in source.stream()]

    analysis = analyse_session(s, notifications=asyncio.run(collect()), calibration=calibration)
    return Replayed(s, analysis, truth_errors(s.directory, analysis), when)


def write_results(directory: str | Path, analysis: Analysis, extra: dict | None = None) -> dict:
    """calibration.json, angles.csv and results.json of an analysed session."""
    from hipimu.export.results import write_results as write

    analysis.scores  # noqa: B018 - scored here, so the sink only writes
    return write(directory, analysis, extra)
