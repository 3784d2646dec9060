"""Mahony filter in integer arithmetic: the raw-IMU path without allocating.

The same filter as ``fusion.Mahony`` (explicit complementary filter with a gyro-bias
integral, rest detection, magnetic-disturbance check, fast start; ENU, ``q_ES``), but
every quantity is a small int, so nothing is boxed on MicroPython (floats are heap
objects there: the float version leaves ~3.6 KB of garbage per update). All products
stay below 2**30, MicroPython's small-int range on 32-bit ports; the tests run it under
``micropython.heap_lock()``, which turns any big int into an error.

Formats: quaternion Q28; unit vectors and rotation-matrix entries Q14; the correction
error Q14; the gyro-bias integral in gyro counts Q20; the integration step (half angle
per sample, radians) Q28, computed from counts with a fixed-point factor.

Inputs are the sensors' raw counts: ``gyr_rad_per_count`` gives the gyro scale, and
``acc_one_g`` the accelerometer counts at 1 g (the magnetometer's scale cancels out).
"""

import math

_ONE = 1 << 28
_E_MAX = 16384
_BIAS_MAX = 1 << 29
_EPS_OK = 64  # |q|^2 - 1 below 2.4e-7: no renormalisation needed


def isqrt(n, x):
    """Integer square root of ``n`` >= 0 by Newton's method from the guess ``x``."""
    if n <= 0:
        return 0
    if x <= 0:
        x = 1
    for _ in range(40):
        y = (x + n // x) >> 1
        if y == x or y == x + 1:
            return x
        if y == x - 1:
            return y
        x = y
    return x


def _m(ah, al, bh, bl):
    """``(a * b) >> 28`` from the 14-bit halves of ``a`` and ``b`` (a = ah << 14 | al)."""
    return ah * bh + ((ah * bl + al * bh) >> 14)


class MahonyInt:
    def __init__(self, rate_hz, gyr_rad_per_count, acc_one_g, kp=1.0, ki=0.05):
        dt = 1.0 / rate_hz
        self.rate_hz = rate_hz
        self.rpc = gyr_rad_per_count
        kg = round(gyr_rad_per_count * dt / 2 * _ONE)
        self.kg = kg if kg > 0 else 1
        f = 0
        while 65600 * self.kg * (1 << (f + 1)) < (1 << 30):
            f += 1
        self.f = f
        self.kpm, self.kps = self._gain(kp)
        self.kpm_fast, self.kps_fast = self._gain(10.0)
        self.kiq = round(ki * dt / (gyr_rad_per_count * 16384) * (1 << 20))
        self.kiq_rest = 10 * self.kiq
        self.g_rest = round(0.05 / gyr_rad_per_count)
        self.a_one = acc_one_g >> 2
        self.n_fast = int(rate_hz)
        self.n_rest = int(rate_hz / 2)
        self.n_cal = int(rate_hz / 2)
        self.n_rest_cal = int(rate_hz * 2)
        self.reset()

    def _gain(self, k):
        """(multiplier, shift) turning a Q14 error into Q``f`` gyro counts for gain ``k``."""
        real = k / (self.rpc * 16384) * (1 << self.f)
        s = 0
        while real * (1 << (s + 1)) < 16384 and s < 24:
            s += 1
        return round(real * (1 << s)), s

    def reset(self):
        self.q0 = _ONE
        self.q1 = 0
        self.q2 = 0
        self.q3 = 0
        self.bx = 0  # integral term, gyro counts Q20 (the negative of the bias)
        self.by = 0
        self.bz = 0
        self.n = 0
        self.rest_count = 0
        self.rest = False
        self.rest_seen = 0
        self.mag_ref = 0
        self.mag_disturbed = False
        self.mag_used = False
        self._an = 2048
        self._mn = 2048
        self._bn = 16384

    def calibration(self):
        if self.n < self.n_cal:
            return 0
        if self.rest_seen < self.n_rest_cal:
            return 1
        return 3 if self.mag_used and not self.mag_disturbed else 2

    def q14(self, i):
        """Component ``i`` (0 = w) in Q14, rounded."""
        q = self.q0 if i == 0 else self.q1 if i == 1 else self.q2 if i == 2 else self.q3
        return (q + 8192) >> 14

    def bias(self):
        """Gyro-bias estimate in rad/s (floats: for tests and status, not the hot path)."""
        k = self.rpc / (1 << 20)
        return (-self.bx * k, -self.by * k, -self.bz * k)

    def update(self, gx, gy, gz, ax, ay, az, mx=0, my=0, mz=0, use_mag=False):
        """One step from raw counts (ints)."""
        q0 = self.q0
        q1 = self.q1
        q2 = self.q2
        q3 = self.q3
        if self.n < 0x3FFFFFF:
            self.n += 1
        fast = self.n < self.n_fast
        # accelerometer, scaled down so that squares stay small ints
        ax >>= 2
        ay >>= 2
        az >>= 2
        an = isqrt(ax * ax + ay * ay + az * az, self._an)
        self._an = an
        gr = self.g_rest
        one = self.a_one
        if -gr < gx < gr and -gr < gy < gr and -gr < gz < gr and -one // 20 < an - one < one // 20:
            if self.rest_count < 0x3FFFFFF:
                self.rest_count += 1
        else:
            self.rest_count = 0
        self.rest = self.rest_count >= self.n_rest
        if self.rest and self.rest_seen < 0x3FFFFFF:
            self.rest_seen += 1
        h0 = q0 >> 14
        h1 = q1 >> 14
        h2 = q2 >> 14
        h3 = q3 >> 14
        ex = 0
        ey = 0
        ez = 0
        if an > 0:
            ux = (ax << 14) // an
            uy = (ay << 14) // an
            uz = (az << 14) // an
            # earth z (up) in the sensor frame, Q14: third row of R(q)
            vx = (h1 * h3 - h0 * h2) >> 13
            vy = (h0 * h1 + h2 * h3) >> 13
            vz = (h0 * h0 - h1 * h1 - h2 * h2 + h3 * h3) >> 14
            ex = (uy * vz - uz * vy) >> 14
            ey = (uz * vx - ux * vz) >> 14
            ez = (ux * vy - uy * vx) >> 14
        self.mag_used = False
        if use_mag:
            mx >>= 2
            my >>= 2
            mz >>= 2
            mn = isqrt(mx * mx + my * my + mz * mz, self._mn)
            self._mn = mn
            if mn > 0:
                if self.mag_ref == 0:
                    self.mag_ref = mn
                d = mn - self.mag_ref
                self.mag_disturbed = d > self.mag_ref >> 2 or -d > self.mag_ref >> 2
                if not self.mag_disturbed:
                    self.mag_ref += (d + 32) >> 6
                    mx = (mx << 14) // mn
                    my = (my << 14) // mn
                    mz = (mz << 14) // mn
                    r00 = 16384 - ((h2 * h2 + h3 * h3) >> 13)
                    r01 = (h1 * h2 - h0 * h3) >> 13
                    r02 = (h1 * h3 + h0 * h2) >> 13
                    r10 = (h1 * h2 + h0 * h3) >> 13
                    r11 = 16384 - ((h1 * h1 + h3 * h3) >> 13)
                    r12 = (h2 * h3 - h0 * h1) >> 13
                    r20 = (h1 * h3 - h0 * h2) >> 13
                    r21 = (h2 * h3 + h0 * h1) >> 13
                    r22 = 16384 - ((h1 * h1 + h2 * h2) >> 13)
                    # field in the earth frame
                    hx = (r00 * mx + r01 * my + r02 * mz) >> 14
                    hy = (r10 * mx + r11 * my + r12 * mz) >> 14
                    hz = (r20 * mx + r21 * my + r22 * mz) >> 14
                    bn = isqrt(hx * hx + hy * hy, self._bn)  # ENU: horizontal field on +y
                    self._bn = bn
                    # predicted field in the sensor frame: R^T [0, bn, hz]
                    wx = (r10 * bn + r20 * hz) >> 14
                    wy = (r11 * bn + r21 * hz) >> 14
                    wz = (r12 * bn + r22 * hz) >> 14
                    ex += (my * wz - mz * wy) >> 14
                    ey += (mz * wx - mx * wz) >> 14
                    ez += (mx * wy - my * wx) >> 14
                    self.mag_used = True
        ex = _E_MAX if ex > _E_MAX else -_E_MAX if ex < -_E_MAX else ex
        ey = _E_MAX if ey > _E_MAX else -_E_MAX if ey < -_E_MAX else ey
        ez = _E_MAX if ez > _E_MAX else -_E_MAX if ez < -_E_MAX else ez
        if not fast:
            ki = self.kiq_rest if self.rest else self.kiq
            b = self.bx + ex * ki
            self.bx = _BIAS_MAX if b > _BIAS_MAX else -_BIAS_MAX if b < -_BIAS_MAX else b
            b = self.by + ey * ki
            self.by = _BIAS_MAX if b > _BIAS_MAX else -_BIAS_MAX if b < -_BIAS_MAX else b
            b = self.bz + ez * ki
            self.bz = _BIAS_MAX if b > _BIAS_MAX else -_BIAS_MAX if b < -_BIAS_MAX else b
        f = self.f
        if fast:
            km = self.kpm_fast
            ks = self.kps_fast
        else:
            km = self.kpm
            ks = self.kps
        bs = 20 - f
        kg = self.kg
        # corrected rate in Q``f`` counts -> half-angle step in Q28
        wx = (((gx << f) + (self.bx >> bs) + ((ex * km) >> ks)) * kg) >> f
        wy = (((gy << f) + (self.by >> bs) + ((ey * km) >> ks)) * kg) >> f
        wz = (((gz << f) + (self.bz >> bs) + ((ez * km) >> ks)) * kg) >> f
        xh = wx >> 14
        xl = wx & 0x3FFF
        yh = wy >> 14
        yl = wy & 0x3FFF
        zh = wz >> 14
        zl = wz & 0x3FFF
        l0 = q0 & 0x3FFF
        l1 = q1 & 0x3FFF
        l2 = q2 & 0x3FFF
        l3 = q3 & 0x3FFF
        # q <- q + q (x) (0, w): Hamilton product with the pure quaternion of the step
        n0 = q0 - _m(h1, l1, xh, xl) - _m(h2, l2, yh, yl) - _m(h3, l3, zh, zl)
        n1 = q1 + _m(h0, l0, xh, xl) + _m(h2, l2, zh, zl) - _m(h3, l3, yh, yl)
        n2 = q2 + _m(h0, l0, yh, yl) - _m(h1, l1, zh, zl) + _m(h3, l3, xh, xl)
        n3 = q3 + _m(h0, l0, zh, zl) + _m(h1, l1, yh, yl) - _m(h2, l2, xh, xl)
        # renormalise: q <- q (1 - (|q|^2 - 1) / 2), a Newton step towards |q| = 1; one
        # step is exact to ~1e-12 for normal sample steps, large steps take a few
        for _ in range(8):
            a0 = n0 >> 14
            b0 = n0 & 0x3FFF
            a1 = n1 >> 14
            b1 = n1 & 0x3FFF
            a2 = n2 >> 14
            b2 = n2 & 0x3FFF
            a3 = n3 >> 14
            b3 = n3 & 0x3FFF
            eps = _m(a0, b0, a0, b0) + _m(a1, b1, a1, b1) + _m(a2, b2, a2, b2)
            eps += _m(a3, b3, a3, b3) - _ONE
            if -_EPS_OK < eps < _EPS_OK:
                break
            e2 = eps >> 1
            eh = e2 >> 14
            el = e2 & 0x3FFF
            n0 -= _m(a0, b0, eh, el)
            n1 -= _m(a1, b1, eh, el)
            n2 -= _m(a2, b2, eh, el)
            n3 -= _m(a3, b3, eh, el)
        self.q0 = n0
        self.q1 = n1
        self.q2 = n2
        self.q3 = n3

    def tare_heading(self):
        """Remove the current heading (control path: floats allowed)."""
        w = self.q0 / _ONE
        x = self.q1 / _ONE
        y = self.q2 / _ONE
        z = self.q3 / _ONE
        half = math.atan2(z, w)
        c = math.cos(-half)
        s = math.sin(-half)
        self.q0 = round((c * w - s * z) * _ONE)
        self.q1 = round((c * x - s * y) * _ONE)
        self.q2 = round((c * y + s * x) * _ONE)
        self.q3 = round((c * z + s * w) * _ONE)
