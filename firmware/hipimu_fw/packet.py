"""Wire format v1 (docs/protocol.md): encode data notifications.

MicroPython-compatible and allocation-free on the per-sample path: samples are packed
straight into a caller-owned bytearray with ``struct.pack_into``. The same code runs
under CPython in the host's simulator, so simulated sessions carry the firmware's bytes.
"""

import struct

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython

    def const(x):
        return x


VERSION = const(1)
HEADER_SIZE = const(12)
MAX_SAMPLES = const(16)
_HEADER_FMT = "<BBHHHBBBB"  # t0_us written as two u16 halves: no big ints on the device

ROLE_PELVIS = const(0)
ROLE_FEMUR_R = const(1)
ROLE_FEMUR_L = const(2)
ROLE_UNASSIGNED = const(255)
ROLE_NAMES = {0: "pelvis", 1: "femur_r", 2: "femur_l", 255: "unassigned"}

CONTENT_QUAT = const(1)
CONTENT_GYR = const(2)
CONTENT_ACC = const(4)
CONTENT_MAG = const(8)

FLAG_CAL_MASK = const(0x03)
FLAG_REST = const(0x04)
FLAG_MAG_DISTURBED = const(0x08)
FLAG_OVERFLOW = const(0x10)

# rate code -> Hz (docs/protocol.md); 12.5 Hz is code 6
RATE_HZ = {1: 25.0, 2: 50.0, 3: 100.0, 4: 200.0, 5: 400.0, 6: 12.5}
GYR_FS_DPS = (125, 250, 500, 1000, 2000, 4000)
ACC_FS_G = (2, 4, 8, 16)
MAG_FS_UT = (400, 800, 1200, 1600)

Q14 = const(16384)


def rate_code(rate_hz):
    """The rate code for a rate in Hz; ValueError when the rate is not in the table."""
    for code, hz in RATE_HZ.items():
        if hz == rate_hz:
            return code
    raise ValueError("unsupported rate")


def ranges_byte(gyr_code=4, acc_code=1, mag_code=0):
    """Pack full-scale codes (indices into GYR_FS_DPS, ACC_FS_G, MAG_FS_UT)."""
    return (gyr_code & 7) | ((acc_code & 3) << 3) | ((mag_code & 3) << 5)


def sample_size(content):
    """Bytes per sample for a content mask."""
    n = 0
    if content & CONTENT_QUAT:
        n += 8
    if content & CONTENT_GYR:
        n += 6
    if content & CONTENT_ACC:
        n += 6
    if content & CONTENT_MAG:
        n += 6
    return n


def clamp16(v):
    """Round a float to the nearest int16, saturating."""
    i = int(v + 0.5) if v >= 0 else -int(-v + 0.5)
    if i > 32767:
        return 32767
    if i < -32768:
        return -32768
    return i


def pack_quat(buf, offset, w, x, y, z):
    """Write a unit quaternion as Q14 int16 x4 at ``offset``; returns the next offset."""
    struct.pack_into(
        "<hhhh", buf, offset, clamp16(w * Q14), clamp16(x * Q14), clamp16(y * Q14), clamp16(z * Q14)
    )
    return offset + 8


def pack_vec_raw(buf, offset, x, y, z):
    """Write three raw int16 counts at ``offset``; returns the next offset."""
    struct.pack_into("<hhh", buf, offset, x, y, z)
    return offset + 6


def pack_header(buf, seq, role, t0_us, count, flags, content, rate, ranges):
    """Write the 12-byte header at the start of ``buf`` (``t0_us`` any int, taken mod 2**32)."""
    t0 = t0_us & 0xFFFFFFFF
    pack_header_split(
        buf, seq, role, t0 & 0x3FFFFFFF, (t0 >> 30) & 3, count, flags, content, rate, ranges
    )


def pack_header_split(buf, seq, role, t_lo30, t_hi2, count, flags, content, rate, ranges):
    """``pack_header`` with the time as its low 30 bits and its top 2 bits.

    MicroPython's small ints hold 31 bits on the ESP32 (and in the WebAssembly VM), so a
    u32 above 2**30 would be a heap-allocated big int; the streaming path keeps the time
    split and this writes it without creating one.
    """
    struct.pack_into(
        _HEADER_FMT,
        buf,
        0,
        VERSION,
        role,
        seq & 0xFFFF,
        t_lo30 & 0xFFFF,
        (t_lo30 >> 16) | ((t_hi2 & 3) << 14),
        count,
        flags,
        (content & 0x0F) | ((rate & 0x0F) << 4),
        ranges,
    )


class PacketEncoder:
    """Builds notifications in one preallocated buffer.

    ``encode`` copies ``count`` samples that are already in wire layout (from the
    sampler's ring buffer) behind a fresh header and returns a memoryview of the
    notification; it is valid until the next call.
    """

    def __init__(self, role, content, rate, ranges, max_samples=MAX_SAMPLES):
        if max_samples < 1 or max_samples > MAX_SAMPLES:
            raise ValueError("max_samples out of range")
        self.role = role
        self.content = content
        self.rate = rate
        self.ranges = ranges
        self.sample_size = sample_size(content)
        self.buf = bytearray(HEADER_SIZE + max_samples * self.sample_size)
        self.view = memoryview(self.buf)
        self.max_samples = max_samples
        self.seq = 0

    def encode(self, t0_us, flags, samples, count):
        """Header plus ``count`` samples from ``samples`` (bytes-like, wire layout)."""
        if count < 1 or count > self.max_samples:
            raise ValueError("count out of range")
        n = count * self.sample_size
        pack_header(
            self.buf, self.seq, self.role, t0_us, count, flags, self.content, self.rate, self.ranges
        )
        self.view[HEADER_SIZE : HEADER_SIZE + n] = samples[:n]
        self.seq = (self.seq + 1) & 0xFFFF
        return self.view[: HEADER_SIZE + n]
