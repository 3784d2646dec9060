"""``hipimu replay``: feed a recorded session through the pipeline, as live."""

from __future__ import annotations

import argparse
import sys
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
    import asyncio

    from hipimu.analysis.pipeline import analyse
    from hipimu.app.commands._summary import print_analysis
    from hipimu.sources.replay import ReplaySource

    source = ReplaySource(args.session, speed=args.speed)
    rec = source.recovery
    stream = sys.stdout if rec.clean else sys.stderr
    print(f"{args.session}: {rec.report()}", file=stream)
    if not source.notifications:
        print(f"hipimu replay: {args.session}: no notifications to replay", file=sys.stderr)
        return 1

    async def collect() -> list:
        return [note async for note in source.stream()]

    calibration = None
    if args.recorded_calibration:
        calibration = _recorded_calibration(source)
        print(f"using the calibration recorded at {calibration[1]}")
        calibration = calibration[0]
    notes = asyncio.run(collect())
    analysis = analyse(
        notes, source.markers, calibration=calibration, events=source.contents.events
    )
    errors = _truth_errors(Path(args.session), analysis)
    print_analysis(analysis, errors)
    if args.out:
        from hipimu.export.results import write_results

        write_results(args.out, analysis)
        print(f"Results written to {args.out}/")
    return 0


def _recorded_calibration(source):
    """The log's last calibration event as a :class:`Calibration`, and when it was made."""
    import json

    from hipimu.body.calibration import Calibration

    events = source.contents.calibrations
    if not events:
        raise ValueError("--recorded-calibration: the log holds no calibration event")
    event = dict(events[-1])
    when = event.pop("time", None)
    try:
        cal = Calibration.from_json(json.dumps(event))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"--recorded-calibration: the recorded one is unusable: {exc}") from None
    return cal, "an unknown time" if when is None else f"host time {when:.3f} s"


def _truth_errors(session: Path, analysis):
    """Errors against ``truth.npz`` when the session is simulated, else None."""
    truth_file = (session if session.is_dir() else session.parent) / "truth.npz"
    if not truth_file.exists():
        return None
    from types import SimpleNamespace

    import numpy as np

    from hipimu.analysis.validation import hip_errors

    with np.load(truth_file) as t:
        truth = SimpleNamespace(time=t["time"], hip_right=t["hip_right"], hip_left=t["hip_left"])
    return hip_errors(analysis.kinematics, truth)
