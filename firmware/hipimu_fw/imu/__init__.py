"""IMU drivers: each fills one sample in wire layout per tick, without allocating.

Driver interface (``bno085.BNO085``, ``lsm6dsox.RawImu``, ``sim.SimImu``):

- ``kind``: IMU type code of the status characteristic (1 BNO085, 2 LSM6DSOX,
  3 LSM6DSOX + LIS3MDL, 4 simulated).
- ``supported``: content mask the driver can fill; ``ranges``: the ranges byte it declares.
- ``configure(rate_hz, content)``: set up the sensor for a rate and content mask.
- ``read(sample)``: write one sample (the blocks of ``content``, in wire order) into the
  bytearray ``sample``; returns the flags byte (calibration, rest, magnetic disturbance)
  or -1 when the bus failed (the caller counts it and skips the tick).
- ``tare()``; ``errors``: bus error count.

Raw blocks are rescaled to the declared full scale with integer arithmetic (``scale``),
since the sensors' real sensitivities differ from ``full scale / 32768`` (the LSM6DSOX
gyro at +-1000 deg/s is 35 mdeg/s per count, i.e. 1147 deg/s at 32768 counts).
"""

import struct

IMU_UNKNOWN = 0
IMU_BNO085 = 1
IMU_LSM6DSOX = 2
IMU_LSM6DSOX_LIS3MDL = 3
IMU_SIMULATED = 4


def s16(buf, i):
    """Signed little-endian int16 at ``buf[i]`` (small-int arithmetic: no allocation)."""
    v = buf[i] | (buf[i + 1] << 8)
    return v - 65536 if v & 0x8000 else v


def scale(v, mul, shift):
    """``round(v * mul / 2**shift)`` saturated to int16 (``|v * mul|`` must stay < 2**30)."""
    r = (v * mul + (1 << (shift - 1))) >> shift
    if r > 32767:
        return 32767
    if r < -32768:
        return -32768
    return r


def pack_scaled3(buf, off, v, mul, shift):
    """Write ``scale(v[i], mul, shift)`` for i = 0..2 as int16 at ``off`` in ``buf``;
    returns the next offset. Allocation-free with small-int inputs."""
    struct.pack_into(
        "<hhh", buf, off, scale(v[0], mul, shift), scale(v[1], mul, shift), scale(v[2], mul, shift)
    )
    return off + 6


def factor(x, shift):
    """The integer multiplier for ``scale`` approximating the real factor ``x``."""
    return int(x * (1 << shift) + 0.5)
