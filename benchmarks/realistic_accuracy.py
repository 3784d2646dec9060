"""Hip angles on realistic simulated sessions, found with no markers at all.

Run from the repository root::

    PYTHONPATH=host:firmware .venv/bin/python benchmarks/realistic_accuracy.py [SEEDS]

Each session is ``hipimu.simulate.motion.random_protocol(seed)``: exercise sets in
random order, standing sway (0.1-1 Hz, 0.4 deg RMS on every angle), a neutral stance
off by up to +-(1.5, 1, 2) deg per hip (flexion, adduction, rotation; the pipeline
cannot tell it from neutral, so it is part of the error). Its sensors (mounting offsets
up to 20 deg) add output noise (0.1 deg RMS) and, in the second table, a soft-tissue
twist of the thigh skin (6 deg at 55 deg flexion, lagging 0.4 s). The pipeline finds
the standing pose and the sets itself. RMSE against the simulator's bone angles, per
side and plane, mean of the seeds (worst in brackets). Peer in the same run: the same
sessions calibrated on the trainer's ``standing`` marker (ratio markerless / marker).
Markdown on stdout.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from hipimu.analysis.pipeline import analyse
from hipimu.analysis.validation import hip_errors
from hipimu.simulate import REALISTIC, SensorRealism, simulate_session
from hipimu.simulate.motion import random_protocol

PLANES = ("flexion", "adduction", "rotation")


def run(seeds: list[int], realism: SensorRealism) -> tuple[dict, dict]:
    own, peer = [], []
    for seed in seeds:
        sim = simulate_session(random_protocol(seed), seed=seed, sensors_realism=realism)
        own.append(hip_errors(analyse(sim.notifications).kinematics, sim.truth))
        standing = [m for m in sim.markers if m["exercise"] == "standing"][:1]
        peer.append(hip_errors(analyse(sim.notifications, standing).kinematics, sim.truth))
    return own, peer


def table(title: str, own: list[dict], peer: list[dict]) -> None:
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
    seeds = list(range(200, 200 + count))
    no_sta = SensorRealism(noise_deg=REALISTIC.noise_deg)
    table("No soft-tissue artefact (targets: flexion, adduction <= 1.5; rotation <= 2.5)",
          *run(seeds, no_sta))  # fmt: skip
    table("With the soft-tissue twist", *run(seeds, REALISTIC))


if __name__ == "__main__":
    main()
