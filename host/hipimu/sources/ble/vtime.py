"""An asyncio event loop on simulated time: it never sleeps, it jumps to the next timer.

With the fake BLE backend (:mod:`hipimu.sources.ble.fake`) every delay, timeout and
notification is a timer on ``loop.time()``, so a 30-minute session runs as fast as the
CPU allows and reproducibly. Real I/O (signal wake-ups, threads) still works: the loop
polls it without blocking and only blocks when nothing at all is scheduled.
"""

from __future__ import annotations

import asyncio
import selectors


class _VirtualSelector(selectors.DefaultSelector):
    """Polls real file descriptors without blocking and advances the virtual clock by
    the loop's timeout instead of waiting for it."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = 0.0

    def select(self, timeout: float | None = None):  # type: ignore[override]
        events = super().select(0)
        if events:
            return events
        if timeout is None:  # nothing scheduled: only real I/O can wake us
            return super().select(None)
        if timeout > 0:
            self.clock += timeout
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``loop.time()`` is simulated seconds, starting at ``start``."""

    def __init__(self, start: float = 0.0) -> None:
        selector = _VirtualSelector()
        selector.clock = start
        super().__init__(selector)
        self._vselector = selector

    def time(self) -> float:
        return self._vselector.clock


def run_virtual(coro, start: float = 0.0):
    """Run ``coro`` to completion on a :class:`VirtualTimeLoop`; returns its result."""
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(start)) as runner:
        return runner.run(coro)
