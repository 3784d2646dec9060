"""``hipimu batch``: a tree of sessions into one table of per-session scores."""

from __future__ import annotations

import argparse
import sys

from hipimu.app.commands._args import int_range, output_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="analyse a tree of sessions into one table (here in parallel, or on Dask)",
        description="Find every session directory under DIR, analyse each, and write one "
        "CSV row per session: ranges per exercise and side, left % of right, calibration "
        "quality, packet loss, log recovery.",
    )
    p.add_argument("directory", metavar="DIR", help="root of the session directories")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address (e.g. tcp://10.0.0.5:8786); workers need hipimu and "
        "the sessions at the same paths",
    )
    p.add_argument(
        "--workers",
        type=int_range(1, 1024),
        metavar="N",
        help="local processes (default: CPU count)",
    )
    p.add_argument(
        "--out",
        type=output_file(".csv"),
        default="batch.csv",
        metavar="TABLE.csv",
        help="output (default: %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from hipimu.workflow.batch import run_batch, write_table

    tty = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if args.quiet:
            return
        if tty:
            print(f"\r{done}/{total} sessions", end="", file=sys.stderr, flush=True)
        elif done == total or done % max(1, total // 10) == 0:
            print(f"{done}/{total} sessions", file=sys.stderr, flush=True)

    start = time.perf_counter()
    rows = run_batch(
        args.directory, workers=args.workers, scheduler=args.scheduler, progress=progress
    )
    if tty and not args.quiet:
        print(file=sys.stderr)
    path = write_table(rows, args.out)
    failed = [r for r in rows if r.get("error")]
    damaged = [r for r in rows if r.get("log_intact") is False]
    print(
        f"{len(rows)} sessions in {time.perf_counter() - start:.1f} s -> {path}"
        f"{f'; {len(failed)} failed' if failed else ''}"
        f"{f'; {len(damaged)} logs damaged (see log_recovery)' if damaged else ''}"
    )
    for r in failed:
        print(f"  {r['session']}: {r['error']}", file=sys.stderr)
    for r in damaged:
        print(
            f"hipimu batch: warning: {r['session']}: damaged session log: {r['log_recovery']}",
            file=sys.stderr,
        )
    if failed:
        print(
            f"hipimu batch: {len(failed)} of {len(rows)} sessions failed (listed above; their "
            f"rows in {path} hold the error)",
            file=sys.stderr,
        )
        return 1
    return 0
