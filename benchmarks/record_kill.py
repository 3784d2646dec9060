"""kill -9 a real-time recording at random moments; reopen; how many seconds were lost.

Runs ``hipimu record --simulate`` (the BLE code path with simulated sensors, in real
time) and SIGKILLs it at a random moment after its first notification is in the log;
the log's host times are the system's monotonic clock, so the loss is ``kill time -
last notification recovered`` (this includes the link's own latency, tens of ms). Then the same with
``python -m hipimu.app.record_simulated`` (a paced simulated source written as it arrives),
whose loss is measured against the notifications it had been fed by the kill.

    python benchmarks/record_kill.py [--kills 8] [--min 0.5] [--max 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hipimu.simulate import Protocol, simulate_session
from hipimu.store.log import read_log

ROOT = Path(__file__).resolve().parents[1]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT / "host"), str(ROOT / "firmware"),
                                       e.get("PYTHONPATH", "")])  # fmt: skip
    return e


def kill_record(out: Path, after: float) -> tuple[float, float | None, str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hipimu.app.cli", "record", "--simulate", "--out", str(out),
         "--quiet", "--seed", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(),
    )  # fmt: skip
    path = out / "session.hiplog"
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline and proc.poll() is None:  # wait for the stream
        if path.exists() and read_log(path).notifications:
            break
        time.sleep(0.1)
    time.sleep(after)
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log = read_log(path)
    last = log.recovery.last_time
    lost = killed_at - last if last is not None else None
    return after, lost, log.recovery.summary(), log.recovery.corrupt_records


def kill_stream(path: Path, after: float, speed: float, reps: int) -> tuple[float, float, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hipimu.app.record_simulated", str(path), "--speed", str(speed),
         "--reps", str(reps)],
        stdout=subprocess.PIPE, text=True, env=env(),
    )  # fmt: skip
    start = float(proc.stdout.readline().split()[1])
    time.sleep(after)
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log = read_log(path)
    fed = (killed_at - start) * speed  # session seconds the source had delivered
    last = log.recovery.last_time or 0.0
    return after, (fed - last) / speed, log.recovery.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--min", type=float, default=0.5, help="s after streaming starts")
    parser.add_argument("--max", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        print("hipimu record --simulate (real time), SIGKILL after ... s")
        for k in range(args.kills):
            after, lost, summary, corrupt = kill_record(Path(tmp) / f"r{k}",
                                                       rng.uniform(args.min, args.max))  # fmt: skip
            if lost is None:
                print(f"  {after:5.1f} s: nothing recorded yet ({summary})")
                continue
            worst = max(worst, lost)
            print(f"  {after:5.1f} s: lost {lost:.3f} s; corrupt {corrupt}; {summary}")
        print(f"worst: {worst:.3f} s lost")
        print(
            "hipimu.app.record_simulated (paced simulated source, real time), SIGKILL after ... s"
        )
        sim_end = simulate_session(Protocol(reps=10)).notifications[-1].host_time
        worst2 = 0.0
        for k in range(args.kills):
            after = rng.uniform(args.min, min(args.max, sim_end - 1))
            after, lost, summary = kill_stream(Path(tmp) / f"s{k}.hiplog", after, 1.0, 10)
            worst2 = max(worst2, lost)
            print(f"  {after:5.1f} s: lost {lost:.3f} s; {summary}")
        print(f"worst: {worst2:.3f} s lost")


if __name__ == "__main__":
    main()
