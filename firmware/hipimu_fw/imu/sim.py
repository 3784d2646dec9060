"""A simulated IMU (status type 4): a 0.5 Hz, +-30 deg swing about the sensor x axis.

For running the firmware on a bare board (no IMU wired) and for the tests of the main
loop. The quaternions are tabulated as Q14 ints once, so ``read`` allocates nothing.
"""

import math
import struct

from hipimu_fw import packet
from hipimu_fw.imu import IMU_SIMULATED


class SimImu:
    kind = IMU_SIMULATED
    supported = packet.CONTENT_QUAT | packet.CONTENT_GYR | packet.CONTENT_ACC
    ranges = packet.ranges_byte(4, 1, 0)

    def __init__(self, rate_hz=100, content=packet.CONTENT_QUAT):
        self.errors = 0
        self.i = 0
        self.configure(rate_hz, content)

    def begin(self, rate_hz=100, content=packet.CONTENT_QUAT):
        self.configure(rate_hz, content)
        return True

    def configure(self, rate_hz, content):
        if content & ~self.supported or not content:
            raise ValueError("content")
        self.content = content
        n = int(rate_hz * 2)  # one 2 s period
        self.n = n
        self.qw = [0] * n
        self.qx = [0] * n
        self.gx = [0] * n
        amp = math.radians(30.0)
        w = 2 * math.pi / 2.0
        for k in range(n):
            a = amp * math.sin(w * k / rate_hz)
            self.qw[k] = round(math.cos(a / 2) * 16384)
            self.qx[k] = round(math.sin(a / 2) * 16384)
            rate = amp * w * math.cos(w * k / rate_hz)  # rad/s
            self.gx[k] = round(rate / math.radians(2000) * 32768)
        self.i = 0

    def tare(self):
        self.i = 0

    def read(self, sample):
        k = self.i
        self.i = k + 1 if k + 1 < self.n else 0
        off = 0
        c = self.content
        if c & packet.CONTENT_QUAT:
            struct.pack_into("<hhhh", sample, 0, self.qw[k], self.qx[k], 0, 0)
            off = 8
        if c & packet.CONTENT_GYR:
            struct.pack_into("<hhh", sample, off, self.gx[k], 0, 0)
            off += 6
        if c & packet.CONTENT_ACC:
            struct.pack_into("<hhh", sample, off, 0, 0, 8192)
        return 3
