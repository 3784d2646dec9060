"""Raw inertial data of simulated sensors: gyroscope and accelerometer with real errors.

The body model gives each segment's orientation and position; a sensor sits on its
segment at a site (``SENSOR_SITES``) with a mounting rotation, moves with soft tissue
(a damped wobble driven by the segment's angular acceleration), and measures

* gyroscope: the sensor's angular velocity in its own frame, plus a constant bias, a
  slow bias random walk and white noise;
* accelerometer: specific force ``R_SG (a + g z)`` in its own frame, plus bias and noise.

Derivatives are central differences over +-1 ms of the analytic motion, so the raw data
integrate back to the true orientation. Units: rad/s, m/s^2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import bilinear, lfilter
from scipy.spatial.transform import Rotation

GRAVITY = 9.80665
H = 1e-3  # s, step of the central differences

# Hip joint centres in the pelvis frame and sensor sites in their segment's frame (m).
HIP_CENTRES = {"femur_r": np.array([0.0, -0.08, 0.09]), "femur_l": np.array([0.0, -0.08, -0.09])}
SENSOR_SITES = {
    "pelvis": np.array([-0.10, 0.0, 0.0]),
    "femur_r": np.array([0.0, -0.20, 0.08]),
    "femur_l": np.array([0.0, -0.20, -0.08]),
}


@dataclass(frozen=True)
class ImuErrors:
    """Error model of one IMU (values are typical of MEMS parts such as the LSM6DSOX)."""

    gyro_noise_dps: float = 0.1  # white noise, RMS per axis at 100 Hz
    gyro_bias_dps: float = 0.5  # constant bias, uniform in +-this per axis
    gyro_bias_walk_dps: float = 0.01  # bias random walk, std after 60 s
    acc_noise: float = 0.02  # m/s^2 RMS
    acc_bias: float = 0.05  # m/s^2, uniform in +-this per axis
    wobble_gain_s2: float = 0.0015  # soft tissue: wobble (rad) per segment angular accel.
    wobble_hz: float = 12.0  # thigh soft-tissue resonance, 10-20 Hz
    wobble_damping: float = 0.3

    @classmethod
    def none(cls) -> ImuErrors:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


class Wobble:
    """Soft-tissue rotation (rotation vector, sensor frame) as a function of time."""

    def __init__(self, t: np.ndarray, angular_accel: np.ndarray, errors: ImuErrors) -> None:
        w0 = 2 * np.pi * errors.wobble_hz
        fs = 1.0 / np.median(np.diff(t))
        b, a = bilinear([w0 * w0], [1.0, 2 * errors.wobble_damping * w0, w0 * w0], fs)
        rv = errors.wobble_gain_s2 * lfilter(b, a, angular_accel, axis=0)
        self._spline = CubicSpline(t, rv, axis=0, extrapolate=True)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return self._spline(t)


@dataclass
class RawImu:
    """One sensor's motion: orientation and position functions of true time."""

    orientation: Callable[[np.ndarray], Rotation]  # R_GS(t)
    position: Callable[[np.ndarray], np.ndarray]  # sensor position in G (m)

    def measure(
        self, t: np.ndarray, errors: ImuErrors, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """True ``q_GS`` (N, 4) and measured gyroscope and accelerometer (N, 3)."""
        r0, rm, rp = self.orientation(t), self.orientation(t - H), self.orientation(t + H)
        omega = (rm.inv() * rp).as_rotvec() / (2 * H)  # body frame
        p0, pm, pp = self.position(t), self.position(t - H), self.position(t + H)
        accel = (pp - 2 * p0 + pm) / (H * H)
        specific = r0.inv().apply(accel + np.array([0.0, 0.0, GRAVITY]))
        n = len(t)
        bias = rng.uniform(-1, 1, 3) * np.deg2rad(errors.gyro_bias_dps)
        dt = np.diff(t, prepend=t[0])
        walk = np.cumsum(
            rng.normal(size=(n, 3)) * np.sqrt(dt / 60.0)[:, None], axis=0
        ) * np.deg2rad(errors.gyro_bias_walk_dps)
        gyr = omega + bias + walk + rng.normal(size=(n, 3)) * np.deg2rad(errors.gyro_noise_dps)
        acc = (
            specific
            + rng.uniform(-1, 1, 3) * errors.acc_bias
            + rng.normal(size=(n, 3)) * errors.acc_noise
        )
        return r0.as_quat(scalar_first=True), gyr, acc
