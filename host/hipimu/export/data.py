"""The export data model: one session's results on a uniform time grid.

:class:`ExportData` is what every format carries: time in seconds from the first aligned
sample, the nine angles (radians inside, OpenSim names), the sensors' orientations
``q_GS`` and the segments' ``q_GB`` per role, markers, metadata and the calibration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from hipimu.analysis.results import Analysis
from hipimu.core.names import ANGLE_COLUMNS
from hipimu.store.log import LogContents
from hipimu.stream.assembler import AlignedSamples, SensorTimeline


@dataclass
class ExportData:
    """A session's results on one uniform time grid (SI units)."""

    time: np.ndarray  # (N,) seconds from the first aligned sample
    angles: dict[str, np.ndarray]  # ANGLE_COLUMNS -> (N,) radians, NaN in gaps
    sensors: dict[str, np.ndarray] = field(default_factory=dict)  # role -> q_GS (N, 4)
    segments: dict[str, np.ndarray] = field(default_factory=dict)  # role -> q_GB (N, 4)
    rate_hz: float = 100.0
    time_offset: float = 0.0  # host time (s) of time 0: markers are in host time
    markers: list[dict] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    name: str = "hipimu"
    # per role, the sensor's own samples before resampling: host_time (s), device_us,
    # quat (q_ES), gyr (rad/s), acc (m/s^2), mag (uT) where the sensor sent them
    raw: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def angle_matrix(self, degrees: bool = True) -> np.ndarray:
        """(N, 9) in ANGLE_COLUMNS order, degrees by default."""
        m = np.column_stack([self.angles[c] for c in ANGLE_COLUMNS])
        return np.rad2deg(m) if degrees else m


def from_analysis(
    analysis: Analysis, contents: LogContents | None = None, name: str = "hipimu"
) -> ExportData:
    """The export model of an analysed session (``contents``: its log, for metadata)."""
    kin = analysis.kinematics
    angles = kin.opensim_coordinates()
    return ExportData(
        time=kin.time - kin.time[0],
        angles={k: np.asarray(v, dtype=np.float64) for k, v in angles.items()},
        sensors={r: q for r, q in analysis.aligned.quat.items()},
        segments=dict(kin.segments),
        rate_hz=float(analysis.aligned.rate_hz),
        time_offset=float(kin.time[0]),
        markers=_markers(analysis, contents),
        metadata=dict(contents.metadata) if contents else {},
        calibration=json.loads(analysis.calibration.to_json()),
        name=name,
        raw={role: _raw(tl) for role, tl in analysis.timelines.items()},
    )


def _markers(analysis: Analysis, contents: LogContents | None) -> list[dict]:
    """The log's markers, and in a session without set markers (``record``, ``import``)
    the sets found in its signals, marked ``"source": "detected"`` with their
    ``confidence`` (:func:`hipimu.analysis.sets.session_sets`)."""
    markers = list(contents.markers) if contents else []
    for found in analysis.sets:
        if found.get("source") == "detected":
            markers.append(
                {k: v.item() if isinstance(v, np.generic) else v for k, v in found.items()}
            )
    return markers


def raw_export_data(
    contents: LogContents,
    aligned: AlignedSamples,
    timelines: dict[str, SensorTimeline],
    name: str = "hipimu",
    reason: str = "",
) -> ExportData:
    """The export model of a session that cannot be calibrated: the sensors' orientations
    (``aligned``) and raw samples (``timelines``) only, no angles or segments (``reason``
    says why, in the metadata)."""
    metadata = dict(contents.metadata)
    if reason:
        metadata["uncalibrated"] = reason
    return ExportData(
        time=aligned.time - aligned.time[0],
        angles={},
        sensors=dict(aligned.quat),
        rate_hz=float(aligned.rate_hz),
        time_offset=float(aligned.time[0]),
        markers=contents.markers,
        metadata=metadata,
        name=name,
        raw={role: _raw(tl) for role, tl in timelines.items()},
    )


def _raw(tl) -> dict[str, np.ndarray]:
    out = {"host_time": tl.host_time, "device_us": tl.device_us}
    for name in ("quat", "gyr", "acc", "mag"):
        value = getattr(tl, name)
        if value is not None:
            out[name] = value
    return out
