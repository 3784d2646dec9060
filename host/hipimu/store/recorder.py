"""Record any :class:`~hipimu.core.types.Source` into a session log as it streams.

Used by tests and benchmarks to record a paced simulated session exactly as a live
recording does (each notification written on arrival, markers written once they end),
and by ``python -m hipimu.app.record_simulated`` for kill -9 tests.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hipimu.core.types import Notification, Source
from hipimu.store.log import SessionLogWriter


async def record_source(
    source: Source,
    path: str | Path,
    metadata: dict,
    *,
    fsync_interval: float = 0.5,
    written: Callable[[int, Notification], None] | None = None,
) -> int:
    """Stream ``source`` into a log at ``path``; returns the notifications written.

    Markers known to the source are written once the stream has passed their end.
    ``written(index, note)`` is called after each notification reached the OS.
    """
    pending = sorted(source.markers, key=lambda m: m["end"])
    count = 0
    with SessionLogWriter(path, fsync_interval) as log:
        log.meta(metadata)
        async for note in source.stream():
            log.notification(note)
            if written:
                written(count, note)
            count += 1
            while pending and pending[0]["end"] <= note.host_time:
                log.event({"type": "marker", **pending.pop(0)})
        for m in pending:
            log.event({"type": "marker", **m})
    return count
