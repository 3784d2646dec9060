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

On-sensor fusion: ``fusion_int.MahonyInt`` on the raw counts (integer arithmetic: the
quaternion path allocates nothing either).

Wire scaling: gyro declared 2000 deg/s (code 4), acc 4 g (code 1), mag 400 uT (code 0).
``MAG_AXES`` maps the magnetometer's axes onto the accelerometer/gyro frame (identity
for boards that mount both chips aligned, e.g. Adafruit 4517); adjust for other boards.
"""

import struct

from hipimu_fw import packet
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


class RawImu:
    """LSM6DSOX with an optional LIS3MDL; on-sensor Mahony fusion when a quaternion is asked."""

    ranges = RANGES

    def __init__(self, i2c, addr=LSM_ADDR, mag_addr=MAG_ADDR):
        self.i2c = i2c
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
        odr = ODR_CODE[rate_hz]
        self._w(self.addr, CTRL3_C, 0x44)  # BDU, IF_INC
        self._w(self.addr, CTRL1_XL, (odr << 4) | FS_XL_4G)
        self._w(self.addr, CTRL2_G, (odr << 4) | FS_G_1000)
        if self.has_mag:
            self._w(self.mag_addr, CTRL_REG1, 0x62)  # UHP x/y, FAST_ODR: 155 Hz
            self._w(self.mag_addr, CTRL_REG2, 0x00)  # +-4 gauss
            self._w(self.mag_addr, CTRL_REG4, 0x0C)  # UHP z
            self._w(self.mag_addr, CTRL_REG5, 0x40)  # BDU
            self._w(self.mag_addr, CTRL_REG3, 0x00)  # continuous conversion
        self.fusion = MahonyInt(rate_hz, _GYR_RAD, ACC_ONE_G)

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
            flags = f.calibration()
            if f.rest:
                flags |= packet.FLAG_REST
            if f.mag_disturbed:
                flags |= packet.FLAG_MAG_DISTURBED
        if c & packet.CONTENT_GYR:
            off = pack_scaled3(sample, off, g, _GYR_MUL, _SHIFT)
        if c & packet.CONTENT_ACC:
            off = pack_scaled3(sample, off, a, _ACC_MUL, _SHIFT)
        if c & packet.CONTENT_MAG:
            pack_scaled3(sample, off, m, _MAG_MUL, _SHIFT)
        return flags
