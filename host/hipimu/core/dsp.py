"""The few signal-processing steps offline analysis needs, without importing scipy.signal.

``import scipy.signal`` costs about half a second and 35 MB (it imports scipy.stats,
scipy.interpolate and scipy.optimize), more than ``hipimu report`` spends on a
30-minute session's data. hipimu uses three of its functions, reproduced here with
scipy's definitions and checked against scipy in ``tests/host/test_dsp.py``:

* :func:`butter_lowpass` - ``scipy.signal.butter(order, cutoff, fs=fs, output="sos")``
  for the second-order design hipimu uses (other orders are delegated to scipy);
* :func:`sosfiltfilt` - ``scipy.signal.sosfiltfilt`` (odd padding, steady-state initial
  conditions), its recursion in the C kernel ``hipimu._core.sosfilt`` (numpy twin:
  :func:`hipimu.reference.dsp.sosfilt`);
* :func:`find_peaks` - the indices of ``scipy.signal.find_peaks`` with ``height``,
  ``prominence`` and ``distance`` (plateaus give their middle sample);

and :func:`moving_average`, ``scipy.ndimage.uniform_filter1d`` with ``mode="nearest"``.
"""

from __future__ import annotations

import math

import numpy as np

from hipimu import _core


def butter_lowpass(order: int, cutoff_hz: float, fs: float) -> np.ndarray:
    """Butterworth low-pass as second-order sections ``(S, 6)`` (scipy's ``butter``)."""
    if not 0.0 < cutoff_hz < fs / 2:
        raise ValueError(
            f"low-pass cut-off {cutoff_hz} Hz must lie between 0 and half the sample rate "
            f"({fs / 2:g} Hz)"
        )
    if order != 2:
        from scipy.signal import butter

        return butter(order, cutoff_hz, fs=fs, output="sos")
    # analog prototype poles exp(+-3j pi/4), pre-warped, then the bilinear transform (fs 2)
    warped = 4.0 * math.tan(math.pi * (2.0 * cutoff_hz / fs) / 2.0)
    p = warped * np.exp(1j * np.pi * np.array([3.0, 5.0]) / 4.0)
    pz = (4.0 + p) / (4.0 - p)
    gain = float(np.real(warped**2 / np.prod(4.0 - p)))
    a1 = float(-2.0 * pz[0].real)
    a2 = float(abs(pz[0]) ** 2)
    return np.array([[gain, 2.0 * gain, gain, 1.0, a1, a2]])


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Steady-state initial conditions ``(S, 2)`` for a unit step (scipy's ``sosfilt_zi``)."""
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for s, (b0, b1, b2, a0, a1, a2) in enumerate(np.asarray(sos, dtype=np.float64)):
        b0, b1, b2, a1, a2 = b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0
        # scipy's lfilter_zi: (I - A) z = B with A the companion matrix's transpose,
        # here [[1 + a1, -1], [a2, 1]] z = (b1 - a1 b0, b2 - a2 b0), solved by hand
        r1, r2 = b1 - a1 * b0, b2 - a2 * b0
        z0 = (r1 + r2) / (1.0 + a1 + a2)
        zi[s] = scale * z0, scale * (r2 - a2 * z0)
        scale *= (b0 + b1 + b2) / (1.0 + a1 + a2)
    return zi


def sosfilt(
    sos: np.ndarray,
    x: np.ndarray,
    zi: np.ndarray,
    *,
    reverse: bool = False,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Filter the rows of ``x`` ``(N, C)`` from the state ``zi`` ``(S, 2, C)`` (from the
    last row to the first with ``reverse``; into ``out``, which may be ``x``); returns
    the output and the final state."""
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    sos = sos / sos[:, 3:4]
    x = np.ascontiguousarray(x, dtype=np.float64)
    channels = x.shape[1]
    state = np.ascontiguousarray(zi, dtype=np.float64).reshape(2 * len(sos), channels).copy()
    out = np.empty_like(x) if out is None else out
    _core.sosfilt(sos, x, state, out, channels, reverse)
    return out, state.reshape(len(sos), 2, channels)


def sosfiltfilt(sos: np.ndarray, x: np.ndarray, padlen: int | None = None) -> np.ndarray:
    """Forward-backward filtering along axis 0, as ``scipy.signal.sosfiltfilt(sos, x,
    axis=0, padlen=padlen)`` with its default odd padding."""
    sos = np.asarray(sos, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    x2 = x.reshape(len(x), -1)
    ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    edge = 3 * ntaps if padlen is None else int(padlen)
    if len(x2) <= edge:
        raise ValueError(
            f"The length of the input vector x must be greater than padlen, which is {edge}."
        )
    # one working array: the odd extension, filtered forwards, then backwards, in place
    n = len(x2)
    ext = np.empty((n + 2 * edge, x2.shape[1]))
    ext[edge : edge + n] = x2
    if edge > 0:
        ext[:edge] = 2.0 * x2[0] - x2[edge:0:-1]
        ext[edge + n :] = 2.0 * x2[-1] - x2[-2 : -(edge + 2) : -1]
    zi = sosfilt_zi(sos)[:, :, None]
    sosfilt(sos, ext, zi * ext[0], out=ext)
    sosfilt(sos, ext, zi * ext[-1], reverse=True, out=ext)
    y = ext[edge : edge + n] if edge > 0 else ext
    return (y.copy() if edge > 0 else y).reshape(x.shape)


def find_peaks(
    x: np.ndarray,
    height: float | None = None,
    prominence: float | None = None,
    distance: float | None = None,
) -> np.ndarray:
    """Indices of the local maxima of ``x`` (1-D) that pass the given minimum ``height``,
    minimum ``distance`` in samples (higher peaks win) and minimum ``prominence``:
    ``scipy.signal.find_peaks(x, height=, distance=, prominence=)[0]``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"find_peaks needs a 1-D signal, got shape {x.shape}")
    if distance is not None and distance < 1:
        raise ValueError("`distance` must be greater or equal to 1")
    peaks = _local_maxima(x)
    if height is not None:
        peaks = peaks[x[peaks] >= height]
    if distance is not None and len(peaks) > 1:
        peaks = peaks[_select_by_distance(peaks, x[peaks], math.ceil(distance))]
    if prominence is not None and len(peaks):
        peaks = peaks[_prominences(x, peaks) >= prominence]
    return peaks


def moving_average(x: np.ndarray, size: int) -> np.ndarray:
    """Mean over ``size`` samples along axis 0, edges extended with the first and last
    value: ``scipy.ndimage.uniform_filter1d(x, size, axis=0, mode="nearest")`` (the
    window of sample ``i`` starts at ``i - size // 2``), up to rounding."""
    out = moving_sum(np.asarray(x, dtype=np.float64), size)
    out /= size
    return out


def moving_sum(x: np.ndarray, size: int) -> np.ndarray:
    """Sum over the same windows as :func:`moving_average`, in ``x``'s dtype (integer
    counts stay exact and small: ``int32`` votes of a majority filter)."""
    x = np.asarray(x)
    if size < 1:
        raise ValueError(f"moving window of {size} samples")
    lead, n = size // 2, len(x)
    # running sums in one working array: a zero row, the extended signal, summed in place
    c = np.empty((n + size, *x.shape[1:]), dtype=x.dtype)
    c[0] = 0
    c[1 : lead + 1] = x[:1]
    c[lead + 1 : lead + 1 + n] = x
    c[lead + 1 + n :] = x[-1:]
    np.cumsum(c, axis=0, out=c)
    return c[size:] - c[:-size]


def _local_maxima(x: np.ndarray) -> np.ndarray:
    """Peaks (the middle of a plateau) strictly above both neighbouring values; the
    first and last samples are never peaks."""
    if len(x) < 3:
        return np.empty(0, dtype=np.intp)
    starts = np.flatnonzero(np.concatenate([[True], x[1:] != x[:-1]]))
    ends = np.concatenate([starts[1:] - 1, [len(x) - 1]])
    v = x[starts]
    inner = np.zeros(len(starts), dtype=bool)
    inner[1:-1] = (v[:-2] < v[1:-1]) & (v[2:] < v[1:-1])
    return ((starts[inner] + ends[inner]) // 2).astype(np.intp)


def _select_by_distance(peaks: np.ndarray, priority: np.ndarray, distance: int) -> np.ndarray:
    keep = np.ones(len(peaks), dtype=bool)
    order = np.argsort(priority)  # as scipy: the same sort, so ties resolve alike
    for j in order[::-1]:
        if not keep[j]:
            continue
        lo = np.searchsorted(peaks, peaks[j] - distance, side="right")
        hi = np.searchsorted(peaks, peaks[j] + distance, side="left")
        keep[lo:j] = False
        keep[j + 1 : hi] = False
    return keep


def _prominences(x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Each peak's height above the higher of its two bases: the lowest points between it
    and the nearest sample on each side that is higher (or not comparable: NaN)."""
    out = np.empty(len(peaks))
    for k, p in enumerate(peaks):
        top = x[p]
        above = np.flatnonzero(~(x[:p] <= top))
        lo = above[-1] + 1 if len(above) else 0
        above = np.flatnonzero(~(x[p + 1 :] <= top))
        hi = p + 1 + above[0] if len(above) else len(x)
        out[k] = top - max(x[lo : p + 1].min(), x[p:hi].min())
    return out
