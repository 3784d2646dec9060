"""Movement smoothness: SPARC and log dimensionless jerk, and angular speed to feed them.

Both metrics follow the published reference implementation of Balasubramanian et al.
(2012, IEEE TBME 59:2126; 2015, J NeuroEng Rehabil 12:112), github.com/siva82kb/SPARC
``scripts/smoothness.py`` (functions ``sparc`` and ``log_dimensionless_jerk``), operation
for operation, so the values agree with it on any valid input (the reference's builtin
``sum`` adds left to right, as ``np.cumsum`` does). Inputs on which the reference fails
or returns inf/NaN (empty, too short, all zero, non-finite) raise :class:`ValueError`
with the reason instead. Both take a *speed* profile; for joint angles use the angular
speed (:func:`angular_speed`). More negative means less smooth.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hipimu.core import quaternion as quat
from hipimu.core.dsp import butter_lowpass, sosfiltfilt


def _speed_array(speed: np.ndarray, minimum: int) -> np.ndarray:
    v = np.asarray(speed, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"a speed profile is one-dimensional, got shape {v.shape}")
    if len(v) < minimum:
        raise ValueError(f"a speed profile needs at least {minimum} samples, got {len(v)}")
    if not np.isfinite(v).all():
        raise ValueError("the speed profile contains NaN or inf (a sensor gap?)")
    if not np.any(v):
        raise ValueError("the speed profile is zero throughout: no movement to score")
    return v


def _check_fs(fs: float) -> float:
    fs = float(fs)
    if not (np.isfinite(fs) and fs > 0):
        raise ValueError(f"the sampling rate must be positive, got {fs}")
    return fs


def _left_sum(x: np.ndarray) -> float:
    """``sum(x)`` as Python's builtin computes it (left to right, from 0)."""
    return float(np.cumsum(x)[-1]) if len(x) else 0.0


@lru_cache(maxsize=64)
def _bins(fs: float, nfft: int, fc: float) -> tuple[np.ndarray, int]:
    """The spectrum's frequencies at or below ``fc`` and how many there are (they come
    first: the frequencies increase). Cached: a session's repetitions share a few."""
    f = np.arange(0, fs, fs / nfft)
    sel = np.flatnonzero(f <= fc)
    f_sel = f[sel]
    f_sel.flags.writeable = False
    return f_sel, len(sel)


def sparc(
    speed: np.ndarray, fs: float, padlevel: int = 4, fc: float = 10.0, amp_th: float = 0.05
) -> float:
    """Spectral arc length (SPARC) of a speed profile sampled at ``fs`` Hz.

    The arc length of the normalised magnitude spectrum (zero padded to
    ``2**(ceil(log2 N) + padlevel)`` points) up to the last frequency below ``fc`` whose
    magnitude reaches ``amp_th``. A smooth bell scores about -1.4; less smooth is lower.
    """
    fs = _check_fs(fs)
    v = _speed_array(speed, 1)
    nfft = int(pow(2, np.ceil(np.log2(len(v))) + padlevel))
    if nfft < 1:
        raise ValueError(f"padlevel {padlevel} leaves no spectrum to measure")
    f_sel, sel = _bins(fs, nfft, float(fc))
    if sel == 0:
        raise ValueError(f"no frequency at or below fc = {fc} Hz")
    if sel > nfft:
        raise ValueError(f"fc = {fc} Hz must be below the sampling rate {fs} Hz")
    mf = np.abs(np.fft.fft(v, nfft))
    peak = mf.max()
    if not (np.isfinite(mf).all() and peak > 0):
        raise ValueError("the speed profile's spectrum is zero or overflows")
    mf_sel = mf[:sel] / peak  # the normalised spectrum where it is measured
    above = np.flatnonzero(mf_sel >= amp_th)
    if len(above) == 0:
        raise ValueError(f"no spectral magnitude reaches amp_th = {amp_th} below fc = {fc} Hz")
    f_sel = f_sel[above[0] : above[-1] + 1]
    mf_sel = mf_sel[above[0] : above[-1] + 1]
    with np.errstate(all="ignore"):
        arc = np.sqrt(pow(np.diff(f_sel) / (f_sel[-1] - f_sel[0]), 2) + pow(np.diff(mf_sel), 2))
        value = -_left_sum(arc)
    if not np.isfinite(value):
        raise ValueError("the spectral arc length is not finite for this profile")
    return value


def dimensionless_jerk(speed: np.ndarray, fs: float) -> float:
    """Dimensionless jerk of a speed profile: ``-(T^3 / v_peak^2) * sum(jerk^2) * dt``."""
    fs = _check_fs(fs)
    v = _speed_array(speed, 1)
    peak = np.max(np.abs(v))
    dt = 1.0 / fs
    duration = len(v) * dt
    with np.errstate(all="ignore"):
        jerk = np.diff(v, 2) / pow(dt, 2)
        scale = pow(duration, 3) / pow(peak, 2)
        dj = float(-scale * _left_sum(pow(jerk, 2)) * dt)
    if not np.isfinite(dj):
        raise ValueError(
            "the dimensionless jerk overflows for this profile (its peak is too small or its "
            "values too large to scale in floating point)"
        )
    return dj


def ldlj(speed: np.ndarray, fs: float) -> float:
    """Log dimensionless jerk, ``-ln|dimensionless jerk|`` (reference
    ``log_dimensionless_jerk``). A smooth bell scores about -5.8; less smooth is lower."""
    dj = dimensionless_jerk(speed, fs)
    if dj == 0:
        raise ValueError(
            "the speed profile has no jerk at all (fewer than 3 samples, or a straight line)"
        )
    return float(-np.log(abs(dj)))


@lru_cache(maxsize=32)
def _butter_sos(order: int, cutoff_hz: float, fs: float) -> np.ndarray:
    """Filter design, cached: the live view re-segments a set many times a second."""
    return butter_lowpass(order, cutoff_hz, fs)  # not modified by the callers


def lowpass(x: np.ndarray, fs: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 (``order`` per pass, run twice)."""
    x = np.asarray(x, dtype=np.float64)
    if cutoff_hz >= fs / 2:
        return x.copy()
    sos = _butter_sos(order, float(cutoff_hz), float(fs))
    padlen = min(3 * (2 * len(sos) + 1), len(x) - 1)
    if len(x) < 4:
        return x.copy()
    return sosfiltfilt(sos, x, padlen=padlen)


def angular_speed(q_pb: np.ndarray, fs: float, cutoff_hz: float | None = 10.0) -> np.ndarray:
    """Angular speed (rad/s) of a joint from its relative orientation ``q_PB`` (N, 4).

    The quaternion series is made sign-continuous, low-passed (zero phase, ``cutoff_hz``;
    None for no filtering) and renormalised; the speed is ``|2 conj(q) dq/dt|`` with
    central differences. Rows must be finite (split at sensor gaps first).
    """
    q = np.array(q_pb, dtype=np.float64)
    if len(q) < 3:
        raise ValueError("angular speed needs at least 3 samples")
    flips = np.cumsum(np.sum(q[1:] * q[:-1], axis=1) < 0) % 2
    q[1:][flips == 1] *= -1
    if cutoff_hz:
        q = lowpass(q, fs, cutoff_hz)
    q = quat.normalize(q)
    dq = np.gradient(q, 1.0 / fs, axis=0)
    w = quat.multiply(quat.conjugate(q), dq)
    return 2.0 * np.linalg.norm(w[:, 1:], axis=1)
