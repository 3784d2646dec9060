"""``hipimu report``: score a recorded session and write a report for the client."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hipimu.app.commands._args import UsageError, fraction, output_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="score a session (repetitions, range, smoothness, symmetry, compensation, "
        "targets) and write a self-contained HTML report",
        description="Score a recorded session: repetitions and holds, range of motion, "
        "smoothness, left/right symmetry, pelvis compensation, and the trainer's rule (reduce, "
        "then build back up) over the previous sessions in the same folder. Writes a "
        "self-contained HTML report for the client and SESSION/scores.json, which later "
        "sessions compare with.",
    )
    p.add_argument("session", metavar="SESSION", help="session directory (or its session.hiplog)")
    p.add_argument(
        "--out",
        type=output_file(".html", ".htm"),
        metavar="FILE.html",
        help="where to write the report (default: SESSION/report.html; with --json: none)",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON on stdout")
    p.add_argument(
        "--share",
        nargs=2,
        type=fraction,
        metavar=("LOW", "HIGH"),
        default=None,
        help="the reduced band after an asymmetry, as a share of the range before "
        "(default: 0.10 0.15; docs/scoring.md)",
    )
    p.add_argument(
        "--no-save",
        action="store_true",
        help="do not write SESSION/scores.json (the record later sessions compare with)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.workflow.session import json_default, session_report

    share = tuple(args.share) if args.share else None
    if share and not share[0] < share[1]:
        raise UsageError(f"--share needs LOW < HIGH, got {share[0]:g} {share[1]:g}")
    path = Path(args.session)
    out = Path(args.out) if args.out else None
    if out is None and not args.json:
        out = (path if path.is_dir() else path.parent) / "report.html"
    result = session_report(path, html_out=out, save=not args.no_save, share=share)
    if args.json:
        json.dump(result, sys.stdout, indent=2, default=json_default)
        print()
    if out is not None:
        print(f"report written to {out}", file=sys.stderr if args.json else sys.stdout)
    return 0
