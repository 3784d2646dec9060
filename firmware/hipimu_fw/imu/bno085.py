"""BNO085 (CEVA SH-2 on SHTP) over SPI: game rotation vector and calibrated raw reports.

References: BNO080/BNO085 datasheet (Hillcrest/CEVA 1000-3927), SH-2 Reference Manual
(1000-3625), SHTP Reference Manual (1000-3535). Facts used here:

- SPI mode 3, at most 3 MHz; PS0/WAKE and PS1 high select SPI. H_INTN goes low when the
  hub has a packet; the host then asserts CS and clocks it out. Transfers are full
  duplex: a host write also carries whatever the hub sends, so it is parsed too.
- SHTP header: u16 length (bit 15: continuation; length includes the 4-byte header),
  u8 channel, u8 sequence number (per channel and direction).
- Channels: 0 SHTP command (advertisement), 1 executable (0x01 = reset complete),
  2 sensor hub control, 3 input sensor reports, 4 wake reports, 5 gyro-integrated RV.
- Control reports (channel 2): 0xFD Set Feature (17 bytes: id, flags, u16 sensitivity,
  u32 report interval us, u32 batch interval, u32 sensor-specific), 0xFC Get Feature
  Response (same layout), 0xF9 Product ID Request / 0xF8 Response, 0xF2 Command
  Request (tare = command 0x03) / 0xF1 Command Response.
- Input reports (channel 3) start with 0xFB Base Timestamp Reference (5 bytes); each
  sensor report is ``id, seq, status (bits 0-1 accuracy), delay, data``. Q points:
  accelerometer 0x01 Q8 m/s^2, calibrated gyroscope 0x02 Q9 rad/s, calibrated magnetic
  field 0x03 Q4 uT, game rotation vector 0x08 Q14 (i, j, k, real), stability
  classifier 0x13 (byte 4: 0 unknown, 1 on table, 2 stationary, 3 stable, 4 motion).

The game rotation vector is already Q14 -- the wire format's quaternion encoding -- so
the BNO085 path moves integers only: nothing allocates per sample.
"""

import struct

from hipimu_fw import packet
from hipimu_fw.imu import IMU_BNO085, factor, pack_scaled3, s16

CH_COMMAND = 0
CH_EXECUTABLE = 1
CH_CONTROL = 2
CH_REPORTS = 3
CH_WAKE_REPORTS = 4

R_ACCEL = 0x01
R_GYRO = 0x02
R_MAG = 0x03
R_GAME_RV = 0x08
R_SIG_MOTION = 0x12
R_STABILITY = 0x13
R_TIMESTAMP_REBASE = 0xFA
R_BASE_TIMESTAMP = 0xFB
R_SET_FEATURE = 0xFD
R_GET_FEATURE_RESP = 0xFC
R_PRODUCT_ID_REQ = 0xF9
R_PRODUCT_ID_RESP = 0xF8
R_COMMAND_REQ = 0xF2
R_COMMAND_RESP = 0xF1
CMD_TARE = 0x03
FEAT_WAKE = 0x04  # Set Feature flags bit 2: wake-up enable

RX_MAX = 320
STABILITY_INTERVAL_US = 100_000

# Input report lengths by report id (0: unknown -> stop parsing the packet), from the
# table ``sh2ReportLens`` in CEVA's SH-2 driver (github.com/ceva-dsp/sh2, sh2.c; ids from
# sh2.h). Ids the hub may put on the input channels besides the ones we enable: a wrong
# length desynchronises the rest of the packet.
_LEN = bytearray(256)
for _rid, _n in (
    (0x01, 10),  # accelerometer
    (0x02, 10),  # gyroscope calibrated
    (0x03, 10),  # magnetic field calibrated
    (0x04, 10),  # linear acceleration
    (0x05, 14),  # rotation vector
    (0x06, 10),  # gravity
    (0x07, 16),  # gyroscope uncalibrated
    (0x08, 12),  # game rotation vector
    (0x09, 14),  # geomagnetic rotation vector
    (0x0A, 8),  # pressure
    (0x0B, 8),  # ambient light
    (0x0C, 6),  # humidity
    (0x0D, 6),  # proximity
    (0x0E, 6),  # temperature
    (0x0F, 16),  # magnetic field uncalibrated
    (0x10, 5),  # tap detector
    (0x11, 12),  # step counter
    (0x12, 6),  # significant motion
    (0x13, 6),  # stability classifier
    (0x14, 16),  # raw accelerometer
    (0x15, 16),  # raw gyroscope
    (0x16, 16),  # raw magnetometer
    (0x18, 8),  # step detector
    (0x19, 6),  # shake detector
    (0x1A, 6),  # flip detector
    (0x1B, 8),  # pickup detector
    (0x1C, 6),  # stability detector
    (0x1E, 16),  # personal activity classifier
    (0x1F, 6),  # sleep detector
    (0x20, 6),  # tilt detector
    (0x21, 6),  # pocket detector
    (0x22, 6),  # circle detector
    (0x23, 6),  # heart rate monitor
    (0x28, 14),  # ARVR-stabilized rotation vector
    (0x29, 12),  # ARVR-stabilized game rotation vector
    (0x2A, 14),  # gyro-integrated rotation vector
    (0x2B, 6),  # IZRO motion request
    (0x2C, 24),  # raw optical flow
    (0x2D, 60),  # dead reckoning pose
    (0x2E, 12),  # wheel encoder
    (0xEF, 2),  # flush completed
    (R_TIMESTAMP_REBASE, 5),
    (R_BASE_TIMESTAMP, 5),
):
    _LEN[_rid] = _n

# Maximum report rates (BNO08x datasheet 1000-3927, "Sensor performance": accelerometer
# 500 Hz, gyroscope 400 Hz, magnetometer 100 Hz, game rotation vector 400 Hz here, the
# fastest the wire format carries).
MAX_RATE_HZ = {R_GAME_RV: 400, R_GYRO: 400, R_ACCEL: 400, R_MAG: 100}
_REPORTS = (
    (packet.CONTENT_QUAT, R_GAME_RV),
    (packet.CONTENT_GYR, R_GYRO),
    (packet.CONTENT_ACC, R_ACCEL),
    (packet.CONTENT_MAG, R_MAG),
)


def _primary(content):
    """The report that closes a sample: the first block of ``content`` in wire order."""
    for bit, rid in _REPORTS:
        if content & bit:
            return rid
    return R_GAME_RV


def _s32(b, i):
    """Signed little-endian int32 at ``b[i]``, for the small values SH-2 times take
    (|v| < 2**29, i.e. 15 hours in 100 us units: stays a small int)."""
    v = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | ((b[i + 3] & 0x1F) << 24)
    return v - 0x20000000 if b[i + 3] & 0x80 else v


# declared full scale: gyro 2000 deg/s (code 4), acc 8 g (code 2), mag 400 uT (code 0)
RANGES = packet.ranges_byte(4, 2, 0)
_SHIFT = 11
_GYR_MUL = factor(32768 / (512 * 2000 * 3.141592653589793 / 180), _SHIFT)  # Q9 rad/s
_ACC_MUL = factor(32768 / (256 * 8 * 9.80665), _SHIFT)  # Q8 m/s^2
_MAG_MUL = factor(32768 / (16 * 400), _SHIFT)  # Q4 uT


class BNO085:
    kind = IMU_BNO085
    supported = 15
    ranges = RANGES

    def __init__(self, spi, cs, intn, rst, ticks_ms, ticks_diff, sleep_ms, wake=None):
        self.spi = spi
        self.wake = wake
        self.cs = cs
        self.intn = intn
        self.rst = rst
        self._ticks_ms = ticks_ms
        self._ticks_diff = ticks_diff
        self._sleep_ms = sleep_ms
        self.rx = bytearray(RX_MAX)
        self.rxv = memoryview(self.rx)
        self._hdr = self.rxv[:4]
        self._body = [self._hdr] * (RX_MAX + 1)  # views rx[4:n], made once per length
        self._made = bytearray(RX_MAX + 1)
        self.tx = bytearray(32)
        self.seq = bytearray(6)
        self.q = [0, 0, 0, 16384]  # i, j, k, real (Q14)
        self.gyr = [0, 0, 0]
        self.acc = [0, 0, 0]
        self.mag = [0, 0, 0]
        self.q_status = 0
        self.mag_status = 0
        self.stability = 0
        self.content = packet.CONTENT_QUAT
        self.errors = 0
        self.packets = 0
        self.reset_done = False
        self.product = None  # (sw major, sw minor, part number, build)
        self.features = {}  # report id -> interval (us) confirmed by Get Feature Response
        self.commands = 0
        # interrupt-driven sampling (attach): H_INTN time, the report that closes a sample
        self.t_int = 0
        self.sink = None
        self.primary = R_GAME_RV
        self.samples = 0
        self._flag = None
        self._ticks_us = None
        self._isr_ref = None

    # -- transport ------------------------------------------------------------------
    def _wait_int(self, timeout_ms):
        t0 = self._ticks_ms()
        while self.intn.value():
            if self._ticks_diff(self._ticks_ms(), t0) > timeout_ms:
                return False
        return True

    def _body_view(self, n):
        if not self._made[n]:
            self._body[n] = self.rxv[4:n]
            self._made[n] = 1
        return self._body[n]

    def _read_packet(self):
        """Clock one packet out of the hub into ``rx``; returns its length (0: none)."""
        self.cs.value(0)
        try:
            self.spi.readinto(self._hdr, 0)
            n = (self.rx[0] | (self.rx[1] << 8)) & 0x7FFF
            if n == 0 or n == 0x7FFF:
                return 0
            if n > RX_MAX:  # e.g. a large advertisement: keep the head, drop the rest
                self.spi.readinto(self._body_view(RX_MAX), 0)
                left = n - RX_MAX
                while left > 0:
                    k = left if left < RX_MAX else RX_MAX
                    self.spi.readinto(self.rxv[:k], 0)  # rare: may allocate
                    left -= k
                return 0
            if n > 4:
                self.spi.readinto(self._body_view(n), 0)
        except OSError:
            self.errors += 1
            return 0
        finally:
            self.cs.value(1)
        self.packets += 1
        self._parse(n)
        return n

    def _write(self, channel, payload):
        """Send one SHTP packet (waits for H_INTN); parses what the hub sends meanwhile."""
        n = 4 + len(payload)
        tx = self.tx
        struct.pack_into("<HBB", tx, 0, n, channel, self.seq[channel])
        self.seq[channel] = (self.seq[channel] + 1) & 0xFF
        tx[4:n] = payload
        if self.wake is not None:
            self.wake.value(0)  # ask the hub to assert H_INTN
        ok = self._wait_int(200)
        if not ok:
            if self.wake is not None:
                self.wake.value(1)
            self.errors += 1
            return False
        self.cs.value(0)
        if self.wake is not None:
            self.wake.value(1)  # released once selected (SH-2 wake sequence)
        try:
            self.spi.write_readinto(memoryview(tx)[:4], self._hdr)
            rn = (self.rx[0] | (self.rx[1] << 8)) & 0x7FFF
            if rn == 0x7FFF:
                rn = 0
            total = n if n > rn else rn
            if total > RX_MAX:
                total = RX_MAX
            out = bytearray(total - 4)
            out[: n - 4] = tx[4:n]
            self.spi.write_readinto(out, self.rxv[4:total])
        except OSError:
            self.errors += 1
            return False
        finally:
            self.cs.value(1)
        if rn > 4:
            self._parse(rn if rn <= RX_MAX else RX_MAX)
        return True

    # -- parsing --------------------------------------------------------------------
    def _parse(self, n):
        rx = self.rx
        ch = rx[2]
        if ch == CH_REPORTS or ch == CH_WAKE_REPORTS:
            i = 4
            ref = 0  # 100 us units from the H_INTN edge to the base timestamp (sh2.c)
            while i < n:
                rid = rx[i]
                k = _LEN[rid]
                if k == 0 or i + k > n:
                    break
                if rid == R_BASE_TIMESTAMP:
                    ref = -_s32(rx, i + 1)
                elif rid == R_TIMESTAMP_REBASE:
                    ref += _s32(rx, i + 1)
                elif rid == R_GAME_RV:
                    self.q_status = rx[i + 2] & 3
                    q = self.q
                    q[0] = s16(rx, i + 4)
                    q[1] = s16(rx, i + 6)
                    q[2] = s16(rx, i + 8)
                    q[3] = s16(rx, i + 10)
                elif rid == R_GYRO:
                    v = self.gyr
                    v[0] = s16(rx, i + 4)
                    v[1] = s16(rx, i + 6)
                    v[2] = s16(rx, i + 8)
                elif rid == R_ACCEL:
                    v = self.acc
                    v[0] = s16(rx, i + 4)
                    v[1] = s16(rx, i + 6)
                    v[2] = s16(rx, i + 8)
                elif rid == R_MAG:
                    self.mag_status = rx[i + 2] & 3
                    v = self.mag
                    v[0] = s16(rx, i + 4)
                    v[1] = s16(rx, i + 6)
                    v[2] = s16(rx, i + 8)
                elif rid == R_STABILITY:
                    self.stability = rx[i + 4]
                if rid == self.primary and self.sink is not None:
                    # sample time: H_INTN edge + (delay - base), in 100 us (CEVA sh2.c)
                    delay = ((rx[i + 2] & 0xFC) << 6) + rx[i + 3]
                    self.samples += 1
                    self.sink((self.t_int + (ref + delay) * 100) & 0x3FFFFFFF)
                i += k
        elif ch == CH_EXECUTABLE:
            if n > 4 and rx[4] == 0x01:
                self.reset_done = True
        elif ch == CH_CONTROL and n > 4:
            rid = rx[4]
            if rid == R_PRODUCT_ID_RESP and n >= 20:
                self.product = (
                    rx[6],
                    rx[7],
                    struct.unpack_from("<I", rx, 8)[0],
                    struct.unpack_from("<I", rx, 12)[0],
                )
            elif rid == R_GET_FEATURE_RESP and n >= 21:
                self.features[rx[5]] = struct.unpack_from("<I", rx, 9)[0]
            elif rid == R_COMMAND_RESP:
                self.commands += 1

    # -- setup ----------------------------------------------------------------------
    def reset(self, timeout_ms=500):
        """Hardware reset; waits for "reset complete"; returns True when seen."""
        self.reset_done = False
        if self.wake is not None:
            self.wake.value(1)  # PS0 high through reset: SPI mode
        self.rst.value(0)
        self._sleep_ms(10)
        self.rst.value(1)
        t0 = self._ticks_ms()
        while not self.reset_done:
            if self._ticks_diff(self._ticks_ms(), t0) > timeout_ms:
                return False
            if not self.intn.value():
                self._read_packet()
        return True

    def request_product_id(self, timeout_ms=300):
        self.product = None
        self._write(CH_CONTROL, bytes((R_PRODUCT_ID_REQ, 0)))
        self.service_until(lambda: self.product is not None, timeout_ms)
        return self.product

    def service_until(self, done, timeout_ms):
        t0 = self._ticks_ms()
        while not done():
            if self._ticks_diff(self._ticks_ms(), t0) > timeout_ms:
                return False
            if not self.intn.value():
                self._read_packet()
        return True

    def enable(self, report_id, interval_us, flags=0):
        buf = bytearray(17)
        struct.pack_into("<BBBHIII", buf, 0, R_SET_FEATURE, report_id, flags, 0, interval_us, 0, 0)
        return self._write(CH_CONTROL, buf)

    def arm_motion_wake(self):
        """Every report off but significant motion, as a wake-up report: H_INTN goes low
        when the sensor is picked up (hal.power_off wakes the ESP32 on it)."""
        ok = True
        for rid in (R_GAME_RV, R_GYRO, R_ACCEL, R_MAG, R_STABILITY):
            ok = self.enable(rid, 0) and ok
        return self.enable(R_SIG_MOTION, 1_000_000, FEAT_WAKE) and ok

    def configure(self, rate_hz, content):
        """Enable the reports ``content`` needs at ``rate_hz`` (plus the stability classifier)."""
        if content & ~self.supported or not content:
            raise ValueError("content")
        if rate_hz > self.max_rate(content):
            raise ValueError("rate")
        self.content = content
        self.primary = _primary(content)
        interval = int(1_000_000 / rate_hz + 0.5)
        ok = True
        for bit, rid in (
            (packet.CONTENT_QUAT, R_GAME_RV),
            (packet.CONTENT_GYR, R_GYRO),
            (packet.CONTENT_ACC, R_ACCEL),
            (packet.CONTENT_MAG, R_MAG),
        ):
            ok = self.enable(rid, interval if content & bit else 0) and ok
        ok = self.enable(R_STABILITY, STABILITY_INTERVAL_US) and ok
        return ok

    def max_rate(self, content):
        """Highest settable rate (Hz) for ``content``: the slowest report it needs."""
        r = 400
        for bit, rid in _REPORTS:
            if content & bit and MAX_RATE_HZ[rid] < r:
                r = MAX_RATE_HZ[rid]
        return r

    def begin(self, rate_hz=100, content=packet.CONTENT_QUAT):
        """Reset, identify and configure; returns True when the hub answered."""
        if not self.reset():
            return False
        if self.request_product_id() is None:
            return False
        return self.configure(rate_hz, content)

    def tare(self):
        """Tare all axes of the game rotation vector now (not persisted)."""
        buf = bytearray(12)
        buf[0] = R_COMMAND_REQ
        buf[1] = self.commands & 0xFF
        buf[2] = CMD_TARE
        buf[3] = 0x00  # tare now
        buf[4] = 0x07  # x, y, z
        buf[5] = 0x01  # basis: gaming rotation vector
        return self._write(CH_CONTROL, buf)

    # -- per tick -------------------------------------------------------------------
    def service(self, max_packets=4):
        """Read what the hub has (up to ``max_packets``); returns packets read."""
        k = 0
        while k < max_packets and not self.intn.value():
            if self._read_packet() == 0:
                break
            k += 1
        return k

    def attach(self, flag, ticks_us, sink):
        """Interrupt-driven sampling: H_INTN's falling edge stamps ``ticks_us()`` and sets
        ``flag`` (an ``asyncio.ThreadSafeFlag``); ``drain`` then reads the hub and calls
        ``sink(t_lo)`` once per sample, at the sensor's own time of that sample (low 30
        bits of the device clock), after the latest values are in (``pack``)."""
        self._flag = flag
        self._ticks_us = ticks_us
        self.sink = sink
        self._isr_ref = self._isr  # bound once: the hard IRQ must not allocate
        self.intn.irq(handler=self._isr_ref, trigger=self.intn.IRQ_FALLING, hard=True)

    def _isr(self, pin):
        ticks_us, flag = self._ticks_us, self._flag
        if ticks_us is not None and flag is not None:
            self.t_int = ticks_us()
            flag.set()

    def drain(self, max_packets=8):
        """Read every packet the hub holds (H_INTN low); returns -1 on a bus error."""
        e = self.errors
        self.service(max_packets)
        return -1 if self.errors != e else 0

    def read(self, sample):
        """Latest values into ``sample`` (wire layout); returns flags, or -1 on a bus error."""
        e = self.errors
        self.service()
        if self.errors != e:
            return -1
        return self.pack(sample)

    def pack(self, sample):
        """The latest values into ``sample`` (wire layout); returns the flags byte."""
        c = self.content
        off = 0
        if c & packet.CONTENT_QUAT:
            q = self.q
            struct.pack_into("<hhhh", sample, 0, q[3], q[0], q[1], q[2])
            off = 8
        if c & packet.CONTENT_GYR:
            v = self.gyr
            off = pack_scaled3(sample, off, v, _GYR_MUL, _SHIFT)
        if c & packet.CONTENT_ACC:
            v = self.acc
            off = pack_scaled3(sample, off, v, _ACC_MUL, _SHIFT)
        if c & packet.CONTENT_MAG:
            v = self.mag
            pack_scaled3(sample, off, v, _MAG_MUL, _SHIFT)
        flags = self.q_status
        if self.stability == 1 or self.stability == 2:
            flags |= packet.FLAG_REST
        if c & packet.CONTENT_MAG and self.mag_status == 0:
            flags |= packet.FLAG_MAG_DISTURBED
        return flags
