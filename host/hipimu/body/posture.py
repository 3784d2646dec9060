"""Whole-body posture from the sensors' tilt alone, before any calibration.

Only the direction of gravity in each sensor's frame is used, read against the nominal
placement (hardware/placement.md; Xsens suits follow the same rule): every sensor's x
axis points up the body, the pelvis sensor's z points posterior and its y to the left,
the thigh sensors' z points out of the lateral skin. Mounting offsets of up to about
30 deg are tolerated by the wide cones below.

* ``standing``: the pelvis sensor's x axis within 50 deg of the vertical, and at
  least one thigh sensor's (the other leg may be lifted);
* ``supine``: the pelvis sensor's x horizontal and its z (posterior) pointing down;
* ``side_lying_left_down`` / ``side_lying_right_down``: the pelvis sensor's y (left)
  pointing down / up;
* ``case``: all sensors lying flat (their z axes vertical), as in the charging case;
* ``other`` for everything else (kneeling, sitting, prone, transitions).
"""

from __future__ import annotations

import numpy as np

from hipimu.core import quaternion as quat

POSTURES = (
    "standing",
    "supine",
    "side_lying_left_down",
    "side_lying_right_down",
    "case",
    "other",
)
UPRIGHT_DEG = 50.0  # a sensor's long (x) axis this close to the vertical is upright
FLAT_DEG = 30.0  # a sensor's z axis this close to the vertical lies flat
LYING_DEG = 45.0  # the pelvis sensor's y or z this close to the vertical when lying
UP = np.array([0.0, 0.0, 1.0])


def sensor_up(q_gs: np.ndarray) -> np.ndarray:
    """The global vertical in each sensor's frame (N, 3); NaN rows stay NaN."""
    # conj(q) * UP * q, written out for the unit vector z (C kernel; numpy twin
    # hipimu.reference.quaternion.up_in_frame)
    return quat.up_in_frame(q_gs)


def upright(q_gs: np.ndarray, limit_deg: float = UPRIGHT_DEG) -> np.ndarray:
    """True where the sensor's x (long) axis is within ``limit_deg`` of the vertical."""
    up = sensor_up(q_gs)
    return np.nan_to_num(up[:, 0], nan=-1.0) > np.cos(np.deg2rad(limit_deg))


def classify(quats: dict[str, np.ndarray]) -> np.ndarray:
    """Posture name per sample (an array of strings) from ``q_GS`` per role.

    Needs the ``pelvis``; thigh sensors, when present, must agree for ``standing`` (one
    upright) and ``case`` (all flat).
    """
    if "pelvis" not in quats:
        raise ValueError("posture needs the pelvis sensor")
    ups = {r: sensor_up(q) for r, q in quats.items()}
    n = len(ups["pelvis"])
    cos_up = np.cos(np.deg2rad(UPRIGHT_DEG))
    cos_flat = np.cos(np.deg2rad(FLAT_DEG))
    cos_lie = np.cos(np.deg2rad(LYING_DEG))
    all_flat = np.ones(n, dtype=bool)
    for up in ups.values():
        all_flat &= np.abs(np.nan_to_num(up[:, 2], nan=0.0)) > cos_flat
    # standing: the pelvis upright on at least one upright thigh (the other may be lifted)
    thighs = [np.nan_to_num(u[:, 0], nan=-1.0) > cos_up for r, u in ups.items() if r != "pelvis"]
    all_up = np.nan_to_num(ups["pelvis"][:, 0], nan=-1.0) > cos_up
    if thighs:
        all_up &= np.logical_or.reduce(thighs)
    p = np.nan_to_num(ups["pelvis"], nan=0.0)
    out = np.full(n, "other", dtype=object)
    horizontal = np.abs(p[:, 0]) < np.sin(np.deg2rad(LYING_DEG))
    out[horizontal & (p[:, 2] < -cos_lie)] = "supine"  # posterior (z) points down
    out[horizontal & (p[:, 1] < -cos_lie)] = "side_lying_left_down"  # left (y) points down
    out[horizontal & (p[:, 1] > cos_lie)] = "side_lying_right_down"
    out[all_flat] = "case"
    out[all_up] = "standing"
    return out


def spans(labels: np.ndarray, time: np.ndarray, min_seconds: float = 0.0) -> list[dict]:
    """Runs of equal ``labels`` as ``{"posture", "start", "end"}`` (s), at least
    ``min_seconds`` long."""
    out: list[dict] = []
    if len(labels) == 0:
        return out
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(labels)]])
    for s, e in zip(starts, ends, strict=True):
        t0, t1 = float(time[s]), float(time[e - 1])
        if t1 - t0 >= min_seconds:
            out.append({"posture": str(labels[s]), "start": t0, "end": t1})
    return out


def summary(labels: np.ndarray, rate_hz: float) -> str:
    """What postures a recording held, e.g. ``"case 3.0 s, supine 12.4 s"``."""
    names, counts = np.unique(np.asarray(labels, dtype=str), return_counts=True)
    order = np.argsort(-counts)
    return ", ".join(f"{names[i]} {counts[i] / rate_hz:.1f} s" for i in order) or "no samples"
