"""The one recorder: every session written goes through :class:`SessionRecorder`.

``hipimu record``, ``live --record`` (and the live view's Record button), ``demo``,
imports and :func:`write_session` all open a session here, so every log starts with the
same metadata (:data:`METADATA_SCHEMA`, docs/session-format.md) and no session is ever
overwritten or mixed with another: an existing session directory is refused, or with
``force`` moved aside to ``DIR.old-<timestamp>`` (never deleted).

:func:`record_source` streams any :class:`~hipimu.core.types.Source` into a recorder as
a live recording does (tests, benchmarks, ``python -m hipimu.app.record_simulated``):
each notification written on arrival, each marker opened at its start and closed at
its end (:class:`TimedMarkers`).
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from hipimu import __version__
from hipimu.core.names import DEFAULT_PLACEMENT
from hipimu.core.types import Notification, Source
from hipimu.store.log import MARKER_START, SessionLogWriter

LOG_NAME = "session.hiplog"
HOST_CLOCKS = ("monotonic", "simulated", "imported")

#: The metadata every session log starts with: key -> (JSON types allowed, meaning).
#: docs/session-format.md documents the same table (a test checks both against what
#: every writer writes).
METADATA_SCHEMA: dict[str, tuple[tuple[type, ...], str]] = {
    "session_id": ((str,), "unique id of this session (32 hex digits)"),
    "hipimu": ((str,), "version of the hipimu that wrote the log"),
    "recorder": ((str,), "what wrote it: record, live, demo, import or api"),
    "source": ((str,), "ble, simulated-ble, simulated, imported, or what the caller says"),
    "client": ((str, type(None)), "pseudonymous client id, null when not given"),
    "placement": ((str,), "where the sensors sit"),
    "notes": ((list,), "free-text notes given when the session started"),
    "firmware": ((dict,), "address -> firmware version 'major.minor' ({} until known)"),
    "host_clock": ((str,), "what host_time counts: monotonic, simulated or imported"),
    "started_utc": ((str,), "when recording started, ISO 8601 UTC"),
}


class SessionExistsError(FileExistsError):
    """The target of a new session already holds one (or other files)."""


def utc_iso(when: _dt.datetime) -> str:
    """``when`` as the session metadata writes times: ISO 8601 UTC to the second."""
    return when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> str:
    return utc_iso(_dt.datetime.now(_dt.UTC))


def new_session_id() -> str:
    return uuid.uuid4().hex


def session_metadata(
    source: str,
    recorder: str,
    *,
    client: str | None = None,
    placement: str = DEFAULT_PLACEMENT,
    notes: Iterable[str] = (),
    firmware: dict[str, str] | None = None,
    host_clock: str = "monotonic",
    **extra: object,
) -> dict:
    """The opening metadata of a session: every key of :data:`METADATA_SCHEMA`, then
    ``extra`` (``kit``, ``rate_hz``, ``seed``, ...)."""
    if host_clock not in HOST_CLOCKS:
        raise ValueError(f"host_clock must be one of {', '.join(HOST_CLOCKS)}, got {host_clock!r}")
    meta = {
        "session_id": new_session_id(),
        "hipimu": __version__,
        "recorder": recorder,
        "source": source,
        "client": client,
        "placement": placement,
        "notes": list(notes),
        "firmware": dict(firmware or {}),
        "host_clock": host_clock,
        "started_utc": utc_now(),
    }
    clash = set(extra) & set(meta)
    if clash:
        raise ValueError(f"pass {', '.join(sorted(clash))} by keyword, not in extra")
    return {**meta, **extra}


def complete_metadata(metadata: dict, recorder: str = "api") -> dict:
    """``metadata`` with every schema key it lacks filled in (a new ``session_id``, this
    hipimu, ``source`` "unknown", ...); keys it has are kept."""
    given = dict(metadata)
    keys = ("client", "placement", "notes", "firmware", "host_clock")
    base = session_metadata(
        str(given.pop("source", "unknown")),
        str(given.pop("recorder", recorder)),
        **{k: given.pop(k) for k in keys if k in given},
    )
    return {**base, **given}


def check_metadata(metadata: dict) -> list[str]:
    """What in ``metadata`` breaks :data:`METADATA_SCHEMA` (empty when it conforms)."""
    problems = []
    for key, (types, _meaning) in METADATA_SCHEMA.items():
        if key not in metadata:
            problems.append(f"missing {key!r}")
        elif not isinstance(metadata[key], types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            problems.append(f"{key!r} is {type(metadata[key]).__name__}, not {names}")
    return problems


# -- never overwrite, never mix ----------------------------------------------------------
def _is_log(target: Path) -> bool:
    return target.suffix == Path(LOG_NAME).suffix


def _occupied(target: Path) -> bool:
    if _is_log(target):
        return target.exists()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file, not a session directory")
    return target.is_dir() and any(target.iterdir())


def aside_path(target: str | Path) -> Path:
    """Where ``force`` moves an existing session: ``TARGET.old-<UTC timestamp>`` (``-2``,
    ``-3``, ... appended if that is taken too)."""
    target = Path(target)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    candidate = target.with_name(f"{target.name}.old-{stamp}")
    n = 2
    while candidate.exists():
        candidate = target.with_name(f"{target.name}.old-{stamp}-{n}")
        n += 1
    return candidate


def check_target(target: str | Path, force: bool = False) -> None:
    """Refuse ``target`` (a session directory, or a ``.hiplog`` file) when it already holds
    a session and ``force`` is not given. Changes nothing on disk: call it before any long
    work; :class:`SessionRecorder` moves the old session aside when it starts."""
    target = Path(target)
    if not force and _occupied(target):
        what = "session log" if _is_log(target) else "directory (not empty)"
        raise SessionExistsError(
            f"{target} already exists as a {what}: write the session to a new place, or "
            f"pass --force to move the old one aside to {target.name}.old-<timestamp>"
        )


def claim_target(target: str | Path, force: bool = False) -> Path | None:
    """Make ``target`` free for a new session: refuse it when occupied (see
    :func:`check_target`), or with ``force`` rename the old one aside. Returns where the
    old session went, or None. The directory (or the log's directory) is created."""
    target = Path(target)
    check_target(target, force)
    moved = None
    if _occupied(target):
        here = Path.cwd()
        if target.is_dir() and (here == target.resolve() or target.resolve() in here.parents):
            raise SessionExistsError(
                f"{target} holds the current directory: --force will not move it aside; "
                "write the session to a new directory"
            )
        moved = aside_path(target.absolute())
        os.replace(target, moved)
    (target.parent if _is_log(target) else target).mkdir(parents=True, exist_ok=True)
    return moved


class SessionRecorder:
    """A new session: its directory (or log file) claimed, the log opened and the opening
    metadata written. Use as a context manager, or call :meth:`close`.

    ``target`` is a session directory (the log is ``target/session.hiplog``) or a path
    ending in ``.hiplog``. ``metadata`` must hold every :data:`METADATA_SCHEMA` key
    (build it with :func:`session_metadata`). ``fsync_interval``: see
    :class:`~hipimu.store.log.SessionLogWriter` (``inf`` for data safe elsewhere).
    """

    def __init__(
        self,
        target: str | Path,
        metadata: dict,
        *,
        force: bool = False,
        fsync_interval: float = 0.5,
    ) -> None:
        problems = check_metadata(metadata)
        if problems:
            raise ValueError(f"session metadata: {'; '.join(problems)}")
        target = Path(target)
        self.moved_aside = claim_target(target, force)
        self.directory = target.parent if _is_log(target) else target
        self.path = target if _is_log(target) else target / LOG_NAME
        self.metadata = dict(metadata)
        self.session_id: str = metadata["session_id"]
        self.notifications = 0
        self.closed = False
        self._log = SessionLogWriter(self.path, fsync_interval)
        self._log.meta(self.metadata)
        for text in self.metadata["notes"]:
            self._log.note(text)

    def meta(self, update: dict) -> None:
        """More metadata (merged over the earlier records when read)."""
        self.metadata.update(update)
        self._log.meta(update)

    def notification(self, note: Notification) -> None:
        self._log.notification(note)
        self.notifications += 1

    def event(self, event: dict) -> None:
        """A marker, note, calibration or link event (a dict with a ``type``)."""
        self._log.event(event)

    def marker(self, exercise: str, side: str | None, start: float, end: float, **extra) -> None:
        self._log.marker(exercise, side, start, end, **extra)

    def note(self, text: str, host_time: float | None = None, **extra) -> None:
        self._log.note(text, host_time, **extra)

    def calibration(self, calibration: dict, host_time: float | None = None) -> None:
        self._log.calibration(calibration, host_time)

    def close(self, **final: object) -> None:
        """Write ``stopped_utc`` (and ``final`` metadata) and close the log; idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            self._log.meta({"stopped_utc": utc_now(), **final})
        finally:
            self._log.close()

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_session(
    directory: str | Path,
    notifications: Iterable[Notification],
    markers: Iterable[dict],
    metadata: dict,
    *,
    force: bool = False,
    recorder: str = "api",
) -> Path:
    """Write a complete session at once (simulated and imported sessions); returns the
    log's path. ``metadata`` is completed to the schema (:func:`complete_metadata`)."""
    meta = complete_metadata(metadata, recorder)
    with SessionRecorder(directory, meta, force=force, fsync_interval=float("inf")) as rec:
        timed = TimedMarkers(rec, list(markers))
        for note in notifications:
            timed.reach(note.host_time)
            rec.notification(note)
        timed.finish()
    return rec.path


async def record_source(
    source: Source,
    path: str | Path,
    metadata: dict,
    *,
    fsync_interval: float = 0.5,
    written: Callable[[int, Notification], None] | None = None,
    force: bool = False,
) -> int:
    """Stream ``source`` into a new session at ``path`` (directory or ``.hiplog``);
    returns the notifications written. ``metadata`` is completed to the schema.

    Markers known to the source are opened at their start and closed at their end.
    ``written(index, note)`` is called after each notification reached the OS.
    """
    meta = complete_metadata(metadata, "api")
    with SessionRecorder(path, meta, force=force, fsync_interval=fsync_interval) as rec:
        timed = TimedMarkers(rec, list(source.markers))
        async for note in source.stream():
            timed.reach(note.host_time)
            rec.notification(note)
            if written:
                written(rec.notifications - 1, note)
        timed.finish()
        return rec.notifications


class TimedMarkers:
    """Write markers known in advance (a simulation's protocol, an import) where they
    happen in the stream, as a live recording does: each is opened
    (``SessionLogWriter.marker_start``) once the stream reaches its start and closed
    (a ``marker`` event) once it passes its end, so a log cut mid-set keeps the set."""

    def __init__(self, log: SessionLogWriter | SessionRecorder, markers: list[dict]) -> None:
        self.log = log
        self._starts = sorted(markers, key=lambda m: m.get("start", 0.0))
        self._ends = sorted(markers, key=lambda m: m.get("end", 0.0))
        self._opened: set[int] = set()

    def reach(self, host_time: float) -> None:
        """The stream is at ``host_time``: write what started and ended before it."""
        while self._starts and self._starts[0].get("start", 0.0) <= host_time:
            self._open(self._starts.pop(0))
        while self._ends and self._ends[0].get("end", 0.0) < host_time:
            self._close(self._ends.pop(0))

    def finish(self) -> None:
        """The stream ended: close every marker still open (and any never reached)."""
        for m in self._ends:
            self._close(m)
        self._ends = []

    def _open(self, marker: dict) -> None:
        self._opened.add(id(marker))
        opening = {k: v for k, v in marker.items() if k not in ("type", "end")}
        self.log.event({**opening, "type": MARKER_START})

    def _close(self, marker: dict) -> None:
        if id(marker) not in self._opened:  # its start lies beyond the stream
            self._starts = [m for m in self._starts if m is not marker]
            self._open(marker)
        self.log.event({"type": "marker", **marker})
