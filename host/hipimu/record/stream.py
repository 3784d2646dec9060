"""Record any :class:`~hipimu.sources.base.Source` into a session log as it streams.

Used by tests and benchmarks to record a paced simulated session exactly as a live
recording does (each notification written on arrival, markers written once they end),
and run as ``python -m hipimu.record.stream OUT.hiplog`` for kill -9 tests: it prints
``start <monotonic>`` and then ``<index> <host_time>`` after every notification written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hipimu import __version__
from hipimu.record.log import SessionLogWriter
from hipimu.sources.base import Notification, Source


async def record_source(
    source: Source,
    path: str | Path,
    metadata: dict,
    *,
    fsync_interval: float = 0.5,
    written: Callable[[int, Notification], None] | None = None,
) -> int:
    """Stream ``source`` into a log at ``path``; returns the notifications written.

    Markers known to the source are written once the stream has passed their end.
    ``written(index, note)`` is called after each notification reached the OS.
    """
    pending = sorted(source.markers, key=lambda m: m["end"])
    count = 0
    with SessionLogWriter(path, fsync_interval) as log:
        log.meta(metadata)
        async for note in source.stream():
            log.notification(note)
            if written:
                written(count, note)
            count += 1
            while pending and pending[0]["end"] <= note.host_time:
                log.event({"type": "marker", **pending.pop(0)})
        for m in pending:
            log.event({"type": "marker", **m})
    return count


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
            {"source": "simulated", "seed": args.seed, "client": "sim-0001", "hipimu": __version__},
            fsync_interval=args.fsync_interval,
            written=written,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
