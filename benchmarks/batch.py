"""Batch analysis of many simulated sessions: speed-up from one worker to two.

Generates ``--sessions`` simulated sessions once into a temporary tree (a shorter
protocol, ``Protocol(reps=3)``, about 50 s each, to keep the run modest on a shared
2-core machine), then times ``run_batch`` serially in this process (1 worker), with a
2-process pool, and on a local Dask cluster of 2 worker processes.

The machine's 1-minute load average before each run and the CPU time used are printed:
on a machine other work keeps busy, the speed-up says more about that work than about
the batch (the CPU column shows how many cores the batch actually got; Dask workers'
CPU time is not counted).

    python benchmarks/batch.py [--sessions 200] [--reps 3] [--no-dask] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from hipimu.simulate import Client, Protocol, simulate_session
from hipimu.store.session_dir import write_session
from hipimu.workflow.batch import run_batch, write_table


def generate(root: Path, count: int, reps: int) -> float:
    t0 = time.perf_counter()
    for i in range(count):
        client = Client.symmetric() if i % 4 == 0 else Client()
        sim = simulate_session(Protocol(client, reps=reps), seed=i)
        meta = {"client": f"c-{i // 10:03d}", "source": "simulated"}
        write_session(root / f"client{i // 10:03d}" / f"s{i:04d}", sim.notifications,
                      sim.markers, meta)  # fmt: skip
    return time.perf_counter() - t0


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (pool workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(label: str, fn) -> tuple[float, list[dict], float]:
    load = os.getloadavg()[0]
    c0, t0 = cpu_seconds(), time.perf_counter()
    rows = fn()
    seconds = time.perf_counter() - t0
    cpu = cpu_seconds() - c0
    failed = sum(1 for r in rows if r.get("error"))
    print(
        f"{label:<32}{seconds:7.1f} s  {len(rows) / seconds:5.1f} sessions/s  "
        f"CPU {cpu:6.1f} s ({cpu / seconds:4.2f} cores)  load before {load:4.1f}  failed {failed}"
    )
    return seconds, rows, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--dir", help="generate the sessions here once, reuse them later")
    args = parser.parse_args()
    print(f"CPUs: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.dir) if args.dir else Path(tmp)
        if args.dir and any(root.rglob("session.hiplog")):
            print(f"reusing the sessions in {root}")
        else:
            g = generate(root, args.sessions, args.reps)
            print(f"generated {args.sessions} sessions (Protocol(reps={args.reps})) in {g:.1f} s")
        one, rows, cpu1 = timed("1 worker (in process)", lambda: run_batch(root, workers=1))
        two, _, cpu2 = timed("2 workers (process pool)", lambda: run_batch(root, workers=2))
        print(f"speed-up 1 -> 2 workers (pool): {one / two:.2f}x measured")
        print(
            f"  CPU per session {1000 * cpu1 / len(rows):.0f} ms (1 worker), "
            f"{1000 * cpu2 / len(rows):.0f} ms (2 workers, incl. start-up): with both cores "
            f"free the pool would reach {2 * cpu1 / cpu2:.2f}x"
        )
        if not args.no_dask:
            from distributed import LocalCluster

            with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                              host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
                dask2, _, _ = timed(
                    "2 workers (Dask LocalCluster)",
                    lambda: run_batch(root, scheduler=cluster.scheduler_address),
                )
            print(f"speed-up 1 -> 2 workers (Dask): {one / dask2:.2f}x")
        write_table(rows, root / "table.csv")
        print(f"table: {len(rows)} rows x {len(rows[0])} columns")


if __name__ == "__main__":
    main()
