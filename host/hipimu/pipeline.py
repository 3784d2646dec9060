"""The host pipeline as one call: notifications in, calibrated angles and scores out.

``decode -> session (clocks, gaps) -> resample -> calibration -> kinematics -> scoring``.
Researchers can call each stage on its own; :func:`analyse` chains them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hipimu.calibration import Calibration, calibrate
from hipimu.kinematics import Kinematics, compute
from hipimu.scoring.rom import RangeOfMotion, SideComparison, compare_sides, ranges_of_motion
from hipimu.session import AlignedSamples, SensorTimeline, SessionAssembler, resample
from hipimu.sources.base import Notification


@dataclass
class Analysis:
    """Everything the pipeline derived from one session."""

    assembler: SessionAssembler
    timelines: dict[str, SensorTimeline]
    aligned: AlignedSamples
    calibration: Calibration
    kinematics: Kinematics
    ranges: list[RangeOfMotion]
    sides: list[SideComparison]


def analyse(
    notifications: Iterable[Notification],
    markers: list[dict] | None = None,
    *,
    rate_hz: float | None = None,
    calibration: Calibration | None = None,
    stage: Callable[[str], None] | None = None,
) -> Analysis:
    """Run the whole pipeline. ``stage`` (optional) is told the name of each stage."""
    say = stage or (lambda _name: None)
    say("decoding packets")
    assembler = SessionAssembler()
    assembler.extend(notifications)
    say("aligning sensor clocks")
    timelines = assembler.timelines()
    aligned = resample(timelines, rate_hz)
    say("calibrating")
    cal = calibration or calibrate(aligned)
    say("computing hip angles")
    kin = compute(aligned, cal)
    say("scoring")
    rows = ranges_of_motion(kin, markers or [])
    return Analysis(assembler, timelines, aligned, cal, kin, rows, compare_sides(rows))
