"""The result files of an analysed session: calibration.json, angles.csv, results.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from hipimu.analysis.results import Analysis
from hipimu.core.names import ANGLE_COLUMNS


def angle_table(analysis: Analysis) -> np.ndarray:
    """(N, 10) time and the nine angles in degrees, columns ``("time",) + ANGLE_COLUMNS``."""
    kin = analysis.kinematics
    coords = kin.opensim_coordinates()
    deg = np.rad2deg(np.column_stack([coords[c] for c in ANGLE_COLUMNS]))
    return np.column_stack([kin.time - kin.time[0], deg])


def write_results(
    directory: str | Path, analysis: Analysis, extra: dict | None = None
) -> dict[str, Path]:
    """Write calibration.json, angles.csv and results.json; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "calibration": directory / "calibration.json",
        "angles": directory / "angles.csv",
        "results": directory / "results.json",
    }
    paths["calibration"].write_text(analysis.calibration.to_json())
    with open(paths["angles"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("time", *ANGLE_COLUMNS))
        for row in angle_table(analysis):
            writer.writerow([f"{row[0]:.4f}"] + [f"{v:.3f}" for v in row[1:]])
    paths["results"].write_text(json.dumps(results_dict(analysis, extra), indent=2))
    return paths


def results_dict(analysis: Analysis, extra: dict | None = None) -> dict:
    """The results of a session as plain JSON-ready data (degrees)."""
    planes = ("flexion", "adduction", "rotation")
    return {
        "format": "hipimu-results/1",
        "ranges_deg": [
            {
                "exercise": r.exercise,
                "side": r.side,
                "start_s": r.start,
                "end_s": r.end,
                **{p: round(float(np.rad2deg(v)), 3) for p, v in zip(planes, r.range, strict=True)},
            }
            for r in analysis.ranges
        ],
        "sides": [
            {
                "exercise": s.exercise,
                "plane": s.plane,
                "primary": s.primary,
                "right_deg": round(np.rad2deg(s.right), 3),
                "left_deg": round(np.rad2deg(s.left), 3),
                "left_percent_of_right": round(s.left_percent_of_right, 2),
            }
            for s in analysis.sides
        ],
        "sensors": {
            role: {
                "address": tl.sensor,
                "samples": len(tl.device_us),
                "packets": tl.packets,
                "lost_packets": tl.lost_packets,
                "duplicates": tl.duplicates,
                "loss_percent": round(tl.loss_percent, 3),
                "gaps": len(tl.gaps),
                "restarts": tl.restarts,
                "drift_ppm": round(tl.clock.drift_ppm, 2),
            }
            for role, tl in analysis.timelines.items()
        },
        "rejected_packets": dict(analysis.assembler.decoder.rejected),
        "calibration": json.loads(analysis.calibration.to_json())["quality"],
        "scores": analysis.scores.to_dict(),
        **(extra or {}),
    }
