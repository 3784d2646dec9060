"""Sensor-to-segment calibration from a standing pose and flexion movements.

Frames (docs/frames.md): ``q_GS`` sensor to global (what the sensors report), ``q_SB``
segment to sensor (the mounting, constant), so ``q_GB = q_GS * q_SB``. The room frame
``R`` is the pelvis segment frame during the standing pose.

* Vertical: during the standing pose every segment's Y axis points up, so the global
  vertical seen in each sensor's frame gives that segment's Y axis in sensor coordinates.
* Heading (the pelvis anterior axis): at the peaks of hip flexion movements made while
  standing (marching, leg lifts), the thigh's distal axis swings forwards; its horizontal
  direction, averaged over both legs so that small abduction or rotation cancel, is the
  anterior direction. Without such movements the heading falls back on the placement
  convention (the pelvis sensor's z axis points backwards out of the sacrum), with an
  error up to the mounting error; the quality report says which was used.
* In the standing pose the hips are neutral, so both femur frames equal the pelvis frame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.signal import find_peaks

from hipimu.core import quaternion as quat
from hipimu.stream.assembler import AlignedSamples

UP = np.array([0.0, 0.0, 1.0])
FEMURS = ("femur_r", "femur_l")
# Placement convention (hardware/placement.md): the pelvis sensor's -z points anterior.
PELVIS_ANTERIOR_IN_SENSOR = np.array([0.0, 0.0, -1.0])


class CalibrationError(ValueError):
    """The recording cannot be calibrated; the message says why and what to do."""


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (N, 3) or (3,) by quaternions ``q`` (N, 4) or (4,)."""
    q = quat.as_quat_array(q)
    v = np.atleast_2d(v)
    pure = np.column_stack([np.zeros(len(v)), v])
    return quat.multiply(quat.multiply(q, pure), quat.conjugate(q))[:, 1:]


def frame_from_axes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Unit quaternion of the frame whose Y is ``y`` and whose X is ``x`` made orthogonal to
    it (both given in the parent frame): the quaternion rotates frame into parent."""
    y = y / np.linalg.norm(y)
    x = x - np.dot(x, y) * y
    norm = np.linalg.norm(x)
    if norm < 1e-6:
        raise CalibrationError("the anterior direction is parallel to the vertical")
    x = x / norm
    z = np.cross(x, y)
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(np.column_stack([x, y, z])).as_quat(scalar_first=True)


def angular_speed(q: np.ndarray, rate_hz: float) -> np.ndarray:
    """Angular speed (rad/s) between consecutive quaternions; the last row repeats."""
    rel = quat.relative(q[:-1], q[1:])
    angle = 2.0 * np.arctan2(np.linalg.norm(rel[:, 1:], axis=1), np.abs(rel[:, 0]))
    speed = angle * rate_hz
    return np.append(speed, speed[-1:]) if len(speed) else np.zeros(len(q))


def find_still_window(
    aligned: AlignedSamples, min_seconds: float = 2.0, max_speed_deg_s: float = 3.0
) -> tuple[float, float]:
    """The first interval of at least ``min_seconds`` in which every sensor is still.

    Short gaps (lost notifications) do not break a still interval: a gap of at most
    0.2 s counts as still when the samples on both sides are.
    """
    still = np.ones(len(aligned.time), dtype=bool)
    max_gap = int(0.2 * aligned.rate_hz)
    for q in aligned.quat.values():
        speed = np.rad2deg(angular_speed(q, aligned.rate_hz))
        missing = np.isnan(speed)
        ok = np.nan_to_num(speed, nan=np.inf) < max_speed_deg_s
        ok |= missing & _short_runs(missing, max_gap)
        still &= ok
    need = int(min_seconds * aligned.rate_hz)
    run = 0
    for i, s in enumerate(still):
        run = run + 1 if s else 0
        if run >= need:
            start = i - run + 1
            end = start
            while end + 1 < len(still) and still[end + 1]:
                end += 1
            # keep clear of the movement on either side
            trim = min(int(0.25 * aligned.rate_hz), (end - start) // 4)
            return float(aligned.time[start + trim]), float(aligned.time[end - trim])
    raise CalibrationError(
        f"no standing pose found: no {min_seconds:.0f} s in which all sensors were still "
        f"(below {max_speed_deg_s:.0f} deg/s); stand still at the start of the recording"
    )


def _short_runs(mask: np.ndarray, max_len: int) -> np.ndarray:
    """True on runs of ``mask`` that are at most ``max_len`` long."""
    out = np.zeros_like(mask)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start <= max_len:
            out[start:end] = True
    return out


@dataclass
class CalibrationQuality:
    """How far the calibration can be trusted."""

    static_window: tuple[float, float]
    static_max_speed_deg_s: float
    heading_source: str  # "forward axis", "functional" or "placement"
    flexion_peaks: dict[str, int] = field(default_factory=dict)
    heading_spread_deg: float = float("nan")  # circular spread of per-peak headings
    warnings: list[str] = field(default_factory=list)
    femur_axes: dict[str, dict] = field(default_factory=dict)  # functional refinement


@dataclass
class Calibration:
    """Mounting ``q_SB`` of each segment's sensor and the room frame ``q_GR``."""

    mounts: dict[str, np.ndarray]
    room: np.ndarray
    quality: CalibrationQuality

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": "hipimu-calibration/1",
                "mounts_q_SB": {k: v.tolist() for k, v in self.mounts.items()},
                "room_q_GR": self.room.tolist(),
                "quality": asdict(self.quality),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        data = json.loads(text)
        if data.get("format") != "hipimu-calibration/1":
            raise ValueError(f"not a hipimu calibration: format {data.get('format')!r}")
        q = data["quality"]
        q["static_window"] = tuple(q["static_window"])
        return cls(
            {k: np.array(v) for k, v in data["mounts_q_SB"].items()},
            np.array(data["room_q_GR"]),
            CalibrationQuality(**q),
        )


def mean_quat(q: np.ndarray) -> np.ndarray:
    """Average orientation of rows of ``q`` (eigenvector method, via scipy)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_quat(q, scalar_first=True).mean().as_quat(scalar_first=True)


def _thigh_peaks(
    aligned: AlignedSamples, exclude: np.ndarray, q_static: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray, float]]:
    """Peaks of thigh excursion while the pelvis is upright: (role, horizontal direction of
    the thigh's distal axis in pelvis-sensor coordinates, excursion in radians)."""
    q_p = aligned.quat["pelvis"]
    up_p = rotate(quat.conjugate(q_static["pelvis"]), UP)[0]  # pelvis Y in its sensor frame
    upright = np.nan_to_num(rotate(q_p, up_p) @ UP, nan=0.0) > np.cos(np.deg2rad(30))
    found = []
    for role in FEMURS:
        if role not in aligned.quat or role not in q_static:
            continue
        down_f = -rotate(quat.conjugate(q_static[role]), UP)[0]  # femur -Y in its sensor
        # the thigh's distal axis in the pelvis sensor's frame
        down_p = rotate(quat.relative(q_p, aligned.quat[role]), down_f)
        dev = np.arccos(np.clip(np.nan_to_num(-(down_p @ up_p), nan=1.0), -1, 1))
        dev[~upright | exclude] = 0.0
        peaks, _ = find_peaks(dev, height=np.deg2rad(20), distance=int(0.5 * aligned.rate_hz))
        for i in peaks:
            h = down_p[i] - np.dot(down_p[i], up_p) * up_p
            found.append((role, h / np.linalg.norm(h), float(dev[i])))
    return found


def _flexion_headings(
    peaks: list[tuple[str, np.ndarray, float]], prior: np.ndarray | None
) -> dict[str, list[np.ndarray]]:
    """Per femur, the anterior direction at each flexion peak.

    Peaks within 45 deg of the anterior-posterior line of ``prior`` count (others are
    abduction); their sign is taken towards ``prior``. Without a prior the largest
    excursion, which standing is nearly always flexion, serves as one.
    """
    if not peaks:
        return {}
    if prior is None:
        prior = max(peaks, key=lambda p: p[2])[1]
    found: dict[str, list[np.ndarray]] = {}
    for role, h, _dev in peaks:
        c = float(np.dot(h, prior))
        found.setdefault(role, [])
        if abs(c) >= np.cos(np.deg2rad(45)):
            found[role].append(h if c > 0 else -h)
    return found


def calibrate(
    aligned: AlignedSamples,
    static_window: tuple[float, float] | None = None,
    *,
    pelvis_forward: np.ndarray | None = None,
    functional: AlignedSamples | None = None,
    placement_prior: bool = True,
    femur_axis: str = "standing",
) -> Calibration:
    """Calibrate all sensors of ``aligned`` (roles ``pelvis``, ``femur_r``, ``femur_l``).

    ``static_window`` (s) is the standing pose; found automatically when None.
    ``pelvis_forward``, a pelvis-sensor axis that points forward (as OpenSense's
    ``base_heading_axis``), fixes the heading; otherwise hip flexion movements in
    ``aligned`` and in ``functional`` (another trial with the same sensors and earth
    frame) give it, and failing both the placement convention does. ``placement_prior``
    says whether hipimu's placement convention (pelvis sensor -z forward) may tell
    flexion from abduction; for other systems' data set it False. ``femur_axis``
    ``"functional"`` takes each thigh's medio-lateral axis from straight flexion swings
    instead of the standing pose (which is wrong when the thighs stand rotated).
    """
    if femur_axis not in ("standing", "functional"):
        raise ValueError(f"femur_axis must be 'standing' or 'functional', got {femur_axis!r}")
    if "pelvis" not in aligned.quat:
        raise CalibrationError("no pelvis sensor: the pelvis defines the hip angles")
    if static_window is None:
        static_window = find_still_window(aligned)
    t0, t1 = static_window
    static = (aligned.time >= t0) & (aligned.time <= t1)
    if static.sum() < 2:
        raise CalibrationError(f"standing window {t0:.2f}-{t1:.2f} s holds no samples")
    q_static, max_speed = {}, 0.0
    for role, q in aligned.quat.items():
        qs = q[static]
        valid = np.isfinite(qs).all(axis=1)
        if valid.sum() < 0.5 * len(qs):
            raise CalibrationError(
                f"sensor {role} lost more than half of the standing pose "
                f"({t0:.2f}-{t1:.2f} s); check its connection and stand still again"
            )
        q_static[role] = mean_quat(qs[valid])
        speed = angular_speed(qs, aligned.rate_hz)
        max_speed = max(max_speed, float(np.rad2deg(np.nanmax(speed))))

    warnings = []
    if max_speed > 5.0:
        warnings.append(f"standing pose was not still: up to {max_speed:.1f} deg/s")
    up_p = rotate(quat.conjugate(q_static["pelvis"]), UP)[0]
    peaks = _thigh_peaks(aligned, static, q_static)
    if functional is not None:
        peaks += _thigh_peaks(functional, np.zeros(len(functional.time), dtype=bool), q_static)
    prior = None
    if placement_prior:
        prior = PELVIS_ANTERIOR_IN_SENSOR - np.dot(PELVIS_ANTERIOR_IN_SENSOR, up_p) * up_p
        prior /= np.linalg.norm(prior)
    per_leg = _flexion_headings(peaks, prior)
    leg_means = []
    all_h = []
    for hs in per_leg.values():
        if hs:
            m = np.mean(hs, axis=0)
            leg_means.append(m / np.linalg.norm(m))
            all_h.extend(hs)
    if pelvis_forward is not None:
        anterior = np.asarray(pelvis_forward, dtype=np.float64)
        source = "forward axis"
        spread = float("nan")
        if abs(np.dot(anterior / np.linalg.norm(anterior), up_p)) > np.cos(np.deg2rad(30)):
            raise CalibrationError(
                "the named pelvis forward axis points within 30 deg of the vertical in the "
                "standing pose; name the sensor axis that points forward"
            )
    elif leg_means:
        anterior = np.mean(leg_means, axis=0)
        source = "functional"
        mean = anterior / np.linalg.norm(anterior)
        spread = float(
            np.rad2deg(
                np.sqrt(np.mean([np.arccos(np.clip(np.dot(h, mean), -1, 1)) ** 2 for h in all_h]))
            )
        )
        if len(leg_means) == 1:
            warnings.append("heading from one leg's flexion only; abduction may bias it")
    else:
        anterior = PELVIS_ANTERIOR_IN_SENSOR
        source = "placement"
        spread = float("nan")
        warnings.append(
            "no hip flexion while standing: heading taken from the pelvis sensor's placement "
            "(error up to its mounting error); march in place to refine it"
        )
    q_sb_pelvis = frame_from_axes(anterior, up_p)
    room = quat.multiply(q_static["pelvis"], q_sb_pelvis)[0]
    mounts = {"pelvis": q_sb_pelvis}
    femur_axes = {}
    for role in FEMURS:
        if role not in q_static:
            continue
        mounts[role] = quat.multiply(quat.conjugate(q_static[role]), room)[0]
        if femur_axis == "functional":
            sources = [aligned] + ([functional] if functional is not None else [])
            refined, info = _functional_femur_mount(sources, role, mounts, q_static)
            femur_axes[role] = info
            if refined is None:
                warnings.append(f"{role}: {info['reason']}; kept the standing pose's axis")
            else:
                mounts[role] = refined
    quality = CalibrationQuality(
        static_window=(float(t0), float(t1)),
        static_max_speed_deg_s=max_speed,
        heading_source=source,
        flexion_peaks={r: len(h) for r, h in per_leg.items()},
        heading_spread_deg=spread,
        warnings=warnings,
        femur_axes=femur_axes,
    )
    return Calibration(mounts, room, quality)


def _functional_femur_mount(
    sources: list[AlignedSamples],
    role: str,
    mounts: dict[str, np.ndarray],
    q_static: dict[str, np.ndarray],
    min_seconds: float = 1.0,
) -> tuple[np.ndarray | None, dict]:
    """Femur mounting whose z axis is the thigh's flexion axis (Seel et al. 2014 style).

    The femur's angular velocity relative to the pelvis, in the femur sensor's frame,
    during flexion-dominated movement made standing, averaged with the sign of the
    flexion rate, is the flexion (medio-lateral) axis. The long axis stays the standing
    vertical. Valid when the movement is a straight swing: a flexion with a steady share
    of rotation or abduction tilts the axis by that share (docs/calibration.md).
    """
    side = "right" if role == "femur_r" else "left"
    up_f = rotate(quat.conjugate(q_static[role]), UP)[0]  # femur Y in its sensor frame
    total = np.zeros(3)
    samples, flex_range, spreads = 0, 0.0, []
    for data in sources:
        if role not in data.quat:
            continue
        q_p, q_f = data.quat["pelvis"], data.quat[role]
        seg_p = quat.multiply(q_p, mounts["pelvis"])
        angles = quat.hip_angles(seg_p, quat.multiply(q_f, mounts[role]), side)
        rates = np.gradient(angles, axis=0) * data.rate_hz
        rel = quat.relative(q_p, q_f)  # femur sensor relative to pelvis sensor
        step = quat.relative(rel[:-1], rel[1:])
        omega = 2.0 * step[:, 1:] * np.sign(step[:, :1]) * data.rate_hz  # femur sensor frame
        upright = rotate(seg_p, np.array([0.0, 1.0, 0.0])) @ UP > np.cos(np.deg2rad(20))
        use = (
            upright[:-1]
            & (np.abs(rates[:-1, 0]) > np.deg2rad(30))
            & np.isfinite(omega).all(axis=1)
            & (np.abs(angles[:-1, 1]) < np.deg2rad(15))
            & (np.abs(angles[:-1, 2]) < np.deg2rad(15))
        )
        if not use.any():
            continue
        signed = omega[use] * np.sign(rates[:-1][use, 0])[:, None]
        total += signed.sum(axis=0)
        samples += int(use.sum())
        flex_range = max(flex_range, float(np.ptp(angles[:-1][use, 0])))
        unit = signed / np.linalg.norm(signed, axis=1, keepdims=True)
        spreads.append(unit)
    rate = sources[0].rate_hz
    if samples < min_seconds * rate or flex_range < np.deg2rad(20):
        return None, {"reason": "no straight hip flexion swing found", "samples": samples}
    axis = total / np.linalg.norm(total)
    z = axis - np.dot(axis, up_f) * up_f
    z /= np.linalg.norm(z)
    x = np.cross(up_f, z)
    q_sb = frame_from_axes(x, up_f)
    static_z = rotate(mounts[role], np.array([0.0, 0.0, 1.0]))[0]
    units = np.vstack(spreads)
    spread = float(np.rad2deg(np.sqrt(np.mean(np.arccos(np.clip(units @ axis, -1, 1)) ** 2))))
    info = {
        "samples": samples,
        "change_from_standing_deg": float(np.rad2deg(np.arccos(np.clip(z @ static_z, -1, 1)))),
        "axis_spread_deg": spread,
    }
    return q_sb, info
