"""``time`` on virtual time (vclock): the ticks functions of the ESP32 port (30-bit wrap)."""

import vclock

_MASK = 0x3FFFFFFF
_HALF = 0x20000000


def ticks_us():
    return vclock.read_us() & _MASK


def ticks_ms():
    return (vclock.read_us() // 1000) & _MASK


def ticks_cpu():
    return ticks_us()


def ticks_diff(a, b):
    return ((a - b + _HALF) & _MASK) - _HALF


def ticks_add(t, d):
    return (t + d) & _MASK


def sleep_us(us):
    vclock.advance(us)


def sleep_ms(ms):
    vclock.advance(ms * 1000)


def sleep(s):
    vclock.advance(int(s * 1_000_000))


def time():
    return vclock.now[0] // 1_000_000


def time_ns():
    return vclock.now[0] * 1000
