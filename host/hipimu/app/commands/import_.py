"""``hipimu import``: another system's recording as a session directory (docs/formats.md)."""

from __future__ import annotations

import argparse

from hipimu.app.commands._args import output_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="make a session directory from an OpenSense .sto or a raw IMU CSV",
        description="Convert another system's recording into a hipimu session directory "
        "that report, export, replay, live --replay and batch read like a recorded one: "
        "an OpenSense/Xsens quaternion .sto (columns pelvis_imu, femur_r_imu, femur_l_imu) "
        "or a raw IMU CSV (time, then <role>_gyr_x.., <role>_acc_x.. [, <role>_mag_x..] "
        "with units in brackets).",
    )
    p.add_argument("file", metavar="FILE", help="the .sto or .csv file to import")
    p.add_argument(
        "--out",
        required=True,
        type=output_dir,
        metavar="SESSION_DIR",
        help="session directory to write",
    )
    p.add_argument(
        "--format",
        choices=("sto", "csv"),
        help="the file's format (default: from its extension)",
    )
    p.add_argument(
        "--standing",
        metavar="CAL.sto",
        help="a calibration trial of the same sensors with the subject standing still "
        "(e.g. OpenSense's calibration_trial .sto): calibrates a movement trial that has "
        "no standing pose of its own (.sto imports)",
    )
    from hipimu.app.commands._force import add_force

    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.workflow.importer import import_file

    done = import_file(args.file, args.out, args.format, force=args.force, standing=args.standing)
    with_standing = f", standing pose from {args.standing}" if args.standing else ""
    print(
        f"imported {args.file} ({done['format']}, {', '.join(done['roles'])}, "
        f"{done['samples']} samples at {done['rate_hz']:g} Hz{with_standing}) into {done['out']}"
    )
    return 0
