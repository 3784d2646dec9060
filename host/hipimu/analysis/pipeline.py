"""The host pipeline as one call: notifications in, calibrated angles and scores out.

``decode -> session (clocks, gaps) -> fusion (raw sensors) -> resample -> heading
alignment -> calibration -> drift correction -> kinematics -> scoring``.
Researchers can call each stage on its own; :func:`analyse` chains them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from hipimu.analysis.results import Analysis
from hipimu.body.calibration import Calibration, calibrate, find_still_window
from hipimu.body.heading import align_headings, correct_drift
from hipimu.body.kinematics import compute
from hipimu.core.types import Notification
from hipimu.orientation.lowpass import DEFAULT_CUTOFF_HZ
from hipimu.scoring.rom import compare_sides, ranges_of_motion
from hipimu.stream.assembler import AlignedSamples, SensorTimeline, SessionAssembler, resample

if TYPE_CHECKING:
    from hipimu.store.log import LogContents

__all__ = ["Analysis", "analyse", "analyse_log", "case_window", "fuse_raw", "resample_window"]


def fuse_raw(timelines: dict[str, SensorTimeline]) -> list[str]:
    """Orientation from raw gyroscope/accelerometer(/magnetometer) where a sensor sent no
    quaternion (the firmware's raw mode); returns the roles fused. Uses the C filter of
    :mod:`hipimu.orientation.filter` with each sample's host time, so gaps are handled."""
    fused = []
    for role, tl in timelines.items():
        if tl.quat is not None or tl.gyr is None or tl.acc is None:
            continue
        from hipimu.orientation.filter import estimate_orientation

        tl.quat = estimate_orientation(
            tl.gyr, tl.acc, tl.mag, rate_hz=tl.rate_hz, timestamps=tl.host_time
        )
        fused.append(role)
    return fused


def _marker_window(markers: list[dict], exercise: str) -> tuple[float, float] | None:
    for m in markers:
        if m.get("exercise") == exercise:
            return float(m["start"]), float(m["end"])
    return None


#: the stages :func:`analyse` reports, in order (progress displays count them)
STAGES = (
    "decoding packets",
    "aligning sensor clocks",
    "calibrating",
    "computing hip angles",
    "finding sets",
    "scoring",
)


def analyse(
    notifications: Iterable[Notification],
    markers: list[dict] | None = None,
    *,
    rate_hz: float | None = None,
    calibration: Calibration | None = None,
    femur_axis: str = "standing",
    events: Iterable[dict] = (),
    stage: Callable[[str], None] | None = None,
    lowpass_hz: float | None = DEFAULT_CUTOFF_HZ,
    placement_prior: bool = True,
) -> Analysis:
    """Run the whole pipeline. ``stage`` (optional) is told the name of each stage.

    ``femur_axis="functional"`` takes the thighs' flexion axes from flexion movements
    instead of the standing pose (:func:`hipimu.body.calibration.calibrate`). ``events`` are
    session-log events; ``time_sync`` round trips align the sensors' clocks (docs/ble.md).
    ``lowpass_hz`` low-passes the segment orientations before the angles (zero-phase,
    6 Hz by default against soft-tissue wobble; None keeps them raw). A ``calibration``
    given is used as it is; one made here from the standing pose is re-zeroed on the
    mean of the session's standing phases when the sensors were fused without a
    magnetometer (:func:`hipimu.body.heading.correct_drift`). ``placement_prior`` False:
    the sensors were not placed by hipimu's convention (another system's recording), so
    the heading comes from the flexion movements alone (:func:`calibrate`).
    """
    say = stage or (lambda _name: None)
    say(STAGES[0])  # decoding packets
    assembler = SessionAssembler()
    for event in events:  # time-sync round trips recorded beside the notifications
        assembler.add_event(event)
    assembler.extend(notifications)
    markers = markers or []
    say(STAGES[1])  # aligning sensor clocks
    timelines = assembler.timelines(drop_samples=True)  # the result keeps the timelines
    fused = fuse_raw(timelines)
    aligned = resample(timelines, rate_hz)
    # 6D fusion leaves each sensor's heading its own: align them while in their case
    offsets = {}
    window = _marker_window(markers, "heading_alignment")
    six_d = [r for r in fused if timelines[r].mag is None]
    if six_d and window is None:
        window = case_window(aligned)
    if six_d and window:
        offsets = align_headings(aligned, window)
    say(STAGES[2])  # calibrating
    own_calibration = calibration is None
    if calibration is None:
        standing = _marker_window(markers, "standing")
        static = None
        if standing:
            part = resample_window(aligned, standing)
            static = find_still_window(part, min_seconds=1.0)
        calibration = calibrate(
            aligned, static, femur_axis=femur_axis, placement_prior=placement_prior
        )
    drift = None
    if six_d:
        # the functional thigh axis already says how the thighs stood turned
        mean_stance = own_calibration and femur_axis == "standing"
        drift = correct_drift(aligned, calibration, mean_stance=mean_stance)
    say(STAGES[3])  # computing hip angles
    kin = compute(aligned, calibration, lowpass_hz)
    say(STAGES[4])  # finding sets
    from hipimu.analysis.sets import session_sets

    sets = session_sets(kin, aligned, markers)
    say(STAGES[5])  # scoring
    rows = ranges_of_motion(kin, sets)
    return Analysis(
        assembler,
        timelines,
        aligned,
        calibration,
        kin,
        rows,
        compare_sides(rows),
        fused,
        offsets,
        drift,
        sets,
    )


def case_window(aligned: AlignedSamples, min_seconds: float = 1.5) -> tuple[float, float] | None:
    """The first still stretch with all sensors lying flat together, as in their case
    (:mod:`hipimu.body.posture`), trimmed 0.25 s at each end; None if there is none.
    Stands in for the ``heading_alignment`` marker of sessions recorded without one."""
    from hipimu.analysis.sets import steady_postures
    from hipimu.body import posture

    labels = steady_postures(aligned)
    for span in posture.spans(labels, aligned.time, min_seconds + 0.5):
        if span["posture"] == "case":
            return span["start"] + 0.25, span["end"] - 0.25
    return None


def resample_window(aligned: AlignedSamples, window: tuple[float, float]) -> AlignedSamples:
    """The part of ``aligned`` inside ``window`` (s)."""
    inside = (aligned.time >= window[0]) & (aligned.time <= window[1])
    return AlignedSamples(
        aligned.time[inside],
        {r: q[inside] for r, q in aligned.quat.items()},
        {r: v[inside] for r, v in aligned.valid.items()},
        aligned.rate_hz,
    )


def analyse_log(contents: LogContents, **options) -> Analysis:
    """:func:`analyse` a session log: its notifications, markers and time-sync events."""
    return analyse(contents.notifications, contents.markers, events=contents.events, **options)
