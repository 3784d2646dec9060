"""Hip-angle kernel: hipimu's C kernel against the numpy reference and scipy.

Each run measures all three on the same random pelvis/femur orientations and prints
throughput (million samples per second) and the ratio of each peer's time to hipimu's.

    python benchmarks/angles.py [--samples 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.spatial.transform import Rotation

from hipimu.core import quaternion as Q
from hipimu.reference import quaternion as R


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def scipy_hip_angles(p: np.ndarray, f: np.ndarray) -> np.ndarray:
    rel = Rotation.from_quat(p, scalar_first=True).inv() * Rotation.from_quat(f, scalar_first=True)
    return rel.as_euler("ZXY")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    p = rng.normal(size=(args.samples, 4))
    f = rng.normal(size=(args.samples, 4))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    f /= np.linalg.norm(f, axis=1, keepdims=True)

    np.testing.assert_allclose(Q.hip_angles(p, f, "right"), R.hip_angles(p, f, 1.0), atol=1e-12)
    np.testing.assert_allclose(Q.hip_angles(p, f, "right"), scipy_hip_angles(p, f), atol=1e-9)
    times = {
        "hipimu C kernel": best_of(lambda: Q.hip_angles(p, f, "right"), args.repeats),
        "numpy reference": best_of(lambda: R.hip_angles(p, f, 1.0), args.repeats),
        "scipy Rotation.as_euler": best_of(lambda: scipy_hip_angles(p, f), args.repeats),
    }
    base = times["hipimu C kernel"]
    print(
        f"hip angles (relative rotation + Z-X-Y), {args.samples:,} samples, best of {args.repeats}"
    )
    print(f"{'implementation':<26}{'time (ms)':>11}{'M samples/s':>13}{'hipimu speed-up':>17}")
    for name, t in times.items():
        print(f"{name:<26}{t * 1e3:11.1f}{args.samples / t / 1e6:13.1f}{t / base:16.1f}x")


if __name__ == "__main__":
    main()
