"""Printing a session's analysis on the terminal, shared by commands (degrees)."""

from __future__ import annotations

import numpy as np

# user text names the frontal plane after the lift every exercise here trains (ranges
# and errors are unsigned); files keep OpenSim's signed names (hip_adduction_r)
PLANE_LABEL = {"flexion": "flexion", "adduction": "abduction", "rotation": "rotation"}
SIDE_OF_ROLE = {"femur_r": "right", "femur_l": "left"}


def exercise_name(key: str) -> str:
    """The catalog's plain name of an exercise key, with a detected set's level
    (``standing_leg_lift_abduction_45`` -> "standing leg lift, forward and out, 45°")."""
    from hipimu.scoring.catalog import exercise, load_catalog

    catalog = load_catalog()
    name = exercise(key, catalog).name
    level = key.rsplit("_", 1)[-1]
    if key not in catalog and level.isdigit():
        name += f", {level}°"
    return name[:1].lower() + name[1:]


def print_ranges(analysis) -> None:
    """Range of motion per exercise, plane and side, and left as % of right."""
    rows = analysis.sides or analysis.ranges
    names = {r.exercise: exercise_name(r.exercise) for r in rows}
    w = max([22, *(len(n) + 2 for n in names.values())])
    if not analysis.sides:  # one side only (a sensor missing): the blocks as they are
        print("Range of motion per exercise block (degrees; no side to compare)")
        print(f"{'exercise':<{w}}{'side':<7}{'flexion':>9}{'abduction':>11}{'rotation':>10}")
        for r in analysis.ranges:
            d = np.rad2deg(r.range)
            print(f"{names[r.exercise]:<{w}}{r.side:<7}{d[0]:9.1f}{d[1]:11.1f}{d[2]:10.1f}")
        return
    print("Range of motion per exercise and side (degrees)")
    print(f"{'exercise':<{w}}{'plane':<11}{'right':>8}{'left':>8}{'left/right':>12}{'L-R':>8}")
    for s in analysis.sides:
        mark = " *" if s.primary else ""
        print(
            f"{names[s.exercise]:<{w}}"
            f"{PLANE_LABEL.get(s.plane, s.plane):<11}"
            f"{np.rad2deg(s.right):8.1f}{np.rad2deg(s.left):8.1f}"
            f"{s.left_percent_of_right:11.1f}%{np.rad2deg(s.difference):8.1f}{mark}"
        )
    print("  * the exercise's primary plane")


def print_errors(
    errors: dict[str, np.ndarray],
    title: str = "Angle error against the simulator's truth (RMSE, degrees)",
) -> None:
    """RMSE against a simulator's truth, per hip and plane."""
    print(title)
    print(f"{'hip':<8}{'flexion':>10}{'abduction':>11}{'rotation':>10}")
    for side, e in errors.items():
        d = np.rad2deg(e)
        print(f"{side:<8}{d[0]:10.2f}{d[1]:11.2f}{d[2]:10.2f}")


def print_calibration(analysis) -> None:
    q = analysis.calibration.quality
    peaks = ", ".join(
        f"{SIDE_OF_ROLE.get(role, role)} {count}" for role, count in q.flexion_peaks.items()
    )
    print(
        f"Calibration: heading from {q.heading_source}; flexion peaks {peaks or 'none'}; "
        f"warnings: {'; '.join(q.warnings) or 'none'}"
    )


def print_sensors(analysis) -> None:
    """Packets and losses per sensor."""
    print(f"{'sensor':<10}{'address':<22}{'packets':>9}{'lost':>7}{'loss %':>8}{'gaps':>6}")
    for role, tl in analysis.timelines.items():
        print(
            f"{role:<10}{tl.sensor:<22}{tl.packets:9d}{tl.lost_packets:7d}"
            f"{tl.loss_percent:8.2f}{len(tl.gaps):6d}"
        )
        if tl.restarts:
            print(f"{'':<10}rebooted {tl.restarts} time(s): a gap and a new clock each time")


def print_analysis(analysis, errors: dict[str, np.ndarray] | None = None) -> None:
    """Ranges, (errors), sensors and calibration, as ``hipimu demo`` and ``replay`` show."""
    print()
    print_ranges(analysis)
    if errors:
        print()
        print_errors(errors)
    print()
    print_sensors(analysis)
    print()
    print_calibration(analysis)
