"""Repetitions and holds in one side's exercise set, and what each one measured.

Segmentation works on the exercise's primary angle (catalog), signed so the trained
direction is positive (e.g. abduction for a side-lying leg lift):

1. the angle is low-passed (zero phase, 3 Hz) within each stretch of valid samples;
   short gaps (up to 0.1 s) are bridged, longer ones split the set;
2. a repetition is a peak whose prominence is at least ``prominence`` of the set's
   robust range (2nd to 98th percentile) and at least ``min_excursion``, so noise,
   pauses and stop-and-go movement do not split or add repetitions;
3. its phases come from the angular velocity of the primary angle against a threshold
   of 5 % of the repetition's peak velocity (at least ``min_speed``): the movement
   starts where the velocity last rises through it before the half-way point, the top
   is reached where it first falls below it after 80 % of the way up, the lowering
   starts where it last was below it before 80 % of the way down, and the leg is back
   where it first falls below it after the half-way point down;
4. a repetition whose top lasts at least ``hold_min`` seconds is a hold; its
   steadiness is the SD and drift of the primary angle over the top.

Per repetition: range in each plane, peak, tempo, smoothness (SPARC and LDLJ of the
hip's angular speed from the orientations *before* the 6 Hz display low-pass, with only a
20 Hz anti-noise filter and a 15 Hz SPARC cut-off, so an 8-12 Hz tremor counts; per
phase, averaged), and the compensations the catalog lists:
the pelvis (or hip) angle relative to the set's *baseline* (the first still half second
in the exercise posture before the first repetition, :func:`set_baseline`), averaged over
the top of the repetition (where the trainer sees it) and at its start (``held``: taken
up before the lift and kept), plus the pelvis' largest excursion in each plane.
All values are SI (radians, seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hipimu.body.kinematics import Kinematics, pelvis_angles
from hipimu.core import quaternion as quat
from hipimu.core.dsp import find_peaks
from hipimu.scoring.catalog import MEASURES, Exercise
from hipimu.scoring.smoothness import angular_speed, ldlj, lowpass, sparc

DEG = np.pi / 180.0
FEMUR = {"right": "femur_r", "left": "femur_l"}
SENSOR_NAMES = {"pelvis": "pelvis", "femur_r": "right thigh", "femur_l": "left thigh"}


@dataclass(frozen=True)
class SegmentParams:
    """Tuning of the segmentation (defaults documented in docs/scoring.md)."""

    smooth_hz: float = 3.0
    prominence: float = 0.35  # of the set's robust range
    min_excursion: float = 2.0 * DEG
    speed_fraction: float = 0.05  # of the repetition's peak velocity
    min_speed: float = 1.5 * DEG  # rad/s
    half: float = 0.5
    near_top: float = 0.8
    hold_min: float = 2.0  # s
    max_bridge: float = 0.1  # s, gaps bridged by interpolation
    # anti-noise low-pass of the *unfiltered* orientations before the angular speed that
    # SPARC and LDLJ score (>= 20 Hz: the 6 Hz display low-pass would hide tremor)
    speed_cutoff_hz: float = 20.0
    # SPARC's spectral cut-off: above the 8-12 Hz physiological tremor band (the
    # reference's 10 Hz default would cut a 12 Hz tremor off)
    sparc_fc_hz: float = 15.0
    # the set's baseline: the first still stretch before the first repetition
    still_seconds: float = 0.5
    still_speed: float = 10.0 * DEG  # rad/s, each hip
    still_pelvis_speed: float = 4.0 * DEG  # rad/s


@dataclass(frozen=True)
class Phases:
    """Sample indices of one repetition: start, top reached, top left, end, and peak."""

    start: int
    top_start: int
    top_end: int
    end: int
    peak: int
    complete: bool = True


def _runs(ok: np.ndarray) -> list[tuple[int, int]]:
    """``[i0, i1)`` index runs where ``ok`` is True."""
    d = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def bridge_gaps(x: np.ndarray, fs: float, max_gap: float) -> np.ndarray:
    """Linearly fill NaN runs up to ``max_gap`` seconds long between valid samples."""
    x = np.array(x, dtype=float)
    bad = ~np.isfinite(x)
    for i0, i1 in _runs(bad):
        if i0 > 0 and i1 < len(x) and (i1 - i0) / fs <= max_gap:
            x[i0:i1] = np.interp(np.arange(i0, i1), [i0 - 1, i1], [x[i0 - 1], x[i1]])
    return x


def bridge_quaternions(q: np.ndarray, fs: float, max_gap: float) -> np.ndarray:
    """Quaternions with NaN runs up to ``max_gap`` seconds filled (sign-continuous
    component interpolation, renormalised: fine over a lost packet or two)."""
    q = np.array(q, dtype=float)
    ok = np.isfinite(q).all(axis=1)
    idx = np.flatnonzero(ok)
    if len(idx) < 2 or ok.all():
        return q
    flips = np.cumsum(np.sum(q[idx[1:]] * q[idx[:-1]], axis=1) < 0) % 2
    q[idx[1:][flips == 1]] *= -1
    for c in range(4):
        q[:, c] = bridge_gaps(q[:, c], fs, max_gap)
    filled = ~ok & np.isfinite(q).all(axis=1)
    q[filled] /= np.linalg.norm(q[filled], axis=1, keepdims=True)
    return q


def find_repetitions(x: np.ndarray, fs: float, params: SegmentParams | None = None) -> list[Phases]:
    """Repetitions in a signed primary angle ``x`` (radians, NaN where missing)."""
    p = params or SegmentParams()
    x = bridge_gaps(x, fs, p.max_bridge)
    runs = [(i0, i1) for i0, i1 in _runs(np.isfinite(x)) if i1 - i0 >= max(int(fs), 8)]
    if not runs:
        return []
    smooth = np.full(len(x), np.nan)
    for i0, i1 in runs:
        smooth[i0:i1] = lowpass(x[i0:i1], fs, p.smooth_hz)
    valid = smooth[np.isfinite(smooth)]
    spread = np.percentile(valid, 98) - np.percentile(valid, 2)
    if spread < p.min_excursion:
        return []
    prominence = max(p.prominence * spread, p.min_excursion)
    out: list[Phases] = []
    for i0, i1 in runs:
        s = smooth[i0:i1]
        v = np.gradient(s) * fs
        peaks = find_peaks(s, prominence=prominence)
        bounds = [0, *peaks.tolist(), len(s) - 1]
        for k, pk in enumerate(peaks):
            lt = bounds[k] + int(np.argmin(s[bounds[k] : pk + 1]))
            rt = pk + int(np.argmin(s[pk : bounds[k + 2] + 1]))
            ph = _phases(s, v, lt, pk, rt, p)
            edge = (lt == 0 and i0 > 0) or (rt == len(s) - 1 and i1 < len(x))
            out.append(
                Phases(
                    ph.start + i0,
                    ph.top_start + i0,
                    ph.top_end + i0,
                    ph.end + i0,
                    pk + i0,
                    ph.complete and not edge,
                )
            )
    return out


def _phases(s: np.ndarray, v: np.ndarray, lt: int, pk: int, rt: int, p: SegmentParams) -> Phases:
    """Phase indices of one repetition between its troughs ``lt`` and ``rt``."""
    top = s[pk]
    up, down = top - s[lt], top - s[rt]
    thr = max(p.speed_fraction * np.max(np.abs(v[lt : rt + 1])), p.min_speed)
    # rising: the half-way crossing, then back to where the velocity rose through thr
    half_up = lt + int(np.flatnonzero(s[lt : pk + 1] >= s[lt] + p.half * up)[0])
    quiet = np.flatnonzero(v[lt : half_up + 1] < thr)
    start = lt + int(quiet[-1]) if len(quiet) else lt
    near_up = lt + int(np.flatnonzero(s[lt : pk + 1] >= s[lt] + p.near_top * up)[0])
    still = np.flatnonzero(v[near_up : rt + 1] < thr)
    top_start = near_up + int(still[0]) if len(still) else pk
    # falling: the half-way crossing down, the last near-top sample before it
    below = np.flatnonzero(s[pk : rt + 1] < s[rt] + p.half * down)
    half_dn = pk + int(below[0]) if len(below) else rt
    near = np.flatnonzero(s[pk : half_dn + 1] >= s[rt] + p.near_top * down)
    near_dn = pk + int(near[-1]) if len(near) else pk
    still = np.flatnonzero(v[top_start : near_dn + 1] > -thr)
    top_end = top_start + int(still[-1]) if len(still) else near_dn
    quiet = np.flatnonzero(v[half_dn : rt + 1] > -thr)
    end = half_dn + int(quiet[0]) if len(quiet) else rt
    top_start = min(top_start, top_end)
    # a repetition that neither starts nor ends near rest (cut by the set's edges)
    complete = bool(min(up, down) >= 0.5 * max(up, down))  # a JSON-able bool
    return Phases(start, top_start, top_end, end, pk, complete)


@dataclass
class Repetition:
    """One repetition (or hold) of one side, with its measures (SI units)."""

    exercise: str
    side: str
    index: int
    kind: str  # "rep" or "hold"
    complete: bool
    start: float
    top_start: float
    top_end: float
    end: float
    peak_time: float
    range: np.ndarray  # (3,) max - min of flexion, adduction, rotation over the repetition
    peak: np.ndarray  # (3,) hip angles at the peak of the primary angle
    excursion: float  # primary angle (signed) from the start to the peak
    primary_range: float
    peak_speed: float  # rad/s, hip angular speed
    sparc: float
    ldlj: float
    sparc_phases: tuple[float, float]  # (up, down)
    ldlj_phases: tuple[float, float]
    pelvis: np.ndarray  # (3,) rotation, obliquity, tilt: signed largest excursion from the
    # set's baseline
    # catalog key -> mean over the top of the repetition, relative to the set's baseline
    # (the client in posture and still), signed so positive is the named compensation
    compensations: dict[str, float] = field(default_factory=dict)
    # catalog key -> the same at the repetition's start: compensation taken up and held
    held: dict[str, float] = field(default_factory=dict)
    hold_sd: float = float("nan")  # primary angle SD over the top (holds)
    hold_drift: float = float("nan")  # primary angle change over the top

    @property
    def time_up(self) -> float:
        return self.top_start - self.start

    @property
    def hold(self) -> float:
        return self.top_end - self.top_start

    @property
    def time_down(self) -> float:
        return self.end - self.top_end

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class SetScore:
    """One side's set of one exercise: its repetitions and what went wrong, in words."""

    exercise: Exercise
    side: str
    start: float
    end: float
    reps: list[Repetition]
    messages: list[str] = field(default_factory=list)
    missing_seconds: float = 0.0
    baseline: tuple[float, float] | None = None  # s: the still stretch compensation is from

    @property
    def complete_reps(self) -> list[Repetition]:
        return [r for r in self.reps if r.complete and r.kind == "rep"]

    @property
    def holds(self) -> list[Repetition]:
        return [r for r in self.reps if r.complete and r.kind == "hold"]


def _extreme(a: np.ndarray) -> np.ndarray:
    """Per column, the value of largest magnitude (signed); NaN columns stay NaN."""
    a = np.atleast_2d(a)
    if not len(a):
        return np.full(a.shape[1], np.nan)
    idx = np.nanargmax(np.abs(np.where(np.isfinite(a), a, 0.0)), axis=0)
    return a[idx, np.arange(a.shape[1])]


def _smooth(speed: np.ndarray, fs: float, fc: float = 15.0) -> tuple[float, float]:
    if len(speed) < 8 or not np.isfinite(speed).all() or not np.any(speed):
        return float("nan"), float("nan")
    try:
        return sparc(speed, fs, fc=min(fc, 0.5 * fs)), ldlj(speed, fs)
    except ValueError:
        return float("nan"), float("nan")


def score_set(
    kin: Kinematics,
    exercise: Exercise,
    side: str,
    start: float,
    end: float,
    params: SegmentParams | None = None,
) -> SetScore:
    """Find and measure one side's repetitions between ``start`` and ``end`` (s)."""
    p = params or SegmentParams()
    inside = np.flatnonzero((kin.time >= start) & (kin.time < end))
    out = SetScore(exercise, side, start, end, [])
    if len(inside) < 3:
        out.messages.append(f"{side} side: no data recorded for this set")
        return out
    fs = kin.rate_hz
    t = kin.time[inside]
    raw = kin.hip(side)[inside]
    missing = ~np.isfinite(raw).all(axis=1)
    out.missing_seconds = float(missing.sum() / fs)
    _describe_gaps(out, kin, inside, side, t, missing, fs, p)
    if missing.all():
        return out
    # lost packets (a few samples) are bridged; longer gaps stay NaN
    hip = np.column_stack([bridge_gaps(raw[:, j], fs, p.max_bridge) for j in range(3)])
    col, sign = exercise.primary_column, exercise.primary_sign
    x = sign * hip[:, col]
    phases = find_repetitions(x, fs, p)
    q_p = kin.segments.get("pelvis")
    q_p = bridge_quaternions(q_p[inside], fs, p.max_bridge) if q_p is not None else None
    q_pf = _relative_thigh(kin.raw_segments or kin.segments, side, inside, fs, p)
    speed = _speed(q_pf, fs, p) if q_pf is not None else np.full(len(t), np.nan)
    first = phases[0].start if phases else len(t) - 1
    other = "left" if side == "right" else "right"
    q_other = _relative_thigh(kin.raw_segments or kin.segments, other, inside[: first + 1], fs, p)
    speeds = [speed[: first + 1]]
    if q_other is not None:
        speeds.append(_speed(q_other, fs, p))
    b0, b1 = set_baseline(q_p, speeds, fs, first, p)
    out.baseline = (float(t[b0]), float(t[b1 - 1]))
    still = hip[b0:b1]
    base = _Baseline(
        _mean_quaternion(q_p[b0:b1]) if q_p is not None else None,
        still,
        column_means(still) if np.isfinite(still).any() else None,
    )
    for n, ph in enumerate(phases):
        out.reps.append(_measure(exercise, side, n, ph, t, hip, x, speed, q_p, base, fs, p))
    if not phases:
        what = exercise.primary.replace("_", " ")
        out.messages.append(
            f"{side} side: no repetitions found (no {what} of more than "
            f"{np.rad2deg(p.min_excursion):.0f}° that went up and came back)"
        )
    cut = [r for r in out.reps if not r.complete]
    if cut:
        out.messages.append(
            f"{side} side: {len(cut)} repetition(s) only partly recorded, left out of the scores"
        )
    return out


@dataclass(frozen=True)
class _Baseline:
    pelvis: np.ndarray | None  # q_GB of the pelvis, still in posture
    hip: np.ndarray  # (n, 3) hip angles over the baseline stretch
    hip_rest: np.ndarray | None  # (3,) their NaN-ignoring mean (None: none is finite)


def column_means(a: np.ndarray) -> np.ndarray:
    """``np.nanmean(a, axis=0)`` of a 2-D array, the same arithmetic (NaN set to zero,
    summed, divided by the count) without its per-call machinery: a set's repetitions
    call it hundreds of times. All-NaN columns give NaN."""
    ok = ~np.isnan(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, a, 0.0).sum(axis=0) / ok.sum(axis=0)


def _mean_quaternion(q: np.ndarray) -> np.ndarray | None:
    """Sign-aligned, renormalised mean of nearby quaternions (None if none is finite)."""
    q = q[np.isfinite(q).all(axis=1)]
    if not len(q):
        return None
    q = q * np.where(q @ q[0] < 0, -1.0, 1.0)[:, None]
    m = q.mean(axis=0)
    return m / np.linalg.norm(m)


def _speed(q: np.ndarray, fs: float, p: SegmentParams) -> np.ndarray:
    """Angular speed of ``q`` within each finite stretch (NaN elsewhere)."""
    out = np.full(len(q), np.nan)
    for i0, i1 in _runs(np.isfinite(q).all(axis=1)):
        if i1 - i0 >= 8:
            out[i0:i1] = angular_speed(q[i0:i1], fs, p.speed_cutoff_hz)
    return out


def set_baseline(
    q_pelvis: np.ndarray | None,
    hip_speeds: list[np.ndarray],
    fs: float,
    first_start: int,
    p: SegmentParams,
) -> tuple[int, int]:
    """``[i0, i1)`` of the set's baseline: the first ``still_seconds`` before the first
    repetition where the pelvis turns slower than ``still_pelvis_speed`` and each hip
    (both legs, so a set of both sides shares it) slower than ``still_speed``: the client
    is in the exercise posture and still. Without one, the ``still_seconds`` before the
    first repetition."""
    n = max(round(p.still_seconds * fs), 2)
    end = max(first_start, 1)
    still = np.ones(end, bool)
    for v in hip_speeds:
        still &= np.nan_to_num(np.asarray(v[:end], float), nan=np.inf) < p.still_speed
    if q_pelvis is not None:
        pel = np.nan_to_num(_speed(q_pelvis[:end], fs, p), nan=np.inf)
        still &= pel < p.still_pelvis_speed
    for i0, i1 in _runs(still):
        if i1 - i0 >= n:
            return i0, i0 + n
    return max(0, end - n), end


def _relative_thigh(segments, side, inside, fs, p) -> np.ndarray | None:
    """The thigh relative to the pelvis over ``inside``, short gaps bridged."""
    q_p, q_f = segments.get("pelvis"), segments.get(FEMUR[side])
    if q_p is None or q_f is None:
        return None
    return quat.relative(
        bridge_quaternions(q_p[inside], fs, p.max_bridge),
        bridge_quaternions(q_f[inside], fs, p.max_bridge),
    )


def _describe_gaps(out, kin, inside, side, t, missing, fs, p) -> None:
    """Say which sensor dropped out, when and for how long (gaps over ``max_bridge``)."""
    for i0, i1 in _runs(missing):
        if (i1 - i0) / fs <= p.max_bridge:
            continue
        lost = [
            SENSOR_NAMES[r]
            for r in ("pelvis", FEMUR[side])
            if r in kin.segments and not np.isfinite(kin.segments[r][inside][i0:i1]).all()
        ]
        who = ("the " + " and ".join(lost)) if lost else "a"
        out.messages.append(
            f"{side} side: {who} sensor was not recorded for {(i1 - i0) / fs:.1f} s "
            f"({t[i0]:.1f}-{t[min(i1, len(t) - 1)]:.1f} s); repetitions then are not counted"
        )


def _primary_range(x: np.ndarray, ph: Phases, fs: float, fallback: float) -> float:
    """How far the leg moved: the primary angle's mean over the top minus its mean at rest
    (0.15 s before the start and after the end). Averaging, unlike max - min, does not add
    the tremor's peaks to every range (+0.33 deg at 0.2 deg tremor, which biased a 4-6 deg
    band's symmetry; docs/scoring.md). ``fallback`` where a part is missing."""
    k = max(int(0.15 * fs), 1)
    top = x[ph.top_start : ph.top_end + 1]
    rest = np.concatenate([x[max(ph.start - k, 0) : ph.start + 1], x[ph.end : ph.end + k + 1]])
    top, rest = top[np.isfinite(top)], rest[np.isfinite(rest)]
    if not len(top) or not len(rest):
        return fallback
    return float(np.mean(top) - np.mean(rest))


def _finite_mean(a: float, b: float) -> float:
    """``np.nanmean([a, b])`` if either is finite, else NaN: the same arithmetic without
    an array."""
    if not (math.isfinite(a) or math.isfinite(b)):
        return float("nan")
    ok = [v for v in (a, b) if not math.isnan(v)]
    return sum(ok) / len(ok)


def _measure(exercise, side, n, ph, t, hip, x, speed, q_p, base, fs, p) -> Repetition:
    s, e = ph.start, ph.end
    seg = slice(s, e + 1)
    angles = hip[seg]
    rng = np.nanmax(angles, axis=0) - np.nanmin(angles, axis=0)
    sp_up, lj_up = _smooth(speed[ph.start : ph.top_start + 1], fs, p.sparc_fc_hz)
    sp_dn, lj_dn = _smooth(speed[ph.top_end : ph.end + 1], fs, p.sparc_fc_hz)
    pelvis = np.full(3, np.nan)
    comps: dict[str, float] = {}
    held: dict[str, float] = {}
    if q_p is not None and base.pelvis is not None:
        rel_pelvis = pelvis_angles(q_p[seg], base.pelvis)
        pelvis = _extreme(rel_pelvis)
    else:
        rel_pelvis = np.full((e + 1 - s, 3), np.nan)
    rest = base.hip_rest if base.hip_rest is not None else angles[0]
    rel_hip = angles - rest
    top_rows = slice(ph.top_start - s, ph.top_end - s + 1)
    start_rows = slice(0, max(1, int(0.1 * fs)))
    # the means over the top and the start of every column at once, of what is watched
    watched = {MEASURES[c.measure][0] for c in exercise.watch}
    means = {
        source: (column_means(rel[top_rows]), column_means(rel[start_rows]))
        for source, rel in (("pelvis", rel_pelvis), ("hip", rel_hip))
        if source in watched
    }
    for c in exercise.watch:
        source, column = MEASURES[c.measure]
        top, first = means[source]
        comps[c.key] = float(c.sign(side) * top[column])
        held[c.key] = float(c.sign(side) * first[column])
    kind = "hold" if (ph.top_end - ph.top_start) / fs >= p.hold_min else "rep"
    top = x[ph.top_start : ph.top_end + 1]
    hold_sd = float(np.nanstd(top)) if kind == "hold" else float("nan")
    hold_drift = float(top[-1] - top[0]) if kind == "hold" else float("nan")
    complete = ph.complete and bool(np.isfinite(angles).all())
    return Repetition(
        exercise=exercise.key,
        side=side,
        index=n,
        kind=kind,
        complete=complete,
        start=float(t[s]),
        top_start=float(t[ph.top_start]),
        top_end=float(t[ph.top_end]),
        end=float(t[e]),
        peak_time=float(t[ph.peak]),
        range=rng,
        peak=hip[ph.peak].copy(),
        excursion=float(x[ph.peak] - x[s]),
        primary_range=_primary_range(x, ph, fs, float(rng[exercise.primary_column])),
        peak_speed=float(np.nanmax(speed[seg])) if np.isfinite(speed[seg]).any() else np.nan,
        sparc=_finite_mean(sp_up, sp_dn),
        ldlj=_finite_mean(lj_up, lj_dn),
        sparc_phases=(sp_up, sp_dn),
        ldlj_phases=(lj_up, lj_dn),
        pelvis=pelvis,
        compensations=comps,
        held=held,
        hold_sd=hold_sd,
        hold_drift=hold_drift,
    )
