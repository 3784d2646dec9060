"""``hipimu replay``: feed a recorded session through the pipeline, as live."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from hipimu.app.commands._args import output_dir


def _speed(text: str) -> float:
    try:
        value = float("inf") if text in ("max", "inf") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'max': {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"speed must be positive or 'max', got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a recorded session through the pipeline and report it",
        description="Stream a session log's notifications with their recorded timing "
        "(or faster) through the same pipeline as a live recording, and print the analysis.",
    )
    p.add_argument("session", metavar="SESSION", help="session directory or .hiplog file")
    p.add_argument(
        "--speed",
        type=_speed,
        default=float("inf"),
        metavar="X",
        help="1 = real time, 10 = ten times faster, 'max' = as fast as possible (default)",
    )
    p.add_argument(
        "--recorded-calibration",
        action="store_true",
        help="use the last calibration recorded in the log instead of calibrating anew",
    )
    p.add_argument(
        "--out",
        type=output_dir,
        metavar="DIR",
        help="also write calibration.json, angles.csv, results.json",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.app.commands._summary import print_analysis
    from hipimu.store.log import LogDamageWarning
    from hipimu.workflow.session import open_session, replay_session

    with warnings.catch_warnings():  # the full recovery report follows
        warnings.simplefilter("ignore", LogDamageWarning)
        session = open_session(args.session)
    rec = session.recovery
    if rec.clean:
        print(f"{args.session}: {rec.report()}")
    else:
        print(
            f"hipimu replay: warning: {args.session}: damaged session log: {rec.report()}",
            file=sys.stderr,
        )
    if not session.contents.notifications:
        print(f"hipimu replay: {args.session}: no notifications to replay", file=sys.stderr)
        return 1
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)  # fails now, not after the analysis
    if args.recorded_calibration and not session.contents.calibrations:
        raise ValueError("--recorded-calibration: the log holds no calibration event")
    replayed = replay_session(session, args.speed, args.recorded_calibration)
    if args.recorded_calibration:
        when = replayed.calibration_time
        at = "an unknown time" if when is None else f"host time {when:.3f} s"
        print(f"using the calibration recorded at {at}")
    print_analysis(replayed.analysis, replayed.errors)
    if args.out:
        from hipimu.workflow.session import write_results

        write_results(args.out, replayed.analysis)
        print(f"Results written to {args.out}/")
    return 0
