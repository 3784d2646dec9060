"""Postures and exercise sets from the signals alone (no trainer markers).

1. **Posture** per sample from the sensors' tilt (:mod:`hipimu.body.posture`), made
   steady by a 1 s majority vote; spans shorter than 2 s are transitions.
2. **Movement peaks** per side in each posture span, on the catalog's primary angle for
   that posture (abduction lying on the side, for the top leg only; hip flexion
   standing), low-passed at 3 Hz: peaks rising at least 10 deg (and 35 % of the span's
   robust range) above the span's resting level.
3. **Sets**: peaks closer than 6 s in time (lying: one side; standing: both sides) form
   a group. Standing, a group whose peaks alternate between the legs is marching (side
   ``both``); otherwise each leg's peaks are a set of their own. A set needs two peaks,
   or one held at least 3 s.
4. **Which exercise**: side-lying leg lift (with the toes turned in or out when the
   thigh is rotated more than 15 deg at the top); standing, marching or a standing leg
   lift, "forward and out" when the top holds more than 10 deg of abduction, its level
   the catalog level nearest the larger of the two sides' median top flexion.
5. **Confidence** in [0, 1]: the share of the set spent in its posture, times the
   regularity of its peaks' heights (1 - their coefficient of variation), times the
   margin of its smallest peak over the detection threshold (saturating at 2x).

Repetitions and holds are then counted in each set by :mod:`hipimu.scoring.reps`, as
for marked sets. Trainer markers, where a session has them, replace detection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hipimu.body import posture as body_posture
from hipimu.body.kinematics import Kinematics
from hipimu.core.dsp import find_peaks, moving_sum
from hipimu.scoring.smoothness import lowpass
from hipimu.stream.assembler import AlignedSamples

DEG = np.pi / 180.0
MIN_RISE = 10.0 * DEG  # a movement peak rises at least this above rest ...
MIN_SHARE = 0.35  # ... and this share of the posture span's robust range
GROUP_GAP_S = 6.0  # peaks closer than this belong to one set
MIN_SPAN_S = 2.0  # shorter posture spans are transitions
HOLD_S = 3.0  # a single peak held this long is a set of one hold
VARIANT_DEG = 15.0  # rotation at the top naming a side-lying variant
ABDUCTION_VARIANT_DEG = 10.0  # abduction at the top naming the "forward and out" lift
LEVELS = {
    "standing_leg_lift": (30, 45, 60, 90),
    "standing_leg_lift_abduction": (30, 45, 60, 90),
}
TOP_LEG = {"side_lying_left_down": "right", "side_lying_right_down": "left"}
MARKED = ("right", "left", "both")


@dataclass
class DetectedSet:
    """One exercise set found in the signals (times in s, host clock)."""

    exercise: str
    side: str  # right, left or both
    start: float
    end: float
    posture: str
    peaks: int
    confidence: float
    source: str = "detected"

    def as_marker(self) -> dict:
        return asdict(self)


def steady_postures(aligned: AlignedSamples, window_s: float = 1.0) -> np.ndarray:
    """:func:`hipimu.body.posture.classify` per sample after a ``window_s`` majority vote."""
    labels = body_posture.classify(aligned.quat)
    names = np.array(body_posture.POSTURES, dtype=object)
    onehot = np.stack([labels == n for n in names], axis=1).astype(np.int32)
    width = max(1, round(window_s * aligned.rate_hz))
    # votes as exact counts: the argmax (ties: the first) of the window means, as before
    votes = moving_sum(onehot, width)
    return names[np.argmax(votes, axis=1)]


def posture_spans(aligned: AlignedSamples) -> list[dict]:
    """The session's postures as ``{"posture", "start", "end"}`` spans of at least 2 s."""
    return body_posture.spans(steady_postures(aligned), aligned.time, MIN_SPAN_S)


def _smooth(x: np.ndarray, fs: float) -> np.ndarray:
    out = np.full(len(x), np.nan)
    ok = np.isfinite(x)
    if ok.sum() < max(int(fs), 8):
        return out
    idx = np.arange(len(x))
    filled = np.interp(idx, idx[ok], x[ok])
    out[:] = lowpass(filled, fs, 3.0)
    out[~ok] = np.nan
    return out


@dataclass
class _Peak:
    side: str
    index: int
    height: float  # above rest, radians
    start: int  # where the movement left rest
    end: int  # where it came back
    top_s: float  # time spent above 80 % of the height


def _walk(e: np.ndarray, i: int, level: float, direction: int) -> int:
    """From ``i``, the first index in ``direction`` (-1 or 1) where ``e <= level``, or the
    end of ``e`` if there is none: a per-sample walk, searched in growing chunks (a peak's
    flanks span hundreds of samples; a Python loop over them cost a tenth of the set
    detection)."""
    n = len(e)
    if e[i] <= level:
        return i
    pos, width = i, 64
    while True:
        if direction < 0:
            start = max(pos - width, 0)
            hit = np.flatnonzero(e[start:pos] <= level)
            if hit.size:
                return start + int(hit[-1])
            if start == 0:
                return 0
            pos = start
        else:
            stop = min(pos + width, n)
            hit = np.flatnonzero(e[pos + 1 : stop] <= level)
            if hit.size:
                return pos + 1 + int(hit[0])
            if stop >= n:
                return n - 1
            pos = stop - 1
        width *= 4


def _peaks(x: np.ndarray, side: str, fs: float) -> tuple[list[_Peak], float]:
    """Movement peaks of ``x`` (a signed primary angle in one posture span) and the
    threshold used."""
    s = _smooth(x, fs)
    valid = s[np.isfinite(s)]
    if valid.size < fs:
        return [], MIN_RISE
    rest = float(np.percentile(valid, 10))
    spread = float(np.percentile(valid, 99) - rest)
    threshold = max(MIN_RISE, MIN_SHARE * spread)
    e = np.nan_to_num(s - rest, nan=0.0)
    found = find_peaks(e, height=threshold, prominence=threshold, distance=int(0.5 * fs))
    out = []
    for i in found:
        h = e[i]
        lo = _walk(e, i, 0.2 * h, -1)
        hi = _walk(e, i, 0.2 * h, 1)
        top = np.count_nonzero(e[lo:hi] > 0.8 * h) / fs
        out.append(_Peak(side, int(i), float(h), lo, hi, float(top)))
    return out, threshold


def _groups(peaks: list[_Peak], time: np.ndarray) -> list[list[_Peak]]:
    """Peaks in time order, split where one ends more than :data:`GROUP_GAP_S` before
    the next starts."""
    peaks = sorted(peaks, key=lambda p: p.index)
    groups: list[list[_Peak]] = []
    for p in peaks:
        if groups and time[p.start] - time[groups[-1][-1].end] < GROUP_GAP_S:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def _kind(p: _Peak) -> tuple:
    """What a standing peak looks like: its side and whether it is held (the abduction
    variant is decided per set, on the median, as single lifts vary about the limit)."""
    return (p.side, p.top_s >= HOLD_S)


def _standing_runs(
    group: list[_Peak], hips: dict[str, np.ndarray], time: np.ndarray
) -> list[tuple[str, list[_Peak]]]:
    """Split a standing group into sets: runs of at least 4 peaks alternating between the
    legs (marching, ``both``) and runs of peaks of one kind (:func:`_kind`); a pause of
    more than twice the run's usual interval between peaks (marching) or rest between
    them (one leg; at least 2 s more than usual) ends a run."""
    out: list[tuple[str, list[_Peak]]] = []
    n, i = len(group), 0

    def gap(a: _Peak, b: _Peak) -> float:
        return float(time[b.index] - time[a.index])

    def rest(a: _Peak, b: _Peak) -> float:
        return float(time[b.start] - time[a.end])

    while i < n:
        j = i
        while j + 1 < n and group[j + 1].side != group[j].side:
            if j > i:
                usual = np.median([gap(group[k], group[k + 1]) for k in range(i, j)])
                if gap(group[j], group[j + 1]) > 2.0 * usual:
                    break
            j += 1
        if j - i + 1 >= 4:
            out.append(("both", group[i : j + 1]))
            i = j + 1
            continue
        kind = _kind(group[i])
        j = i
        while j + 1 < n and _kind(group[j + 1]) == kind:
            if j > i:
                usual = np.median([rest(group[k], group[k + 1]) for k in range(i, j)])
                if rest(group[j], group[j + 1]) > max(2.0 * usual, usual + 2.0):
                    break
            j += 1
        out.append((group[i].side, group[i : j + 1]))
        i = j + 1
    return out


def _is_set(peaks: list[_Peak]) -> bool:
    return len(peaks) >= 2 or (len(peaks) == 1 and peaks[0].top_s >= HOLD_S)


def _confidence(peaks: list[_Peak], threshold: float, posture_share: float) -> float:
    heights = np.array([p.height for p in peaks])
    regular = 1.0 - min(1.0, float(np.std(heights) / np.mean(heights))) if len(peaks) > 1 else 0.7
    margin = float(np.clip(heights.min() / threshold - 1.0, 0.0, 1.0))
    return round(float(np.clip(posture_share * regular * (0.5 + 0.5 * margin), 0.0, 1.0)), 3)


def _window(peaks: list[_Peak], time: np.ndarray, lo: int, hi: int) -> tuple[float, float]:
    """The set's time window: from 0.5 s before its first movement to 0.5 s after its
    last, inside the posture span ``[lo, hi)``."""
    start = max(time[lo], time[min(p.start for p in peaks)] - 0.5)
    end = min(time[hi - 1], time[max(p.end for p in peaks)] + 0.5)
    return float(start), float(end)


def detect_sets(kin: Kinematics, aligned: AlignedSamples) -> list[DetectedSet]:
    """Exercise sets of a session from its signals (module doc), in time order."""
    fs = aligned.rate_hz
    time = kin.time
    labels = steady_postures(aligned)
    found: list[DetectedSet] = []
    pending: list[tuple[str, str, list[_Peak], float, float, str, float, float]] = []
    for span in body_posture.spans(labels, time, MIN_SPAN_S):
        lo = int(np.searchsorted(time, span["start"]))
        hi = int(np.searchsorted(time, span["end"], side="right"))
        name = span["posture"]
        if name in TOP_LEG:
            side = TOP_LEG[name]
            hip = kin.hip(side)[lo:hi]
            peaks, threshold = _peaks(-hip[:, 1], side, fs)
            for group in _groups(peaks, time[lo:hi]):
                if not _is_set(group):
                    continue
                tops = np.array([hip[p.index] for p in group])
                rot = float(np.median(tops[:, 2]))
                exercise = "side_lying_leg_lift"
                if rot > VARIANT_DEG * DEG:
                    exercise += "_internal_rotation"
                elif rot < -VARIANT_DEG * DEG:
                    exercise += "_external_rotation"
                pending.append(_entry(exercise, side, group, threshold, name, time, lo, hi, labels))
        elif name == "standing":
            hips = {s: kin.hip(s)[lo:hi] for s in ("right", "left")}
            peaks, thresholds = [], {}
            for side, hip in hips.items():
                p, thresholds[side] = _peaks(hip[:, 0], side, fs)
                peaks += p
            for group in _groups(peaks, time[lo:hi]):
                for side, run in _standing_runs(group, hips, time[lo:hi]):
                    tops = np.array([hips[p.side][p.index] for p in run])
                    if side == "both":
                        exercise = "marching"
                        if np.median(-tops[:, 1]) > ABDUCTION_VARIANT_DEG * DEG:
                            exercise = "marching_abduction"
                        elif np.median(tops[:, 2]) > VARIANT_DEG * DEG:
                            exercise = "marching_internal_rotation"
                        threshold = max(thresholds.values())
                    else:
                        if not _is_set(run):
                            continue
                        exercise = "standing_leg_lift"
                        if np.median(-tops[:, 1]) > ABDUCTION_VARIANT_DEG * DEG:
                            exercise = "standing_leg_lift_abduction"
                        threshold = thresholds[side]
                    pending.append(
                        _entry(exercise, side, run, threshold, name, time, lo, hi, labels)
                    )
    # a lift's level: the catalog level nearest the better side's median top flexion
    best: dict[str, float] = {}
    for exercise, *_rest, top_flexion in pending:
        if exercise in LEVELS:
            best[exercise] = max(best.get(exercise, 0.0), top_flexion)
    for exercise, side, peaks, start, end, name, conf, _top in pending:
        if exercise in LEVELS:
            level = min(LEVELS[exercise], key=lambda v: abs(v * DEG - best[exercise]))
            exercise = f"{exercise}_{level}"
        found.append(DetectedSet(exercise, side, start, end, name, len(peaks), conf))
    return sorted(found, key=lambda s: s.start)


def _entry(exercise, side, peaks, threshold, name, time, lo, hi, labels):
    start, end = _window(peaks, time[lo:hi], 0, hi - lo)
    inside = (time >= start) & (time <= end)
    share = float(np.mean(labels[inside] == name)) if inside.any() else 0.0
    conf = _confidence(peaks, threshold, share)
    top = float(np.median([p.height for p in peaks]))
    return (exercise, side, peaks, start, end, name, conf, top)


def session_sets(
    kin: Kinematics, aligned: AlignedSamples, markers: list[dict] | None
) -> list[dict]:
    """The sets to score: the trainer's marked sets when there are any (they override
    detection), else the detected ones (with ``confidence``); each a marker-like dict
    with ``exercise``, ``side``, ``start``, ``end`` and ``source``."""
    marked = [dict(m, source="marker") for m in markers or [] if m.get("side") in MARKED]
    if marked:
        return marked
    return [s.as_marker() for s in detect_sets(kin, aligned)]
