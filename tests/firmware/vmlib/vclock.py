"""Virtual time for the firmware's link and timing runs in the MicroPython VM.

One microsecond counter (``now``) drives the ``time`` and ``asyncio`` stand-ins of this
folder, and hardware events (a sensor asserting its interrupt line, a BLE connection
event) are scheduled on it with ``at``. Nothing waits for real: a run of minutes of
device time takes a second, and every run is identical (no wall clock anywhere).

Model of the ESP32 port (docs/firmware.md "Timing"):

- ``TICK_US``: asyncio sleeps end on the FreeRTOS tick grid (10 ms at the default
  100 Hz tick): the scheduler's poll wakes at the first tick at or after the deadline.
- events with ``wakes=True`` (a GPIO interrupt: the ESP32's pin ISR wakes the main task)
  end the wait at their own time; BLE events do not wake it (micropython#5994) and are
  seen at the next wake.
- ``COST_US``: every clock read costs this much device time, so a busy-wait loop
  advances (and times out) as on a board.
"""

now = [0]
TICK_US = [10_000]
COST_US = [2]
_events = []  # [t_us, seq, fn, wakes], sorted by (t_us, seq)
_seq = [0]


def reset(tick_us=10_000):
    now[0] = 0
    TICK_US[0] = tick_us
    del _events[:]


def at(t_us, fn, wakes=False):
    """Run ``fn()`` at device time ``t_us`` (not before ``now``)."""
    t_us = max(t_us, now[0])
    _seq[0] += 1
    ev = [t_us, _seq[0], fn, wakes]
    i = len(_events)
    while i > 0 and (_events[i - 1][0], _events[i - 1][1]) > (t_us, ev[1]):
        i -= 1
    _events.insert(i, ev)


def after(dt_us, fn, wakes=False):
    at(now[0] + dt_us, fn, wakes)


def next_wake():
    """Time of the next event that wakes the main task, or None."""
    for ev in _events:
        if ev[3]:
            return ev[0]
    return None


def run_due():
    """Run every event due by ``now`` (in time order)."""
    while _events and _events[0][0] <= now[0]:
        ev = _events.pop(0)
        ev[2]()


def advance_to(t_us):
    """Move time forward to ``t_us``, running the events on the way at their own times."""
    while _events and _events[0][0] <= t_us:
        ev = _events.pop(0)
        if ev[0] > now[0]:
            now[0] = ev[0]
        ev[2]()
    if t_us > now[0]:
        now[0] = t_us


def advance(dt_us):
    advance_to(now[0] + dt_us)


def read_us():
    """The current time; costs ``COST_US`` of device time (events due meanwhile run)."""
    advance(COST_US[0])
    return now[0]


def grid(t_us):
    """First FreeRTOS tick at or after ``t_us``."""
    tick = TICK_US[0]
    if tick <= 0:
        return t_us
    return -(-t_us // tick) * tick
