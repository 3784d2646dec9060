"""LSM6DSOX accelerometer/gyroscope (+ optional LIS3MDL magnetometer) over I2C.

Register facts (ST datasheets DS12814 LSM6DSOX rev 3, DS10970 LIS3MDL rev 6):

LSM6DSOX (address 0x6A, or 0x6B with SA0 high): WHO_AM_I 0x0F = 0x6C; CTRL1_XL 0x10
(ODR_XL bits 7-4, FS_XL bits 3-2: 00 2 g, 10 4 g, 11 8 g, 01 16 g); CTRL2_G 0x11
(ODR_G bits 7-4, FS_G bits 3-2: 00 250, 01 500, 10 1000, 11 2000 deg/s); CTRL3_C 0x12
(BDU bit 6, IF_INC bit 2, SW_RESET bit 0); STATUS_REG 0x1E (GDA bit 1, XLDA bit 0);
OUTX_L_G 0x22 .. OUTZ_H_A 0x2D (gyro x, y, z then accel x, y, z, int16 LE).
ODR codes: 1 12.5, 2 26, 3 52, 4 104, 5 208, 6 416 Hz. Sensitivity at +-1000 deg/s
35 mdeg/s per LSB; at +-4 g 0.122 mg per LSB.

LIS3MDL (address 0x1C, or 0x1E with SA1 high): WHO_AM_I 0x0F = 0x3D; CTRL_REG1 0x20
(OM bits 6-5, DO bits 4-2, FAST_ODR bit 1), CTRL_REG2 0x21 (FS bits 6-5: 00 +-4 gauss),
CTRL_REG3 0x22 (MD bits 1-0: 00 continuous), CTRL_REG4 0x23 (OMZ bits 3-2), CTRL_REG5
0x24 (BDU bit 6); OUT_X_L 0x28 .. OUT_Z_H 0x2D; on I2C the sub-address MSB enables
auto-increment. Sensitivity at +-4 gauss: 6842 LSB/gauss (1 gauss = 100 uT).

FIFO and timing (same datasheet; ST's lsm6dsox_reg.h names): FIFO_CTRL3 0x09 (BDR_GY
bits 7-4, BDR_XL bits 3-0, ODR codes), FIFO_CTRL4 0x0A (DEC_TS_BATCH bits 7-6: 01 = a
timestamp word per batch; FIFO_MODE bits 2-0: 000 bypass, 110 continuous),
COUNTER_BDR_REG1 0x0B (bit 7 dataready_pulsed: 75 us DRDY pulses), INT1_CTRL 0x0D (bit 1
INT1_DRDY_G), CTRL10_C 0x19 (bit 5 TIMESTAMP_EN), FIFO_STATUS1/2 0x3A/0x3B (DIFF_FIFO
10 bits: unread words; 0x3B bit 6 FIFO_OVR_IA), TIMESTAMP0-3 0x40-0x43 (u32, 25 us per
LSB nominal), INTERNAL_FREQ_FINE 0x63 (int8, 0.15 % per step: the oscillator's
deviation; timestamp LSB = 1 / (40000 * (1 + 0.0015 * FREQ_FINE)) s and ODR = 6667 Hz *
(1 + 0.0015 * FREQ_FINE) / coefficient, 64 at 104 Hz), FIFO_DATA_OUT_TAG 0x78 (TAG_SENSOR
bits 7-3: 1 gyro, 2 accelerometer, 4 timestamp; TAG_CNT bits 2-1: the time slot) and
FIFO_DATA_OUT_X_L..Z_H 0x79-0x7E (timestamp word: the u32 in bytes 0-3).

Sampling with INT1 (``attach``/``drain``, the device path): the chip runs at ODR
104/208/416 Hz for 100/200/400 Hz (its rates are 6667 Hz / 2**n), batches every sample
with its timestamp into the FIFO and pulses INT1 on each gyro sample. The hard IRQ only
sets the ``ThreadSafeFlag``; the woken task reads every FIFO word, maps each sample's
timestamp to the device clock (a TIMESTAMP read bracketed by two ``ticks_us``, the
counter scaled by FREQ_FINE), runs the filter on every sample (none is lost or read
twice), and interpolates the outputs onto the exact grid of the configured rate on the
device clock (linear; the quaternion renormalised): what the wire protocol's
``t0 + k * period`` declares. Polled reading (``read``) stays for bench use and the
tests; above 100 Hz it repeats and skips samples (the 10 ms asyncio wake grid).

On-sensor fusion: ``fusion_int.MahonyInt`` on the raw counts (integer arithmetic: the
quaternion path allocates nothing either).

Wire scaling: gyro declared 2000 deg/s (code 4), acc 4 g (code 1), mag 400 uT (code 0).
``MAG_AXES`` maps the magnetometer's axes onto the accelerometer/gyro frame (identity
for boards that mount both chips aligned, e.g. Adafruit 4517); adjust for other boards.
"""

import struct

from hipimu_fw import packet
from hipimu_fw.clock import add_lo, diff_lo
from hipimu_fw.fusion_int import MahonyInt
from hipimu_fw.imu import IMU_LSM6DSOX, IMU_LSM6DSOX_LIS3MDL, factor, pack_scaled3, s16

LSM_ADDR = 0x6A
LSM_WHO_AM_I = 0x0F
LSM_ID = 0x6C
CTRL1_XL = 0x10
CTRL2_G = 0x11
CTRL3_C = 0x12
STATUS_REG = 0x1E
OUTX_L_G = 0x22
FIFO_CTRL3 = 0x09
FIFO_CTRL4 = 0x0A
COUNTER_BDR_REG1 = 0x0B
INT1_CTRL = 0x0D
CTRL10_C = 0x19
FIFO_STATUS1 = 0x3A
TIMESTAMP0 = 0x40
FREQ_FINE = 0x63
FIFO_DATA_OUT_TAG = 0x78
TAG_GYRO = 1
TAG_XL = 2
TAG_TIMESTAMP = 4
FIFO_CONTINUOUS_TS = 0x46  # DEC_TS_BATCH 01, FIFO_MODE 110
DRDY_PULSED = 0x80
INT1_DRDY_G = 0x02
TIMESTAMP_EN = 0x20
MAX_WORDS = 96  # FIFO words read per wake (32 samples; the rest at the next one)
MAX_BURST = 12  # FIFO words per I2C read (4 samples, 84 bytes)
_LO30 = 0x3FFFFFFF
_WRAP30 = 0x40000000

MAG_ADDR = 0x1C
MAG_WHO_AM_I = 0x0F
MAG_ID = 0x3D
CTRL_REG1 = 0x20
CTRL_REG2 = 0x21
CTRL_REG3 = 0x22
CTRL_REG4 = 0x23
CTRL_REG5 = 0x24
OUT_X_L = 0x28
AUTO_INC = 0x80

ODR_CODE = {25: 2, 50: 3, 100: 4, 200: 5, 400: 6, 12.5: 1}
_NOMINAL_ODR = (12.5, 26, 52, 104, 208, 416)  # code 1..6


def odr_code(rate_hz):
    """The slowest ODR code at or above ``rate_hz`` (10 Hz idle -> 12.5 Hz, code 1)."""
    for i in range(len(_NOMINAL_ODR)):
        if _NOMINAL_ODR[i] >= rate_hz:
            return i + 1
    raise ValueError("rate")


def actual_odr(code, freq_fine=0):
    """ODR in Hz: 6667 Hz * (1 + 0.0015 * FREQ_FINE) / (512 >> (code - 1))."""
    return 40000 / 6 * (1 + 0.0015 * freq_fine) / (512 >> (code - 1))


FS_G_1000 = 0b10 << 2
FS_XL_4G = 0b10 << 2

GYR_DPS_PER_LSB = 0.035
ACC_MG_PER_LSB = 0.122
MAG_LSB_PER_GAUSS = 6842

RANGES = packet.ranges_byte(4, 1, 0)
_SHIFT = 14
_GYR_MUL = factor(GYR_DPS_PER_LSB * 32768 / 2000, _SHIFT)
_ACC_MUL = factor(ACC_MG_PER_LSB * 1e-3 * 32768 / 4, _SHIFT)
_MAG_MUL = factor(100 / MAG_LSB_PER_GAUSS * 32768 / 400, _SHIFT)
_GYR_RAD = GYR_DPS_PER_LSB * 3.141592653589793 / 180  # rad/s per count
ACC_ONE_G = round(1000 / ACC_MG_PER_LSB)  # counts at 1 g
MAG_AXES = (0, 1, 2)
MAG_SIGNS = (1, 1, 1)


def _status(f):
    """A sample's status flags from the on-sensor filter ``f``: its calibration bits, rest
    and magnetic disturbance (both packing paths; no allocation)."""
    flags = f.calibration()
    if f.rest:
        flags |= packet.FLAG_REST
    if f.mag_disturbed:
        flags |= packet.FLAG_MAG_DISTURBED
    return flags


class RawImu:
    """LSM6DSOX with an optional LIS3MDL; on-sensor Mahony fusion when a quaternion is asked."""

    ranges = RANGES

    def __init__(self, i2c, addr=LSM_ADDR, mag_addr=MAG_ADDR, int1=None):
        self.i2c = i2c
        self.int1 = int1  # INT1 pin (data-ready pulses); None: polled only
        if int1 is None:
            self.attach = None  # type: ignore[assignment]  # App then polls on a schedule
        self.addr = addr
        self.mag_addr = mag_addr
        self.buf = bytearray(12)
        self.mbuf = bytearray(6)
        self.one = bytearray(1)
        self.has_mag = False
        self.kind = IMU_LSM6DSOX
        self.supported = packet.CONTENT_QUAT | packet.CONTENT_GYR | packet.CONTENT_ACC
        self.content = packet.CONTENT_QUAT
        self.fusion = MahonyInt(100, _GYR_RAD, ACC_ONE_G)
        self.errors = 0
        self.g = [0, 0, 0]
        self.a = [0, 0, 0]
        self.m = [0, 0, 0]
        # FIFO path: per time slot (TAG_CNT) the words seen, then the previous sample
        # and the interpolated output (ints), the output grid and counters
        self.fbuf = bytearray(7 * MAX_BURST)
        fv = memoryview(self.fbuf)
        self._fviews = [fv[: 7 * k] for k in range(MAX_BURST + 1)]  # slicing allocates
        self.st = bytearray(2)
        self.tsb = bytearray(4)
        self.s_have = [0, 0, 0, 0]
        self.s_ts = [0, 0, 0, 0]
        self.s_g = [[0, 0, 0] for _ in range(4)]
        self.s_a = [[0, 0, 0] for _ in range(4)]
        self.pg = [0, 0, 0]
        self.pa = [0, 0, 0]
        self.pq = [16384, 0, 0, 0]
        self.cq = [16384, 0, 0, 0]
        self.oq = [16384, 0, 0, 0]
        self.og = [0, 0, 0]
        self.oa = [0, 0, 0]
        self.have_prev = False
        self.t_prev = 0
        self.t_next = 0
        self.out_period = 10_000
        self.max_span = 40_000
        self.scale8 = 25 * 256  # device us per timestamp count, Q8
        self.age_limit = _WRAP30 // self.scale8
        self.freq_fine = 0
        self.odr = 104.0
        self.samples = 0  # FIFO samples processed (each through the filter once)
        self.outputs = 0  # grid samples handed to the sink
        self.gaps = 0
        self.stale = 0
        self.overruns = 0
        self.edges = 0
        self.sink = None
        self._flag = None
        self._ticks_us = None
        self._isr_ref = None

    def _w(self, addr, reg, val):
        self.one[0] = val
        self.i2c.writeto_mem(addr, reg, self.one)

    def _r(self, addr, reg):
        self.i2c.readfrom_mem_into(addr, reg, self.one)
        return self.one[0]

    def begin(self, rate_hz=100, content=packet.CONTENT_QUAT):
        """Probe both chips and configure; returns False when the LSM6DSOX does not answer."""
        try:
            if self._r(self.addr, LSM_WHO_AM_I) != LSM_ID:
                return False
        except OSError:
            self.errors += 1
            return False
        try:
            self.has_mag = self._r(self.mag_addr, MAG_WHO_AM_I) == MAG_ID
        except OSError:
            self.has_mag = False
        if self.has_mag:
            self.kind = IMU_LSM6DSOX_LIS3MDL
            self.supported |= packet.CONTENT_MAG
        self.configure(rate_hz, content)
        return True

    def configure(self, rate_hz, content):
        if content & ~self.supported or not content:
            raise ValueError("content")
        self.content = content
        odr = odr_code(rate_hz)
        fifo = self.int1 is not None
        if fifo:
            self._w(self.addr, FIFO_CTRL4, 0)  # bypass: empties the FIFO
        self._w(self.addr, CTRL3_C, 0x44)  # BDU, IF_INC
        self._w(self.addr, CTRL1_XL, (odr << 4) | FS_XL_4G)
        self._w(self.addr, CTRL2_G, (odr << 4) | FS_G_1000)
        if fifo:
            ff = self._r(self.addr, FREQ_FINE)
            self.freq_fine = ff - 256 if ff > 127 else ff
            self.scale8 = round(25 * 256 / (1 + 0.0015 * self.freq_fine))
            # older samples would overflow a small int (2**30 is a big int: not per drain)
            self.age_limit = _WRAP30 // self.scale8
            self.odr = actual_odr(odr, self.freq_fine)
            self.out_period = int(1_000_000 / rate_hz + 0.5)
            self.max_span = int(4_000_000 / self.odr)  # a longer gap: the grid restarts
            self.have_prev = False
            for i in range(4):
                self.s_have[i] = 0
            self._w(self.addr, CTRL10_C, TIMESTAMP_EN)
            self._w(self.addr, COUNTER_BDR_REG1, DRDY_PULSED)
            self._w(self.addr, INT1_CTRL, INT1_DRDY_G)
            self._w(self.addr, FIFO_CTRL3, (odr << 4) | odr)  # batch gyro and acc
            self._w(self.addr, FIFO_CTRL4, FIFO_CONTINUOUS_TS)
        if self.has_mag:
            self._w(self.mag_addr, CTRL_REG1, 0x62)  # UHP x/y, FAST_ODR: 155 Hz
            self._w(self.mag_addr, CTRL_REG2, 0x00)  # +-4 gauss
            self._w(self.mag_addr, CTRL_REG4, 0x0C)  # UHP z
            self._w(self.mag_addr, CTRL_REG5, 0x40)  # BDU
            self._w(self.mag_addr, CTRL_REG3, 0x00)  # continuous conversion
        self.fusion = MahonyInt(self.odr if fifo else rate_hz, _GYR_RAD, ACC_ONE_G)

    def max_rate(self, content):
        """Highest settable rate (Hz): 100 with the LIS3MDL (configured for 155 Hz), else
        400 (the LSM6DSOX runs at 416 Hz)."""
        return 100 if content & packet.CONTENT_MAG else 400

    def tare(self):
        self.fusion.tare_heading()

    def read(self, sample):
        """One sample in wire layout into ``sample``; flags or -1 on a bus error."""
        try:
            self.i2c.readfrom_mem_into(self.addr, OUTX_L_G, self.buf)
            if self.has_mag and self.content & (packet.CONTENT_MAG | packet.CONTENT_QUAT):
                self.i2c.readfrom_mem_into(self.mag_addr, OUT_X_L | AUTO_INC, self.mbuf)
        except OSError:
            self.errors += 1
            return -1
        b = self.buf
        g = self.g
        a = self.a
        m = self.m
        g[0] = s16(b, 0)
        g[1] = s16(b, 2)
        g[2] = s16(b, 4)
        a[0] = s16(b, 6)
        a[1] = s16(b, 8)
        a[2] = s16(b, 10)
        if self.has_mag:
            mb = self.mbuf
            m[0] = MAG_SIGNS[0] * s16(mb, 2 * MAG_AXES[0])
            m[1] = MAG_SIGNS[1] * s16(mb, 2 * MAG_AXES[1])
            m[2] = MAG_SIGNS[2] * s16(mb, 2 * MAG_AXES[2])
        c = self.content
        off = 0
        flags = 0
        if c & packet.CONTENT_QUAT:
            f = self.fusion
            f.update(g[0], g[1], g[2], a[0], a[1], a[2], m[0], m[1], m[2], self.has_mag)
            struct.pack_into("<hhhh", sample, 0, f.q14(0), f.q14(1), f.q14(2), f.q14(3))
            off = 8
            flags = _status(f)
        if c & packet.CONTENT_GYR:
            off = pack_scaled3(sample, off, g, _GYR_MUL, _SHIFT)
        if c & packet.CONTENT_ACC:
            off = pack_scaled3(sample, off, a, _ACC_MUL, _SHIFT)
        if c & packet.CONTENT_MAG:
            pack_scaled3(sample, off, m, _MAG_MUL, _SHIFT)
        return flags

    # -- interrupt-driven FIFO path (device) -------------------------------------------
    def attach(self, flag, ticks_us, sink):
        """INT1's data-ready pulses set ``flag`` (an ``asyncio.ThreadSafeFlag``) from a
        hard IRQ; ``drain`` then reads the FIFO and calls ``sink(t_lo)`` once per grid
        sample (low 30 bits of the device clock), after ``pack`` has its values."""
        self._flag = flag
        self._ticks_us = ticks_us
        self.sink = sink
        self._isr_ref = self._isr  # bound once: the hard IRQ must not allocate
        pin = self.int1
        if pin is None:
            raise ValueError("no INT1 pin")
        pin.irq(handler=self._isr_ref, trigger=pin.IRQ_RISING, hard=True)

    def _isr(self, pin):
        flag = self._flag
        if flag is not None:
            self.edges += 1
            flag.set()

    def drain(self):
        """Read the FIFO (up to ``MAX_WORDS``); returns -1 on a bus error."""
        try:
            self._drain()
        except OSError:
            self.errors += 1
            return -1
        return 0

    def _drain(self):
        i2c = self.i2c
        addr = self.addr
        ticks_us = self._ticks_us
        st = self.st
        i2c.readfrom_mem_into(addr, FIFO_STATUS1, st)
        n = st[0] | (st[1] & 3) << 8
        if st[1] & 0x40:
            self.overruns += 1
        if n == 0 or ticks_us is None:
            return
        # the chip's time now, against the device clock: a bracketed TIMESTAMP read
        tsb = self.tsb
        t0 = ticks_us()
        i2c.readfrom_mem_into(addr, TIMESTAMP0, tsb)
        t1 = ticks_us()
        ts_now = tsb[0] | tsb[1] << 8 | tsb[2] << 16 | (tsb[3] & 0x3F) << 24
        t_mid = add_lo(t0, diff_lo(t1, t0) >> 1)
        if self.has_mag and self.content & (packet.CONTENT_MAG | packet.CONTENT_QUAT):
            i2c.readfrom_mem_into(self.mag_addr, OUT_X_L | AUTO_INC, self.mbuf)
            mb = self.mbuf
            m = self.m
            m[0] = MAG_SIGNS[0] * s16(mb, 2 * MAG_AXES[0])
            m[1] = MAG_SIGNS[1] * s16(mb, 2 * MAG_AXES[1])
            m[2] = MAG_SIGNS[2] * s16(mb, 2 * MAG_AXES[2])
        if n > MAX_WORDS:  # the rest right after the other tasks had their turn
            n = MAX_WORDS
            if self._flag is not None:
                self._flag.set()
        buf = self.fbuf
        views = self._fviews
        left = n
        while left > 0:  # bursts of whole words: the address rolls back to 0x78
            k = left if left < MAX_BURST else MAX_BURST
            i2c.readfrom_mem_into(addr, FIFO_DATA_OUT_TAG, views[k])
            left -= k
            o = 0
            for _ in range(k):
                self._word(buf, o, ts_now, t_mid)
                o += 7

    def _word(self, w, o, ts_now, t_mid):
        """One FIFO word at ``w[o:o + 7]``; a time slot complete with its timestamp, gyro
        and acc words becomes a sample at its device time."""
        tag = w[o] >> 3
        c = (w[o] >> 1) & 3
        have = self.s_have
        if tag == TAG_TIMESTAMP:
            self.s_ts[c] = w[o + 1] | w[o + 2] << 8 | w[o + 3] << 16 | (w[o + 4] & 0x3F) << 24
            have[c] |= 4
        elif tag == TAG_GYRO or tag == TAG_XL:
            gyro = tag == TAG_GYRO
            v = self.s_g[c] if gyro else self.s_a[c]
            v[0] = s16(w, o + 1)
            v[1] = s16(w, o + 3)
            v[2] = s16(w, o + 5)
            have[c] |= 1 if gyro else 2
        else:
            return
        if have[c] != 7:
            return
        have[c] = 0
        age = (ts_now - self.s_ts[c]) & _LO30
        if age >= self.age_limit:
            self.stale += 1
            return
        t = t_mid - ((age * self.scale8) >> 8)
        if t < 0:
            t += _WRAP30
        self._sample(t, self.s_g[c], self.s_a[c])

    def _sample(self, t, g, a):
        """One FIFO sample at device time ``t``: filter, then the grid samples up to it."""
        self.samples += 1
        quat = self.content & packet.CONTENT_QUAT
        cq = self.cq
        if quat:
            f = self.fusion
            m = self.m
            f.update(g[0], g[1], g[2], a[0], a[1], a[2], m[0], m[1], m[2], self.has_mag)
            cq[0] = f.q14(0)
            cq[1] = f.q14(1)
            cq[2] = f.q14(2)
            cq[3] = f.q14(3)
        span = diff_lo(t, self.t_prev)
        if not self.have_prev or span <= 0 or span > self.max_span:
            if self.have_prev:
                self.gaps += 1
            self.have_prev = True
            self.t_next = t  # a new grid starts at this sample
            span = 0
        sink = self.sink
        while diff_lo(self.t_next, t) <= 0:
            frac = (diff_lo(self.t_next, self.t_prev) << 12) // span if span else 4096
            self._lerp(frac, g, a, quat)
            self.outputs += 1
            if sink is not None:
                sink(self.t_next)
            self.t_next = add_lo(self.t_next, self.out_period)
        pg = self.pg
        pa = self.pa
        pq = self.pq
        for i in range(3):
            pg[i] = g[i]
            pa[i] = a[i]
        for i in range(4):
            pq[i] = cq[i]
        self.t_prev = t

    def _lerp(self, frac, g, a, quat):
        """Outputs at ``frac`` (Q12) from the previous sample to this one."""
        pg = self.pg
        pa = self.pa
        og = self.og
        oa = self.oa
        for i in range(3):
            og[i] = pg[i] + (((g[i] - pg[i]) * frac) >> 12)
            oa[i] = pa[i] + (((a[i] - pa[i]) * frac) >> 12)
        if quat:
            pq = self.pq
            cq = self.cq
            oq = self.oq
            n2 = 0
            for i in range(4):
                v = pq[i] + (((cq[i] - pq[i]) * frac) >> 12)
                oq[i] = v
                n2 += v * v
            inv = ((3 << 28) - n2) >> 15  # one Newton step of 1/sqrt(n2), Q14
            for i in range(4):
                oq[i] = (oq[i] * inv + 8192) >> 14

    def pack(self, sample):
        """The grid sample ``drain`` just made, into ``sample`` (wire layout); flags."""
        c = self.content
        off = 0
        flags = 0
        if c & packet.CONTENT_QUAT:
            q = self.oq
            struct.pack_into("<hhhh", sample, 0, q[0], q[1], q[2], q[3])
            off = 8
            flags = _status(self.fusion)
        if c & packet.CONTENT_GYR:
            off = pack_scaled3(sample, off, self.og, _GYR_MUL, _SHIFT)
        if c & packet.CONTENT_ACC:
            off = pack_scaled3(sample, off, self.oa, _ACC_MUL, _SHIFT)
        if c & packet.CONTENT_MAG:
            pack_scaled3(sample, off, self.m, _MAG_MUL, _SHIFT)
        return flags
