"""Scoring speed: SPARC/LDLJ against the reference transcription, and a whole session.

Run from the repository root::

    PYTHONPATH=host:firmware:tests/host .venv/bin/python benchmarks/scoring.py

SPARC and LDLJ on repetition-sized speed profiles (100-1000 samples at 100 Hz): hipimu's
vectorised version against the transcription of the published reference code
(``tests/host/_smoothness_reference.py``, builtin ``sum`` over numpy arrays), and the
values' agreement (bitwise). Then ``score_session`` on the default simulated session.
Markdown on stdout.
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import _smoothness_reference as ref
import numpy as np

from hipimu.scoring import ldlj, score_session, sparc


def per_call(fn, *args, repeat: int = 200) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeat):
            fn(*args)
        best = min(best, (time.perf_counter() - t) / repeat)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    print(
        "| samples | SPARC hipimu (µs) | SPARC reference (µs) | LDLJ hipimu (µs) "
        "| LDLJ reference (µs) | equal |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for n in (100, 300, 1000):
        t = np.linspace(0, 1, n)
        v = np.sin(np.pi * t) ** 2 * (1 + 0.2 * np.sin(2 * np.pi * 5 * t)) + rng.normal(0, 0.01, n)
        equal = sparc(v, 100.0) == ref.sparc(v, 100.0)[0] and ldlj(v, 100.0) == (
            ref.log_dimensionless_jerk(v, 100.0)
        )
        cells = [
            per_call(sparc, v, 100.0),
            per_call(lambda x, f: ref.sparc(x, f)[0], v, 100.0),
            per_call(ldlj, v, 100.0),
            per_call(ref.log_dimensionless_jerk, v, 100.0),
        ]
        print(f"| {n} | " + " | ".join(f"{c * 1e6:.0f}" for c in cells) + f" | {equal} |")

    from hipimu.analysis.pipeline import analyse
    from hipimu.simulate import simulate_session

    sim = simulate_session(seed=0)
    result = analyse(sim.notifications, sim.markers)
    t = time.perf_counter()
    scores = score_session(result.kinematics, sim.markers)
    dt = time.perf_counter() - t
    reps = sum(len(e.reps(s)) for e in scores.exercises for s in ("right", "left"))
    print(
        f"\nscore_session, default session ({result.kinematics.time[-1]:.0f} s, {reps} "
        f"repetitions): {dt * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    main()
