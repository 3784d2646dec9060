"""``hipimu angles``: hip and pelvis angles from OpenSim orientation files (OpenSense)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hipimu.app.commands._args import output_file

# the keys of hipimu.analysis.opensense.AXES (not imported here: it pulls in scipy)
AXES = ("x", "-x", "y", "-y", "z", "-z")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "angles",
        help="hip and pelvis angles (.mot) from OpenSim quaternion .sto files",
        description=(
            "Calibrate on a standing trial and write the movement trial's hip and pelvis "
            "angles in degrees with OpenSim's column names. Reads columns pelvis_imu, "
            "femur_r_imu, femur_l_imu (earth frame Z up)."
        ),
    )
    p.add_argument(
        "--orientations",
        required=True,
        metavar="TRIAL.sto",
        help="the movement trial's orientations",
    )
    p.add_argument(
        "--calibration",
        required=True,
        metavar="STATIC.sto",
        help="a standing trial (still, hips neutral)",
    )
    p.add_argument(
        "--out",
        required=True,
        type=output_file(".mot"),
        metavar="ANGLES.mot",
        help="the .mot to write",
    )
    p.add_argument(
        "--pelvis-forward-axis",
        choices=list(AXES),
        default=None,
        help="the pelvis sensor axis that points forward (as OpenSense's base_heading_axis); "
        "without it the heading comes from hip flexion movements in the trials",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.analysis.opensense import angles_from_files
    from hipimu.store.opensim import write_mot

    for path in (args.orientations, args.calibration):
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such file: {path}")
        _check_columns(path)
    kin, cal = angles_from_files(args.orientations, args.calibration, args.pelvis_forward_axis)
    _check_complete(kin, args)
    write_mot(args.out, kin.time, kin.opensim_coordinates(), name=Path(args.out).stem)
    q = cal.quality
    print(f"wrote {args.out}: {len(kin.time)} rows, {kin.time[0]:.2f}-{kin.time[-1]:.2f} s")
    print(
        f"calibration: standing {q.static_window[0]:.2f}-{q.static_window[1]:.2f} s, "
        f"heading from {q.heading_source}"
    )
    for w in q.warnings:
        print(f"warning: {w}")
    return 0


def _check_columns(path: str) -> None:
    """Each of the three IMU columns present with at least one valid quaternion."""
    from hipimu.store.opensim import ROLE_COLUMNS, read_sto_quaternions

    aligned = read_sto_quaternions(path).aligned()
    for role, column in ROLE_COLUMNS.items():
        if role not in aligned.quat:
            why = "has no column"
        elif not aligned.valid[role].any():
            why = "has no valid quaternion (all NaN or not unit length) in column"
        else:
            continue
        raise ValueError(
            f"{path} {why} {column}: the angles need {', '.join(ROLE_COLUMNS.values())}; "
            "nothing written"
        )


def _check_complete(kin, args: argparse.Namespace) -> None:
    """Refuse to write a .mot with a body part that has no value at all."""
    import numpy as np

    from hipimu.store.opensim import ROLE_COLUMNS

    parts = {"pelvis": kin.pelvis, "femur_r": kin.hip_right, "femur_l": kin.hip_left}
    empty = [role for role, values in parts.items() if not np.isfinite(values).any()]
    if empty:
        columns = ", ".join(ROLE_COLUMNS[role] for role in empty)
        raise ValueError(
            f"no angles from {columns}: missing or without one valid quaternion in "
            f"{args.orientations} or {args.calibration} (columns needed: "
            f"{', '.join(ROLE_COLUMNS.values())}); nothing written"
        )
