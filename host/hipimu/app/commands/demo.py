"""``hipimu demo``: a simulated session end to end."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hipimu.app.commands._args import output_dir
from hipimu.app.commands._force import add_force

PLANES = ("flexion", "adduction", "rotation")  # results.json keys (signed ISB angles)


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="run a simulated session end to end and report ranges and errors",
        description="Simulate three sensors on a client doing side-lying leg lifts and "
        "marching (random mounting offsets, drifting clocks, a left side that moves 70 % of "
        "the right; standing sway, a stance a little off neutral, sensor noise and the "
        "thigh skin's twist unless --ideal), write the session, analyse it and print each "
        "exercise's range per side and the angle error against the simulator's truth.",
    )
    demo.add_argument(
        "--out",
        type=output_dir,
        default="hipimu-demo",
        metavar="DIR",
        help="directory for the session and results (default: %(default)s)",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.add_argument(
        "--symmetric",
        action="store_true",
        help="simulate a client without the default left-side asymmetry",
    )
    demo.add_argument(
        "--ideal",
        action="store_true",
        help="a noise-free client and sensors (no sway, neutral stance, no sensor noise or "
        "soft-tissue twist) instead of the realistic default",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress display")
    add_force(demo)
    demo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from hipimu.analysis.pipeline import STAGES
    from hipimu.analysis.validation import hip_errors
    from hipimu.core.progress import Progress
    from hipimu.simulate import Client, Protocol, simulate_session
    from hipimu.store.recorder import claim_target, session_metadata, write_session
    from hipimu.workflow.session import analyse_session, write_results

    out = Path(args.out)
    moved = claim_target(out, args.force)  # before the simulation, not after
    if moved is not None:
        print(f"the old session in {out} was moved to {moved}", file=sys.stderr)
    # simulate, write the log, the pipeline's stages, write the results
    progress = Progress(stages=2 + len(STAGES) + 1, quiet=args.quiet)
    progress.stage("simulating three sensors")
    client = Client.symmetric() if args.symmetric else Client()
    sim = simulate_session(
        Protocol(client), seed=args.seed, progress=progress.update, ideal=args.ideal
    )
    progress.stage("writing session log")
    meta = session_metadata(
        "simulated",
        "demo",
        client="sim-0001",
        host_clock="simulated",
        seed=args.seed,
        simulation="ideal" if args.ideal else "realistic",
    )
    log = write_session(out, sim.notifications, sim.markers, meta)
    analysis = analyse_session(log, stage=progress.stage)
    errors = hip_errors(analysis.kinematics, sim.truth)
    from_stance = hip_errors(analysis.kinematics, sim.truth, from_stance=True)
    progress.stage("writing results")
    np.savez(out / "truth.npz", **sim.truth.as_arrays())

    def table(errors: dict) -> dict:
        return {
            side: dict(zip(PLANES, np.round(np.rad2deg(e), 4).tolist(), strict=True))
            for side, e in errors.items()
        }

    extra = {"error_rmse_deg": table(errors), "error_from_stance_rmse_deg": table(from_stance)}
    write_results(out, analysis, extra)
    progress.close()
    print_summary(analysis, errors, out, None if args.ideal else from_stance)
    return 0


def print_summary(analysis, errors, out: Path, from_stance=None) -> None:
    """The demo's report: ranges per side, error against the truth (anatomical, and from
    the client's own stance when given), calibration."""
    from hipimu.app.commands._summary import print_calibration, print_errors, print_ranges

    print()
    print_ranges(analysis)
    print()
    print_errors(errors)
    if from_stance is not None:
        print()
        print_errors(
            from_stance,
            "Angle error from the client's own stance, which calibrating on standing takes "
            "as zero (RMSE, degrees)",
        )
    print()
    print_calibration(analysis)
    print(f"Session written to {out}/")
