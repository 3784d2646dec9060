"""Simulated sensors as a live source: the simulator's notifications, paced in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hipimu.core.types import Notification
from hipimu.simulate import SimulatedSession


class SimulatedSource:
    """Yield a :class:`SimulatedSession`'s notifications at their arrival times.

    ``speed`` 1.0 is real time, 10.0 ten times faster, ``float("inf")`` as fast as the
    consumer takes them. Host times are those of the simulation (seconds from its start).
    """

    def __init__(self, session: SimulatedSession, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.session = session
        self.speed = speed
        self.markers = list(session.markers)

    async def stream(self) -> AsyncIterator[Notification]:
        clock = asyncio.get_running_loop().time  # monotonic; simulated on a virtual loop
        start = clock()
        for note in self.session.notifications:
            if self.speed != float("inf"):
                delay = note.host_time / self.speed - (clock() - start)
                if delay > 0:
                    await asyncio.sleep(delay)
            yield note
