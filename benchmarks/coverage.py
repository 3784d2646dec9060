"""Coverage of the left/right symmetry intervals at 5, 10 and 15 repetitions per side.

Run from the repository root (about 2 minutes)::

    PYTHONPATH=host:firmware .venv/bin/python benchmarks/coverage.py [--sessions 2000]

1. The pipeline's own per-repetition error: full simulated sessions (firmware encoding,
   BLE timing, clocks, fusion, calibration, 6 Hz low-pass, segmentation) with 10 %
   repetition-to-repetition variability, pauses and 0.2 deg tremor; error = measured
   primary range minus the simulator's true amplitude of that repetition.
2. Simulated sessions of ``n`` repetitions per side, drawn as the simulator draws them
   (each repetition's range scale ``clip(N(1, cv), 0.5, 1.5)``) plus a measurement error
   resampled from (1), for a client whose left side moves 70 % (or 100 %) of the right,
   at full range (35 deg) and inside a reduced band (5 deg), with and without fatigue
   (both sides' ranges fall 15 % over the set: repetitions not exchangeable).
3. Coverage of the true symmetry index by hipimu's interval
   (:func:`hipimu.scoring.symmetry.ratio_interval` mapped through the index) against the
   peer it replaces, the percentile bootstrap of the means (2000 resamples), in the same
   run on the same draws; and of the Welch interval of the difference of the means.

Markdown on stdout (the table in docs/validation.md).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from hipimu.analysis.pipeline import analyse
from hipimu.scoring import score_session
from hipimu.scoring.symmetry import ratio_interval, symmetry_index, welch_interval
from hipimu.simulate import Client, Protocol, simulate_session

DEG = np.pi / 180


def pipeline_errors(sessions: int) -> np.ndarray:
    """Measured minus true primary range (radians) of every repetition."""
    errors = []
    for seed in range(sessions):
        protocol = Protocol(
            Client(), reps=6, variability=0.1, pauses=1.0, tremor_deg=0.2, seed=100 + seed
        )
        sim = simulate_session(protocol, seed=100 + seed)
        scores = score_session(analyse(sim.notifications, sim.markers).kinematics, sim.markers)
        truth = protocol.repetitions()
        for ex in scores.exercises:
            col = ex.exercise.primary_column
            for side in ("right", "left"):
                true = [t for t in truth if t.exercise == ex.exercise.key and t.side == side]
                reps = ex.reps(side)
                if len(reps) != len(true):
                    continue  # counted elsewhere (test_scoring); keep the pairs exact here
                errors += [
                    r.primary_range - abs(t.amplitude[col]) for r, t in zip(reps, true, strict=True)
                ]
    return np.array(errors)


def bootstrap_si(right, left, rng, resamples: int = 2000) -> tuple[float, float]:
    mr = right[rng.integers(0, len(right), (resamples, len(right)))].mean(axis=1)
    ml = left[rng.integers(0, len(left), (resamples, len(left)))].mean(axis=1)
    si = (mr - ml) / (0.5 * (mr + ml)) * 100
    lo, hi = np.percentile(si, [2.5, 97.5])
    return float(lo), float(hi)


def draw(rng, n, mean, cv, errors, fatigue):
    scale = np.clip(rng.normal(1.0, cv, n), 0.5, 1.5)
    trend = 1.0 - fatigue * (np.arange(n) / max(n - 1, 1) - 0.5)  # mean 1 over the set
    return mean * scale * trend + rng.choice(errors, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=2000, help="simulated sessions per cell")
    ap.add_argument("--pipeline-sessions", type=int, default=6)
    args = ap.parse_args()
    errors = pipeline_errors(args.pipeline_sessions)
    print(
        f"Pipeline error per repetition ({len(errors)} repetitions, "
        f"{args.pipeline_sessions} full simulated sessions): mean "
        f"{np.rad2deg(errors.mean()):+.3f} deg, SD {np.rad2deg(errors.std(ddof=1)):.3f} deg\n"
    )
    print(
        "| range right | left/right | cv | fatigue | n | sessions | SI interval (hipimu) "
        "| SI bootstrap (peer) | Welch difference | mean SI width hipimu / peer |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rng = np.random.default_rng(0)
    for mean_deg, ratio, cv, fatigue in (
        (35.0, 0.7, 0.10, 0.0),
        (35.0, 1.0, 0.10, 0.0),
        (35.0, 0.7, 0.05, 0.0),
        (35.0, 0.7, 0.20, 0.0),
        (5.0, 0.7, 0.10, 0.0),
        (35.0, 0.7, 0.10, 0.15),
    ):
        true_si = symmetry_index(1.0, ratio)
        for n in (5, 10, 15):
            hit = boot = welch = 0
            width = np.zeros(2)
            for _ in range(args.sessions):
                r = draw(rng, n, mean_deg * DEG, cv, errors, fatigue)
                lf = draw(rng, n, ratio * mean_deg * DEG, cv, errors, fatigue)
                lo, hi = ratio_interval(r, lf)
                si = (symmetry_index(1.0, hi), symmetry_index(1.0, lo))
                hit += si[0] <= true_si <= si[1]
                b = bootstrap_si(r, lf, rng)
                boot += b[0] <= true_si <= b[1]
                (dlo, dhi), _ = welch_interval(r, lf)
                true_d = (ratio - 1.0) * mean_deg * DEG
                welch += dlo <= true_d <= dhi
                width += (si[1] - si[0], b[1] - b[0])
            k = args.sessions
            print(
                f"| {mean_deg:.0f}° | {ratio:.0%} | {cv:.2f} | {fatigue:.0%} | {n} | {k} "
                f"| **{hit / k:.1%}** | {boot / k:.1%} | {welch / k:.1%} "
                f"| {width[0] / width[1]:.2f} |"
            )


if __name__ == "__main__":
    main()
