"""The live pipeline: notifications in as they arrive, hip angles out, no Qt.

``feed(note)`` decodes a notification and files its samples in the sensor's ring
buffers; ``update()`` extends a uniform host-time grid (the rate of the sensors) as far
as every connected sensor has delivered, computes segment orientations, hip angles (C
kernel) and pelvis angles for the new rows, and hands them to the repetition tracker.

* Streams: each sensor's notifications go through the stream core the offline analysis
  and the BLE link use (:class:`hipimu.stream.sensor.SensorStream`): unwrap, duplicates,
  reboot segments, loss, and a short reorder buffer that releases packets in device
  order. Clocks: per sensor and clock segment, ``host = offset + scale * device`` from
  the lower envelope of the arrival times, or the time-sync round trips given to
  :meth:`LivePipeline.add_event` (:func:`hipimu.stream.clock.fit_recent`), refitted every
  ``clock_refit_s`` on the last ``clock_window_s`` of notifications.
* Final and provisional rows: a grid row is *final* once every connected sensor has a
  sample after it; rows up to the newest sample of any sensor are computed
  *provisionally*, holding a lagging sensor's last sample (at most ``hold_s``), so a
  notification shows on the next frame instead of waiting for the slowest link. Only
  final rows reach the repetition tracker and the calibration.
* Calibration: until the trainer calibrates, angles use the nominal placement of
  hardware/placement.md (the view says so). :meth:`start_calibration` runs the guided
  calibration ("stand still", then "march"), then :func:`hipimu.body.calibration.calibrate`
  on the buffered window.
* Raw sensors (gyroscope and accelerometer, no quaternions): each runs a streaming
  :class:`hipimu.orientation.filter.OrientationFilter` fed with every packet's samples and their
  host-time steps; its ``q_ES`` then takes the quaternion sensors' path. Without a
  magnetometer their headings are their own: the guided calibration starts with the
  sensors side by side in their case (:meth:`LivePipeline.start_heading_alignment`) and
  turns their earth frames onto the pelvis sensor's (:func:`hipimu.body.heading.heading_offsets`,
  as :func:`hipimu.body.heading.align_headings` does offline). After the calibration, every
  standing phase (:func:`hipimu.body.heading.standing_rows`, at least ``drift_min_s``) measures
  each femur sensor's heading drift against the pelvis sensor as
  :func:`hipimu.body.heading.correct_drift` does; the curve through the phases so far
  (:func:`hipimu.body.heading.drift_curve`, anchored at zero in the calibration) is applied to
  that sensor's earth frame from the end of the phase on (causal: earlier rows keep theirs).

The concerns live beside this module: :mod:`~hipimu.analysis.live.sensors` (stream core,
buffers, clocks, fusion), :mod:`~hipimu.analysis.live.grid` (rows),
:mod:`~hipimu.analysis.live.calibration` and :mod:`~hipimu.analysis.live.wizard` (guided
calibration and its text), :mod:`~hipimu.analysis.live.drift`,
:mod:`~hipimu.analysis.live.sets` and :mod:`~hipimu.analysis.live.lsl`.

SI inside: radians and seconds. Host time is the source's clock (``Notification.host_time``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

from hipimu.analysis.live.calibration import CalibrationMixin
from hipimu.analysis.live.drift import DriftMixin, LiveDrift
from hipimu.analysis.live.grid import GridMixin
from hipimu.analysis.live.lsl import lsl_listener
from hipimu.analysis.live.reps import ExerciseSpec, RepTracker, Segmenter
from hipimu.analysis.live.ring import Ring
from hipimu.analysis.live.rows import (
    HIP_L,
    HIP_R,
    PELVIS,
    ROW_WIDTH,
    SIDES,
    T,
    interpolate,
    nominal_mounts,
)
from hipimu.analysis.live.sensors import LiveStats, SensorState
from hipimu.analysis.live.sets import SetResult, SetsMixin
from hipimu.analysis.live.wizard import CalibrationStep
from hipimu.body.calibration import Calibration
from hipimu.core.names import ROLES
from hipimu.core.types import Notification
from hipimu.scoring.live import LiveTargets, StillBaseline
from hipimu.stream.clock import ClockModel, fit_recent
from hipimu.wire.protocol import Decoder, role_name

__all__ = [
    "HIP_L",
    "HIP_R",
    "PELVIS",
    "ROLES",
    "ROW_WIDTH",
    "SIDES",
    "CalibrationStep",
    "LiveDrift",
    "LivePipeline",
    "LiveStats",
    "SensorState",
    "SetResult",
    "T",
    "fit_clock",
    "interpolate",
    "lsl_listener",
    "nominal_mounts",
]

_interpolate = interpolate  # the old private name


class LivePipeline(GridMixin, SetsMixin, CalibrationMixin, DriftMixin):
    """Incremental pipeline from notifications to hip angles on a uniform grid."""

    def __init__(
        self,
        *,
        buffer_s: float = 120.0,
        rate_hz: float | None = None,
        clock_window_s: float = 20.0,
        clock_refit_s: float = 1.0,
        dropout_s: float = 0.5,
        hold_s: float = 0.1,
        segmenter: Segmenter | None = None,
        background_reps: bool = False,
    ) -> None:
        """``background_reps`` runs the repetition segmentation in a worker thread (the
        view does, so frames never wait for it); tests leave it off to be deterministic."""
        self.buffer_s = buffer_s
        self.rate_hz = rate_hz
        self.clock_window_s = clock_window_s
        self.clock_refit_s = clock_refit_s
        self.dropout_s = dropout_s
        self.hold_s = hold_s
        self.decoder = Decoder()
        self.sensors: dict[str, SensorState] = {}  # by address
        self.stats = LiveStats()
        self.rows: Ring | None = None  # final grid rows (ROW_WIDTH columns)
        self.qgs: Ring | None = None  # final grid q_GS per role (12 columns), for calibration
        self.q_pelvis: Ring | None = None  # final grid pelvis q_GB, for compensation
        self.provisional = np.empty((0, ROW_WIDTH))
        self.serial = 0  # serial of the newest notification fed
        self.final_serial = 0  # newest serial whose samples are all in final rows
        self.shown_serial = 0  # newest serial whose samples are in final or provisional rows
        self._serial_at: deque[tuple[int, str, float]] = deque(maxlen=4096)
        self._next_t: float | None = None
        self.start_time = float("nan")  # grid time of the first row
        self._first_arrival: float | None = None
        self.newest_arrival = -np.inf
        self.mounts = nominal_mounts()
        self.room: np.ndarray | None = None
        self.calibration: Calibration | None = None
        self.cal = CalibrationStep()
        self._cal_plan: tuple[float, float, float] | None = None  # start, stand, march (s)
        self._cal_from_start: tuple[float, float] | None = None  # stand, march: at first row
        self.tracker = RepTracker(segmenter, rate_hz=rate_hz or 100.0, background=background_reps)
        self.sets: list[SetResult] = []
        self.current: tuple[ExerciseSpec, str, float, float | None] | None = None
        self._plan: deque[tuple[ExerciseSpec, dict]] = deque()
        self.targets: dict[str, tuple[float, float]] = {}  # exercise -> band, degrees
        self.set_pelvis_ref: np.ndarray | None = None
        self.set_baseline = StillBaseline(rate_hz or 100.0)
        # the trainer's rule from the client's history (LiveTargets.from_history), if any
        self.rule_targets: LiveTargets | None = None
        # called with every batch of final rows: (rows (N, ROW_WIDTH), q_GB per role (N, 4))
        self.listeners: list[Callable[[np.ndarray, dict[str, np.ndarray]], None]] = []
        self.problems: dict[str, str] = {}  # by address: what keeps a sensor off screen
        self.max_step_s = 0.5  # raw sensors: longer gaps are not integrated over
        self._align_plan: tuple[float, float, bool] | None = None  # start, end, then strap
        self.heading_offsets: dict[str, float] = {}  # by role, radians (done if not empty)
        self.drift_correction = True  # raw 6D femur sensors, at standing phases
        self.drift_min_s = 1.0
        self.drift = LiveDrift()
        self.reorder_s = 0.1  # a packet waits this long for a missing one before it
        self._syncs: dict[str, list[tuple[float, float, int]]] = {}  # before the 1st packet

    # ------------------------------------------------------------------ input
    def feed(self, note: Notification) -> bool:
        """File one notification; returns False if it was rejected, late or a duplicate."""
        self.serial += 1
        self.stats.notes += 1
        pkt = self.decoder.decode(note.payload)
        if pkt is None:
            self.stats.rejected += 1
            return False
        if pkt.quat is None:
            if pkt.gyr is None or pkt.acc is None:
                self.stats.rejected += 1
                self.problems[note.sensor] = (
                    f"sensor {note.sensor} sends neither orientation quaternions nor "
                    "gyroscope and accelerometer samples"
                )
                return False
            self.stats.raw += 1
        s = self.sensors.get(note.sensor)
        if s is None:
            if self.rate_hz is None:
                self.rate_hz = pkt.rate_hz
                self.tracker.rate_hz = pkt.rate_hz
            s = self.sensors[note.sensor] = SensorState(
                note.sensor,
                role_name(pkt.role),
                pkt.rate_hz,
                int(self.buffer_s * pkt.rate_hz),
                int(self.clock_window_s * pkt.rate_hz / max(pkt.count, 1)) + 8,
            )
            for sync in self._syncs.pop(note.sensor, []):
                s.stream.add_sync(*sync)
        if self._first_arrival is None:
            self._first_arrival = note.host_time
        late = s.stream.late
        filed = s.stream.push(note.host_time, pkt)
        s.last_arrival = note.host_time
        self.newest_arrival = max(self.newest_arrival, note.host_time)
        if filed is None or s.stream.late > late:
            return False
        self._release(s, note.host_time)
        return True

    def _release(self, s: SensorState, now: float) -> None:
        """File the packets the sensor's reorder buffer lets go into its rings."""
        newest = None
        for rel in s.stream.pull(now, self.reorder_s):
            newest = s.file(rel, self.max_step_s, self.clock_refit_s)
        if newest is not None:
            self._serial_at.append((self.serial, s.address, newest))

    def flush(self) -> None:
        """Release every packet still waiting for a missing one and refit every clock
        segment (the end of a replay or a recording)."""
        for s in self.sensors.values():
            self._release(s, np.inf)
            for segment in range(len(s.stream.segments)):
                s.clocks[segment] = s.stream.live_clock(segment)

    def add_event(self, event: dict) -> bool:
        """Use a session event the pipeline understands: ``time_sync`` round trips (keys
        ``sensor``, ``send``, ``recv``, ``device_us``; what the BLE source reports and a
        session log holds) pin the sensor's clock, as offline. Returns whether it was used."""
        if event.get("type") != "time_sync":
            return False
        sync = (float(event["send"]), float(event["recv"]), int(event["device_us"]))
        s = self.sensors.get(event["sensor"])
        if s is None:
            self._syncs.setdefault(event["sensor"], []).append(sync)
        else:
            s.stream.add_sync(*sync)
            s._fitted_at = -np.inf  # refit at the next packet
        return True

    def raw_six_d(self) -> list[str]:
        """Roles fused on the host without a magnetometer (their headings need aligning)."""
        return sorted(r for r, s in self.by_role().items() if s.fusion is not None and not s.nine_d)

    def connected(self, s: SensorState) -> bool:
        """Heard from within ``dropout_s`` of the newest notification of any sensor."""
        return self.newest_arrival - s.last_arrival <= self.dropout_s

    def by_role(self) -> dict[str, SensorState]:
        out: dict[str, SensorState] = {}
        for s in self.sensors.values():
            if s.role in ROLES and (s.role not in out or s.last_arrival > out[s.role].last_arrival):
                out[s.role] = s
        return out


def fit_clock(points: np.ndarray, min_span_s: float = 5.0) -> ClockModel:
    """Clock model from ``(device_us, arrival)`` rows of the recent notifications
    (:func:`hipimu.stream.clock.fit_recent`, without round trips)."""
    return fit_recent(points[:, 0], points[:, 1], (), min_span_s)
