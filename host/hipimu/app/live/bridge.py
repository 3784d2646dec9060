"""Run an asyncio source in a worker thread and hand its notifications over, bounded.

The source keeps its own event loop (BLE callbacks, pacing) in a worker thread; the
view drains a bounded buffer on its own timer. Neither blocks the other. When the
buffer is full the policy decides: ``"drop_oldest"`` (live sensors: the newest data
matter, every drop is counted) or ``"wait"`` (files and simulations: the source pauses
until the view catches up, nothing is lost).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from hipimu.core.types import Notification, Source


class JumpAhead:
    """A recorded or simulated stream that starts ``start`` seconds in: the notifications
    before that come at once (the pipeline computes them, the view shows the end), the
    rest paced at ``speed`` (1 = real time, ``inf`` = as fast as taken)."""

    def __init__(
        self, notifications: list[Notification], markers: list[dict], start: float, speed: float
    ) -> None:
        if start < 0:
            raise ValueError(f"the start must not be negative, got {start}")
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.notifications = notifications
        self.markers = markers
        self.start = start
        self.speed = speed
        self.contents: object | None = None  # a replay's log contents (recorded events)

    async def stream(self):
        if not self.notifications:
            return
        t0 = self.notifications[0].host_time + self.start
        wall = None
        clock = asyncio.get_running_loop().time  # monotonic; simulated on a virtual loop
        for i, note in enumerate(self.notifications):
            if note.host_time >= t0 and self.speed != float("inf"):
                if wall is None:
                    wall = clock()
                delay = (note.host_time - t0) / self.speed - (clock() - wall)
                if delay > 0:
                    await asyncio.sleep(delay)
            elif i % 256 == 0:
                await asyncio.sleep(0)  # stay cancellable during the burst
            yield note


class SourceThread:
    """A source running in its own thread and event loop, feeding a bounded buffer."""

    def __init__(self, source: Source, capacity: int = 2048, overflow: str = "drop_oldest") -> None:
        if overflow not in ("drop_oldest", "wait"):
            raise ValueError(f"overflow must be 'drop_oldest' or 'wait', got {overflow!r}")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.source = source
        self.capacity = capacity
        self.overflow = overflow
        self.dropped = 0
        self.received = 0
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._buf: deque[tuple[float, Notification]] = deque()
        # session events the source reports as they happen (BLE: time-sync round trips,
        # link events), for the pipeline's clocks and the recording
        self._events: deque[dict] = deque()
        if hasattr(source, "on_event"):
            earlier = source.on_event

            def put_event(event: dict) -> None:
                self._events.append(event)  # deque.append is thread-safe
                if earlier is not None:
                    earlier(event)

            source.on_event = put_event
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._main, name="hipimu-source", daemon=True)

    def start(self) -> SourceThread:
        self._thread.start()
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._pump())
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # reported to the view, which shows it
            self.error = exc
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self.finished.set()

    async def _pump(self) -> None:
        async for note in self.source.stream():
            if self._stop.is_set():
                break
            while self.overflow == "wait" and len(self._buf) >= self.capacity:
                if self._stop.is_set():
                    return
                await asyncio.sleep(0.001)
            arrival = time.perf_counter()
            with self._lock:
                if len(self._buf) >= self.capacity:
                    self._buf.popleft()
                    self.dropped += 1
                self._buf.append((arrival, note))
                self.received += 1

    def drain(self, limit: int | None = None) -> list[tuple[float, Notification]]:
        """Take (arrival ``perf_counter`` time, notification) pairs, oldest first."""
        with self._lock:
            if limit is None or limit >= len(self._buf):
                items = list(self._buf)
                self._buf.clear()
            else:
                items = [self._buf.popleft() for _ in range(limit)]
        return items

    def drain_events(self) -> list[dict]:
        """Take the events the source reported since the last call, oldest first."""
        events = []
        while self._events:
            events.append(self._events.popleft())
        return events

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    @property
    def pending(self) -> int:
        return len(self._buf)

    @property
    def done(self) -> bool:
        """The source has ended and everything it produced has been drained."""
        return self.finished.is_set() and not self._buf

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the source to stop (its ``close()`` coroutine if it has one, e.g. BLE
        disconnects) and wait for its thread."""
        loop, task = self._loop, self._task
        close: Callable[[], Coroutine[Any, Any, Any]] | None = getattr(self.source, "close", None)
        if loop is not None and callable(close) and self._thread.is_alive():
            # close first: the source ends its stream itself and the loop winds down
            try:
                asyncio.run_coroutine_threadsafe(close(), loop).result(timeout)
            except Exception:  # closing is best effort; the task is cancelled next
                pass
        self._stop.set()
        if loop is not None and task is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass  # the loop closed in between
        if self._thread.is_alive():
            self._thread.join(timeout)
