"""numpy reference of the orientation filter in ``hipimu._core`` (filter_core.c).

A line-by-line Python transcription of the C filter (a port of VQF by D. Laidig and
T. Seel, Information Fusion 91:187-204, 2023, MIT licensed, extended with hard-iron and
gyroscope scale/misalignment estimation, time steps and gap handling; see docs/fusion.md).
It is slow (a Python loop per sample) and exists so that tests can compare the C filter
with an independent transcription on short sequences. Parameters are the same vector as
:func:`hipimu.orientation.filter.make_params` builds.
"""

from __future__ import annotations

import math

import numpy as np

from hipimu.orientation.filter import (
    FLAG_ACC_SKIPPED,
    FLAG_GAP,
    FLAG_MAG_DISTURBED,
    FLAG_MAG_SKIPPED,
    FLAG_REST,
    PARAM_NAMES,
)
from hipimu.reference.quaternion import multiply

EPS = float(np.finfo(float).eps)
DEG = math.pi / 180.0


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of two quaternions ``(4,)`` (the numpy reference kernel)."""
    return multiply(a, b)[0]


def qmat(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion (v_earth = R v_sensor)."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (w * y + x * z)],
            [2 * (w * z + x * y), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (w * x + y * z), 1 - 2 * (x * x + y * y)],
        ]
    )


def normalized(v: np.ndarray) -> np.ndarray:
    n = math.sqrt(float(np.dot(v, v)))
    return v if n < EPS else v / n


def apply_delta(q: np.ndarray, d: float) -> np.ndarray:
    return qmul(np.array([math.cos(d / 2), 0.0, 0.0, math.sin(d / 2)]), q)


def gain_from_tau(tau: float, ts: float) -> float:
    if tau < 0:
        return 0.0
    if tau == 0:
        return 1.0
    return 1.0 - math.exp(-ts / tau)


def lp_coeffs(tau: float, ts: float) -> tuple[np.ndarray, np.ndarray]:
    """Second-order Butterworth low-pass with time constant tau (VQF's filterCoeffs)."""
    if tau < ts / 2:
        return np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0])
    fc = (math.sqrt(2) / (2 * math.pi)) / tau
    c = math.tan(math.pi * fc * ts)
    d = c * c + math.sqrt(2) * c + 1
    b0 = c * c / d
    return np.array([b0, 2 * b0, b0]), np.array(
        [2 * (c * c - 1) / d, (1 - math.sqrt(2) * c + c * c) / d]
    )


class LowPass:
    """n-channel filter; the first tau seconds output the running mean, which seeds it."""

    def __init__(self, n: int) -> None:
        self.s = np.zeros((n, 2))
        self.sum = np.zeros(n)
        self.count = 0.0
        self.ready = False

    def init_state(self, y: np.ndarray, b: np.ndarray, a: np.ndarray) -> None:
        self.s[:, 0] = y * (1 - b[0])
        self.s[:, 1] = y * (b[2] - a[1])
        self.ready = True

    def step(self, x: np.ndarray, tau: float, ts: float, b: np.ndarray, a: np.ndarray):
        x = np.asarray(x, dtype=float)
        if not self.ready:
            self.count += 1
            self.sum += x
            out = self.sum / self.count
            if self.count * ts >= tau:
                self.init_state(out, b, a)
            return out
        y = b[0] * x + self.s[:, 0]
        self.s[:, 0] = b[1] * x - a[0] * y + self.s[:, 1]
        self.s[:, 1] = b[2] * x - a[1] * y
        return y


def clip(v: np.ndarray, lim: float) -> np.ndarray:
    return np.clip(v, -lim, lim)


def inv3(m: np.ndarray) -> np.ndarray | None:
    det = float(np.linalg.det(m))
    if -EPS <= det <= EPS:
        return None
    return np.linalg.inv(m)


def _moments(a: float, x: np.ndarray) -> np.ndarray:
    """The moments of a scalar a and a 3-vector x that give the variance of a + c.x:
    a, a^2, x, a x, x x^T (xx yy zz xy xz yz), as filter_core.c sums them."""
    xx = np.outer(x, x)
    return np.concatenate(
        [[a, a * a], x, a * x, [xx[0, 0], xx[1, 1], xx[2, 2], xx[0, 1], xx[0, 2], xx[1, 2]]]
    )


def _moments_var(sums: np.ndarray, w: float, c: np.ndarray) -> float:
    """Variance of a + c.x over the samples whose moments (weight w) are ``sums``."""
    m = sums / w
    mx = m[2:5]
    cov_ax = m[5:8] - m[0] * mx
    xx = np.array([[m[8], m[11], m[12]], [m[11], m[9], m[13]], [m[12], m[13], m[10]]])
    cov_x = xx - np.outer(mx, mx)
    return float(m[1] - m[0] ** 2 + 2.0 * c @ cov_ax + c @ cov_x @ c)


class ReferenceFilter:
    """The filter state and update steps, as in filter_core.c."""

    def __init__(self, params: np.ndarray, rate_hz: float) -> None:
        p = dict(zip(PARAM_NAMES, (float(v) for v in params), strict=True))
        self.p = p
        ts = 1.0 / rate_hz
        self.ts = ts
        decim = round(rate_hz / max(p["correction_rate_hz"], 1e-3))
        self.corr_decim = min(max(decim, 1), 1000)
        cts = ts * self.corr_decim
        self.corr_ts = cts
        self.acc_b, self.acc_a = lp_coeffs(p["tau_acc"], ts)
        self.cal_on = p["gyro_cal_sigma"] > 0 and (p["motion_bias"] != 0 or p["rest_bias"] != 0)
        self.cal_u = (0.01 * DEG) ** 2  # VQF's bias covariance unit in (rad/s)^2
        self.cal_s0 = (p["gyro_cal_sigma"] * 0.01) ** 2
        self.cal_clip = p["gyro_cal_clip"] * 0.01
        brate = p["gyro_cal_rate_hz"] if self.cal_on else p["bias_rate_hz"]
        bdecim = round(p["correction_rate_hz"] / max(brate, 1e-3))
        self.bias_decim = min(max(bdecim, 1), 1000)
        self.bias_ts = cts * self.bias_decim
        self.bias_lp_b, self.bias_lp_a = lp_coeffs(p["tau_acc"], self.bias_ts)
        self.k_mag = gain_from_tau(p["tau_mag"], cts)
        self.bias_p0 = (p["bias_sigma_init"] * 100) ** 2
        self.bias_v = (0.1 * 100) ** 2 * ts / p["bias_forgetting_time"]
        pm = (p["bias_sigma_motion"] * 100) ** 2
        self.bias_motion_w = pm**2 / self.bias_v + pm
        self.bias_vertical_w = self.bias_motion_w / max(p["bias_vertical_forgetting"], 1e-10)
        pr = (p["bias_sigma_rest"] * 100) ** 2
        self.bias_rest_w = pr**2 / self.bias_v + pr
        self.bias_clip = p["bias_clip"] * DEG
        self.rest_b, self.rest_a = lp_coeffs(p["rest_filter_tau"], ts)
        self.k_mag_ref = gain_from_tau(p["mag_ref_tau"], cts)
        if p["mag_current_tau"] > 0:
            self.magnd_b, self.magnd_a = lp_coeffs(p["mag_current_tau"], cts)
        self.hi_cos_half_angle = math.cos(0.5 * p["hard_iron_min_angle"] * DEG)
        self.reset()

    def reset(self) -> None:
        p = self.p
        self.gyr_quat = np.array([1.0, 0, 0, 0])
        self.acc_quat = np.array([1.0, 0, 0, 0])
        self.delta = 0.0
        self.rest_detected = False
        self.mag_dist_detected = True
        self.acc_lp = LowPass(3)
        self.last_acc_lp = np.zeros(3)
        self.k_mag_init = 1.0
        self.bias = np.zeros(3)
        self.bias_p = np.eye(3) * self.bias_p0
        self.motion_r_lp = LowPass(9)
        self.motion_b_lp = LowPass(2)
        self.rest_t = 0.0
        self.rest_gyr_lp = np.zeros(3)
        self.rest_gyr_lpf = LowPass(3)
        self.rest_acc_lpf = LowPass(3)
        # bias, bias_p, M, cal_p at rest start
        self.rest_anchor: tuple[np.ndarray, ...] | None = None
        # gyro error matrix M (omega = gyr - bias - M gyr) and the covariance of [bias, M]
        self.cal_m = np.zeros(9)
        self.cal_p = np.diag([self.bias_p0 * self.cal_u] * 3 + [self.cal_s0] * 9)
        self.cal_hm = np.zeros(18)  # bias-block sums of R[r, i] * gyr[j], r = 0, 1
        self.cal_n = 0.0
        self.cal_wsum = np.zeros(3)  # sum of the gyro samples of the correction block
        self.cal_hm_lp = LowPass(18)
        self.cal_rmw_lp = LowPass(2)
        self.mag_ref_norm = 0.0
        self.mag_ref_dip = 0.0
        self.mag_undisturbed_t = 0.0
        self.mag_reject_t = p["mag_max_rejection_time"]
        self.mag_cand_norm = -1.0
        self.mag_cand_dip = 0.0
        self.mag_cand_t = 0.0
        self.magnd_lp = LowPass(2)
        self.hi_init = False
        self.hi_scale = 0.0
        self.hi_b = np.zeros(3)
        self.hi_p = np.zeros((3, 3))
        self.hi_qa = np.zeros(4)
        self.hi_ma = np.zeros(3)
        self.hi_dt = 0.0
        self.hi_age = 0.0
        self.hi_rej = 0
        self.hi_active = False
        self.hi_evidence_clear()
        self.acc_new = False
        self.acc_aligned = False
        self.acc_last_corr = np.zeros(2)
        self.bias_angle = np.zeros(2)
        self.bias_t = 0.0
        self.bias_n = 0.0
        self.bias_count = 0
        self.mag_new = False
        self.last_mag = np.zeros(3)
        self.mag_gyr_quat = np.array([1.0, 0, 0, 0])
        self.mag_sum = np.zeros(3)
        self.mag_n = 0.0
        self.corr_count = self.corr_decim - 1
        self.corr_t = 0.0
        self.pending_dt = 0.0

    def quat6d(self) -> np.ndarray:
        return qmul(self.acc_quat, self.gyr_quat)

    def quat9d(self) -> np.ndarray:
        return qmul(apply_delta(self.acc_quat, self.delta), self.gyr_quat)

    def update_gyr(self, gyr: np.ndarray, dt: float) -> None:
        p = self.p
        if p["rest_bias"] != 0 or p["mag_rejection"] != 0:
            self.rest_gyr_lp = self.rest_gyr_lpf.step(
                gyr, p["rest_filter_tau"], self.ts, self.rest_b, self.rest_a
            )
            dev = float(np.sum((gyr - self.rest_gyr_lp) ** 2))
            if dev >= (p["rest_th_gyr"] * DEG) ** 2 or np.any(
                np.abs(self.rest_gyr_lp) > self.bias_clip
            ):
                self.rest_t = 0.0
                self.rest_detected = False
        g = gyr - self.bias
        if self.cal_on:
            g = g - self.cal_m.reshape(3, 3) @ gyr
            self.cal_wsum += gyr
            self.cal_n += 1.0
        gn = math.sqrt(float(np.dot(g, g)))
        if gn > EPS:
            half = 0.5 * gn * dt
            s = math.sin(half) / gn
            step = np.array([math.cos(half), s * g[0], s * g[1], s * g[2]])
            self.gyr_quat = qmul(self.gyr_quat, step)

    def cal_block(self) -> None:
        """Rows x, y of R(q6) at the correction block's end times its summed gyro samples
        (filter_core.c: cal_block)."""
        r = qmat(self.quat6d())[:2]
        self.cal_hm += (r[:, :, None] * self.cal_wsum[None, None, :]).reshape(18)
        self.cal_wsum = np.zeros(3)

    def sample_acc(self, acc: np.ndarray, dt: float) -> None:
        p = self.p
        ts = self.ts
        if p["rest_bias"] != 0:
            lp = self.rest_acc_lpf.step(acc, p["rest_filter_tau"], ts, self.rest_b, self.rest_a)
            dev = float(np.sum((acc - lp) ** 2))
            if dev >= p["rest_th_acc"] ** 2:
                self.rest_t = 0.0
                self.rest_detected = False
            else:
                self.rest_t += dt
                if self.rest_t >= p["rest_min_t"]:
                    self.rest_detected = True
        v = qmat(self.gyr_quat) @ acc
        self.last_acc_lp = self.acc_lp.step(v, p["tau_acc"], ts, self.acc_b, self.acc_a)
        self.acc_new = True

    def _anchor(self) -> tuple[np.ndarray, ...]:
        return (self.bias.copy(), self.bias_p.copy(), self.cal_m.copy(), self.cal_p.copy())

    def rest_gate(self, dt: float) -> bool:
        """False (and the bias updates since the anchor undone) once the rest rate departs
        from the anchored bias by more than the gate (filter_core.c: rest_gate)."""
        p = self.p
        if self.rest_anchor is None:
            self.rest_anchor = self._anchor()
            self.rest_anchor_t = 0.0
        self.rest_anchor_t += dt
        bias0, p0, m0, cp0 = self.rest_anchor
        sigma = np.sqrt(np.maximum(np.diag(p0), 0.0)) * 0.01 * DEG
        limit = np.maximum(p["rest_bias_gate_min"] * DEG, p["rest_bias_gate"] * sigma)
        d = self.rest_gyr_lp - bias0
        if self.cal_on:
            d = d - m0.reshape(3, 3) @ self.rest_gyr_lp  # at rest the gyro reads b + M gyr
        if np.any(np.abs(d) > limit):
            self.bias, self.bias_p = bias0.copy(), p0.copy()
            if self.cal_on:
                self.cal_m, self.cal_p = m0.copy(), cp0.copy()
            self.rest_anchor = None
            self.rest_detected = False
            self.rest_t = 0.0
            return False
        if self.rest_anchor_t >= p["rest_min_t"]:
            self.rest_anchor = self._anchor()
            self.rest_anchor_t = 0.0
        return True

    def rest_update(self, nblk: float) -> bool:
        p = self.p
        rest = self.rest_detected and p["rest_bias"] != 0
        if not rest:
            self.rest_anchor = None
        elif p["rest_bias_gate"] > 0:
            rest = self.rest_gate(nblk * self.ts)
        return rest

    def update_bias(self, q6: np.ndarray, rate: np.ndarray, nblk: float) -> None:
        if self.cal_on:
            self.update_bias_cal(q6, rate, nblk)
            return
        p = self.p
        bts = self.bias_ts
        R = qmat(q6)
        blp = R[:2] @ self.bias
        R = self.motion_r_lp.step(R.reshape(9), p["tau_acc"], bts, self.bias_lp_b, self.bias_lp_a)
        R = R.reshape(3, 3)
        blp = self.motion_b_lp.step(blp, p["tau_acc"], bts, self.bias_lp_b, self.bias_lp_a)
        if self.rest_update(nblk):
            e = self.rest_gyr_lp - self.bias
            R = np.eye(3)
            w = np.full(3, self.bias_rest_w / nblk)
        elif p["motion_bias"] != 0:
            rb = R @ self.bias
            e = np.array([rate[0] + blp[0] - rb[0], rate[1] + blp[1] - rb[1], -rb[2]])
            w = np.array([self.bias_motion_w, self.bias_motion_w, self.bias_vertical_w]) / nblk
        else:
            e = np.zeros(3)
            w = np.full(3, -1.0)
        P = self.bias_p
        for i in range(3):
            if P[i, i] < self.bias_p0:
                P[i, i] += self.bias_v * nblk
        if w[0] >= 0:
            e = clip(e, self.bias_clip)
            mi = inv3(R @ P @ R.T + np.diag(w))
            if mi is None:
                mi = np.zeros((3, 3))
            K = P @ R.T @ mi
            self.bias = clip(self.bias + K @ e, self.bias_clip)
            self.bias_p = P - K @ R @ P

    def update_bias_cal(self, q6: np.ndarray, rate: np.ndarray, nblk: float) -> None:
        """The 12-state bias filter over x = [bias, M] (filter_core.c: update_bias_cal).

        In motion: corr_rate + LP(R b) + LP(R M gyr) = LP(R) b + LP(R (x) gyr) m (rows x, y;
        the vertical row is VQF's b_z = 0); at rest: rest_gyr_lp = b + M rest_gyr_lp.
        """
        p = self.p
        bts = self.bias_ts
        u = self.cal_u
        lpb, lpa = self.bias_lp_b, self.bias_lp_a
        R = qmat(q6)
        blp = R[:2] @ self.bias
        R = self.motion_r_lp.step(R.reshape(9), p["tau_acc"], bts, lpb, lpa).reshape(3, 3)
        blp = self.motion_b_lp.step(blp, p["tau_acc"], bts, lpb, lpa)
        hm = self.cal_hm / (self.cal_n if self.cal_n > 0 else 1.0)
        self.cal_hm = np.zeros(18)
        self.cal_n = 0.0
        rmw = hm.reshape(2, 9) @ self.cal_m  # block mean of R M gyr (M constant in a block)
        hm = self.cal_hm_lp.step(hm, p["tau_acc"], bts, lpb, lpa).reshape(2, 9)
        rmw = self.cal_rmw_lp.step(rmw, p["tau_acc"], bts, lpb, lpa)
        H = np.zeros((3, 12))
        update = True
        if self.rest_update(nblk):
            H[:, :3] = np.eye(3)
            for r in range(3):
                H[r, 3 + 3 * r : 6 + 3 * r] = self.rest_gyr_lp
            z = self.rest_gyr_lp.copy()
            w = np.full(3, self.bias_rest_w / nblk * u)
        elif p["motion_bias"] != 0:
            H[:, :3] = R
            H[:2, 3:] = hm
            z = np.array([rate[0] + blp[0] + rmw[0], rate[1] + blp[1] + rmw[1], 0.0])
            w = np.array([self.bias_motion_w, self.bias_motion_w, self.bias_vertical_w]) * (
                u / nblk
            )
        else:
            update = False
        P = self.cal_p
        for i in range(3):
            if P[i, i] < self.bias_p0 * u:
                P[i, i] += self.bias_v * nblk * u
        if update:
            x = np.concatenate([self.bias, self.cal_m])
            e = clip(z - H @ x, self.bias_clip)
            PHt = P @ H.T
            S = H @ PHt + np.diag(w)
            sc = float(np.trace(S)) / 3.0  # scaled: det(S) ~ 1e-25 would read as singular
            Si = inv3(S / sc) if sc > 0 else None
            if Si is not None:
                K = PHt @ (Si / sc)
                x = x + K @ e
                KHP = K @ PHt.T
                self.cal_p = P - 0.5 * (KHP + KHP.T)
                self.bias = clip(x[:3], self.bias_clip)
                self.cal_m = clip(x[3:], self.cal_clip)
        self.bias_p = self.cal_p[:3, :3] / u

    def correct_acc(self, block_t: float, nblk: float) -> None:
        p = self.p
        v = qmat(self.acc_quat) @ self.last_acc_lp
        n = math.sqrt(float(np.dot(v, v)))
        if not n > EPS:
            return
        if n + v[2] > 2e-12 * n:
            corr = np.array([n + v[2], v[1], -v[0], 0.0])
        else:
            corr = np.array([0.0, 1.0, 0.0, 0.0])
        self.acc_quat = qmul(corr, self.acc_quat)
        if not self.acc_aligned:  # the initial alignment: no drift, no bias measurement
            self.acc_quat = normalized(self.acc_quat)
            self.acc_aligned = True
            return
        turn = np.array([v[1], -v[0]]) / n  # the correction's rotation vector (x, y)
        if p["acc_lead"] > 0:
            # lead by a fraction of the last block's correction (C: filter_core.c)
            lead = p["acc_lead"] * self.acc_last_corr
            self.acc_quat = qmul(np.array([1.0, 0.5 * lead[0], 0.5 * lead[1], 0.0]), self.acc_quat)
            turn = turn + lead
        self.acc_last_corr = turn
        self.acc_quat = normalized(self.acc_quat)
        if p["motion_bias"] == 0 and p["rest_bias"] == 0:
            return
        self.bias_angle -= turn
        self.bias_t += block_t
        self.bias_n += nblk
        self.bias_count += 1
        if self.bias_count >= self.bias_decim:
            rate = self.bias_angle / self.bias_t
            nb = self.bias_n
            self.bias_angle = np.zeros(2)
            self.bias_t = 0.0
            self.bias_n = 0.0
            self.bias_count = 0
            self.update_bias(self.quat6d(), rate, nb)

    def update_hard_iron(self, q6: np.ndarray, mag: np.ndarray, dt: float) -> None:
        p = self.p
        self.hi_dt += dt
        self.hi_age += dt
        if not self.hi_init:
            s = math.sqrt(float(np.dot(mag, mag)))
            if not s > 0:
                return
            self.hi_scale = s
            self.hi_p = np.eye(3) * (p["hard_iron_sigma_init"] * s) ** 2
            self.hi_init = True
            self.hi_dt = 0.0
            self._hi_anchor(q6, mag)
            return
        w = float(np.dot(self.hi_qa, q6))
        if abs(w) > self.hi_cos_half_angle:
            if self.hi_age > p["hard_iron_max_age"]:
                self._hi_anchor(q6, mag)
            return
        s = self.hi_scale
        P = self.hi_p + np.eye(3) * (p["hard_iron_sigma_offset"] * s) ** 2 * self.hi_dt
        self.hi_p = P
        tau = p["hard_iron_evidence_time"]
        forget = math.exp(-self.hi_dt / tau) if tau > 0 else 0.0
        self.hi_ev_llr *= forget
        self.hi_ev_w *= forget
        self.hi_ev_m *= forget
        self.hi_ev_v *= forget
        self.hi_dt = 0.0
        rrel_t = qmat(q6).T @ qmat(self.hi_qa)
        H = np.eye(3) - rrel_t
        nu0 = mag - rrel_t @ self.hi_ma
        nu = nu0 - H @ self.hi_b
        S = H @ P @ H.T + np.eye(3) * 2.0 * (p["hard_iron_sigma_meas"] * s) ** 2
        Si = inv3(S)
        if Si is not None:
            d2 = float(nu @ Si @ nu)
            if d2 > p["hard_iron_gate"] ** 2:
                self.hi_rej += 1
                if self.hi_rej >= int(p["hard_iron_reset_count"]):
                    self.hi_b = np.zeros(3)
                    self.hi_p = np.eye(3) * (p["hard_iron_sigma_init"] * s) ** 2
                    self.hi_rej = 0
                    self.hi_evidence_clear()
            else:
                self.hi_rej = 0
                rn = 2.0 * (p["hard_iron_sigma_meas"] * s) ** 2
                self.hi_ev_llr += (float(nu0 @ nu0) - float(nu @ nu)) / (2.0 * rn)
                self.hi_ev_w += 1.0
                self.hi_ev_m += _moments(float(mag @ mag), mag)
                r = qmat(q6)[2]
                self.hi_ev_v += _moments(float(r @ mag), r)
                K = P @ H.T @ Si
                self.hi_b = self.hi_b + K @ nu
                P = P - K @ H @ P
                self.hi_p = 0.5 * (P + P.T)
        bn = math.sqrt(float(np.dot(self.hi_b, self.hi_b)))
        sig = math.sqrt(float(np.max(np.diag(self.hi_p))))
        if not self.hi_active:
            self.hi_active = bool(
                bn > p["hard_iron_min_offset"] * s
                and sig < p["hard_iron_max_sigma"] * s
                and self.hi_evidence(1.0)
            )
        else:
            self.hi_active = bool(
                bn > 0.5 * p["hard_iron_min_offset"] * s
                and sig < 2.0 * p["hard_iron_max_sigma"] * s
                and self.hi_evidence(0.5)
            )
        self._hi_anchor(q6, mag)

    def hi_evidence_clear(self) -> None:
        self.hi_ev_llr = 0.0  # log-likelihood ratio, offset against none
        self.hi_ev_w = 0.0  # (forgotten) number of pairs
        self.hi_ev_m = np.zeros(14)  # moments of |m|^2 and m
        self.hi_ev_v = np.zeros(14)  # moments of the vertical component r.m and r

    def hi_evidence(self, relax: float) -> bool:
        """Enough likelihood ratio, and a corrected field whose squared norm and vertical
        component vary less than the raw field's."""
        p = self.p
        w = self.hi_ev_w
        if not w > 2.0 or self.hi_ev_llr < relax * p["hard_iron_min_llr"]:
            return False
        b = self.hi_b
        vn0 = _moments_var(self.hi_ev_m, w, np.zeros(3))
        vnb = _moments_var(self.hi_ev_m, w, -2.0 * b)
        vv0 = _moments_var(self.hi_ev_v, w, np.zeros(3))
        vvb = _moments_var(self.hi_ev_v, w, -b)
        ratio = 1.0 if relax < 1.0 else p["hard_iron_norm_ratio"]
        return bool(vnb <= ratio * vn0 and vvb <= vv0)

    def _hi_anchor(self, q6: np.ndarray, mag: np.ndarray) -> None:
        self.hi_qa = q6.copy()
        self.hi_ma = np.array(mag, dtype=float)
        self.hi_age = 0.0

    def sample_mag(self, mag: np.ndarray) -> None:
        """Sum the sample (offset in use removed) in the gyro-integrated frame."""
        m = mag - self.hi_b if self.hi_active else mag
        self.mag_sum = self.mag_sum + qmat(self.gyr_quat) @ m
        self.mag_n += 1.0

    def correct_mag(self, mag_raw: np.ndarray, mag_mean: np.ndarray, block_t: float) -> None:
        p = self.p
        cts = self.corr_ts
        q6 = qmul(self.acc_quat, self.mag_gyr_quat)
        if p["hard_iron"] != 0:
            self.update_hard_iron(q6, mag_raw, block_t)
        me = qmat(self.acc_quat) @ mag_mean
        if p["mag_rejection"] != 0:
            dip_th = p["mag_dip_th"] * DEG
            kref = self.k_mag_ref
            mt = me
            if p["mag_dist_sample"] != 0:
                m = mag_raw - self.hi_b if self.hi_active else mag_raw
                mt = qmat(q6) @ m
            n = math.sqrt(float(np.dot(mt, mt)))
            nd = np.array([n, -math.asin(mt[2] / n)])
            if p["mag_current_tau"] > 0:
                nd = self.magnd_lp.step(nd, p["mag_current_tau"], cts, self.magnd_b, self.magnd_a)
            if (
                abs(nd[0] - self.mag_ref_norm) < p["mag_norm_th"] * self.mag_ref_norm
                and abs(nd[1] - self.mag_ref_dip) < dip_th
            ):
                self.mag_undisturbed_t += block_t
                if self.mag_undisturbed_t >= p["mag_min_undisturbed_time"]:
                    self.mag_dist_detected = False
                    self.mag_ref_norm += kref * (nd[0] - self.mag_ref_norm)
                    self.mag_ref_dip += kref * (nd[1] - self.mag_ref_dip)
            else:
                self.mag_undisturbed_t = 0.0
                self.mag_dist_detected = True
            if (
                abs(nd[0] - self.mag_cand_norm) < p["mag_norm_th"] * self.mag_cand_norm
                and abs(nd[1] - self.mag_cand_dip) < dip_th
            ):
                if math.sqrt(float(np.dot(self.rest_gyr_lp, self.rest_gyr_lp))) >= (
                    p["mag_new_min_gyr"] * DEG
                ):
                    self.mag_cand_t += block_t
                self.mag_cand_norm += kref * (nd[0] - self.mag_cand_norm)
                self.mag_cand_dip += kref * (nd[1] - self.mag_cand_dip)
                if self.mag_dist_detected and (
                    self.mag_cand_t >= p["mag_new_time"]
                    or (self.mag_ref_norm == 0.0 and self.mag_cand_t >= p["mag_new_first_time"])
                ):
                    self.mag_ref_norm = self.mag_cand_norm
                    self.mag_ref_dip = self.mag_cand_dip
                    self.mag_dist_detected = False
                    self.mag_undisturbed_t = p["mag_min_undisturbed_time"]
            else:
                self.mag_cand_t = 0.0
                self.mag_cand_norm = nd[0]
                self.mag_cand_dip = nd[1]
        k = self.k_mag
        if p["mag_rejection"] != 0:
            if self.mag_dist_detected:
                if self.mag_reject_t <= p["mag_max_rejection_time"]:
                    self.mag_reject_t += block_t
                    k = 0.0
                else:
                    k /= p["mag_rejection_factor"]
            else:
                self.mag_reject_t = max(
                    self.mag_reject_t - p["mag_rejection_factor"] * block_t, 0.0
                )
        if self.k_mag_init != 0.0:
            k = max(k, self.k_mag_init)
            self.k_mag_init = self.k_mag_init / (self.k_mag_init + 1)
            if self.k_mag_init * p["tau_mag"] < cts:
                self.k_mag_init = 0.0
        if k == 0.0:
            return
        # the field's heading minus delta, as the angle of the field turned by -delta (in
        # [-pi, pi] without wrapping; the C core turns cos/sin of delta/2 incrementally)
        cd, sd = math.cos(self.delta), math.sin(self.delta)
        dis = math.atan2(me[0] * cd - me[1] * sd, me[1] * cd + me[0] * sd)
        d = self.delta + k * dis
        if d > math.pi:
            d -= 2 * math.pi
        elif d < -math.pi:
            d += 2 * math.pi
        self.delta = d

    def step(self, gyr, acc, mag, dt: float, use_mag: bool) -> tuple[np.ndarray, int]:
        flags = 0
        if not (dt > 0) or not math.isfinite(dt):
            dt = self.ts
        if gyr is None or not _finite(gyr):
            self.pending_dt += dt
            flags |= FLAG_GAP | FLAG_ACC_SKIPPED | (FLAG_MAG_SKIPPED if use_mag else 0)
        else:
            step_dt = dt + self.pending_dt
            self.pending_dt = 0.0
            self.update_gyr(np.asarray(gyr, float), step_dt)
            if acc is not None and _usable(acc):
                self.sample_acc(np.asarray(acc, float), dt)
            else:
                flags |= FLAG_ACC_SKIPPED
            if use_mag:
                if mag is not None and _usable(mag):
                    self.last_mag = np.array(mag, dtype=float)
                    self.mag_gyr_quat = self.gyr_quat.copy()
                    self.mag_new = True
                    self.sample_mag(self.last_mag)
                else:
                    flags |= FLAG_MAG_SKIPPED
            self.corr_t += step_dt
            self.corr_count += 1
            if self.corr_count >= self.corr_decim:
                block_t = self.corr_t
                nblk = float(self.corr_count)
                self.corr_count = 0
                self.corr_t = 0.0
                self.gyr_quat = normalized(self.gyr_quat)
                if self.cal_on:
                    self.cal_block()
                if self.acc_new:
                    self.acc_new = False
                    self.correct_acc(block_t, nblk)
                if self.mag_new:
                    self.mag_new = False
                    mean = self.mag_sum * (1.0 / self.mag_n)
                    self.mag_sum = np.zeros(3)
                    self.mag_n = 0.0
                    self.correct_mag(self.last_mag, mean, block_t)
        if self.rest_detected:
            flags |= FLAG_REST
        if use_mag and self.mag_dist_detected:
            flags |= FLAG_MAG_DISTURBED
        return (self.quat9d() if use_mag else self.quat6d()), flags


def _finite(v) -> bool:
    """Finite and below 1e100 in magnitude (so that squares stay finite), as in C."""
    return bool(np.all(np.abs(np.asarray(v, float)) < 1e100))


def _usable(v) -> bool:
    return _finite(v) and bool(np.any(np.asarray(v, float) != 0.0))


def estimate_orientation_reference(
    gyr: np.ndarray,
    acc: np.ndarray,
    mag: np.ndarray | None,
    params: np.ndarray,
    rate_hz: float,
    dt: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(quat (N, 4), bias (N, 3), flags (N,) uint8) of the causal filter."""
    f = ReferenceFilter(params, rate_hz)
    n = len(gyr)
    quat = np.empty((n, 4))
    bias = np.empty((n, 3))
    flags = np.empty(n, dtype=np.uint8)
    use_mag = mag is not None
    for i in range(n):
        q, fl = f.step(
            gyr[i], acc[i], None if mag is None else mag[i], 0.0 if dt is None else dt[i], use_mag
        )
        quat[i] = q
        bias[i] = f.bias
        flags[i] = fl
    return quat, bias, flags
