"""Orientation from raw IMU samples, computed by the C filter in ``hipimu._core``.

The filter is a C11 port of VQF (D. Laidig and T. Seel, "VQF: Highly accurate IMU
orientation estimation with bias estimation and magnetic disturbance rejection",
Information Fusion 91:187-204, 2023; reference implementation MIT licensed, Copyright 2021
Daniel Laidig) with hipimu's additions: online hard-iron estimation (a magnet or magnetised
part fixed to the sensor, applied only with evidence), optional online gyroscope
scale/misalignment estimation (off by default: no out-of-sample gain), per-sample
time steps, NaN/inf samples handled as gaps, and a forward-backward offline mode. The
algorithm, its parameters and the validation are in ``docs/fusion.md`` and
``docs/validation.md``; the numpy reference of the same filter is
:mod:`hipimu.reference.filter`.

Frames: the output ``q_ES`` (scalar-first ``[w, x, y, z]``, Hamilton) rotates sensor-frame
vectors into the earth frame, ENU (x east, y magnetic north, z up). Without a magnetometer
(6D) z is up and the heading starts at the sensor's initial heading and drifts slowly.

Units: gyroscope rad/s, accelerometer m/s^2 (any unit works, the filter normalises),
magnetometer any unit (normalised internally). One parameter set serves every recording;
the defaults were chosen once on the BROAD benchmark, never per trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from hipimu import _core

#: The parameter table of the C core (``host/hipimu/_core/filter_params.h``, the one place
#: that defines them): ``(name, default, unit, meaning)`` in the C layout order. Units:
#: ``flag`` 0/1, ``|m0|`` multiples of the first magnetometer sample's norm, ``sigma``
#: standard deviations, ``1`` a ratio; degrees are converted to radians inside.
PARAM_TABLE: tuple[tuple[str, float, str, str], ...] = _core.filter_param_table()

#: Default parameters (the VQF defaults plus hipimu's additions), in the C layout order.
#: Which features are on was decided out of sample (benchmarks/filters_cv.py): hard-iron
#: estimation on, gyro scale/misalignment estimation off.
DEFAULT_PARAMS: dict[str, float] = {name: default for name, default, _, _ in PARAM_TABLE}
#: The unit of each parameter.
PARAM_UNITS: dict[str, str] = {name: unit for name, _, unit, _ in PARAM_TABLE}
PARAM_NAMES: tuple[str, ...] = tuple(DEFAULT_PARAMS)

FLAG_REST = 1  #: the sensor is at rest
FLAG_MAG_DISTURBED = 2  #: magnetic disturbance detected (9D); heading runs on the gyro
FLAG_GAP = 4  #: gyroscope sample missing or not finite: the state was held
FLAG_ACC_SKIPPED = 8  #: accelerometer sample missing, zero or not finite
FLAG_MAG_SKIPPED = 16  #: magnetometer sample missing, zero or not finite (9D)

Mode = Literal["causal", "offline"]

_EMPTY = np.empty  # the streaming fast path's allocator (the C core does not link numpy)


#: The 6D defaults where they differ from :data:`DEFAULT_PARAMS` (applied without a
#: magnetometer). Without one, the heading part of the gyro scale/misalignment estimate is
#: unobservable: it stays off in 6D even when the 9D default turns it on (both are off now,
#: decided out of sample; docs/fusion.md). Without a magnetometer the heading drifts with
#: the vertical gyro bias, which only rest measures: 6D trusts rest more (0.01 deg/s; VQF's
#: 0.03 in 9D), the choice of the cross-validation (benchmarks/filters_cv.py).
NINE_D_ONLY: dict[str, float] = {"gyro_cal_sigma": 0.0, "bias_sigma_rest": 0.01}


def make_params(*, with_mag: bool = True, **options: float) -> np.ndarray:
    """The C parameter vector from :data:`DEFAULT_PARAMS` updated by ``options``
    (``with_mag=False``: the 6D defaults of :data:`NINE_D_ONLY` first)."""
    unknown = sorted(set(options) - set(DEFAULT_PARAMS))
    if unknown:
        raise TypeError(f"unknown filter option(s): {', '.join(unknown)}")
    values = dict(DEFAULT_PARAMS)
    if not with_mag:
        values.update(NINE_D_ONLY)
    for key, val in options.items():
        v = float(val)
        if not np.isfinite(v):
            raise ValueError(f"{key}: expected a finite number, got {val!r}")
        values[key] = v
    if values["tau_acc"] <= 0 or values["rest_filter_tau"] <= 0:
        raise ValueError("tau_acc and rest_filter_tau must be positive")
    if values["bias_forgetting_time"] <= 0:
        raise ValueError("bias_forgetting_time must be positive")
    if values["gyro_cal_sigma"] < 0 or values["gyro_cal_clip"] < 0:
        raise ValueError("gyro_cal_sigma and gyro_cal_clip must not be negative")
    return np.array([values[k] for k in PARAM_NAMES], dtype=np.float64)


def _check_rate(rate_hz: float) -> float:
    rate = float(rate_hz)
    if not np.isfinite(rate) or rate <= 0:
        raise ValueError(f"rate_hz: expected a positive finite rate, got {rate_hz!r}")
    return rate


def _as_samples(x: Any, name: str, n: int | None = None) -> np.ndarray:
    """``x`` as a C-contiguous float64 (N, 3) array, or a clear TypeError/ValueError."""
    if (
        type(x) is np.ndarray
        and x.dtype == np.float64
        and x.ndim == 2
        and x.shape[1] == 3
        and x.flags.c_contiguous
        and (n is None or x.shape[0] == n)
    ):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == 3:
        arr = arr.reshape(1, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name}: expected shape (N, 3), got {np.shape(x)}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} rows (as many as gyr), got {arr.shape[0]}")
    return arr


def _time_steps(n: int, rate: float, timestamps: Any | None, dt: Any | None) -> np.ndarray | None:
    if timestamps is not None and dt is not None:
        raise TypeError("pass timestamps or dt, not both")
    if timestamps is None and dt is None:
        return None
    if timestamps is not None:
        t = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        if t.shape[0] != n:
            raise ValueError(f"timestamps: expected {n} values, got {t.shape[0]}")
        steps = np.empty(n)
        steps[:1] = 1.0 / rate
        steps[1:] = np.diff(t)
        bad = ~np.isfinite(steps)
        if np.any(steps[~bad] <= 0):
            raise ValueError("timestamps: must be strictly increasing")
        steps[bad] = 1.0 / rate
    else:
        steps = np.ascontiguousarray(dt, dtype=np.float64).reshape(-1)
        if steps.shape[0] != n:
            raise ValueError(f"dt: expected {n} values, got {steps.shape[0]}")
        if np.any(steps <= 0):
            raise ValueError("dt: time steps must be positive")
    return np.ascontiguousarray(steps.reshape(n, 1))


@dataclass(frozen=True)
class OrientationResult:
    """Everything :func:`estimate_orientation` estimates, one row per sample."""

    quat: np.ndarray  #: (N, 4) q_ES, scalar first
    bias: np.ndarray  #: (N, 3) gyroscope bias estimate, rad/s (subtract from gyr)
    flags: np.ndarray  #: (N,) uint8, bitwise OR of the FLAG_* constants

    @property
    def rest(self) -> np.ndarray:
        """(N,) bool: rest detected."""
        return (self.flags & FLAG_REST) != 0

    @property
    def mag_disturbed(self) -> np.ndarray:
        """(N,) bool: magnetic disturbance detected (always False in 6D)."""
        return (self.flags & FLAG_MAG_DISTURBED) != 0

    @property
    def gap(self) -> np.ndarray:
        """(N,) bool: the gyroscope sample was missing or not finite (state held)."""
        return (self.flags & FLAG_GAP) != 0


def estimate_orientation(
    gyr: Any,
    acc: Any,
    mag: Any | None = None,
    *,
    rate_hz: float,
    mode: Mode = "causal",
    timestamps: Any | None = None,
    dt: Any | None = None,
    return_details: bool = False,
    **options: float,
) -> np.ndarray | OrientationResult:
    """Orientation ``q_ES`` (N, 4) of a whole recording.

    ``gyr`` (rad/s), ``acc`` and optionally ``mag`` are (N, 3) arrays; without ``mag`` the
    estimate is 6D (z up, heading relative to the start). ``mode="causal"`` (default) gives
    what a streaming filter would output at each sample; ``mode="offline"`` runs forward and
    backward and smooths bias, inclination and heading (not causal, more accurate).
    ``timestamps`` (s, increasing) or ``dt`` (s, the step before each sample) handle jitter
    and gaps; by default the step is ``1 / rate_hz``. Rows holding NaN or inf are treated as
    missing: the output holds the previous estimate and the time step carries over.
    ``options`` override :data:`DEFAULT_PARAMS`. With ``return_details=True`` the result is an
    :class:`OrientationResult` with the bias estimate and per-sample flags.
    """
    rate = _check_rate(rate_hz)
    g = _as_samples(gyr, "gyr")
    n = g.shape[0]
    a = _as_samples(acc, "acc", n)
    m = None if mag is None else _as_samples(mag, "mag", n)
    steps = _time_steps(n, rate, timestamps, dt)
    params = make_params(with_mag=m is not None, **options)
    quat = np.empty((n, 4))
    if mode == "causal":
        state = _core.filter_new(params, rate)
        if not return_details:
            _core.filter_run(state, g, a, m, steps, quat, None, None)
            return quat
        bias = np.empty((n, 3))
        flags = np.empty(n, dtype=np.uint8)
        _core.filter_run(state, g, a, m, steps, quat, bias, flags)
    elif mode == "offline":
        bias = np.empty((n, 3))
        flags = np.empty(n, dtype=np.uint8)
        _core.filter_offline(params, rate, g, a, m, steps, quat, bias, flags)
    else:
        raise ValueError(f"mode: expected 'causal' or 'offline', got {mode!r}")
    if return_details:
        return OrientationResult(quat=quat, bias=bias, flags=flags)
    return quat


class OrientationFilter:
    """Streaming orientation filter: feed chunks (a packet's worth) of samples.

    ``OrientationFilter(rate_hz, **options).update(gyr, acc, mag=None)`` returns the (n, 4)
    quaternions ``q_ES`` of the chunk; the filter state (held in C) carries over between
    calls, so any chunking gives the same result as :func:`estimate_orientation` in causal
    mode. The first call decides 6D or 9D (later calls must match; pass NaN rows for missing
    magnetometer samples) and with it the defaults (:data:`NINE_D_ONLY`); the filter state
    is made then. After each call :attr:`flags` holds the chunk's per-sample flags. From the
    first call on, chunks of float64 C-contiguous arrays take a fast path entirely in C (one
    sample per call costs about a microsecond); anything else is converted.
    """

    def __init__(self, rate_hz: float, **options: float) -> None:
        self.rate_hz = _check_rate(rate_hz)
        self._options = dict(options)
        self.params = make_params(**options)  # validates now; 6D defaults at the first call
        self._state: Any = None
        self._flag_buf = np.zeros(64, dtype=np.uint8)  # flags of chunks too long for C's
        self._nflags = 0

    def _set_state(self, state: Any) -> None:
        self._state = state
        # the streaming fast path: float64 C-contiguous chunks ((n, 3) or one (3,) row,
        # n <= 256) go straight into C (no Python frame); anything else, and anything C
        # refuses before touching the state, comes back to _update, which converts or names
        # the problem. An instance attribute, so it shadows the method below.
        self.update = _core.filter_bind(state, _EMPTY, self._update)

    def _state_for(self, with_mag: bool) -> Any:
        if self._state is None:
            self.params = make_params(with_mag=with_mag, **self._options)
            self._set_state(_core.filter_new(self.params, self.rate_hz))
        return self._state

    def update(
        self, gyr: Any, acc: Any, mag: Any | None = None, dt: Any | None = None
    ) -> np.ndarray:
        """Process a chunk of samples; returns its (n, 4) quaternions. ``dt`` (s): the time
        step before each sample, when they are not ``1 / rate_hz``."""
        return self._update(gyr, acc, mag, dt)

    def _update(
        self, gyr: Any, acc: Any, mag: Any | None = None, dt: Any | None = None
    ) -> np.ndarray:
        g = _as_samples(gyr, "gyr")
        n = g.shape[0]
        a = _as_samples(acc, "acc", n)
        m = None if mag is None else _as_samples(mag, "mag", n)
        steps = None if dt is None else _time_steps(n, self.rate_hz, None, dt)
        quat = np.empty((n, 4))
        if len(self._flag_buf) < n:
            self._flag_buf = np.empty(max(n, 64), np.uint8)
        _core.filter_run(self._state_for(m is not None), g, a, m, steps, quat, None, self._flag_buf)
        self._nflags = n
        return quat

    @property
    def flags(self) -> np.ndarray:
        """(n,) uint8 flags (FLAG_*) of the last chunk's samples."""
        kept = None if self._state is None else _core.filter_flags(self._state)
        if kept is None:  # a long chunk: its flags are in our buffer
            return self._flag_buf[: self._nflags].copy()
        return np.frombuffer(kept, dtype=np.uint8).copy()

    def reset(self) -> None:
        """Forget everything (as if newly created with the same parameters)."""
        if self._state is not None:
            _core.filter_reset(self._state)
        self._nflags = 0

    def copy(self) -> OrientationFilter:
        """An independent filter with the same parameters and state."""
        new = object.__new__(OrientationFilter)
        new.rate_hz = self.rate_hz
        new._options = dict(self._options)
        new.params = self.params.copy()
        new._state = None
        if self._state is not None:
            new._set_state(_core.filter_copy(self._state))
        new._flag_buf = self._flag_buf.copy()
        new._nflags = self._nflags
        return new

    def _info(self) -> dict[str, Any]:
        if self._state is None:  # nothing seen yet: the state a new filter has
            return _core.filter_info(_core.filter_new(self.params, self.rate_hz))
        return _core.filter_info(self._state)

    @property
    def quat(self) -> np.ndarray:
        """Current estimate q_ES (9D when fed a magnetometer, else 6D)."""
        info = self._info()
        return np.array(info["quat9d"] if info["use_mag"] == 1 else info["quat6d"])

    @property
    def bias(self) -> np.ndarray:
        """Current gyroscope bias estimate (rad/s)."""
        return np.array(self._info()["bias"])

    @property
    def gyro_cal(self) -> np.ndarray:
        """Current gyroscope scale/misalignment estimate M (3, 3): the filter integrates
        ``gyr - bias - M @ gyr`` (zero while ``gyro_cal_sigma`` is 0)."""
        return np.array(self._info()["gyro_cal"]).reshape(3, 3)

    @property
    def hard_iron(self) -> np.ndarray:
        """Current hard-iron offset estimate (magnetometer units, sensor frame)."""
        return np.array(self._info()["hard_iron"])

    @property
    def rest(self) -> bool:
        """Rest detected at the last sample."""
        return bool(self._info()["rest"])

    @property
    def mag_disturbed(self) -> bool:
        """Magnetic disturbance detected at the last sample."""
        return bool(self._info()["mag_disturbed"])
