"""Out-of-sample accuracy of hipimu's orientation filter: leave-category-out cross-validation
on BROAD, against VQF in the same run.

Run from the repository root (peer: ``pip install vqf``)::

    PYTHONPATH=host .venv/bin/python benchmarks/filters_cv.py > /tmp/filters_cv.md

Every choice the filter's defaults embody (its optional features and a few tuned
constants) is a point of a small grid. The selection rule "take the grid point with the
lowest mean total RMSE over the trials" is cross-validated: the trials are grouped by
category (undisturbed: speed and kind of motion; disturbed: kind of disturbance, from
``trials.json``), each category is held out in turn, the rule picks a grid point on the
other categories and that point is scored on the held-out trials. Each trial is thus scored
by a setting chosen without it (or any trial of its kind): the out-of-sample figure. A
feature is worth keeping on by default when the rule with the feature available beats the
rule with the feature forced off, out of sample; the "verdict" table says so for each.
Near-ties on the training trials go to the grid point nearest the current defaults: every
candidate whose training mean is within ``--margin`` (0.01 deg) of the best counts as tied.
That margin was fixed before its held-out results were seen (issue 17: with 0.001 deg,
differences of a few thousandths between grid points on the training trials, below the
trial-to-trial noise, decided the choice; docs/validation.md); ``--margin 0.001`` gives
the earlier rule. Markdown on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

# the BROAD loader and metric are a shared test reference (tests/host/_broad.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "host"))
from _broad import BROAD_DIR, Trial, errors_deg, load_trial, trial_paths

from hipimu.orientation.filter import DEFAULT_PARAMS, NINE_D_ONLY, estimate_orientation

#: The grid: each feature on/off, plus tuned constants. The first value is "off" for the
#: features (the verdict forces it).
FEATURES: dict[str, tuple[float, ...]] = {
    "hard_iron": (0.0, 1.0),
    "gyro_cal_sigma": (0.0, 0.3),
    "rest_bias_gate": (0.0, 3.0),
    "mag_dist_sample": (0.0, 1.0),
    "acc_lead": (0.0, 0.5),
}
TUNED: dict[str, tuple[float, ...]] = {
    "hard_iron_min_offset": (0.1, 0.2),
    "bias_sigma_rest": (0.01, 0.03),
}
#: With ``--tune``: constants VQF fixed and hipimu might re-tune (the rule then also picks
#: these; more choices, more selection noise).
MORE_TUNED: dict[str, tuple[float, ...]] = {
    "tau_acc": (2.0, 3.0, 4.5),
    "correction_rate_hz": (10.0, 25.0),
}
NINE_D_ONLY_KEYS = ("hard_iron", "hard_iron_min_offset", "mag_dist_sample")
#: Training means within this many degrees of the best count as tied (``--margin``).
MARGIN = 0.01


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def category(name: str, groups: dict[str, list[str]]) -> str:
    """The held-out unit of a trial: speed and motion if undisturbed, else the disturbance."""
    g = groups[name]["groups"]
    if "undisturbed" in g:
        speed = next(x for x in ("slow", "fast") if x in g)
        motion = next(x for x in ("rotation", "translation", "combined") if x in g)
        return f"undisturbed {speed} {motion}"
    kinds = [x for x in g if x not in ("all_trials", "disturbed")]
    return f"disturbed {kinds[0].replace('_', ' ')}"


def grid(dim: str) -> list[dict[str, float]]:
    axes = dict(FEATURES)
    axes.update(TUNED)
    if dim == "6D":
        for k in NINE_D_ONLY_KEYS:
            axes.pop(k)
    keys = list(axes)
    return [dict(zip(keys, vals, strict=True)) for vals in itertools.product(*axes.values())]


def defaults(dim: str) -> dict[str, float]:
    d = dict(DEFAULT_PARAMS)
    if dim == "6D":
        d.update(NINE_D_ONLY)
    return d


def distance(cfg: dict[str, float], dim: str) -> int:
    d = defaults(dim)
    return sum(cfg[k] != d[k] for k in cfg)


def score(t: Trial, dim: str, **options: float) -> float:
    mag = t.mag if dim == "9D" else None
    q = estimate_orientation(t.gyr, t.acc, mag, rate_hz=t.rate_hz, **options)
    return errors_deg(q, t.quat, t.movement, remove_heading=dim == "6D")[0]


def vqf_score(t: Trial, dim: str) -> float:
    from vqf import VQF

    if dim == "9D":
        q = VQF(1.0 / t.rate_hz).updateBatch(t.gyr, t.acc, t.mag)["quat9D"]
    else:
        q = VQF(1.0 / t.rate_hz).updateBatch(t.gyr, t.acc)["quat6D"]
    return errors_deg(q, t.quat, t.movement, remove_heading=dim == "6D")[0]


def select(err: np.ndarray, cand: list[int], train: np.ndarray, dist: list[int]) -> int:
    """The candidate with the lowest mean training error; candidates within MARGIN of it
    count as tied, and ties go to the one nearest the defaults."""
    means = err[:, train].mean(axis=1)
    best = min(means[c] for c in cand)
    tied = [c for c in cand if means[c] <= best + MARGIN]
    return min(tied, key=lambda c: (dist[c], means[c]))


def cross_validate(
    err: np.ndarray, cats: list[str], cand: list[int], dist: list[int]
) -> tuple[np.ndarray, dict[str, int]]:
    """Out-of-sample error per trial and the grid point chosen for each held-out category."""
    out = np.empty(err.shape[1])
    chosen: dict[str, int] = {}
    arr = np.array(cats)
    for c in dict.fromkeys(cats):
        held = arr == c
        k = select(err, cand, ~held, dist)
        chosen[c] = k
        out[held] = err[k, held]
    return out, chosen


def fmt_cfg(cfg: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in cfg.items())


def run_dim(trials: list[Trial], cats: list[str], dim: str, vqf: np.ndarray | None) -> None:
    cfgs = grid(dim)
    dist = [distance(c, dim) for c in cfgs]
    err = np.empty((len(cfgs), len(trials)))
    for i, cfg in enumerate(cfgs):
        _log(f"{dim} [{i + 1}/{len(cfgs)}] {fmt_cfg(cfg)}")
        for j, t in enumerate(trials):
            err[i, j] = score(t, dim, **cfg)
    default_err = np.array([score(t, dim) for t in trials])
    everything = list(range(len(cfgs)))
    oos, chosen = cross_validate(err, cats, everything, dist)
    full = select(err, everything, np.ones(len(trials), bool), dist)

    print(f"### {dim}: out of sample (leave one category out) against in sample\n")
    print("| | mean total RMSE (deg) | worst trial minus VQF (deg) |\n| --- | ---: | ---: |")

    def worst(x: np.ndarray) -> str:
        if vqf is None:
            return ""
        j = int(np.argmax(x - vqf))
        return f"{x[j] - vqf[j]:+.2f} ({trials[j].name[:2]})"

    if vqf is not None:
        print(f"| VQF {dim} (defaults) | {vqf.mean():.3f} | |")
    rows = {
        "hipimu, current defaults (in sample)": default_err,
        "hipimu, best grid point on all trials (in sample)": err[full],
        "hipimu, selection rule cross-validated (out of sample)": oos,
    }
    for label, x in rows.items():
        print(f"| {label} | {x.mean():.3f} | {worst(x)} |")
    print(f"\nBest grid point on all trials: {fmt_cfg(cfgs[full])}.\n")

    print(
        "| held-out category | trials | VQF | out of sample | in sample (defaults) "
        "| chosen without it |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    arr = np.array(cats)
    for c, k in chosen.items():
        held = arr == c
        v = f"{vqf[held].mean():.2f}" if vqf is not None else ""
        print(
            f"| {c} | {held.sum()} | {v} | {oos[held].mean():.2f} | "
            f"{default_err[held].mean():.2f} | {fmt_cfg(cfgs[k])} |"
        )
    print()

    print(f"#### {dim}: feature verdicts (out of sample)\n")
    losers: list[str] = []
    print(
        "| feature | rule with it forced off | rule with it available | in sample: on minus off "
        "at the best point | verdict |"
    )
    print("| --- | ---: | ---: | ---: | --- |")
    for feat, vals in FEATURES.items():
        if feat not in cfgs[0]:
            continue
        off = [i for i, c in enumerate(cfgs) if c[feat] == vals[0]]
        oos_off, _ = cross_validate(err, cats, off, dist)
        pair = {**cfgs[full]}
        pair[feat] = vals[1]
        on_i = cfgs.index(pair)
        pair[feat] = vals[0]
        off_i = cfgs.index(pair)
        paired = err[on_i].mean() - err[off_i].mean()
        gain = oos_off.mean() - oos.mean()
        if gain > 1e-3:
            verdict = "wins out of sample: on"
        elif gain < -1e-3:
            verdict = "loses out of sample: off"
            losers.append(feat)
        else:
            verdict = "no out-of-sample difference"
        print(f"| `{feat}` | {oos_off.mean():.3f} | {oos.mean():.3f} | {paired:+.4f} | {verdict} |")
    print()

    # the rule with the verdicts applied (features that lose forced off): what the decided
    # defaults give out of sample, category by category
    kept = [i for i, c in enumerate(cfgs) if all(c[f] == FEATURES[f][0] for f in losers)]
    final, final_chosen = cross_validate(err, cats, kept, dist)
    forced = ", ".join(f"`{f}` off" for f in losers) or "nothing forced"
    print(f"#### {dim}: the rule with the verdicts applied ({forced}), out of sample\n")
    line = f"mean {final.mean():.3f} deg"
    if vqf is not None:
        line += f" against VQF {vqf.mean():.3f}; worst trial minus VQF {worst(final)}"
    print(line + "\n")
    print("| held-out category | VQF | hipimu out of sample | minus VQF | chosen without it |")
    print("| --- | ---: | ---: | ---: | --- |")
    for c, k in final_chosen.items():
        held = arr == c
        v = d = ""
        if vqf is not None:
            v = f"{vqf[held].mean():.3f}"
            diff = final[held].mean() - vqf[held].mean()
            d = f"{diff:+.4f}" + (" (worse)" if diff > 0 else "")
        print(f"| {c} | {v} | {final[held].mean():.3f} | {d} | {fmt_cfg(cfgs[k])} |")
    print()


def main(argv: list[str] | None = None) -> int:
    global MARGIN
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dims", default="9D,6D")
    ap.add_argument("--tune", action="store_true", help="add MORE_TUNED to the grid")
    ap.add_argument(
        "--margin",
        type=float,
        default=MARGIN,
        help="training means within this many degrees of the best count as tied (default 0.01)",
    )
    args = ap.parse_args(argv)
    MARGIN = args.margin
    if args.tune:
        TUNED.update(MORE_TUNED)
    paths = trial_paths()
    print("## Orientation filter: cross-validated accuracy on BROAD\n")
    if not paths:
        print(f"BROAD data not found at {BROAD_DIR}: nothing to do.\n")
        return 0
    groups = json.loads((BROAD_DIR / "trials.json").read_text())["trials"]
    trials = [load_trial(p) for p in paths]
    cats = [category(t.name, groups) for t in trials]
    print(
        f"{len(trials)} trials in {len(set(cats))} categories; grid: "
        + ", ".join(f"`{k}` in {v}" for k, v in {**FEATURES, **TUNED}.items())
        + f" (6D: without the magnetometer entries); near-tie margin {MARGIN:g} deg.\n"
    )
    try:
        import vqf  # noqa: F401

        have_vqf = True
    except ImportError:
        have_vqf = False
    for dim in args.dims.split(","):
        v = np.array([vqf_score(t, dim) for t in trials]) if have_vqf else None
        run_dim(trials, cats, dim, v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
