"""Sample ring buffer and notification batching: the firmware's streaming core.

The sampler task calls ``push_*`` once per IMU tick (no allocation: samples are packed
into a preallocated ring in wire layout); the link task calls ``next_packet`` and, only
after ``notify`` succeeded, ``commit``. A failed notify therefore loses nothing while
the ring has room; when the ring is full the newest sample is dropped, counted, and the
next notification carries the overflow flag. The host simulator drives this same class.

Allocation (MicroPython): ``push_q14``, ``push_sample``, ``next_packet``, ``commit`` and
``failed`` allocate nothing when given small ints (checked in the real VM by
``tests/firmware``). ``push_quat``/``push_raw`` take floats, and float arithmetic boxes
floats on the ESP32, so they allocate a few short-lived objects per call: the device's
zero-allocation paths use the integer methods.

Time: ``t_us`` is the sensor's u32 microsecond clock. On the device small ints hold 31
bits, so the firmware passes the low 30 bits (``time.ticks_us()``, which wraps at 2**30)
and keeps bits 30-31 in ``epoch`` (``clock.SensorClock`` maintains it); under CPython a
full u32 (or any int, taken mod 2**32) can be passed with ``epoch`` left at 0.
"""

import struct

from hipimu_fw import packet

_LO30 = 0x3FFFFFFF
_WRAP30 = 0x40000000
_HALF30 = 0x20000000


class Streamer:
    """Ring of samples in wire layout plus the notification encoder."""

    def __init__(self, role, content, rate_hz, ranges, capacity=256, batch=4):
        if capacity < packet.MAX_SAMPLES:
            raise ValueError("capacity below MAX_SAMPLES")
        self.rate_hz = rate_hz
        self.period_us = int(1_000_000 / rate_hz + 0.5)
        self.encoder = packet.PacketEncoder(
            role, content, packet.rate_code(rate_hz), ranges, packet.MAX_SAMPLES
        )
        self.ss = self.encoder.sample_size
        self.capacity = capacity
        self.ring = bytearray(capacity * self.ss)
        self.ring_view = memoryview(self.ring)
        ss = self.ss
        rv = self.ring_view
        # one preallocated view per slot and per packet length: slicing a memoryview
        # allocates on MicroPython, storing into a slice of one does not
        self._slot_views = [rv[i * ss : (i + 1) * ss] for i in range(capacity)]
        ev = self.encoder.view
        self._pkt_views = [ev[: packet.HEADER_SIZE + n * ss] for n in range(packet.MAX_SAMPLES + 1)]
        self.times = [0] * capacity  # low 30 bits of the sample time (small ints)
        self.t_hi = bytearray(capacity)  # bits 30-31
        self.flags = bytearray(capacity)
        self.epoch = 0  # bits 30-31 added to pushed times (see module docstring)
        self.head = 0  # next slot to write
        self.size = 0  # samples held
        self.batch = 1
        self.set_batch(batch)
        self.dropped = 0
        self.notify_failures = 0
        self.sent = 0  # notifications committed
        self._overflow = False
        self._pending = 0  # samples in the packet handed out and not yet committed

    # -- configuration --------------------------------------------------------------
    @property
    def role(self):
        return self.encoder.role

    @role.setter
    def role(self, value):
        self.encoder.role = value

    @property
    def content(self):
        return self.encoder.content

    def set_batch(self, batch):
        if batch < 1 or batch > packet.MAX_SAMPLES:
            raise ValueError("batch out of range")
        self.batch = batch

    def fit_mtu(self, mtu):
        """Limit the batch so one notification fits ``mtu - 3`` bytes; returns the batch.

        Raises ValueError when not even one sample fits (a 9D sample needs an MTU of 41).
        """
        n = (mtu - 3 - packet.HEADER_SIZE) // self.ss
        if n < 1:
            raise ValueError("MTU too small for one sample")
        if n < self.batch:
            self.batch = n
        return self.batch

    def clear(self):
        """Forget every queued sample (at start of streaming); counters are kept."""
        self.head = 0
        self.size = 0
        self._pending = 0
        self._overflow = False

    # -- sampler side ---------------------------------------------------------------
    def _slot(self, t_us, flags):
        """Claim the next slot; returns its byte offset, or -1 when the ring is full."""
        if self.size == self.capacity:
            self.dropped += 1
            self._overflow = True
            return -1
        i = self.head
        self.times[i] = t_us & _LO30
        self.t_hi[i] = ((t_us >> 30) + self.epoch) & 3
        self.flags[i] = flags
        nxt = i + 1
        self.head = 0 if nxt == self.capacity else nxt
        self.size += 1
        return i * self.ss

    def push_quat(self, t_us, w, x, y, z, flags=0):
        """Queue one quaternion-only sample taken at sensor time ``t_us`` (floats)."""
        off = self._slot(t_us, flags)
        if off >= 0:
            packet.pack_quat(self.ring, off, w, x, y, z)

    def push_q14(self, t_us, w, x, y, z, flags=0):
        """Queue one quaternion-only sample given as Q14 ints (no allocation)."""
        off = self._slot(t_us, flags)
        if off >= 0:
            struct.pack_into("<hhhh", self.ring, off, w, x, y, z)

    def push_sample(self, t_us, sample, flags=0):
        """Queue one sample already in wire layout (``sample``: a memoryview of ``ss`` bytes).

        The drivers pack each reading into a preallocated staging buffer and pass a view
        of it here: one slice copy, no allocation.
        """
        off = self._slot(t_us, flags)
        if off >= 0:
            self.ring_view[off : off + self.ss] = sample

    def push_raw(self, t_us, q, gyr, acc, mag, flags=0):
        """Queue one sample with the blocks the content mask names.

        ``q`` is a float quaternion (w, x, y, z); ``gyr``, ``acc``, ``mag`` are int16 counts.
        """
        off = self._slot(t_us, flags)
        if off < 0:
            return
        content = self.encoder.content
        if content & packet.CONTENT_QUAT:
            off = packet.pack_quat(self.ring, off, q[0], q[1], q[2], q[3])
        if content & packet.CONTENT_GYR:
            off = packet.pack_vec_raw(self.ring, off, gyr[0], gyr[1], gyr[2])
        if content & packet.CONTENT_ACC:
            off = packet.pack_vec_raw(self.ring, off, acc[0], acc[1], acc[2])
        if content & packet.CONTENT_MAG:
            packet.pack_vec_raw(self.ring, off, mag[0], mag[1], mag[2])

    # -- link side ------------------------------------------------------------------
    def available(self):
        """Samples waiting to be sent."""
        return self.size

    def next_packet(self, force=False):
        """The next notification, or None when fewer than ``batch`` samples wait.

        ``force`` sends a partial batch (at stop, or when the link asks to flush).
        Samples in one notification are consecutive ticks (within a quarter period of
        ``t0 + k * period``): a missed tick ends it early.
        The returned memoryview is valid until the next call.
        """
        if self.size == 0 or (self.size < self.batch and not force):
            return None
        cap = self.capacity
        tail = self.head - self.size
        if tail < 0:
            tail += cap
        times = self.times
        t0 = times[tail]
        flags = self.flags[tail]
        period = self.period_us
        tol = period >> 2
        n = 1
        limit = self.batch if self.batch < self.size else self.size
        j = tail
        while n < limit:
            j += 1
            if j == cap:
                j = 0
            d = times[j] - t0 - n * period
            if d < -_HALF30:
                d += _WRAP30
            # consecutive: within a quarter period of the nominal grid (sensor-stamped
            # samples follow the IMU's own clock, not the nominal period exactly)
            if d > tol or d < -tol:
                break
            flags |= self.flags[j] & ~packet.FLAG_CAL_MASK
            n += 1
        if self._overflow:
            flags |= packet.FLAG_OVERFLOW
        enc = self.encoder
        ev = enc.view
        ss = self.ss
        views = self._slot_views
        dst = packet.HEADER_SIZE
        j = tail
        for _ in range(n):
            ev[dst : dst + ss] = views[j]
            dst += ss
            j += 1
            if j == cap:
                j = 0
        packet.pack_header_split(
            enc.buf,
            enc.seq,
            enc.role,
            t0,
            self.t_hi[tail],
            n,
            flags,
            enc.content,
            enc.rate,
            enc.ranges,
        )
        self._pending = n
        return self._pkt_views[n]

    def commit(self):
        """The last packet was sent: release its samples and advance the sequence number."""
        if self._pending:
            self.size -= self._pending
            self._pending = 0
            self._overflow = False
            self.sent += 1
            self.encoder.seq = (self.encoder.seq + 1) & 0xFFFF

    def failed(self):
        """The last notify raised (e.g. ENOMEM): keep its samples for the next try."""
        self._pending = 0
        self.notify_failures += 1
