"""Stream a paced simulated session into a log, as ``hipimu record`` would, for kill -9 tests.

Run as ``python -m hipimu.app.record_simulated OUT.hiplog``: it prints ``start <monotonic>``
and then ``<index> <host_time>`` after every notification written
(tests/host/test_record_kill.py, benchmarks/record_kill.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from hipimu.core.types import Notification
from hipimu.store.recorder import record_source


def main(argv: list[str] | None = None) -> int:
    from hipimu.simulate import Protocol, simulate_session
    from hipimu.sources.simulated import SimulatedSource

    parser = argparse.ArgumentParser(description="stream a simulated session into a log")
    parser.add_argument("out", type=Path)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--fsync-interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    sim = simulate_session(Protocol(reps=args.reps), seed=args.seed)
    out = sys.stdout

    def written(i: int, note: Notification) -> None:
        out.write(f"{i} {note.host_time!r}\n")
        out.flush()

    out.write(f"start {time.monotonic()!r}\n")
    out.flush()
    asyncio.run(
        record_source(
            SimulatedSource(sim, speed=args.speed),
            args.out,
            {
                "source": "simulated",
                "host_clock": "simulated",
                "seed": args.seed,
                "client": "sim-0001",
            },
            fsync_interval=args.fsync_interval,
            written=written,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
