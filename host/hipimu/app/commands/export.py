"""``hipimu export``: a session in a research format (docs/formats.md)."""

from __future__ import annotations

import argparse

from hipimu.app.commands._args import non_negative, output_any

# as hipimu.export.formats.FORMATS (not imported here: it pulls in numpy; a test checks)
FORMATS = ("csv", "sto", "mot", "hdf5", "c3d")
NEEDS = {"hdf5": ("h5py", "HDF5 export"), "c3d": ("ezc3d", "C3D export")}  # the export extra


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write a session as CSV, OpenSim .sto/.mot, HDF5 or C3D",
        description="Analyse a session and write it in a research format: csv (angles, "
        "degrees), sto (OpenSense quaternions), mot (OpenSim angles, degrees), hdf5, c3d.",
    )
    p.add_argument("session", metavar="SESSION", help="session directory or .hiplog file")
    p.add_argument("--format", "-f", required=True, choices=FORMATS, help="output format")
    p.add_argument(
        "--out",
        type=output_any,
        metavar="PATH",
        help="output file or directory (default: in the session)",
    )
    p.add_argument(
        "--lowpass",
        metavar="HZ",
        type=non_negative,
        default=6.0,
        help="zero-phase low-pass of the orientations before the angles, against "
        "soft-tissue wobble (default 6 Hz; 0 writes them unfiltered)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from hipimu.workflow.session import export_session

    if args.format in NEEDS:  # a missing extra fails now, not after the analysis
        from hipimu.core.extras import require

        require(*NEEDS[args.format], "export")
    start = time.perf_counter()
    path = export_session(args.session, args.format, args.out, args.lowpass or None)
    print(f"wrote {path} ({time.perf_counter() - start:.2f} s)")
    return 0
