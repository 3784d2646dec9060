"""Sets found in the signals alone: simulated sessions in random order, no markers.

Run from the repository root::

    PYTHONPATH=host:firmware .venv/bin/python benchmarks/set_detection.py [SESSIONS [FIRST_SEED]]

Seeds 0-5 were used while developing the detector; the default seeds (100 on) are out
of sample.

Each session (``hipimu.simulate.motion.random_protocol``: 5-8 sets drawn from side-lying
leg lifts, marching, standing leg lifts, holds and lifts forward-and-out, 5-12
repetitions, random rests, rolling over between postures, standing sway and stance
offsets; sensors with output noise and soft-tissue artefact) is analysed with no
markers. A true set is found when a detected set of the same side (``both`` for
marching) covers most of it; its repetitions are exact when every side's count equals
the simulator's. Detected sets matching no true set are false. The peer, measured in
the same run, is the same sessions scored with the trainer's markers: its exact-count
share is what detection is compared with (ratio detected / marked). Markdown on stdout.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hipimu.analysis.pipeline import analyse
from hipimu.scoring.summary import score_session
from hipimu.simulate import REALISTIC, simulate_session
from hipimu.simulate.motion import random_protocol

SIDES = ("right", "left")


def true_sets(protocol) -> list[dict]:
    out = []
    for b in protocol.blocks:
        if not b.reps:
            continue
        counts = {s: sum(1 for r in b.reps if r[2] == s) for s in SIDES}
        out.append({"exercise": b.name, "side": b.side, "start": b.start, "end": b.end,
                    "counts": {s: c for s, c in counts.items() if c}})  # fmt: skip
    return out


def counted(kin, sets: list[dict]) -> list[dict]:
    """Each set's repetitions per side, as the report counts them."""
    scores = score_session(kin, sets)
    found = []
    for e in scores.exercises:
        for side, items in e.sets.items():
            for s in items:
                found.append({"start": s.start, "side": side, "reps": len(s.reps)})
    return found


def evaluate(truth: list[dict], sets: list[dict], reps: list[dict]) -> tuple[int, int, int, int]:
    """(true sets, found, exact counts, false sets)."""
    used = set()
    found = exact = 0
    for t in truth:
        best, overlap = None, 0.0
        for i, d in enumerate(sets):
            if d["side"] != t["side"]:
                continue
            o = min(t["end"], d["end"]) - max(t["start"], d["start"])
            if o > overlap:
                best, overlap = i, o
        if best is None or overlap < 0.5 * (t["end"] - t["start"]):
            continue
        used.add(best)
        found += 1
        d = sets[best]
        got = {r["side"]: r["reps"] for r in reps if abs(r["start"] - d["start"]) < 1e-6}
        if all(got.get(s) == c for s, c in t["counts"].items()):
            exact += 1
    return len(truth), found, exact, len(sets) - len(used)


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    first = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    print(
        "| seed | sets | found | exact reps | false sets | exact with markers | exercises right |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    total = {"sets": 0, "found": 0, "exact": 0, "false": 0, "peer": 0, "named": 0}
    worst_false = 0
    start = time.perf_counter()
    for seed in range(first, first + sessions):
        proto = random_protocol(seed)
        sim = simulate_session(proto, seed=seed, sensors_realism=REALISTIC)
        truth = true_sets(proto)
        an = analyse(sim.notifications)  # no markers: sets detected
        sets = an.sets
        n, found, exact, false = evaluate(truth, sets, counted(an.kinematics, sets))
        marked = [{k: t[k] for k in ("exercise", "side", "start", "end")} for t in truth]
        _, _, peer, _ = evaluate(truth, marked, counted(an.kinematics, marked))
        named = sum(
            any(d["exercise"] == t["exercise"] and d["side"] == t["side"]
                and min(t["end"], d["end"]) - max(t["start"], d["start"]) > 0 for d in sets)
            for t in truth
        )  # fmt: skip
        for k, v in zip(("sets", "found", "exact", "false", "peer", "named"),
                        (n, found, exact, false, peer, named), strict=True):  # fmt: skip
            total[k] += v
        worst_false = max(worst_false, false)
        print(f"| {seed} | {n} | {found} | {exact} | {false} | {peer} | {named} |")
    elapsed = time.perf_counter() - start
    share = total["exact"] / total["sets"]
    peer = total["peer"] / total["sets"]
    print()
    print(
        f"{sessions} sessions, {total['sets']} sets: found {total['found']}, exact repetition "
        f"counts {share:.1%} (target >= 95 %), false sets {total['false']} "
        f"(at most {worst_false} in one session; target <= 1), catalog exercise and side "
        f"right {total['named'] / total['sets']:.1%}; peer (trainer markers) exact "
        f"{peer:.1%}: ratio {share / peer if peer else float('nan'):.3f}; {elapsed:.0f} s"
    )


if __name__ == "__main__":
    main()
