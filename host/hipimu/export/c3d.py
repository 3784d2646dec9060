"""C3D export (ezc3d): angles as POINT data, the Vicon Plug-in Gait convention.

Points (degrees, ``POINT:ANGLES`` lists them, ``POINT:ANGLE_UNITS = deg``):

| point | x | y | z |
| --- | --- | --- | --- |
| ``RHipAngles`` / ``LHipAngles`` | flexion | adduction | internal rotation |
| ``RPelvisAngles`` / ``LPelvisAngles`` | anterior tilt | that side up | that side forward |

Hip angles are hipimu's directly (positive means the same on both sides). Pelvis angles
follow Plug-in Gait's per-side signs: x = -pelvis_tilt (hipimu's tilt is positive
posterior), y = -pelvis_list on the right and +pelvis_list on the left, z =
+pelvis_rotation on the right and -pelvis_rotation on the left. Gaps are invalid points
(NaN, residual -1). Markers become C3D events (``<exercise> start``/``end`` with context
Right, Left or General) and, losslessly, JSON in ``HIPIMU:MARKERS``; metadata and the
calibration are JSON in ``HIPIMU:METADATA`` and ``HIPIMU:CALIBRATION``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hipimu.export.data import ExportData

POINTS = ("RHipAngles", "LHipAngles", "RPelvisAngles", "LPelvisAngles")
CHUNK = 250  # C3D character parameters: at most 255 characters per string
CONTEXT = {"right": "Right", "left": "Left"}


def _ezc3d():
    from hipimu.core.extras import require

    return require("ezc3d", "C3D export", "export")


def _chunks(text: str) -> list[str]:
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]


def point_angles(angles: dict[str, np.ndarray]) -> np.ndarray:
    """(4 points, 3, N) degrees in Plug-in Gait convention, from hipimu angles (rad)."""
    deg = {k: np.rad2deg(v) for k, v in angles.items()}
    tilt, obl, rot = -deg["pelvis_tilt"], deg["pelvis_list"], deg["pelvis_rotation"]
    return np.stack([
        np.stack([deg["hip_flexion_r"], deg["hip_adduction_r"], deg["hip_rotation_r"]]),
        np.stack([deg["hip_flexion_l"], deg["hip_adduction_l"], deg["hip_rotation_l"]]),
        np.stack([tilt, -obl, rot]),
        np.stack([tilt, obl, -rot]),
    ])  # fmt: skip


def write_c3d(path: str | Path, data: ExportData) -> None:
    """Write the angles of ``data`` as a C3D file."""
    ezc3d = _ezc3d()
    c3d = ezc3d.c3d()
    pts = point_angles(data.angles)  # (4, 3, N)
    n = pts.shape[2]
    arr = np.ones((4, len(POINTS), n))
    arr[:3] = pts.transpose(1, 0, 2)
    point = c3d["parameters"]["POINT"]
    point["RATE"]["value"] = np.array([data.rate_hz])
    point["LABELS"]["value"] = POINTS
    point["DESCRIPTIONS"]["value"] = (
        "Right hip flexion, adduction, internal rotation",
        "Left hip flexion, adduction, internal rotation",
        "Pelvis anterior tilt, right up, right forward",
        "Pelvis anterior tilt, left up, left forward",
    )
    point["UNITS"]["value"] = ["mm"]
    c3d["data"]["points"] = arr
    residuals = np.where(np.isfinite(pts).all(axis=1), 0.0, -1.0)[None]  # (1, 4, N)
    c3d["data"]["meta_points"]["residuals"] = residuals
    c3d["data"]["meta_points"]["camera_masks"] = np.zeros((7, len(POINTS), n), dtype=bool)
    c3d.add_parameter("POINT", "ANGLES", list(POINTS))
    c3d.add_parameter("POINT", "ANGLE_UNITS", ["deg"])
    events = []
    for m in data.markers:
        context = CONTEXT.get(str(m.get("side")), "General")
        for edge in ("start", "end"):
            if edge in m:
                events.append((context, f"{m['exercise']} {edge}", m[edge] - data.time_offset))
    if events:
        c3d.add_parameter("EVENT", "USED", [len(events)])
        c3d.add_parameter("EVENT", "CONTEXTS", [e[0] for e in events])
        c3d.add_parameter("EVENT", "LABELS", [e[1] for e in events])
        seconds = np.array([e[2] for e in events])
        minutes = np.floor(seconds / 60.0)
        c3d.add_parameter("EVENT", "TIMES", np.array([minutes, seconds - 60.0 * minutes]))
    c3d.add_parameter("HIPIMU", "FORMAT", ["hipimu-c3d/1"])
    c3d.add_parameter("HIPIMU", "TIME_OFFSET", [float(data.time_offset)])
    for name, value in (("METADATA", data.metadata), ("CALIBRATION", data.calibration),
                        ("MARKERS", data.markers)):  # fmt: skip
        c3d.add_parameter("HIPIMU", name, _chunks(json.dumps(value, sort_keys=True)))
    c3d.write(str(path))


def read_c3d(path: str | Path) -> ExportData:
    """Read a C3D written by :func:`write_c3d` back into hipimu angles (radians)."""
    ezc3d = _ezc3d()
    c3d = ezc3d.c3d(str(path))
    labels = list(c3d["parameters"]["POINT"]["LABELS"]["value"])
    missing = [p for p in POINTS if p not in labels]
    if missing:
        raise ValueError(f"{path}: no point {', '.join(missing)} (points: {', '.join(labels)})")
    pts = c3d["data"]["points"]
    get = {p: pts[:3, labels.index(p), :] for p in POINTS}
    rate = float(c3d["parameters"]["POINT"]["RATE"]["value"][0])
    n = pts.shape[2]
    rad = np.deg2rad
    angles = {
        "hip_flexion_r": rad(get["RHipAngles"][0]),
        "hip_adduction_r": rad(get["RHipAngles"][1]),
        "hip_rotation_r": rad(get["RHipAngles"][2]),
        "hip_flexion_l": rad(get["LHipAngles"][0]),
        "hip_adduction_l": rad(get["LHipAngles"][1]),
        "hip_rotation_l": rad(get["LHipAngles"][2]),
        "pelvis_tilt": -rad(get["LPelvisAngles"][0]),
        "pelvis_list": rad(get["LPelvisAngles"][1]),
        "pelvis_rotation": -rad(get["LPelvisAngles"][2]),
    }
    params = c3d["parameters"]
    own = params.get("HIPIMU", {})

    def text(name: str, default):
        return json.loads("".join(own[name]["value"])) if name in own else default

    offset = float(own["TIME_OFFSET"]["value"][0]) if "TIME_OFFSET" in own else 0.0
    return ExportData(
        time=np.arange(n) / rate,
        angles=angles,
        rate_hz=rate,
        time_offset=offset,
        markers=text("MARKERS", []),
        metadata=text("METADATA", {}),
        calibration=text("CALIBRATION", {}),
    )
