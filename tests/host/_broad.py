"""BROAD trials and the benchmark's error metric: a shared test reference (tests/host/),
used by tests/host/test_fusion.py and benchmarks/filters*.py.

D. Laidig, M. Caruso, A. Cereatti, T. Seel, "BROAD — A Benchmark for Robust Inertial
Orientation Estimation", Data 6(7), 2021 (CC BY 4.0). Error quaternion
``e = q_est * conj(q_ref)`` in the earth frame; total error ``2 acos|w|``, heading error
``2 atan|z/w|``, inclination error ``2 acos sqrt(w^2 + z^2)``; RMSE over the samples where
``movement`` is set. For 6D estimates one constant heading offset per trial is removed first.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # tests/ (benchmarks too)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared_dirs import BROAD

#: ``<shared>/data/broad``: ``$HIPIMU_SHARED`` (default ``../shared`` next to the
#: checkout), or ``$HIPIMU_BROAD_DIR`` (docs/testing.md)
BROAD_DIR = BROAD


@dataclass
class Trial:
    name: str
    rate_hz: float
    gyr: np.ndarray
    acc: np.ndarray
    mag: np.ndarray
    quat: np.ndarray
    movement: np.ndarray


def trial_paths(root: Path = BROAD_DIR) -> list[Path]:
    return sorted(root.glob("*.mat"))


def load_trial(path: Path) -> Trial:
    from scipy.io import loadmat

    m = loadmat(str(path))

    def arr(key: str) -> np.ndarray:
        return np.ascontiguousarray(m[key], dtype=np.float64)

    return Trial(
        name=path.stem,
        rate_hz=float(np.squeeze(m["sampling_rate"])),
        gyr=arr("imu_gyr"),
        acc=arr("imu_acc"),
        mag=arr("imu_mag"),
        quat=arr("opt_quat"),
        movement=np.squeeze(m["movement"]).astype(bool),
    )


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from hipimu.core.quaternion import multiply

    return multiply(a, b)


def errors_deg(
    q_est: np.ndarray, q_ref: np.ndarray, movement: np.ndarray, remove_heading: bool = False
) -> tuple[float, float, float]:
    """(total, heading, inclination) RMSE in degrees over the movement samples."""
    sel = movement & np.all(np.isfinite(q_ref), axis=1)
    ref = q_ref[sel]
    conj = ref * np.array([1.0, -1.0, -1.0, -1.0])
    e = _qmul(q_est[sel], conj)
    if remove_heading:
        # one constant heading offset per trial: the mean of the heading errors (as a unit
        # vector on the circle), removed by a rotation about the earth z axis
        psi = 2.0 * np.arctan2(e[:, 3], e[:, 0])
        off = np.arctan2(np.mean(np.sin(psi)), np.mean(np.cos(psi)))
        rz = np.array([np.cos(off / 2), 0.0, 0.0, -np.sin(off / 2)])
        e = _qmul(np.broadcast_to(rz, e.shape), e)
    w = np.abs(e[:, 0])
    total = 2.0 * np.arccos(np.clip(w, 0.0, 1.0))
    heading = 2.0 * np.arctan(np.abs(e[:, 3] / np.where(w == 0.0, 1e-300, e[:, 0])))
    incl = 2.0 * np.arccos(np.clip(np.sqrt(e[:, 0] ** 2 + e[:, 3] ** 2), 0.0, 1.0))

    def rmse(x: np.ndarray) -> float:
        return float(np.degrees(np.sqrt(np.mean(x**2))))

    return rmse(total), rmse(heading), rmse(incl)
