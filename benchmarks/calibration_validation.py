"""Hip angles against the simulator's truth in a realistic, magnetometer-free session.

A 10-minute session (5 rounds of the default protocol) streamed as raw gyroscope and
accelerometer samples with noise, bias and bias drift, mounting offsets up to 30 deg,
soft-tissue wobble and a neutral pose that is off by up to (1, 1, 2) deg and changes
every round (``hipimu.simulate.realistic``). Prints RMSE per plane and side for:

* hipimu: the C filter (6D), heading alignment in the case, drift correction, the
  mean-stance re-zero and the 6 Hz low-pass (docs/calibration.md);
* the same without each of the last three steps in turn;
* the same pipeline with vqf's VQF (6D) as the orientation filter (peer).

    python benchmarks/calibration_validation.py [--rounds 5] [--seeds 0 1 2] [--breakdown]

``--breakdown`` adds one seed with each error source switched off in turn.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from hipimu.analysis import pipeline
from hipimu.analysis.validation import hip_errors
from hipimu.body.heading import DriftReport
from hipimu.simulate.imu import ImuErrors
from hipimu.simulate.realistic import Realism, simulate_realistic_session


def run(sim, *, drift: bool = True, mean_stance: bool = True, lowpass: bool = True, peer=None):
    original_fuse, original_drift = pipeline.fuse_raw, pipeline.correct_drift
    try:
        if peer == "vqf":
            import vqf

            def fuse_with_vqf(timelines):
                for tl in timelines.values():
                    f = vqf.VQF(1.0 / tl.rate_hz)
                    tl.quat = f.updateBatch(
                        np.ascontiguousarray(tl.gyr), np.ascontiguousarray(tl.acc)
                    )["quat6D"]
                return list(timelines)

            pipeline.fuse_raw = fuse_with_vqf
        if not drift:
            pipeline.correct_drift = lambda aligned, cal, **_: DriftReport()
        elif not mean_stance:
            pipeline.correct_drift = lambda aligned, cal, **_: original_drift(
                aligned, cal, mean_stance=False
            )
        options = {} if lowpass else {"lowpass_hz": None}
        result = pipeline.analyse(sim.notifications, sim.markers, **options)
    finally:
        pipeline.fuse_raw, pipeline.correct_drift = original_fuse, original_drift
    return result, hip_errors(result.kinematics, sim.truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--breakdown", action="store_true")
    args = ap.parse_args()
    variants = {
        "hipimu": {},
        "hipimu, no low-pass": {"lowpass": False},
        "hipimu, no mean stance": {"mean_stance": False},
        "hipimu, no drift correction, no mean stance": {"drift": False},
    }
    try:
        import vqf  # noqa: F401

        variants["vqf VQF 6D in hipimu's pipeline"] = {"peer": "vqf"}
    except ImportError:
        print("(vqf not installed: peer row skipped)")
    table = {name: [] for name in variants}
    for seed in args.seeds:
        t0 = time.perf_counter()
        sim = simulate_realistic_session(args.rounds, seed=seed)
        duration = sim.truth.time[-1] - sim.truth.time[0]
        print(f"seed {seed}: {duration / 60:.1f} min simulated in {time.perf_counter() - t0:.0f} s")
        for name, kw in variants.items():
            t0 = time.perf_counter()
            result, errors = run(sim, **kw)
            took = time.perf_counter() - t0
            table[name].append(np.rad2deg(np.array([errors["right"], errors["left"]])))
            drift = result.drift.max_drift_deg if result.drift else float("nan")
            print(f"  {name:<44} analysed in {took:5.1f} s, max drift removed {drift:.2f} deg")
    print()
    print(f"RMSE (deg), mean over seeds {args.seeds}, {args.rounds} rounds each")
    print(f"{'pipeline':<44}{'side':<7}{'flexion':>9}{'adduction':>11}{'rotation':>10}")
    for name, rows in table.items():
        mean = np.mean(rows, axis=0)
        worst = np.max(rows, axis=0)
        for i, side in enumerate(("right", "left")):
            print(
                f"{name:<44}{side:<7}{mean[i, 0]:9.2f}{mean[i, 1]:11.2f}{mean[i, 2]:10.2f}"
                f"   (worst seed {worst[i, 0]:.2f} / {worst[i, 1]:.2f} / {worst[i, 2]:.2f})"
            )

    if args.breakdown:
        breakdown(args.rounds, args.seeds[0])


def breakdown(rounds: int, seed: int) -> None:
    full = Realism()
    configs = {
        "all error sources": full,
        "no soft-tissue wobble": replace(full, errors=replace(full.errors, wobble_gain_s2=0.0)),
        "neutral calibration pose": replace(full, pose_offset_deg=(0.0, 0.0, 0.0)),
        "no sensor noise or bias": replace(
            full, errors=replace(ImuErrors.none(), wobble_gain_s2=full.errors.wobble_gain_s2)
        ),
        "mounting offsets only": Realism(ImuErrors.none(), full.max_mount_offset_deg, (0, 0, 0)),
    }
    print()
    print(f"Error sources one at a time (seed {seed}, {rounds} rounds), RMSE deg right | left")
    print(f"{'simulation':<28}{'flexion':>14}{'adduction':>14}{'rotation':>14}")
    for name, realism in configs.items():
        sim = simulate_realistic_session(rounds, seed=seed, realism=realism)
        _, errors = run(sim)
        r, le = np.rad2deg(errors["right"]), np.rad2deg(errors["left"])
        cells = "".join(f"{r[j]:7.2f} |{le[j]:5.2f}" for j in range(3))
        print(f"{name:<28}{cells}")


if __name__ == "__main__":
    main()
