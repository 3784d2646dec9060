"""On-sensor orientation filter for raw-only IMUs: Mahony with gyro-bias estimation.

Mahony, Hamel & Pflimlin 2008 (IEEE TAC 53:1203), explicit complementary filter: the
error between measured and predicted gravity (and magnetic field) drives a proportional
correction and an integral term that converges to the negative gyro bias. Output
``q_ES`` scalar first, earth frame ENU (x east, y magnetic north, z up) in 9D; in 6D
z up with a drifting heading.

Additions: a rest detector (gyro below 0.05 rad/s and |acc| within 5 % of 1 g for
0.5 s) raises ``rest`` and learns the bias 10x faster; a magnetic-disturbance check
(|mag| more than 25 % off its reference norm) skips the magnetometer and raises
``mag_disturbed``; a fast start (kp 10 for the first second) converges from identity.

Pure Python, in floats: the readable reference. Float arithmetic allocates a boxed float
per operation on the ESP32 (and in the VM), ~3.4 KB per update, so the firmware runs
``fusion_int.MahonyInt``, the same filter in integer arithmetic, and the tests check the
two against each other.
"""

import math


class Mahony:
    def __init__(self, rate_hz=100.0, kp=1.0, ki=0.05):
        self.dt = 1.0 / rate_hz
        self.kp = kp
        self.ki = ki
        self.reset()

    def reset(self):
        self.q0 = 1.0
        self.q1 = 0.0
        self.q2 = 0.0
        self.q3 = 0.0
        self.bx = 0.0  # integral term (the negative of the gyro bias estimate), rad/s
        self.by = 0.0
        self.bz = 0.0
        self.n = 0
        self.rest_count = 0
        self.rest = False
        self.rest_seen = 0.0  # seconds of rest seen: drives the calibration state
        self.mag_ref = 0.0
        self.mag_disturbed = False
        self.mag_used = False

    def calibration(self):
        """0..3 like the protocol's calibration bits."""
        if self.n < 50:
            return 0
        if self.rest_seen < 2.0:
            return 1
        return 3 if self.mag_used and not self.mag_disturbed else 2

    def update(self, gx, gy, gz, ax, ay, az, mx=0.0, my=0.0, mz=0.0, use_mag=False):
        """One step: gyro in rad/s, acc in any unit (1 g expected at rest), mag any unit."""
        dt = self.dt
        q0 = self.q0
        q1 = self.q1
        q2 = self.q2
        q3 = self.q3
        self.n += 1
        fast = self.n * dt < 1.0
        kp = 10.0 if fast else self.kp
        ki = self.ki
        # rest detection
        anorm = math.sqrt(ax * ax + ay * ay + az * az)
        gnorm2 = gx * gx + gy * gy + gz * gz
        if gnorm2 < 0.0025 and abs(anorm - 9.80665) < 0.49:
            self.rest_count += 1
        else:
            self.rest_count = 0
        self.rest = self.rest_count * dt >= 0.5
        if self.rest:
            ki *= 10.0
            self.rest_seen += dt
        ex = 0.0
        ey = 0.0
        ez = 0.0
        if anorm > 0.0:
            ax /= anorm
            ay /= anorm
            az /= anorm
            # earth z (up) in the sensor frame: third row of R(q)
            vx = 2.0 * (q1 * q3 - q0 * q2)
            vy = 2.0 * (q0 * q1 + q2 * q3)
            vz = q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3
            ex = ay * vz - az * vy
            ey = az * vx - ax * vz
            ez = ax * vy - ay * vx
        self.mag_used = False
        if use_mag:
            mnorm = math.sqrt(mx * mx + my * my + mz * mz)
            if mnorm > 0.0:
                if self.mag_ref == 0.0:
                    self.mag_ref = mnorm
                self.mag_disturbed = abs(mnorm - self.mag_ref) > 0.25 * self.mag_ref
                if not self.mag_disturbed:
                    self.mag_ref += 0.001 * (mnorm - self.mag_ref)
                    mx /= mnorm
                    my /= mnorm
                    mz /= mnorm
                    # field in the earth frame: h = R m
                    hx = (1 - 2 * (q2 * q2 + q3 * q3)) * mx + 2 * (q1 * q2 - q0 * q3) * my
                    hx += 2 * (q1 * q3 + q0 * q2) * mz
                    hy = 2 * (q1 * q2 + q0 * q3) * mx + (1 - 2 * (q1 * q1 + q3 * q3)) * my
                    hy += 2 * (q2 * q3 - q0 * q1) * mz
                    hz = 2 * (q1 * q3 - q0 * q2) * mx + 2 * (q2 * q3 + q0 * q1) * my
                    hz += (1 - 2 * (q1 * q1 + q2 * q2)) * mz
                    b_n = math.sqrt(hx * hx + hy * hy)  # ENU: horizontal field along +y
                    b_u = hz
                    # predicted field in the sensor frame: R^T [0, b_n, b_u]
                    wx = b_n * 2 * (q1 * q2 + q0 * q3) + b_u * 2 * (q1 * q3 - q0 * q2)
                    wy = b_n * (1 - 2 * (q1 * q1 + q3 * q3)) + b_u * 2 * (q2 * q3 + q0 * q1)
                    wz = b_n * 2 * (q2 * q3 - q0 * q1) + b_u * (1 - 2 * (q1 * q1 + q2 * q2))
                    ex += my * wz - mz * wy
                    ey += mz * wx - mx * wz
                    ez += mx * wy - my * wx
                    self.mag_used = True
        if not fast:
            self.bx += ki * ex * dt
            self.by += ki * ey * dt
            self.bz += ki * ez * dt
        gx += kp * ex + self.bx
        gy += kp * ey + self.by
        gz += kp * ez + self.bz
        h = 0.5 * dt
        gx *= h
        gy *= h
        gz *= h
        n0 = q0 - q1 * gx - q2 * gy - q3 * gz
        n1 = q1 + q0 * gx + q2 * gz - q3 * gy
        n2 = q2 + q0 * gy - q1 * gz + q3 * gx
        n3 = q3 + q0 * gz + q1 * gy - q2 * gx
        r = 1.0 / math.sqrt(n0 * n0 + n1 * n1 + n2 * n2 + n3 * n3)
        self.q0 = n0 * r
        self.q1 = n1 * r
        self.q2 = n2 * r
        self.q3 = n3 * r

    def bias(self):
        """Current gyro-bias estimate (rad/s)."""
        return (-self.bx, -self.by, -self.bz)

    def tare_heading(self):
        """Remove the current heading (rotation about earth z), keeping tilt."""
        q0, q3 = self.q0, self.q3
        yaw_half = math.atan2(q3, q0)
        c = math.cos(-yaw_half)
        s = math.sin(-yaw_half)
        # q <- (c, 0, 0, s) * q
        n0 = c * self.q0 - s * self.q3
        n1 = c * self.q1 - s * self.q2
        n2 = c * self.q2 + s * self.q1
        n3 = c * self.q3 + s * self.q0
        self.q0, self.q1, self.q2, self.q3 = n0, n1, n2, n3
