"""A session report a trainer can hand to a client: one self-contained HTML file.

Plots are hand-written inline SVG (no plotting dependency, no external files): left and
right repetitions overlaid, range bars with the target band, smoothness per repetition,
pelvis compensation, and trends across the client's sessions. The words are written for
the client; a details table per exercise carries the numbers a trainer wants.
Degrees appear here only (the scores are SI).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hipimu import __version__
from hipimu.body.kinematics import Kinematics
from hipimu.core.names import SIDES
from hipimu.scoring.summary import ExerciseScore, SessionScores
from hipimu.scoring.symmetry import SideDifference
from hipimu.scoring.targets import SessionRecord, TargetResult, trend
from hipimu.store.log import LogContents

COLORS = {"right": "#0072B2", "left": "#D55E00"}  # colour-blind safe pair
DASH = {"right": "", "left": "6 4"}


@dataclass
class ReportInput:
    """What the report shows."""

    scores: SessionScores
    kinematics: Kinematics | None
    title: str = "Your hip exercise report"
    client: str = ""
    session: str = ""
    targets: dict[str, dict[str, TargetResult]] = field(default_factory=dict)
    next_targets: dict[str, dict[str, dict]] = field(default_factory=dict)
    history: list[SessionRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the trainer (log recovery, ...)
    client_reports: list[dict] = field(default_factory=list)  # the client's own words
    when: str = ""  # date and time of the session, for the header


# --- smoothness in words -----------------------------------------------------------------

# SPARC -> a 0-10 scale for clients: a smooth bell (-1.4) is 10, -3.0 (very stop-and-go or
# shaky) is 0. SPARC itself stays in the trainer's table.
SPARC_TOP, SPARC_BOTTOM = -1.4, -3.0
SMOOTH_WORDS = ((8.0, "very smooth"), (6.0, "smooth"), (4.0, "a little uneven"), (0.0, "uneven"))


def smoothness_score(sparc_value: float) -> float:
    """SPARC on a 0-10 scale (10 = as smooth as a single bell-shaped movement)."""
    return float(np.clip((sparc_value - SPARC_BOTTOM) / (SPARC_TOP - SPARC_BOTTOM) * 10, 0, 10))


def smoothness_word(sparc_value: float) -> str:
    score = smoothness_score(sparc_value)
    return next(w for lim, w in SMOOTH_WORDS if score >= lim)


def _n(value: float, digits: int = 1) -> str:
    """A number that never prints as "-0.0"."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _signed(value: float, digits: int = 1, unit: str = "") -> str:
    text = _n(value, digits)
    return (text if float(text) == 0 or text.startswith("-") else "+" + text) + unit


# --- SVG --------------------------------------------------------------------------------


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = np.ceil(lo / step) * step
    return [round(float(v), 10) + 0.0 for v in np.arange(start, hi + step * 0.001, step)]


class Chart:
    """A small x-y chart drawn as SVG, in data coordinates."""

    def __init__(self, xlim, ylim, title: str, xlabel: str, ylabel: str, w=520, h=230):
        self.x0, self.x1 = xlim
        self.y0, self.y1 = ylim
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1
        self.w, self.h = w, h
        self.left, self.right, self.top, self.bottom = 56, 12, 46, 42
        self.parts: list[str] = []
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel

    def px(self, x: float) -> float:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * (self.w - self.left - self.right)

    def py(self, y: float) -> float:
        return (
            self.h
            - self.bottom
            - (y - self.y0) / (self.y1 - self.y0) * (self.h - self.top - self.bottom)
        )

    def line(self, xs, ys, color: str, dash: str = "", width: float = 1.5, opacity=1.0) -> None:
        xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        if xs.shape != ys.shape:
            raise ValueError(f"line: {len(xs)} x values for {len(ys)} y values")
        ok = np.isfinite(xs) & np.isfinite(ys)
        # the arithmetic of px and py, elementwise (same operations, same digits)
        px = self.left + (xs[ok] - self.x0) / (self.x1 - self.x0) * (
            self.w - self.left - self.right
        )
        py = (
            self.h
            - self.bottom
            - (ys[ok] - self.y0) / (self.y1 - self.y0) * (self.h - self.top - self.bottom)
        )
        # one %-format over all the points: a report draws about 200 000 of them, and
        # this is a third faster than a format call per point (the same text)
        xy = np.empty(2 * len(px))
        xy[0::2], xy[1::2] = px, py
        pts = ("%.1f,%.1f " * len(px) % tuple(xy.tolist()))[:-1]
        if pts:
            self.parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}"'
                f' stroke-dasharray="{dash}" stroke-opacity="{opacity}"/>'
            )

    def dot(self, x: float, y: float, color: str, r: float = 3.5, hollow: bool = False) -> None:
        if np.isfinite(x) and np.isfinite(y):
            fill = "white" if hollow else color
            self.parts.append(
                f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="{r}" fill="{fill}"'
                f' stroke="{color}" stroke-width="1.5"/>'
            )

    def rect(self, x0, x1, y0, y1, color: str, opacity: float = 1.0, title: str = "") -> None:
        xa, xb = sorted((self.px(x0), self.px(x1)))
        ya, yb = sorted((self.py(y0), self.py(y1)))
        tip = f"<title>{html.escape(title)}</title>" if title else ""
        self.parts.append(
            f'<rect x="{xa:.1f}" y="{ya:.1f}" width="{xb - xa:.1f}" height="{yb - ya:.1f}"'
            f' fill="{color}" fill-opacity="{opacity}">{tip}</rect>'
        )

    def text(self, x: float, y: float, s: str, anchor: str = "middle", size: int = 11) -> None:
        self.parts.append(
            f'<text x="{self.px(x):.1f}" y="{self.py(y):.1f}" font-size="{size}"'
            f' text-anchor="{anchor}">{html.escape(s)}</text>'
        )

    def svg(self, xticks: list[tuple[float, str]] | None = None, legend=None) -> str:
        W, H = self.w, self.h
        mid = (self.top + H - self.bottom) / 2
        axes = [
            f'<line x1="{self.left}" y1="{H - self.bottom}" x2="{W - self.right}"'
            f' y2="{H - self.bottom}" stroke="#444"/>',
            f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{H - self.bottom}"'
            ' stroke="#444"/>',
        ]
        for v in _ticks(self.y0, self.y1):
            y = self.py(v)
            axes.append(
                f'<line x1="{self.left}" y1="{y:.1f}" x2="{W - self.right}" y2="{y:.1f}"'
                ' stroke="#ddd"/>'
                f'<text x="{self.left - 5}" y="{y + 4:.1f}" font-size="10"'
                f' text-anchor="end">{v + 0.0:g}</text>'
            )
        ticks = (
            xticks
            if xticks is not None
            else [(v, f"{v + 0.0:g}") for v in _ticks(self.x0, self.x1)]
        )
        for v, label in ticks:
            x = self.px(v)
            axes.append(
                f'<text x="{x:.1f}" y="{H - self.bottom + 14}" font-size="10"'
                f' text-anchor="middle">{html.escape(label)}</text>'
            )
        axes.append(
            f'<text x="{(self.left + W - self.right) / 2:.0f}" y="{H - 6}" font-size="11"'
            f' text-anchor="middle">{html.escape(self.xlabel)}</text>'
            f'<text x="12" y="{(self.top + H - self.bottom) / 2:.0f}" font-size="11"'
            f' text-anchor="middle" transform="rotate(-90 12 {mid:.0f})">'
            f"{html.escape(self.ylabel)}</text>"
            f'<text x="{self.left}" y="18" font-size="13" font-weight="bold">'
            f"{html.escape(self.title)}</text>"
        )
        if legend:
            y = 34
            for i, (label, color, dash) in enumerate(legend):
                x = self.left + 10 + i * 110
                axes.append(
                    f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{color}"'
                    f' stroke-width="2.5" stroke-dasharray="{dash}"/>'
                    f'<text x="{x + 30}" y="{y + 4}" font-size="11">{html.escape(label)}</text>'
                )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}"'
            f' height="{H}" role="img" aria-label="{html.escape(self.title)}">'
            + "".join(axes + self.parts)
            + "</svg>"
        )


SIDE_LEGEND = [("right leg", COLORS["right"], ""), ("left leg", COLORS["left"], DASH["left"])]


def traces_chart(ex: ExerciseScore, kin: Kinematics) -> str:
    """Every repetition's primary angle from its start, right and left overlaid."""
    e = ex.exercise
    series = []
    for side in SIDES:
        hip = kin.hip(side)
        for r in ex.reps(side):
            # the grid is sorted: the samples from start - 0.2 s to end + 0.2 s
            sel = slice(
                np.searchsorted(kin.time, r.start - 0.2, "left"),
                np.searchsorted(kin.time, r.end + 0.2, "right"),
            )
            x = e.primary_sign * hip[sel, e.primary_column]
            i0 = np.searchsorted(kin.time, r.start)
            base = e.primary_sign * hip[min(i0, len(kin.time) - 1), e.primary_column]
            series.append((side, kin.time[sel] - r.start, np.rad2deg(x - base)))
    if not series:
        return ""
    xmax = max(s[1][-1] for s in series)
    ymax = max(np.nanmax(s[2]) for s in series)
    ymin = min(0.0, min(np.nanmin(s[2]) for s in series))
    title = "Each repetition, right and left on top of each other"
    c = Chart(
        (-0.2, xmax),
        (ymin, ymax * 1.1),
        title,
        "seconds from the start of the repetition",
        f"{e.primary.replace('_', ' ')} (°)",
    )
    for side, t, y in series:
        c.line(t, y, COLORS[side], DASH[side], 1.4, 0.8)
    return c.svg(legend=SIDE_LEGEND)


def range_chart(ex: ExerciseScore, targets: dict[str, TargetResult] | None) -> str:
    """Range of each side: the mean as a bar, each repetition as a dot, the target band."""
    vals = {s: np.rad2deg([r.primary_range for r in ex.reps(s)]) for s in SIDES}
    top = max([v.max() for v in vals.values() if len(v)] or [1.0])
    for t in (targets or {}).values():
        top = max(top, np.rad2deg(t.target.high))
    c = Chart(
        (0, 2),
        (0, top * 1.15),
        "How far each leg moved",
        "",
        f"range of {ex.exercise.primary.replace('_', ' ')} (°)",
        w=360,
    )
    for i, side in enumerate(SIDES):
        v = vals[side]
        if targets and side in targets:
            t = targets[side].target
            c.rect(
                i + 0.1,
                i + 0.9,
                np.rad2deg(t.low),
                np.rad2deg(t.high),
                "#2a9d8f",
                0.25,
                "target band",
            )
        if not len(v):
            c.text(i + 0.5, top * 0.05, "not recorded")
            continue
        c.rect(i + 0.25, i + 0.75, 0, v.mean(), COLORS[side], 0.35, f"{side}: {v.mean():.1f}°")
        xs = i + 0.5 + np.linspace(-0.15, 0.15, len(v)) if len(v) > 1 else [i + 0.5]
        for x, y in zip(xs, v, strict=True):
            c.dot(x, y, COLORS[side], 3)
        label = f"{v.mean():.0f}°" if v.mean() >= 10 else f"{v.mean():.1f}°"
        c.text(i + 0.8, v.mean() + top * 0.04, label, anchor="start", size=12)
    return c.svg(xticks=[(0.5, "right leg"), (1.5, "left leg")])


def smoothness_chart(ex: ExerciseScore) -> str:
    """Smoothness of each repetition on a 0-10 scale, per side (10 is smoothest)."""
    vals = {
        s: [smoothness_score(r.sparc) for r in ex.reps(s) if np.isfinite(r.sparc)] for s in SIDES
    }
    if not any(vals.values()):
        return ""
    n = max(len(v) for v in vals.values())
    c = Chart(
        (0.5, max(n, 2) + 0.5),
        (0, 10.5),
        "Smoothness of each repetition (10 is smoothest)",
        "repetition",
        "smoothness (0-10)",
    )
    for side in SIDES:
        xs = np.arange(1, len(vals[side]) + 1)
        c.line(xs, vals[side], COLORS[side], DASH[side], 1.2, 0.6)
        for x, y in zip(xs, vals[side], strict=True):
            c.dot(x, y, COLORS[side], 3, hollow=side == "left")
    ticks = [(float(i), str(i)) for i in range(1, n + 1)]
    return c.svg(xticks=ticks, legend=SIDE_LEGEND)


def compensation_chart(ex: ExerciseScore) -> str:
    """Mean compensation at the top of the repetitions, per watched movement and side."""
    comps = ex.exercise.watch
    if not comps or not any(ex.reps(s) for s in SIDES):
        return ""
    means = {
        s: [
            np.rad2deg(np.nanmean([r.compensations.get(c.key, np.nan) for r in ex.reps(s)]))
            if ex.reps(s)
            else np.nan
            for c in comps
        ]
        for s in SIDES
    }
    allv = [v for s in SIDES for v in means[s] if np.isfinite(v)] + [0.0, 3.0, -1.0]
    c = Chart(
        (0, len(comps)),
        (min(allv) * 1.2, max(allv) * 1.2),
        "Extra movement at the top of the lift",
        "",
        "degrees",
        w=max(360, 130 * len(comps)),
    )
    c.line([0, len(comps)], [0, 0], "#444", "", 1)
    for j in range(len(comps)):
        for k, side in enumerate(SIDES):
            v = means[side][j]
            if np.isfinite(v):
                x0 = j + 0.15 + k * 0.35
                c.rect(
                    x0,
                    x0 + 0.33,
                    0,
                    v,
                    COLORS[side],
                    0.8 if side == "right" else 0.55,
                    f"{side}: {v:.1f}°",
                )
    ticks = [(j + 0.5, c_.key.replace("_", " ")) for j, c_ in enumerate(comps)]
    return c.svg(xticks=ticks, legend=SIDE_LEGEND)


def trend_chart(
    history: list[SessionRecord],
    today: str,
    ex: ExerciseScore,
    field: str,
    ylabel: str,
    title: str,
    current: dict[str, float],
    transform=None,
) -> str:
    """A value per session, per side, earlier sessions then today's (``transform`` maps
    the stored values onto the chart's scale, e.g. SPARC to 0-10)."""
    names = [h.name for h in history] + [today]
    pts = {}
    for side in SIDES:
        past = dict(trend(history, ex.exercise.key, side, field))
        if transform is not None:
            past = {k: transform(v) for k, v in past.items()}
        ys = [past.get(n, np.nan) for n in names[:-1]] + [current.get(side, np.nan)]
        pts[side] = ys
    allv = [v for ys in pts.values() for v in ys if np.isfinite(v)]
    if len(names) < 2 or not allv:
        return ""
    lo, hi = min(allv), max(allv)
    pad = max(abs(hi - lo) * 0.15, 0.5)
    c = Chart((-0.3, len(names) - 0.7), (lo - pad, hi + pad), title, "session", ylabel)
    for side in SIDES:
        xs = np.arange(len(names))
        c.line(xs, pts[side], COLORS[side], DASH[side], 2)
        for x, y in zip(xs, pts[side], strict=True):
            c.dot(x, y, COLORS[side], 3.5, hollow=side == "left")
    return c.svg(xticks=[(float(i), n[-10:]) for i, n in enumerate(names)], legend=SIDE_LEGEND)


# --- words ------------------------------------------------------------------------------


def _trend_charts(history: list[SessionRecord], today: str, ex: ExerciseScore) -> list[str]:
    """Range, smoothness and (where the exercise watches it) hip hitching, session by
    session: each a stored field of earlier sessions and today's value per side."""

    def per_side(value) -> dict[str, float]:
        return {s: value(ex.reps(s)) for s in SIDES if ex.reps(s)}

    trends = [
        ("range_mean_deg", "range (°)", "Your range, session by session",
         per_side(lambda reps: float(np.rad2deg(np.mean([r.primary_range for r in reps])))),
         None),
        ("sparc_mean", "smoothness (0-10)", "Your smoothness, session by session",
         per_side(lambda reps: smoothness_score(float(np.nanmean([r.sparc for r in reps])))),
         smoothness_score),
    ]  # fmt: skip
    if any(c.key == "pelvis_hike" for c in ex.exercise.watch):
        trends.append(
            ("compensations_mean_deg.pelvis_hike", "hip hitching (°)",
             "Hip hitching, session by session",
             per_side(lambda reps: float(np.rad2deg(np.mean(
                 [r.compensations["pelvis_hike"] for r in reps])))),
             None)
        )  # fmt: skip
    return [
        trend_chart(history, today, ex, field, ylabel, title, current, transform)
        for field, ylabel, title, current, transform in trends
    ]


def _deg(x: float) -> str:
    d = np.rad2deg(x)
    return f"{d:.0f}°" if abs(d) >= 10 else f"{d:.1f}°"


def _d(value_deg: float) -> str:
    return f"{value_deg:.0f}" if abs(value_deg) >= 10 else f"{value_deg:.1f}"


def _find(ex: ExerciseScore, measure: str) -> SideDifference | None:
    return next((c for c in ex.comparisons if c.measure == measure), None)


def summary_sentences(ex: ExerciseScore) -> list[str]:
    """What happened in plain words."""
    out = []
    for side in SIDES:
        reps = ex.reps(side)
        if not reps:
            continue
        n_rep = sum(r.kind == "rep" for r in reps)
        holds = [r for r in reps if r.kind == "hold"]
        rng = np.mean([r.primary_range for r in reps])
        what = []
        if n_rep:
            what.append(f"{n_rep} repetition{'s' * (n_rep != 1)}")
        if holds:
            hold = np.mean([r.hold for r in holds])
            sway = np.rad2deg(np.mean([r.hold_sd for r in holds]))
            what.append(
                f"{len(holds)} hold{'s' * (len(holds) != 1)} of {hold:.1f} s on average "
                f"(steady to within {sway:.1f}° while holding)"
            )
        out.append(
            f"Your {side} leg did {' and '.join(what)}, moving {_deg(rng)} on average "
            f"(best {_deg(max(r.primary_range for r in reps))})."
        )
    rng = _find(ex, "range")
    if rng is not None:
        smaller = "left" if rng.difference < 0 else "right"
        larger = "right" if smaller == "left" else "left"
        pct = 100 * min(rng.left_mean, rng.right_mean) / max(rng.left_mean, rng.right_mean)
        if rng.flagged:
            out.append(
                f"Your {smaller} leg moved less: {pct:.0f}% of your {larger} leg's range. "
                "That is more than the usual difference from one repetition to the next."
            )
        elif rng.note.startswith("a real but small") and round(pct) < 100:
            out.append(
                f"Your {smaller} leg moved a little less ({pct:.0f}% of your {larger} leg's "
                "range), but the difference is too small to count yet."
            )
        else:
            out.append("Both legs moved about the same amount.")
    words = {
        side: smoothness_word(float(np.nanmean(v)))
        for side in SIDES
        if (v := [r.sparc for r in ex.reps(side) if np.isfinite(r.sparc)])
    }
    sm = _find(ex, "sparc")
    if sm is not None and sm.flagged:
        other = "left" if sm.worse_side == "right" else "right"
        out.append(
            f"Your {sm.worse_side} leg moved less smoothly (more stop-and-go) than your "
            f"{other} leg: {words[sm.worse_side]} against {words[other]}."
        )
    elif len(words) == 2:
        same = words["right"] if words["right"] == words["left"] else None
        out.append(
            f"Both legs moved about equally smoothly ({same})."
            if same
            else "Both legs moved about equally smoothly."
        )
    elif words:
        side, word = next(iter(words.items()))
        out.append(f"Your {side} leg's movement was {word}.")
    for c in ex.comparisons:
        if c.measure.startswith("compensation:") and c.flagged:
            side = c.worse_side
            vals = c.left if side == "left" else c.right
            out.append(
                f"On the {side} side, {c.rule.label} (about {_deg(abs(np.mean(vals)))}) — "
                "more than on the other side."
            )
    for m in ("time_up", "time_down", "hold"):
        c = _find(ex, m)
        if c is not None and c.flagged:
            faster = "right" if c.difference > 0 else "left"
            word = {"time_up": "lifted", "time_down": "lowered", "hold": "held"}[m]
            if m == "hold":
                out.append(f"You held your {c.worse_side} leg up for a shorter time.")
            else:
                out.append(f"Your {faster} leg {word} faster than the other.")
    lost = sum(not r.complete for side in SIDES for st in ex.sets.get(side, []) for r in st.reps)
    if lost or any("not recorded" in m for m in ex.messages):
        out.append("Some movements could not be measured fully and were left out.")
    return out


WHY = {
    "asymmetry": "one leg moved differently from the other, so we go smaller and slower",
    "compensation": "the pelvis or the leg moved in a way the exercise does not ask for, "
    "so we stay small and slow",
    "progress": "both legs moved evenly, so you can do a little more",
    "trainer": "your trainer set this",
    "first": "only one leg has done this exercise so far, so there is nothing to compare yet",
}


def target_sentences(ex: ExerciseScore, results: dict[str, TargetResult], nxt: dict) -> list[str]:
    """Today's band (how many landed inside) and the next target in degrees with a cue."""
    out = []
    for side in SIDES:
        r = results.get(side)
        if r is not None:
            t = r.target
            out.append(
                f"{side.capitalize()} leg: today's target was {_deg(t.low)} to {_deg(t.high)}; "
                f"{r.inside} of {r.reps} inside the band."
            )
    for side in SIDES:
        n = nxt.get(side)
        if not n:
            continue
        if n.get("mode") == "full":
            aim = f"your full range (about {_d(n['best_deg'])}°)"
        else:
            aim = f"{_d(n['low_deg'])}° to {_d(n['high_deg'])}°"
        out.append(f"Next time, {side} leg: aim for {aim}. {n.get('cue', 'Slowly and smoothly.')}")
    reasons = dict.fromkeys(WHY[n["reason"]] for n in nxt.values() if n.get("reason") in WHY)
    if reasons:
        out.append("Why: " + "; ".join(reasons) + ".")
    return out


def improvements(ex: ExerciseScore, history: list[SessionRecord]) -> list[str]:
    """What got better since the latest earlier session with this exercise."""
    last = next((h for h in reversed(history) if h.exercise(ex.exercise.key)), None)
    if last is None:
        return []
    out = []
    sides = last.exercise(ex.exercise.key).get("sides", {})
    for side in SIDES:
        reps = ex.reps(side)
        before = sides.get(side, {})
        if not reps or not before:
            continue
        rng = float(np.rad2deg(np.mean([r.primary_range for r in reps])))
        was = before.get("range_mean_deg")
        if was and rng - was >= max(2.0, 0.1 * was):
            out.append(
                f"Your {side} leg moved further: {_d(rng)}° on average, up from {_d(was)}° "
                f"last time ({last.name})."
            )
        sp = [r.sparc for r in reps if np.isfinite(r.sparc)]
        was_sp = before.get("sparc_mean")
        if sp and was_sp is not None:
            now, then = smoothness_score(float(np.mean(sp))), smoothness_score(was_sp)
            if now - then >= 1.0:
                out.append(
                    f"Your {side} leg moved more smoothly: {now:.0f} out of 10, "
                    f"up from {then:.0f} last time."
                )
        comps = before.get("compensations_mean_deg") or {}
        for c in ex.exercise.watch:
            then = comps.get(c.key)
            vals = [r.compensations.get(c.key, np.nan) for r in reps]
            if then is None or not np.isfinite(vals).any():
                continue
            now = float(np.rad2deg(np.nanmean(vals)))
            if then >= 3.0 and then - now >= 1.5:
                out.append(
                    f"Less {c.plain.split(':')[0]} on the {side} side: "
                    f"{_d(max(now, 0.0))}° down from {_d(then)}°."
                )
    r_now = [np.mean([r.primary_range for r in ex.reps(s)]) for s in SIDES if ex.reps(s)]
    r_then = [sides.get(s, {}).get("range_mean_deg") for s in SIDES]
    if len(r_now) == 2 and all(r_then):
        sym_now = 100 * min(r_now) / max(r_now)
        sym_then = 100 * min(r_then) / max(r_then)
        if sym_now - sym_then >= 5 and sym_now >= 80:
            out.append(
                f"Your legs moved more evenly: the smaller side did {sym_now:.0f}% of the "
                f"other, up from {sym_then:.0f}%."
            )
    return out


def client_words(report: dict) -> str:
    """The client's own report (``{"stronger", "tighter", "text"}``) as a sentence."""
    parts = []
    for key, word in (
        ("stronger", "feels stronger"),
        ("tighter", "feels tighter"),
        ("weaker", "feels weaker"),
        ("pain", "hurts"),
    ):
        side = report.get(key)
        if side in SIDES:
            parts.append(f"your {side} side {word}")
    sentence = ("; ".join(parts).capitalize() + ".") if parts else ""
    text = str(report.get("text", "")).strip()
    return " ".join(x for x in (sentence, f"“{text}”" if text else "") if x)


# --- tables -----------------------------------------------------------------------------


def _fmt(c: SideDifference, v: float) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    if c.rule.unit == "deg":
        return f"{_n(np.rad2deg(v))}°"
    if c.rule.unit == "s":
        return f"{_n(v, 2)} s"
    return _n(v, 2)


def _shown_zero(c: SideDifference) -> bool:
    """The difference prints as zero in the table's precision."""
    v = np.rad2deg(c.difference) if c.rule.unit == "deg" else c.difference
    return float(_n(v, 1 if c.rule.unit == "deg" else 2)) == 0


def _pct(v: float | None, ci: tuple[float, float] | None) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    text = _signed(v, 1, "%")
    if ci and np.isfinite(ci).all():
        text += f" [{_signed(ci[0])}, {_signed(ci[1])}]"
    return text


def rule_lines(nxt: dict) -> str:
    """The trainer's rule for the next set, per side: mode, band, reason and detail."""
    out = []
    for side in SIDES:
        n = nxt.get(side)
        if not n:
            continue
        tempo = f", time up at least {_n(n['tempo_up_s'])} s" if n.get("tempo_up_s") else ""
        out.append(
            f"{side}: {n.get('mode', '')} {_n(n['low_deg'])}-{_n(n['high_deg'])}° "
            f"({n['share'][0] * 100:.0f}-{n['share'][1] * 100:.0f}% of {_n(n['best_deg'])}°"
            f"{tempo}); reason: {n.get('reason', '')}"
            + (f" ({n['detail']})" if n.get("detail") else "")
        )
    return (
        "<p><small>Next set (the rule, docs/scoring.md): "
        + html.escape("; ".join(out))
        + "</small></p>"
        if out
        else ""
    )


def details_table(ex: ExerciseScore, nxt: dict | None = None) -> str:
    """The numbers for the trainer: means, SDs, differences with intervals, flags, and
    the rule's next step (``nxt``: the exercise's ``next_targets``)."""
    rows = []
    for c in ex.comparisons:
        flagged = c.flagged and not _shown_zero(c)
        kind = "tested" if c.tested else "descriptive"
        flag = (
            f"<b>yes: {c.worse_side}</b> <small>({kind})</small>"
            if flagged
            else ("no" + (f" <small>({html.escape(c.note)})</small>" if c.note else ""))
        )
        label = c.rule.label + (
            " (SPARC)" if c.measure == "sparc" and "SPARC" not in c.rule.label else ""
        )
        rows.append(
            "<tr>"
            f"<td>{html.escape(label)}</td>"
            f"<td>{_fmt(c, c.right_mean)} ± {_fmt(c, c.right_sd)} (n={len(c.right)})</td>"
            f"<td>{_fmt(c, c.left_mean)} ± {_fmt(c, c.left_sd)} (n={len(c.left)})</td>"
            f"<td>{_fmt(c, c.difference)} [{_fmt(c, c.ci[0])}, {_fmt(c, c.ci[1])}]</td>"
            f"<td>{_pct(c.symmetry_index, c.symmetry_index_ci)}</td>"
            f"<td>{_pct(c.symmetry_angle, c.symmetry_angle_ci)}</td><td>{flag}</td></tr>"
        )
    if not rows:
        return ""
    return (
        "<details><summary>Details for your trainer</summary><table>"
        "<tr><th>measure</th><th>right mean ± SD</th><th>left mean ± SD</th>"
        "<th>left − right [95% CI]</th><th>symmetry index [95% CI]</th>"
        "<th>symmetry angle [95% CI]</th><th>flagged</th></tr>" + "".join(rows) + "</table>"
        "<p><small>Symmetry index (Robinson 1987) and symmetry angle (Zifchock 2008): 0 is "
        "symmetric, positive means the right is larger. Only the range in the exercise's "
        "main direction is tested (flagged when its 95% interval excludes zero and the "
        "symmetry index is at least 10%); the other measures are descriptive: their "
        "intervals are not corrected for multiple comparisons and a flag on them marks a "
        "difference of at least the smallest size that matters (docs/scoring.md).</small>"
        "</p>" + rule_lines(nxt or {}) + "</details>"
    )


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} .sub{color:#666;margin-top:0}
section{border-top:2px solid #eee;margin-top:2em;padding-top:1em}
.charts{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
.note{background:#fff6e0;border-left:4px solid #e6a700;padding:.5em 1em;margin:.5em 0}
.target{background:#e8f6f3;border-left:4px solid #2a9d8f;padding:.5em 1em;margin:.5em 0}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
.key{display:inline-block;width:1.6em;height:.35em;vertical-align:middle;margin:0 .3em}
"""


def render(inp: ReportInput) -> str:
    """The whole report as one HTML document."""

    def esc(text: str) -> str:
        return html.escape(text, quote=False)

    sub = " · ".join(x for x in (inp.when, inp.client) if x) or inp.session
    body = [
        f"<h1>{esc(inp.title)}</h1>",
        f'<p class="sub">{esc(sub)}</p>',
        "<p>Colours: <span class='key' style='background:#0072B2'></span>right leg, "
        "<span class='key' style='background:#D55E00'></span>left leg (dashed in line "
        "plots).</p>",
    ]
    for n in inp.scores.messages:
        body.append(f'<p class="note">{esc(n)}</p>')
    said = [client_words(r) for r in inp.client_reports if not r.get("exercise")]
    if said:
        body.append(
            '<div class="target"><b>What you told us</b><br>'
            + "<br>".join(esc(w) for w in said)
            + "</div>"
        )
    for ex in inp.scores.exercises:
        e = ex.exercise
        body.append(f"<section><h2>{esc(e.name)}</h2>")
        if e.how:
            body.append(f"<p><i>{esc(e.how)}</i></p>")
        sentences = summary_sentences(ex)
        if sentences:
            body.append("<ul>" + "".join(f"<li>{esc(s)}</li>" for s in sentences) + "</ul>")
        better = improvements(ex, inp.history)
        if better:
            body.append(
                '<div class="target"><b>Better than last time</b><ul>'
                + "".join(f"<li>{esc(b)}</li>" for b in better)
                + "</ul></div>"
            )
        said = [client_words(r) for r in inp.client_reports if r.get("exercise") == e.key]
        if said:
            body.append("<p><b>You said:</b> " + " ".join(esc(w) for w in said) + "</p>")
        tres = inp.targets.get(e.key, {})
        tsent = target_sentences(ex, tres, inp.next_targets.get(e.key, {}))
        if tsent:
            body.append('<div class="target">' + "<br>".join(esc(s) for s in tsent) + "</div>")
        charts = []
        if inp.kinematics is not None:
            charts.append(traces_chart(ex, inp.kinematics))
        charts += [range_chart(ex, tres), smoothness_chart(ex), compensation_chart(ex)]
        if inp.history:
            charts += _trend_charts(inp.history, inp.session or "today", ex)
        body.append('<div class="charts">' + "".join(c for c in charts if c) + "</div>")
        body.append(details_table(ex, inp.next_targets.get(e.key, {})))
        body.append("</section>")
    body.append(GLOSSARY)
    trainer = list(
        dict.fromkeys(inp.notes + [m for ex in inp.scores.exercises for m in ex.messages])
    )
    if trainer:
        body.append(
            "<section><details><summary>Recording notes for your trainer</summary><ul>"
            + "".join(f"<li>{esc(m)}</li>" for m in trainer)
            + "</ul></details></section>"
        )
    body.append(
        f'<p class="sub"><small>hipimu {esc(__version__)} · measured with three motion '
        "sensors (pelvis and both thighs)</small></p>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(inp.title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )


GLOSSARY = """<section><h2>What the words mean</h2><ul>
<li><b>Range</b>: how far your leg moved in the direction the exercise trains, from where
it started to the top of the lift.</li>
<li><b>Smoothness</b>: from 0 to 10. A steady, even movement scores near 10 (very smooth);
stop-and-go or shaky movement scores lower (a little uneven, uneven).</li>
<li><b>Extra movement</b> (compensation): the pelvis or the leg moving in a way the exercise
does not ask for, for example the pelvis hitching up on one side. It often means other
muscles are helping out.</li>
<li><b>More than the usual difference</b>: your repetitions are never all the same. We only
point out a difference between your legs when it is bigger than that variation and big
enough to matter.</li>
<li><b>Target band</b>: the range to work in next time. When one leg moves differently from
the other, or the pelvis helps on one side, you work small and slow (10-15% of what you
did before), then build back up step by step once both legs move evenly.</li>
</ul></section>"""


def session_when(metadata: dict, directory: Path) -> str:
    """The session's date and time for the header: the log's ``started_utc``, else a
    date-named session folder, else the session files' modification time."""
    import datetime as dt

    started = metadata.get("started_utc")
    if isinstance(started, str):
        try:
            t = dt.datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ")
            return t.strftime("%A %-d %B %Y, %H:%M UTC")
        except ValueError:
            pass
    try:
        return dt.datetime.strptime(directory.name[:10], "%Y-%m-%d").strftime("%A %-d %B %Y")
    except ValueError:
        pass
    times = [p.stat().st_mtime for p in directory.iterdir() if p.is_file()]
    if not times:
        return ""
    t = dt.datetime.fromtimestamp(min(times), dt.UTC)
    return t.strftime("%A %-d %B %Y, %H:%M UTC")


def _add_set_sources(data: dict, sets: list[dict]) -> None:
    """Say in the scores where each set came from (``marker`` or ``detected``) and, for
    detected sets, the detector's ``confidence``; also list the sets at the top level."""
    data["sets"] = [
        {
            "exercise": s["exercise"],
            "side": s["side"],
            "start_s": round(float(s["start"]), 3),
            "end_s": round(float(s["end"]), 3),
            "source": s.get("source", "marker"),
            **({"confidence": s["confidence"]} if "confidence" in s else {}),
            **({"posture": s["posture"]} if "posture" in s else {}),
        }
        for s in sets
    ]
    for entry in data.get("exercises", []):
        for side in entry.get("sides", {}).values():
            for item in side.get("sets", []):
                for s in sets:
                    if abs(float(s["start"]) - (item.get("start_s") or 0.0)) < 1e-3:
                        item["source"] = s.get("source", "marker")
                        if "confidence" in s:
                            item["confidence"] = s["confidence"]


def report_data(
    scores: SessionScores,
    contents: LogContents,
    *,
    directory: Path,
    targets: dict[str, dict[str, TargetResult]],
    next_targets: dict[str, dict[str, dict]],
    history: list[SessionRecord],
    rule: dict,
    sets: list[dict] | None = None,
) -> dict:
    """The JSON-ready scores of a session with its targets and the rule's state (what
    ``report --json`` prints and ``scores.json`` holds); ``sets``: the sets scored, marked
    or detected (:attr:`hipimu.analysis.results.Analysis.sets`)."""
    data = scores.to_dict()
    _add_set_sources(data, list(sets or []))
    data["session"] = directory.name
    data["session_id"] = str(contents.metadata.get("session_id") or "")
    data["client"] = str(contents.metadata.get("client") or "")
    data["when"] = session_when(contents.metadata, directory)
    data["targets"] = {
        k: {
            s: {
                **r.target.to_dict(),
                "repetitions": r.reps,
                "inside": r.inside,
                "below": r.below,
                "above": r.above,
                "advice": r.advice,
            }
            for s, r in v.items()
        }
        for k, v in targets.items()
    }
    data["next_targets"] = next_targets
    data["rule"] = rule
    data["history"] = [h.name for h in history]
    data["client_reports"] = client_reports(contents)
    return data


def client_reports(contents: LogContents) -> list[dict]:
    """What the client said about the session (``client_report`` events and metadata)."""
    said = [
        {k: v for k, v in e.items() if k != "type"}
        for e in contents.events
        if e.get("type") == "client_report"
    ]
    if isinstance(contents.metadata.get("client_report"), dict):
        said.insert(0, contents.metadata["client_report"])
    return said


def write_report(
    path: str | Path,
    data: dict,
    scores: SessionScores,
    kinematics: Kinematics | None,
    contents: LogContents,
    *,
    targets: dict[str, dict[str, TargetResult]],
    next_targets: dict[str, dict[str, dict]],
    history: list[SessionRecord],
) -> Path:
    """Write the client's HTML report of scored results (``data``: :func:`report_data`)."""
    notes = []
    if not contents.recovery.clean:
        notes.append(
            f"The recording was damaged and partly recovered: {contents.recovery.summary()}"
        )
    inp = ReportInput(
        scores,
        kinematics,
        client=f"client {data['client']}" if data["client"] else "",
        session=data["session"],
        targets=targets,
        next_targets=next_targets,
        history=history,
        notes=notes,
        client_reports=data["client_reports"],
        when=data["when"],
    )
    path = Path(path)
    path.write_text(render(inp), encoding="utf-8")
    return path


def __getattr__(name: str):
    # the workflow layer runs the pipeline; its entry point is re-exported here lazily
    # for scripts written against hipimu.report.client.session_report
    if name == "session_report":
        from hipimu.workflow.session import session_report

        return session_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
