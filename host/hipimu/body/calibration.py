"""Sensor-to-segment calibration from a standing pose and flexion movements.

Frames (docs/frames.md): ``q_GS`` sensor to global (what the sensors report), ``q_SB``
segment to sensor (the mounting, constant), so ``q_GB = q_GS * q_SB``. The room frame
``R`` is the pelvis segment frame during the standing pose.

* Vertical: during the standing pose every segment's Y axis points up, so the global
  vertical seen in each sensor's frame gives that segment's Y axis in sensor coordinates.
* Heading (the pelvis anterior axis): at the peaks of hip flexion movements made while
  standing (marching, leg lifts), the thigh's distal axis swings forwards; its horizontal
  direction (per leg, its most medial group of peaks: straight flexion, not lifts
  forward-and-out), averaged over both legs so that small abduction or rotation cancel,
  is the anterior direction. Without
  such movements the heading falls back on the placement convention (the pelvis
  sensor's z axis points backwards out of the sacrum), with an error up to the mounting
  error; the quality report says which was used.
* In the standing pose the hips are neutral, so both femur frames equal the pelvis frame.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from hipimu.core import quaternion as quat
from hipimu.stream.assembler import AlignedSamples

UP = np.array([0.0, 0.0, 1.0])
FEMURS = ("femur_r", "femur_l")
# Placement convention (hardware/placement.md): the pelvis sensor's -z points anterior.
PELVIS_ANTERIOR_IN_SENSOR = np.array([0.0, 0.0, -1.0])
# flexion peaks within this of a thigh's main swing direction give the heading
HEADING_CLUSTER_DEG = 8.0


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
    return quat_from_matrix(np.column_stack([x, y, z]))


def quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """Unit quaternion ``[w, x, y, z]`` of a rotation matrix, by the same branch on its
    largest diagonal term (Shepperd 1978) as scipy's ``Rotation.from_matrix``, so the same
    sign (scipy.spatial is not imported: it costs half a second)."""
    m = np.asarray(m, dtype=np.float64)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    choice = int(np.argmax([m[0, 0], m[1, 1], m[2, 2], trace]))
    q = np.empty(4)  # x, y, z, w as scipy computes it
    if choice == 3:
        q[:] = m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1], 1.0 + trace
    else:
        i, j, k = choice, (choice + 1) % 3, (choice + 2) % 3
        q[i] = 1.0 - trace + 2.0 * m[i, i]
        q[j] = m[j, i] + m[i, j]
        q[k] = m[k, i] + m[i, k]
        q[3] = m[k, j] - m[j, k]
    q /= np.linalg.norm(q)
    return np.array([q[3], q[0], q[1], q[2]])


def angular_speed(q: np.ndarray, rate_hz: float) -> np.ndarray:
    """Angular speed (rad/s) between consecutive quaternions; the last row repeats."""
    rel = quat.relative(q[:-1], q[1:])
    angle = 2.0 * np.arctan2(np.linalg.norm(rel[:, 1:], axis=1), np.abs(rel[:, 0]))
    speed = angle * rate_hz
    return np.append(speed, speed[-1:]) if len(speed) else np.zeros(len(q))


SMOOTH_S = 0.5  # angular speed is averaged over this long before judging stillness
SPEED_LAG_S = 0.1  # ... after taking it over this lag (white noise barely adds to it)
STILL_FLOOR_FACTOR = 4.0  # still: at most this many times the recording's noise floor ...
STILL_MIN_DEG_S = 4.0  # ... or this, whichever is larger
PLAUSIBLE_DEG_S = 15.0  # a "standing" window moving faster than this is not standing


@dataclass
class StandingWindow:
    """The standing pose found in a recording and how good it is."""

    start: float
    end: float
    speed_deg_s: float  # mean smoothed angular speed of the stillest sensor set
    noise_floor_deg_s: float  # the recording's own low speed (5th percentile, smoothed)
    score: float  # 0 (barely plausible) .. 1 (as still as the noise floor, long enough)
    warnings: list[str] = field(default_factory=list)


def _smoothed_speed(aligned: AlignedSamples, max_gap: int) -> np.ndarray:
    """Per sample, the largest over sensors of the angular speed (deg/s) averaged over
    :data:`SMOOTH_S`; gaps up to ``max_gap`` samples are bridged, longer ones are inf."""
    from hipimu.core.dsp import moving_average

    width = max(1, round(SMOOTH_S * aligned.rate_hz))
    combined = np.zeros(len(aligned.time))
    for q in aligned.quat.values():
        speed = np.rad2deg(_lagged_speed(q, aligned.rate_hz))
        missing = ~np.isfinite(speed)
        if missing.all():
            return np.full(len(aligned.time), np.inf)
        bridged = missing & _short_runs(missing, max_gap)
        idx = np.arange(len(speed))
        filled = speed.copy()
        filled[missing] = np.interp(idx[missing], idx[~missing], speed[~missing])
        smooth = moving_average(filled, width)
        smooth[missing & ~bridged] = np.inf
        combined = np.maximum(combined, smooth)
    return combined


def _lagged_speed(q: np.ndarray, rate_hz: float, lag_s: float = SPEED_LAG_S) -> np.ndarray:
    """Angular speed (rad/s) over ``lag_s`` (centred), so that white noise in the
    orientations adds little: the rotation between samples ``lag_s`` apart over ``lag_s``."""
    lag = max(1, round(lag_s * rate_hz))
    if len(q) <= lag:
        return angular_speed(q, rate_hz)
    rel = quat.relative(q[:-lag], q[lag:])
    angle = 2.0 * np.arctan2(np.linalg.norm(rel[:, 1:], axis=1), np.abs(rel[:, 0]))
    speed = angle * rate_hz / lag
    head = lag // 2
    return np.concatenate([np.full(head, speed[0]), speed, np.full(lag - head, speed[-1])])


def _rolling(values: np.ndarray, need: int) -> np.ndarray:
    """Mean of every ``need``-long run of ``values`` (len - need + 1 values)."""
    finite = np.where(np.isfinite(values), values, 1e9)
    c = np.concatenate([[0.0], np.cumsum(finite)])
    return (c[need:] - c[:-need]) / need


def find_standing(
    aligned: AlignedSamples, min_seconds: float = 2.0, *, posture_check: bool = True
) -> StandingWindow:
    """The stillest upright window of at least ``min_seconds`` (docs/calibration.md).

    Stillness is the angular speed (over 0.1 s lags, so white output noise adds
    little) averaged over 0.5 s, the largest over the sensors,
    judged against the recording's own noise floor (its 5th percentile): a window is
    still when its mean speed is at most 4 times the floor (at least 4 deg/s), so normal
    standing sway and sensor noise pass. With ``posture_check`` every sensor's long (x)
    axis must be within 50 deg of the vertical (:mod:`hipimu.body.posture`), so lying
    down and sensors in their case never count as standing; among upright windows, the
    posture held longest wins over a brief one (a leg held up still), and the first
    window nearly as still as the stillest (within 25 % + 0.2 deg/s) is taken. It is
    widened while it stays as still, and trimmed 0.25 s at each end.
    Raises :class:`CalibrationError` saying what was seen when nothing plausible is.
    """
    from hipimu.body import posture

    rate = aligned.rate_hz
    n = len(aligned.time)
    need = max(2, round(min_seconds * rate))
    if n < need:
        raise CalibrationError(
            f"no standing pose found: the recording is {n / rate:.1f} s long, shorter "
            f"than the {min_seconds:g} s of standing needed; stand still for longer"
        )
    speed = _smoothed_speed(aligned, int(0.2 * rate))
    if posture_check:
        labels = posture.classify(aligned.quat)
        up = labels == "standing"
        for q in aligned.quat.values():  # both legs down, not one lifted
            up &= posture.upright(q)
    else:
        labels = None
        up = np.ones(n, dtype=bool)
    finite = speed[np.isfinite(speed)]
    if finite.size == 0:
        raise CalibrationError("no standing pose found: no sensor sent usable samples")
    pool = speed[up & np.isfinite(speed)]
    floor = float(np.percentile(pool if pool.size else finite, 5))
    limit = max(STILL_FLOOR_FACTOR * floor, STILL_MIN_DEG_S)
    mean = _rolling(speed, need)
    all_up = _rolling(up.astype(float), need) > 1.0 - 1e-9
    ok = all_up & (mean <= PLAUSIBLE_DEG_S)
    if not ok.any():
        raise CalibrationError(_nothing_standing(aligned, labels, up, mean, min_seconds))
    candidates = np.flatnonzero(ok)
    if posture_check:
        candidates = _main_stance(aligned, candidates, need, mean)
    # the first window nearly as still as the stillest: the pose the trainer asked for
    stillest = float(np.min(mean[candidates]))
    near = candidates[mean[candidates] <= 1.25 * stillest + 0.2]
    best = int(near[0])
    start, end = best, best + need - 1
    still = up & (speed <= max(limit, mean[best]))
    while start > 0 and still[start - 1]:
        start -= 1
    while end + 1 < n and still[end + 1]:
        end += 1
    trim = min(int(0.25 * rate), (end - start - need) // 2) if end - start > need else 0
    start, end = start + max(trim, 0), end - max(trim, 0)
    speed_mean = float(mean[best])
    warnings = []
    if speed_mean > limit:
        warnings.append(
            f"the standing pose was not still: {speed_mean:.1f} deg/s against a noise floor "
            f"of {floor:.1f} deg/s; the mounting may be off by a few degrees"
        )
    length = (end - start + 1) / rate
    stillness = float(np.clip((PLAUSIBLE_DEG_S - speed_mean) / (PLAUSIBLE_DEG_S - limit), 0, 1))
    score = stillness * float(np.clip(length / max(min_seconds, 2.0), 0.0, 1.0))
    if length < 2.0:
        warnings.append(f"the standing pose lasted only {length:.1f} s; stand still 2-3 s")
    return StandingWindow(
        float(aligned.time[start]),
        float(aligned.time[end]),
        speed_mean,
        floor,
        round(score, 3),
        warnings,
    )


def _main_stance(
    aligned: AlignedSamples, candidates: np.ndarray, need: int, mean: np.ndarray
) -> np.ndarray:
    """The candidate windows in the stance held longest: the gravity direction in every
    sensor's frame within 15 deg of it (a leg held up still is a different stance)."""
    from hipimu.body import posture

    step = max(1, len(candidates) // 1500)
    picked = candidates[::step]
    centre = picked + need // 2
    cos_lim = np.cos(np.deg2rad(15.0))
    ups = []
    for q in aligned.quat.values():
        up = posture.sensor_up(q[centre])
        ups.append(np.nan_to_num(up / np.linalg.norm(up, axis=1, keepdims=True)))

    def agree(rows: slice) -> np.ndarray:
        """Which candidates agree with those of ``rows`` in every sensor (a block of the
        n x n agreement matrix: blocks keep it in cache, 4x faster than whole)."""
        out = ups[0][rows] @ ups[0].T > cos_lim
        for up in ups[1:]:
            out &= up[rows] @ up.T > cos_lim
        return out

    if not ups:
        return picked
    n, block = len(picked), 256
    support = np.concatenate([agree(slice(a, a + block)).sum(axis=1) for a in range(0, n, block)])
    # the stance most candidate windows share (ties: the first)
    best = int(np.argmax(support))
    return picked[agree(slice(best, best + 1))[0]]


def _nothing_standing(
    aligned: AlignedSamples,
    labels: np.ndarray | None,
    up: np.ndarray,
    mean: np.ndarray,
    min_seconds: float,
) -> str:
    """Why no standing pose was found, with what the recording held instead."""
    from hipimu.body import posture

    rate = aligned.rate_hz
    seen = posture.summary(labels, rate) if labels is not None else ""
    if not up.any():
        return (
            f"no standing pose found: the sensors were never upright (each sensor's x axis "
            f"within {posture.UPRIGHT_DEG:.0f} deg of the vertical); seen: {seen}; "
            "stand still, upright, for 2-3 s at the start of the recording"
        )
    need = max(2, round(min_seconds * rate))
    upright_runs = _rolling(up.astype(float), need) > 1.0 - 1e-9
    if not upright_runs.any():
        return (
            f"no standing pose found: upright for {up.sum() / rate:.1f} s in all but never "
            f"for {min_seconds:g} s at a time; seen: {seen}; stand still for 2-3 s"
        )
    fastest = float(np.min(mean[upright_runs]))
    return (
        f"no standing pose found: the stillest {min_seconds:g} s upright still moved at "
        f"{fastest:.1f} deg/s (standing sway is below {PLAUSIBLE_DEG_S:.0f} deg/s); "
        f"seen: {seen}; stand still for 2-3 s"
    )


def find_still_window(
    aligned: AlignedSamples,
    min_seconds: float = 2.0,
    max_speed_deg_s: float | None = None,
    *,
    posture_check: bool = True,
) -> tuple[float, float]:
    """The standing pose's window (s): :func:`find_standing`'s ``(start, end)``.

    ``max_speed_deg_s``, when given, additionally refuses windows faster than that.
    """
    found = find_standing(aligned, min_seconds, posture_check=posture_check)
    if max_speed_deg_s is not None and found.speed_deg_s > max_speed_deg_s:
        raise CalibrationError(
            f"no standing pose found: the stillest {min_seconds:g} s moved at "
            f"{found.speed_deg_s:.1f} deg/s (limit {max_speed_deg_s:g}); stand still"
        )
    return found.start, found.end


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
    standing_score: float | None = None  # find_standing's 0..1 score (None: window given)
    standing_speed_deg_s: float | None = None  # its mean smoothed angular speed
    noise_floor_deg_s: float | None = None  # the recording's own low angular speed


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
    """Average orientation of rows of ``q``: the eigenvector of the largest eigenvalue of
    the mean of ``q q^T`` (Markley et al. 2007), as scipy's ``Rotation.mean`` (without
    importing scipy.spatial), with ``w >= 0``: an eigenvector's sign is arbitrary (scipy's
    depends on rounding inside LAPACK), and ``q`` and ``-q`` are the same rotation."""
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    _, v = np.linalg.eigh(q.T @ q / len(q))
    m = v[:, -1]
    return -m if m[0] < 0 else m


def _thigh_peaks(
    aligned: AlignedSamples, exclude: np.ndarray, q_static: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray, float]]:
    """Peaks of thigh excursion while the pelvis is upright: (role, horizontal direction of
    the thigh's distal axis in pelvis-sensor coordinates, excursion in radians)."""
    from hipimu.core.dsp import find_peaks  # as scipy.signal's, which is slow to import

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
        peaks = find_peaks(dev, height=np.deg2rad(20), distance=int(0.5 * aligned.rate_hz))
        for i in peaks:
            h = down_p[i] - np.dot(down_p[i], up_p) * up_p
            found.append((role, h / np.linalg.norm(h), float(dev[i])))
    return found


def _flexion_headings(
    peaks: list[tuple[str, np.ndarray, float]],
    prior: np.ndarray | None,
    up: np.ndarray | None = None,
) -> dict[str, list[np.ndarray]]:
    """Per femur, the anterior direction at each of its straight flexion peaks.

    Peaks within 45 deg of the anterior-posterior line of ``prior`` count (others are
    abduction); their sign is taken towards ``prior``. Without a prior the largest
    excursion, which standing is nearly always flexion, serves as one. With ``up`` (the
    pelvis's vertical in the same frame) each leg keeps only its most medial group of
    peaks (:func:`_straight_flexion`).
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
    if up is None:
        return found
    right = np.cross(prior, up)  # ISB: Z (right) = X (anterior) x Y (up)
    right /= np.linalg.norm(right)
    legs = {
        role: _straight_flexion(hs, right if role == "femur_r" else -right)
        for role, hs in found.items()
    }
    out = {role: kept for role, (kept, _groups) in legs.items()}
    if len(legs) == 2 and all(kept for kept, _ in legs.values()):
        means = [np.mean(kept, axis=0) for kept, _ in legs.values()]
        apart = _angle_deg(*(m / np.linalg.norm(m) for m in means))
        grouped = [role for role, (_, groups) in legs.items() if groups > 1]
        if apart > 2 * HEADING_CLUSTER_DEG and len(grouped) == 1:
            # one leg showed straight flexion beside its lifts forward-and-out; the other
            # swung one way only, likely out: the heading comes from the first alone
            out = {grouped[0]: out[grouped[0]]}
    return out


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.rad2deg(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0))))


def _straight_flexion(
    hs: list[np.ndarray], lateral: np.ndarray, width_deg: float = HEADING_CLUSTER_DEG
) -> tuple[list, int]:
    """The peaks of one thigh that swung straight forwards: its swing directions fall
    in groups (each within ``width_deg`` of its mean; a group holds at least 3 peaks and
    a tenth of them); straight flexion is the most medial group, since a lift
    forward-and-out (45 deg flexion with 20 deg abduction) swings some 25 deg towards
    ``lateral``. With one group only (a leg that did only one kind of lift) it is that
    group, and the other leg's, mirrored, still averages it out if it did the same.
    Returns the peaks kept and how many groups there were."""
    if len(hs) < 3:
        return hs, 1
    h = np.asarray(hs)
    near = np.cos(np.deg2rad(width_deg))
    left = np.ones(len(h), dtype=bool)
    groups = []
    while left.sum() >= 3:
        sub = h[left]
        centre = sub[np.argmax((sub @ sub.T > near).sum(axis=1))]
        keep = left & (h @ centre > near)
        for _ in range(3):
            mean = h[keep].mean(axis=0)
            keep = left & (h @ (mean / np.linalg.norm(mean)) > near)
            if not keep.any():
                break
        if keep.sum() < max(3, len(h) / 10):
            break
        groups.append(keep)
        left &= ~keep
    if not groups:
        return hs, 1
    medial = min(groups, key=lambda g: float(np.mean(h[g] @ lateral)))
    return list(h[medial]), len(groups)


def calibrate(
    aligned: AlignedSamples,
    static_window: tuple[float, float] | None = None,
    *,
    pelvis_forward: np.ndarray | None = None,
    functional: AlignedSamples | None = None,
    placement_prior: bool = True,
    femur_axis: str = "standing",
    posture_check: bool = True,
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
    ``posture_check`` (default) accepts as standing only windows where every sensor's
    long axis is near the vertical (:func:`find_standing`).
    """
    if femur_axis not in ("standing", "functional"):
        raise ValueError(f"femur_axis must be 'standing' or 'functional', got {femur_axis!r}")
    if "pelvis" not in aligned.quat:
        raise CalibrationError("no pelvis sensor: the pelvis defines the hip angles")
    found = None
    if static_window is None:
        found = find_standing(aligned, posture_check=posture_check)
        static_window = (found.start, found.end)
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

    warnings = list(found.warnings) if found is not None else []
    up_p = rotate(quat.conjugate(q_static["pelvis"]), UP)[0]
    peaks = _thigh_peaks(aligned, static, q_static)
    if functional is not None:
        peaks += _thigh_peaks(functional, np.zeros(len(functional.time), dtype=bool), q_static)
    prior = None
    if placement_prior:
        prior = PELVIS_ANTERIOR_IN_SENSOR - np.dot(PELVIS_ANTERIOR_IN_SENSOR, up_p) * up_p
        prior /= np.linalg.norm(prior)
    per_leg = _flexion_headings(peaks, prior, up_p)
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
        elif (apart := _angle_deg(leg_means[0], leg_means[1])) > 2 * HEADING_CLUSTER_DEG:
            warnings.append(
                f"the thighs swung {apart:.0f} deg apart at their flexion peaks (lifts "
                "forward-and-out on one side only?): the heading may be off by half of that; "
                "march in place a few steps to refine it"
            )
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
    if found is not None:
        quality.standing_score = found.score
        quality.standing_speed_deg_s = found.speed_deg_s
        quality.noise_floor_deg_s = found.noise_floor_deg_s
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
