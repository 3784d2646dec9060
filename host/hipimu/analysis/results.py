"""What the offline pipeline derives from one session (:class:`Analysis`).

A result type only: sinks (export, report) import it to receive results; running the
pipeline is :mod:`hipimu.analysis.pipeline`'s job, called by :mod:`hipimu.workflow`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from hipimu.body.calibration import Calibration
from hipimu.body.heading import DriftReport
from hipimu.body.kinematics import Kinematics
from hipimu.scoring.rom import RangeOfMotion, SideComparison
from hipimu.stream.assembler import AlignedSamples, SensorTimeline, SessionAssembler

if TYPE_CHECKING:
    from hipimu.scoring.summary import SessionScores


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
    fused: list[str] = field(default_factory=list)  # roles fused on the host from raw data
    heading_offsets: dict[str, float] = field(default_factory=dict)
    drift: DriftReport | None = None
    # the sets scored: the trainer's marked sets, else those found in the signals
    # (hipimu.analysis.sets; with "confidence" and "source": "detected")
    sets: list[dict] = field(default_factory=list)

    @cached_property
    def scores(self) -> SessionScores:
        """Repetitions, holds, smoothness, symmetry and compensation of every set
        (marked, else detected: :attr:`sets`; :func:`hipimu.scoring.score_session`),
        computed on first use."""
        from hipimu.scoring.summary import score_session

        return score_session(self.kinematics, self.sets)
