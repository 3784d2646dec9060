"""Zero-phase low-pass filtering of orientation series (offline analysis only).

Thigh sensors sit on soft tissue that wobbles against the bone (a damped resonance near
10-20 Hz excited by every jerk), while hip movements in the exercises stay below a few
hertz. Biomechanics has long low-passed kinematics near 6 Hz for the same reason (Winter,
*Biomechanics and Motor Control of Human Movement*, 4th ed., 2009, ch. 3). hipimu filters
the segment orientations rather than the angles, so hip angles, pelvis angles and the
OpenSim coordinates stay consistent: each quaternion component of a sign-continuous series
is filtered forwards and backwards with scipy's second-order-sections Butterworth
(as reproduced in :mod:`hipimu.core.dsp`, which spares the import of scipy.signal) and the
result renormalised, which for rotations this slow next to the cut-off is the rotation
average over the filter's window to second order in its spread.
"""

from __future__ import annotations

import numpy as np

from hipimu.core.dsp import butter_lowpass, sosfiltfilt

DEFAULT_CUTOFF_HZ = 6.0
_ORDER = 2  # forwards and backwards: fourth order, no phase lag


def lowpass_quaternions(q: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase low-pass of a (N, 4) quaternion series; NaN rows (gaps) stay NaN and
    each finite run is filtered on its own (runs too short to filter are kept)."""
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != 4:
        raise ValueError(f"expected an (N, 4) quaternion array, got shape {q.shape}")
    if not 0.0 < cutoff_hz < 0.5 * rate_hz:
        raise ValueError(
            f"low-pass cut-off {cutoff_hz} Hz must lie between 0 and half the sample rate "
            f"({0.5 * rate_hz:g} Hz)"
        )
    sos = butter_lowpass(_ORDER, cutoff_hz, rate_hz)
    out = q.copy()
    finite = np.isfinite(q).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    min_len = 6 * (2 * len(sos) + 1)
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start < min_len:
            continue
        run = out[start:end]  # filtered in place of its copy in out
        # one hemisphere: q and -q are the same rotation, the filter must not see a flip
        flips = np.cumsum(np.einsum("ij,ij->i", run[1:], run[:-1]) < 0) % 2
        run[1:][flips == 1] *= -1.0
        run[:] = sosfiltfilt(sos, run)
        run /= np.linalg.norm(run, axis=1, keepdims=True)
    return out
