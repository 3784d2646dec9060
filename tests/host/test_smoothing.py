"""Zero-phase low-pass of orientation series (hipimu.orientation.lowpass)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipimu.orientation.lowpass import lowpass_quaternions

RATE = 100.0


def _series(wobble_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """A 0.5 Hz flexion swing of 40 deg about z, with a 15 Hz wobble about x on top."""
    t = np.arange(0, 10, 1 / RATE)
    slow = Rotation.from_euler("z", (np.deg2rad(40) * np.sin(2 * np.pi * 0.5 * t))[:, None])
    wobble = Rotation.from_euler(
        "x", (np.deg2rad(wobble_deg) * np.sin(2 * np.pi * 15 * t))[:, None]
    )
    return (
        (slow * wobble).as_quat(scalar_first=True),
        slow.as_quat(scalar_first=True),
    )


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = Rotation.from_quat(a, scalar_first=True).inv() * Rotation.from_quat(b, scalar_first=True)
    return np.rad2deg(d.magnitude())


def test_wobble_is_removed_and_slow_motion_kept():
    noisy, truth = _series(2.0)
    smooth = lowpass_quaternions(noisy, RATE, 6.0)
    inner = slice(100, -100)
    before = np.sqrt(np.mean(_angle_deg(noisy, truth)[inner] ** 2))
    after = np.sqrt(np.mean(_angle_deg(smooth, truth)[inner] ** 2))
    assert before > 1.3  # 2 deg amplitude: 1.41 RMS
    assert after < before / 10
    clean = lowpass_quaternions(truth, RATE, 6.0)
    # a 0.5 Hz movement passes a 6 Hz low-pass unchanged (gain 1 - 2e-8, no phase)
    assert np.max(_angle_deg(clean, truth)[inner]) < 0.01


def test_sign_flips_and_gaps():
    noisy, _ = _series(2.0)
    flipped = noisy.copy()
    flipped[::3] *= -1.0  # the same rotations, half the time in the other hemisphere
    a = lowpass_quaternions(noisy, RATE, 6.0)
    b = lowpass_quaternions(flipped, RATE, 6.0)
    assert np.max(_angle_deg(a, b)) < 1e-9
    gappy = noisy.copy()
    gappy[400:420] = np.nan
    out = lowpass_quaternions(gappy, RATE, 6.0)
    assert np.isnan(out[400:420]).all() and np.isfinite(out[:400]).all()
    assert np.isfinite(out[420:]).all()
    assert np.allclose(np.linalg.norm(out[:400], axis=1), 1.0)


def test_bad_arguments_are_named():
    q = np.tile([1.0, 0, 0, 0], (50, 1))
    with pytest.raises(ValueError, match=r"cut-off 60\.0 Hz"):
        lowpass_quaternions(q, RATE, 60.0)
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        lowpass_quaternions(q[:, :3], RATE, 6.0)
