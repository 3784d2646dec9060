"""The sensor's u32 microsecond clock and the time ping/echo used for host sync.

``time.ticks_us()`` wraps at 2**30 on the ESP32 (so that it stays a small int); the
protocol's sensor time is a u32 that wraps at 2**32 (71.6 minutes). ``SensorClock``
keeps the two extra bits in ``epoch`` by noticing each wrap of the ticks, which it can
as long as it is read at least once per 17.9 minutes (the sampler reads it every tick).
Reading it allocates nothing: ``now_lo()`` returns the low 30 bits and ``epoch`` holds
bits 30-31; ``now_u32()`` combines them into one int (a big int above 2**30, so only
for the control path, e.g. the TIME_PING reply).

Host sync: the host writes TIME_PING with a token at host time ``h0``; the sensor
replies with the token and ``now_u32()``; the host receives it at ``h1`` and takes the
sensor time as corresponding to ``(h0 + h1) / 2``, keeping the pings with the shortest
round trip (docs/protocol.md; the host's session module does the fitting).
"""

from hipimu_fw.compat import ticks_us as _ticks_us

WRAP = 0x40000000  # ticks_us period on 32-bit ports


class SensorClock:
    """u32 microseconds = (epoch << 30) | ticks, with ``epoch`` tracking tick wraps."""

    def __init__(self, ticks_us=None):
        self.ticks_us = ticks_us if ticks_us is not None else _ticks_us
        self.epoch = 0
        self.last = self.ticks_us()

    def observe(self, t_lo):
        """Account for a 30-bit tick value read elsewhere (must be non-decreasing mod 2**30)."""
        if t_lo < self.last:
            self.epoch = (self.epoch + 1) & 3
        self.last = t_lo

    def now_lo(self):
        """Low 30 bits of the sensor time (updates ``epoch`` on a wrap)."""
        t = self.ticks_us()
        if t < self.last:
            self.epoch = (self.epoch + 1) & 3
        self.last = t
        return t

    def epoch_of(self, t_lo):
        """Bits 30-31 for a 30-bit time within 2**29 us of the last reading."""
        raw = self.last - diff_lo(self.last, t_lo)
        if raw < 0:
            return (self.epoch - 1) & 3
        if raw >= WRAP:
            return (self.epoch + 1) & 3
        return self.epoch

    def now_u32(self):
        lo = self.now_lo()
        return (self.epoch << 30) | lo


def add_lo(t_lo, dt):
    """``t_lo + dt`` modulo 2**30 (``dt`` below 2**29): stays a small int."""
    t = t_lo + dt
    if t >= WRAP:
        t -= WRAP
    return t


def diff_lo(a, b):
    """Signed ``a - b`` modulo 2**30, in [-2**29, 2**29)."""
    d = a - b
    if d >= 0x20000000:
        d -= WRAP
    elif d < -0x20000000:
        d += WRAP
    return d
