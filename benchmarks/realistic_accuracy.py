"""Hip angles on realistic simulated sessions, found with no markers at all.

Run from the repository root::

    PYTHONPATH=host:firmware .venv/bin/python benchmarks/realistic_accuracy.py [SEEDS [FIRST]]

(``SEEDS`` sessions from seed ``FIRST``, default 5 from 200.)

Each session is ``hipimu.simulate.motion.random_protocol(seed)`` simulated with the
default realism (``hipimu.simulate.REALISTIC``): exercise sets in random order, standing
sway (0.1-0.5 Hz, 0.25 deg RMS on every angle), a neutral stance off by up to
+-(1.5, 1, 2) deg per hip (flexion, adduction, rotation), mounting offsets up to 20 deg,
sensor output noise (0.003 deg RMS) and, in the second pair of tables, the soft-tissue
twist of the thigh skin (6 deg at 55 deg flexion, lagging 0.4 s). The pipeline finds
the standing pose and the sets itself. RMSE per side and plane, mean of the seeds (worst
in brackets), against two truths: the angles measured from the client's own stance
(``hip_errors(from_stance=True)``, what any calibration on the standing pose can see,
the issue's targets) and the anatomical angles (which add the stance offset itself, that
no IMU method calibrated on standing can tell from neutral). Peer in the same run: the
same sessions calibrated on the trainer's ``standing`` marker (ratio markerless /
marker). Markdown on stdout.
"""

from __future__ import annotations

import dataclasses
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from hipimu.analysis.pipeline import analyse
from hipimu.analysis.validation import hip_errors
from hipimu.simulate import REALISTIC, SensorRealism, simulate_session
from hipimu.simulate.motion import random_protocol

PLANES = ("flexion", "adduction", "rotation")


def run(seeds: list[int], realism: SensorRealism) -> list[tuple]:
    """Per seed: (markerless analysis, marker-calibrated analysis, truth)."""
    out = []
    for seed in seeds:
        sim = simulate_session(random_protocol(seed), seed=seed, sensors_realism=realism)
        standing = [m for m in sim.markers if m["exercise"] == "standing"][:1]
        out.append((analyse(sim.notifications), analyse(sim.notifications, standing), sim.truth))
    return out


def table(title: str, runs: list[tuple], from_stance: bool) -> None:
    own = [hip_errors(a.kinematics, t, from_stance=from_stance) for a, _, t in runs]
    peer = [hip_errors(p.kinematics, t, from_stance=from_stance) for _, p, t in runs]
    print(f"### {title}\n")
    print("| side | flexion | adduction | rotation | marker peer (flex / add / rot) |")
    print("| --- | --- | --- | --- | --- |")
    for side in ("right", "left"):
        e = np.rad2deg(np.array([o[side] for o in own]))
        p = np.rad2deg(np.array([o[side] for o in peer]))
        cells = [f"{e[:, j].mean():.2f} ({e[:, j].max():.2f})" for j in range(3)]
        ref = " / ".join(f"{p[:, j].mean():.2f}" for j in range(3))
        ratio = e.mean(axis=0).sum() / p.mean(axis=0).sum()
        print(f"| {side} | {' | '.join(cells)} | {ref} (ratio {ratio:.2f}) |")
    print()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    seeds = list(range(first, first + count))
    print(f"seeds {seeds[0]}-{seeds[-1]}, RMSE in degrees, mean (worst)\n")
    no_sta = dataclasses.replace(REALISTIC, soft_tissue_deg=0.0)
    for name, realism in (("no soft-tissue artefact", no_sta), ("soft-tissue twist", REALISTIC)):
        runs = run(seeds, realism)
        table(f"{name.capitalize()}, from the client's stance (targets: flexion, adduction "
              "<= 1.5; rotation <= 2.5)", runs, True)  # fmt: skip
        table(f"{name.capitalize()}, anatomical (with the stance offset)", runs, False)


if __name__ == "__main__":
    main()
