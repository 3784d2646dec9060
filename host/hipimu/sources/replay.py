"""A recorded session as a source: the log's notifications, paced as they arrived."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from hipimu.core.types import Notification
from hipimu.store.log import LogContents


class ReplaySource:
    """Yield a session log's notifications with their recorded timing.

    ``session`` is a session directory, a ``.hiplog`` file or already read
    :class:`LogContents`. ``speed`` 1.0 is real time, 10.0 ten times faster,
    ``float("inf")`` as fast as the consumer takes them. Notifications keep their recorded
    host times and bytes, so the pipeline sees exactly what it saw live; ``markers``,
    ``metadata`` and ``recovery`` (what reading the log recovered) come from the log.
    """

    def __init__(self, session: str | Path | LogContents, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        if isinstance(session, LogContents):
            contents = session
        else:
            from hipimu.store.session_dir import load_session

            contents = load_session(session)
        self.contents = contents
        self.speed = speed
        self.markers: list[dict] = contents.markers
        self.metadata = contents.metadata
        self.recovery = contents.recovery

    @property
    def notifications(self) -> list[Notification]:
        return self.contents.notifications

    async def stream(self) -> AsyncIterator[Notification]:
        notes = self.contents.notifications
        if not notes:
            return
        first = notes[0].host_time
        clock = asyncio.get_running_loop().time  # monotonic; simulated on a virtual loop
        start = clock()
        for note in notes:
            if self.speed != float("inf"):
                delay = (note.host_time - first) / self.speed - (clock() - start)
                if delay > 0:
                    await asyncio.sleep(delay)
            yield note
