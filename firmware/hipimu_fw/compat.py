"""MicroPython names with CPython stand-ins, so the pure modules run in the host too.

On the device these are the ``time`` and ``asyncio`` functions themselves; under CPython
(the host simulator, the tests) equivalents with the same 30-bit wrapping ticks.
"""

import asyncio
import time

_PERIOD = 0x40000000  # ticks period on 32-bit ports (small ints)
_monotonic_ns = getattr(time, "monotonic_ns", None)


def _cp_ticks_us():
    return (_monotonic_ns() // 1000) & (_PERIOD - 1) if _monotonic_ns else 0


def _cp_ticks_ms():
    return (_monotonic_ns() // 1_000_000) & (_PERIOD - 1) if _monotonic_ns else 0


def _cp_ticks_diff(a, b):
    return ((a - b + _PERIOD // 2) & (_PERIOD - 1)) - _PERIOD // 2


async def _cp_sleep_ms(ms):
    await asyncio.sleep(ms / 1000)


ticks_us = getattr(time, "ticks_us", _cp_ticks_us)
ticks_ms = getattr(time, "ticks_ms", _cp_ticks_ms)
ticks_diff = getattr(time, "ticks_diff", _cp_ticks_diff)
sleep_ms = getattr(asyncio, "sleep_ms", _cp_sleep_ms)
