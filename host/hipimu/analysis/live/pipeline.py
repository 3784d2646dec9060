"""The live pipeline: notifications in as they arrive, hip angles out, no Qt.

``feed(note)`` decodes a notification and files its samples in the sensor's ring
buffers; ``update()`` extends a uniform host-time grid (the rate of the sensors) as far
as every connected sensor has delivered, computes segment orientations, hip angles (C
kernel) and pelvis angles for the new rows, and hands them to the repetition tracker.

* Clocks: per sensor, ``host = offset + scale * device`` from the lower envelope of the
  arrival times (:meth:`hipimu.stream.assembler.ClockModel.fit`), refitted every
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

SI inside: radians and seconds. Host time is the source's clock (``Notification.host_time``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hipimu.analysis.live.reps import ExerciseSpec, RepTracker, Segmenter
from hipimu.analysis.live.ring import Ring
from hipimu.body.calibration import (
    Calibration,
    CalibrationError,
    angular_speed,
    calibrate,
    find_still_window,
)
from hipimu.body.heading import FEMURS, drift_curve, heading_offsets, standing_rows, yaw_quat
from hipimu.body.kinematics import pelvis_angles
from hipimu.core import quaternion as quat
from hipimu.core.names import ROLES
from hipimu.core.types import Notification
from hipimu.orientation.filter import OrientationFilter
from hipimu.scoring.live import LiveTargets, StillBaseline
from hipimu.stream.assembler import U16, U32, AlignedSamples, ClockModel, unwrap_near
from hipimu.wire.protocol import Decoder, Packet, role_name

SIDES = (("right", "femur_r"), ("left", "femur_l"))

# Nominal placement (docs/frames.md, hardware/placement.md): sensor axes in segment
# coordinates, columns sensor x, y, z; q_SB is the inverse rotation.
_NOMINAL_AXES = {
    "pelvis": [[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]],
    "femur_r": [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
    "femur_l": [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]],
}


def nominal_mounts() -> dict[str, np.ndarray]:
    """``q_SB`` of each role if the sensors sit exactly as hardware/placement.md says."""
    from scipy.spatial.transform import Rotation

    return {
        role: Rotation.from_matrix(np.array(m)).inv().as_quat(scalar_first=True)
        for role, m in _NOMINAL_AXES.items()
    }


# Columns of a grid row.
T = 0
HIP_R = slice(1, 4)
HIP_L = slice(4, 7)
PELVIS = slice(7, 10)  # rotation, obliquity, tilt relative to the room
ROW_WIDTH = 10


@dataclass
class SensorState:
    """One sensor's buffers, clock and link statistics."""

    address: str
    role: str
    rate_hz: float
    capacity: int
    clock_window: int
    dev_us: Ring = field(init=False)
    quat: Ring = field(init=False)
    clock: ClockModel | None = None
    packets: int = 0
    duplicates: int = 0
    late: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_t0: int | None = None
    last_arrival: float = -np.inf
    flags: int = 0
    fusion: OrientationFilter | None = None  # raw sensors: the host's filter
    nine_d: bool = False  # raw with a magnetometer (its heading is north's)
    earth: np.ndarray | None = None  # yaw applied to its earth frame (heading alignment)
    _points: deque = field(init=False)
    _recent_seqs: deque = field(init=False)
    _seen: set = field(init=False)
    _lat: deque = field(init=False)
    _fitted_at: float = -np.inf

    def __post_init__(self) -> None:
        self.dev_us = Ring(self.capacity, 1)
        self.quat = Ring(self.capacity, 4)
        self._points = deque(maxlen=self.clock_window)
        self._recent_seqs = deque(maxlen=512)
        self._seen = set()
        self._lat = deque(maxlen=64)

    @property
    def lost(self) -> int:
        if self.first_seq is None or self.last_seq is None:
            return 0
        return max(0, self.last_seq - self.first_seq + 1 - self.packets - self.late)

    @property
    def loss_percent(self) -> float:
        total = self.packets + self.lost
        return 100.0 * self.lost / total if total else 0.0

    @property
    def latency_ms(self) -> float:
        """Median delay of the notifications above the fastest ones (ms), recent packets."""
        return float(np.median(self._lat)) * 1e3 if self._lat else float("nan")

    def host_times(self, n: int) -> np.ndarray:
        """Host times of the newest ``n`` samples through the current clock model."""
        assert self.clock is not None
        return self.clock.host_time(self.dev_us.tail(n)[:, 0])

    def newest_host(self) -> float:
        if self.clock is None or len(self.dev_us) == 0:
            return -np.inf
        return float(self.clock.offset + self.clock.scale * (self.dev_us.tail(1)[0, 0] / 1e6))


@dataclass
class CalibrationStep:
    """Where the guided calibration stands, for the view."""

    phase: str = "idle"  # idle, case, strap, stand, march, done, failed
    message: str = "Not calibrated: angles assume the nominal sensor placement"
    remaining_s: float = 0.0
    calibration: Calibration | None = None


@dataclass
class SetResult:
    """A finished set: what the counters showed at its end (ranges in radians)."""

    exercise: str
    side: str
    start: float
    end: float
    reps: dict[str, int]
    in_band: dict[str, int]
    range: dict[str, float]

    def marker(self) -> dict:
        """The session-log marker of this set (``hipimu.scoring`` reads these)."""
        return {"exercise": self.exercise, "side": self.side, "start": self.start, "end": self.end}


@dataclass
class LiveDrift:
    """Heading drift of the femur sensors measured at standing phases (radians)."""

    anchor: float = float("nan")  # grid time of zero drift (the calibration's pose)
    phases: list[tuple[float, float]] = field(default_factory=list)
    drift: dict[str, list[float]] = field(default_factory=dict)  # measured, per phase
    applied: dict[str, float] = field(default_factory=dict)  # current correction
    run: list[np.ndarray] = field(default_factory=list)  # standing run: time, raw drifts
    open: bool = False  # the newest phase is the running standing run
    previous: np.ndarray | None = None  # the last final row's q_GS (12), for speeds


@dataclass
class LiveStats:
    notes: int = 0
    rejected: int = 0  # malformed notifications
    raw: int = 0  # notifications without quaternions (fused on the host)
    final_rows: int = 0


class LivePipeline:
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
        if self._first_arrival is None:
            self._first_arrival = note.host_time
        seq = pkt.seq if s.last_seq is None else unwrap_near(pkt.seq, s.last_seq, U16)
        t0 = pkt.t0_us if s.last_t0 is None else unwrap_near(pkt.t0_us, s.last_t0, U32)
        if seq in s._seen:
            s.duplicates += 1
            return False
        if s.last_t0 is not None and t0 <= s.last_t0:
            s.late += 1  # out of order: the grid has moved on
            return False
        if len(s._recent_seqs) == s._recent_seqs.maxlen:
            s._seen.discard(s._recent_seqs[0])
        s._recent_seqs.append(seq)
        s._seen.add(seq)
        s.first_seq = seq if s.first_seq is None else s.first_seq
        s.last_seq = seq if s.last_seq is None else max(seq, s.last_seq)
        s.last_t0 = t0
        s.packets += 1
        s.flags = pkt.flags
        period = 1e6 / pkt.rate_hz
        dev = t0 + np.round(np.arange(pkt.count) * period)
        q = pkt.quat if pkt.quat is not None else self._fuse(s, pkt, dev)
        if s.earth is not None:
            q = quat.multiply(s.earth, q)
        s.dev_us.append(dev[:, None])
        s.quat.append(q)
        s.last_arrival = note.host_time
        self.newest_arrival = max(self.newest_arrival, note.host_time)
        s._points.append((float(dev[-1]), note.host_time))
        if s.clock is None or note.host_time - s._fitted_at >= self.clock_refit_s:
            s.clock = fit_clock(np.array(s._points))
            s._fitted_at = note.host_time
        newest = s.clock.offset + s.clock.scale * (dev[-1] / 1e6)
        s._lat.append(note.host_time - newest)
        self._serial_at.append((self.serial, note.sensor, float(newest)))
        return True

    def _fuse(self, s: SensorState, pkt: Packet, dev: np.ndarray) -> np.ndarray:
        """``q_ES`` of a raw packet's samples from the sensor's streaming filter, stepped by
        the samples' host-time differences (a gap of lost packets is integrated over, as
        the filter does offline; one longer than ``max_step_s`` is not)."""
        if s.fusion is None:
            s.fusion = OrientationFilter(pkt.rate_hz)
            s.nine_d = pkt.mag is not None
        scale = s.clock.scale if s.clock is not None else 1.0
        last = s.dev_us.tail(1)[0, 0] if len(s.dev_us) else dev[0] - 1e6 / pkt.rate_hz
        steps = np.diff(np.concatenate([[last], dev])) * (scale / 1e6)
        steps[(steps <= 0) | (steps > self.max_step_s)] = 1.0 / pkt.rate_hz
        mag = None
        if s.nine_d:
            mag = pkt.mag if pkt.mag is not None else np.full((pkt.count, 3), np.nan)
        return s.fusion.update(pkt.gyr, pkt.acc, mag, dt=steps)

    def raw_six_d(self) -> list[str]:
        """Roles fused on the host without a magnetometer (their headings need aligning)."""
        return sorted(r for r, s in self.by_role().items() if s.fusion is not None and not s.nine_d)

    # ------------------------------------------------------------------ grid
    def connected(self, s: SensorState) -> bool:
        """Heard from within ``dropout_s`` of the newest notification of any sensor."""
        return self.newest_arrival - s.last_arrival <= self.dropout_s

    def by_role(self) -> dict[str, SensorState]:
        out: dict[str, SensorState] = {}
        for s in self.sensors.values():
            if s.role in ROLES and (s.role not in out or s.last_arrival > out[s.role].last_arrival):
                out[s.role] = s
        return out

    def update(self) -> int:
        """Extend the grid with every row the buffered samples allow; returns new final rows."""
        roles = {r: s for r, s in self.by_role().items() if self.connected(s) and s.clock}
        if not roles or self.rate_hz is None:
            return 0
        newest = {r: s.newest_host() for r, s in roles.items()}
        final_end = min(newest.values())
        prov_end = min(max(newest.values()), final_end + self.hold_s)
        if self._next_t is None:
            # wait a moment for every sensor to join, then start where all have data
            if self.newest_arrival - (self._first_arrival or 0.0) < 0.3:
                return 0
            firsts = [s.host_times(len(s.dev_us))[0] for s in roles.values()]
            self._next_t = float(np.ceil(max(firsts) * self.rate_hz) / self.rate_hz)
            self.start_time = self._next_t
            if self._cal_from_start is not None:
                self._cal_plan = (self._next_t, *self._cal_from_start)
                self._cal_from_start = None
            if self._align_plan is not None:
                self._align_plan = (max(self._align_plan[0], self._next_t), *self._align_plan[1:])
            capacity = int(self.buffer_s * self.rate_hz)
            self.rows, self.qgs = Ring(capacity, ROW_WIDTH), Ring(capacity, 12)
            self.q_pelvis = Ring(capacity, 4)
        assert self.rows is not None and self.qgs is not None and self.q_pelvis is not None
        dt = 1.0 / self.rate_hz
        new = 0
        while True:
            # a calibration window ending inside this batch: the rows up to its end
            # first, so the rows after it already use the new calibration
            limit = final_end
            ends = [sum(self._cal_plan)] if self._cal_plan is not None else []
            if self._align_plan is not None:
                ends.append(self._align_plan[1])
            for end in ends:
                if self._next_t <= end < limit:
                    limit = end
            n_final = int(np.floor((limit - self._next_t) / dt + 1e-9)) + 1
            if n_final <= 0:
                break
            t = self._next_t + np.arange(n_final) * dt
            q = self._orientations(roles, newest, t, hold=0.0)
            rows, seg = self._angles(t, q)
            pelvis = seg["pelvis"]
            self.rows.append(rows)
            self.qgs.append(np.column_stack([q[r] for r in ROLES]))
            self.q_pelvis.append(pelvis)
            for listener in self.listeners:
                listener(rows, seg)
            self._next_t = float(t[-1] + dt)
            new += n_final
            self.stats.final_rows += n_final
            self._feed_sets(t, rows, pelvis)
            self._track_drift(rows, q)  # before a new calibration resets it
            self._advance_alignment(float(t[-1]))
            self._advance_calibration(float(t[-1]))
            if limit == final_end:
                break
        n_prov = int(np.floor((prov_end - self._next_t) / dt + 1e-9)) + 1
        if n_prov > 0:
            t = self._next_t + np.arange(n_prov) * dt
            q = self._orientations(roles, newest, t, hold=self.hold_s)
            self.provisional = self._angles(t, q, pelvis_room=False)[0]
        else:
            self.provisional = np.empty((0, ROW_WIDTH))
        self._settle_serials(final_end, max(final_end, prov_end))
        return new

    def _settle_serials(self, final_end: float, shown_end: float) -> None:
        # a notification is shown once the grid (final or provisional) reaches its newest
        # sample, or once its sensor's samples are the ones lagging behind the others
        while self._serial_at:
            serial, _addr, newest = self._serial_at[0]
            if newest > shown_end + 0.5 / (self.rate_hz or 100.0):
                break
            self._serial_at.popleft()
            self.shown_serial = serial
            if newest <= final_end + 0.5 / (self.rate_hz or 100.0):
                self.final_serial = serial

    def _orientations(
        self, roles: dict[str, SensorState], newest: dict[str, float], t: np.ndarray, hold: float
    ) -> dict[str, np.ndarray]:
        out = {}
        for role in ROLES:
            s = roles.get(role)
            if s is None:
                out[role] = np.full((len(t), 4), np.nan)
                continue
            n = min(len(s.dev_us), int((newest[role] - t[0]) * s.rate_hz) + 8)
            out[role] = _interpolate(s.host_times(n), s.quat.tail(n), t, 1.5 / s.rate_hz, hold)
        return out

    def _angles(
        self, t: np.ndarray, q: dict[str, np.ndarray], pelvis_room: bool = True
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Grid rows for times ``t`` and the segment orientations ``q_GB`` per role
        (``pelvis_room=False`` leaves the pelvis angles NaN: provisional rows)."""
        rows = np.full((len(t), ROW_WIDTH), np.nan)
        rows[:, T] = t
        seg = {r: quat.multiply(q[r], self.mounts[r]) for r in ROLES}
        pelvis = seg["pelvis"]
        rows[:, HIP_R] = quat.hip_angles(pelvis, seg["femur_r"], "right")
        rows[:, HIP_L] = quat.hip_angles(pelvis, seg["femur_l"], "left")
        ok = np.isfinite(pelvis).all(axis=1)
        if self.room is None and ok.any():
            self.room = pelvis[np.flatnonzero(ok)[0]]
        if self.room is not None and pelvis_room:
            rows[:, PELVIS] = pelvis_angles(pelvis, self.room)
        return rows, seg

    def _track_drift(self, rows: np.ndarray, q: dict[str, np.ndarray]) -> None:
        """Collect standing runs of final rows; once a run lasts ``drift_min_s`` (and as it
        goes on) it updates the femur sensors' drift correction (see the module text)."""
        femurs = [r for r in self.raw_six_d() if r in FEMURS]
        if not (self.drift_correction and femurs and self.calibration is not None):
            return
        d = self.drift
        if not np.isfinite(d.anchor):
            d.anchor = float(rows[0, T])
        qgs = np.column_stack([q[r] for r in ROLES])
        both = qgs if d.previous is None else np.vstack([d.previous, qgs])
        d.previous = qgs[-1].copy()
        quats = {r: np.ascontiguousarray(both[:, 4 * i : 4 * i + 4]) for i, r in enumerate(ROLES)}
        still = standing_rows(quats, self.mounts, self.rate_hz or 100.0)[len(both) - len(qgs) :]
        # per row: time and each femur's drift without the correction the row carries
        raw = np.full((len(rows), 1 + len(FEMURS)), np.nan)
        raw[:, 0] = rows[:, T]
        for j, (role, (side, sign)) in enumerate(FEMURS.items()):
            if role in femurs:
                rotation = rows[:, HIP_R if side == "right" else HIP_L][:, 2]
                raw[:, 1 + j] = sign * rotation + d.applied.get(role, 0.0)
        edges = np.flatnonzero(np.diff(still.astype(int))) + 1
        for part, flag in zip(np.split(raw, edges), np.split(still, edges), strict=True):
            if flag[0]:
                d.run.append(part)
            elif d.run:
                self._measure_run(femurs)
                d.run, d.open = [], False
        self._measure_run(femurs)

    def _measure_run(self, femurs: list[str]) -> None:
        """The standing run so far as the newest phase (if long enough); apply the curve."""
        d = self.drift
        run = np.concatenate(d.run) if d.run else np.empty((0, 1 + len(FEMURS)))
        if len(run) < self.drift_min_s * (self.rate_hz or 100.0):
            return
        if d.open:  # the run grew: replace its phase
            d.phases.pop()
            for values in d.drift.values():
                values.pop()
        d.open = True
        d.phases.append((float(run[0, 0]), float(run[-1, 0])))
        times = np.array([d.anchor] + [0.5 * (a + b) for a, b in d.phases])
        by_role = self.by_role()
        for j, role in enumerate(FEMURS):
            if role not in femurs or role not in by_role:
                continue
            d.drift.setdefault(role, []).append(float(np.nanmedian(run[:, 1 + j])))
            drifts = np.array([0.0, *d.drift[role]])
            if len(drifts) != len(times):
                continue  # the sensor joined after the first phases
            now = float(drift_curve(np.array([times[-1]]), times, drifts)[0])
            applied = d.applied.get(role, 0.0)
            yaw = yaw_quat(np.array([applied - now]))[0]
            sensor = by_role[role]
            sensor.earth = yaw if sensor.earth is None else quat.multiply(yaw, sensor.earth)
            sensor.quat.view()[:] = quat.multiply(yaw, sensor.quat.view())
            d.applied[role] = now

    # ------------------------------------------------------------------ views
    def latest_time(self) -> float:
        """Grid time of the newest row, final or provisional (NaN before the first)."""
        if len(self.provisional):
            return float(self.provisional[-1, T])
        if self.rows is not None and len(self.rows):
            return float(self.rows.view()[-1, T])
        return float("nan")

    def window(self, seconds: float) -> np.ndarray:
        """Final and provisional rows of the last ``seconds``, oldest first (a copy)."""
        if self.rows is None:
            return np.empty((0, ROW_WIDTH))
        n = int(seconds * (self.rate_hz or 100.0)) + 1
        final = self.rows.tail(max(n - len(self.provisional), 0))
        return np.concatenate([final, self.provisional[-n:]])

    def pelvis_excursion(self, seconds: float) -> np.ndarray:
        """Pelvis rotation, obliquity and tilt (N, 3) of the last ``seconds`` of final rows,
        relative to the running set's baseline, the client in posture and still
        (:class:`hipimu.scoring.live.StillBaseline`; docs/frames.md: this also works lying on
        the side). Empty when no set runs or the client has not settled yet."""
        if self.current is None or self.set_pelvis_ref is None or self.q_pelvis is None:
            return np.empty((0, 3))
        q = self.q_pelvis.tail(int(seconds * (self.rate_hz or 100.0)))
        return pelvis_angles(q, self.set_pelvis_ref)

    # ------------------------------------------------------------------ sets
    def set_target(self, exercise: str, target_deg: tuple[float, float]) -> None:
        """Target band of an exercise (degrees of its signed primary angle); applies to the
        running set if it is that exercise, and to its later sets."""
        self.targets[exercise] = target_deg
        if self.current is not None and self.current[0].name == exercise:
            self.tracker.target = (np.deg2rad(target_deg[0]), np.deg2rad(target_deg[1]))

    def target(self, spec: ExerciseSpec, side: str | None = None) -> tuple[float, float]:
        """The exercise's target band (degrees): the trainer's, else the trainer's rule's
        for that side (:attr:`rule_targets`, from the client's history), else the
        catalog default."""
        if spec.name in self.targets:
            return self.targets[spec.name]
        if self.rule_targets is not None and side in ("right", "left"):
            band = self.rule_targets.band(spec.name, side)
            if band is not None:
                return band
        return spec.target_deg

    def target_reason(self, spec: ExerciseSpec, side: str) -> str:
        """Why the band is what it is, in one line (for the live view)."""
        if spec.name in self.targets:
            return "set by the trainer"
        if self.rule_targets is not None and side in ("right", "left"):
            return self.rule_targets.why(spec.name, side)
        return "default band (no client history)"

    def start_set(self, spec: ExerciseSpec, side: str) -> None:
        """Start a set now (at the next grid row); a running set ends first."""
        at = self._next_t if self._next_t is not None else 0.0
        if self.current is not None:
            self._end_set(at)
        self._begin_set(spec, side, at, None)

    def stop_set(self) -> SetResult | None:
        """End the running set now; returns its result."""
        if self.current is None:
            return None
        return self._end_set(self._next_t if self._next_t is not None else self.current[2])

    def follow(self, markers: list[dict], catalog: tuple[ExerciseSpec, ...]) -> int:
        """Start and end sets at the markers' times (a simulation's protocol, a recording's
        markers), to the grid row. Markers of unknown exercises or without a side are
        skipped; returns how many sets are planned."""
        plan = []
        for m in sorted(markers, key=lambda m: m.get("start", 0.0)):
            spec = _catalog_entry(str(m.get("exercise", "")), catalog)
            if spec is not None and m.get("side") in ("right", "left", "both"):
                plan.append((spec, m))
        self._plan = deque(plan)
        return len(plan)

    def _begin_set(self, spec: ExerciseSpec, side: str, start: float, end: float | None) -> None:
        self.tracker.start(spec, side, self.target(spec, side))
        self.current = (spec, side, start, end)
        self.set_pelvis_ref = None
        self.set_baseline = StillBaseline(self.rate_hz or 100.0)

    def _end_set(self, end: float) -> SetResult:
        assert self.current is not None
        spec, side, start, _ = self.current
        self.tracker.stop()
        result = SetResult(
            spec.name,
            side,
            start,
            end,
            {s: len(st.reps) for s, st in self.tracker.sides.items()},
            {s: st.in_band for s, st in self.tracker.sides.items()},
            {s: st.range for s, st in self.tracker.sides.items()},
        )
        self.sets.append(result)
        self.current = None
        return result

    def _feed_sets(self, t: np.ndarray, rows: np.ndarray, pelvis: np.ndarray) -> None:
        """Hand final rows to the running set, starting and ending planned sets exactly at
        their markers' times."""
        i = 0
        while i < len(t):
            if self.current is not None and self.current[3] is not None:
                boundary = self.current[3]
            elif self.current is None and self._plan:
                boundary = self._plan[0][1]["start"]
            else:
                boundary = np.inf
            j = max(i, int(np.searchsorted(t, boundary, side="left")))
            if self.current is not None and j > i:
                if self.set_pelvis_ref is None:  # the client in posture and still
                    hips = np.column_stack([rows[i:j, HIP_R], rows[i:j, HIP_L]])
                    self.set_pelvis_ref = self.set_baseline.feed(pelvis[i:j], hips)
                self.tracker.update(t[i:j], rows[i:j, HIP_R], rows[i:j, HIP_L])
            if j >= len(t):
                break
            if self.current is not None:
                self._end_set(boundary)
            else:
                spec, m = self._plan.popleft()
                if m["end"] > t[j]:
                    self._begin_set(spec, m["side"], m["start"], m["end"])
            i = j

    # ------------------------------------------------------------------ calibration
    def start_calibration(
        self, stand_s: float = 5.0, march_s: float = 6.0, start: float | None = None
    ) -> None:
        """Begin the guided calibration: stand still ``stand_s``, then march ``march_s``.

        ``start`` (grid time) defaults to now, the newest final row; a recording or a
        simulation that starts standing passes its first row's time.
        """
        if self.rows is None or not len(self.rows):
            self.cal = CalibrationStep("failed", "No data yet: connect the sensors first")
            return
        if start is None:
            start = float(self.rows.view()[-1, T])
        start = max(start, float(self.rows.view()[0, T]))
        self._cal_plan = (start, stand_s, march_s)
        self.cal = CalibrationStep("stand", "Stand still, feet apart, arms relaxed", stand_s)

    def start_heading_alignment(self, case_s: float = 3.0, start: float | None = None) -> None:
        """The guided calibration's first step with raw 6D sensors: the sensors lie side by
        side in their case, still, for ``case_s``; their headings are then aligned and the
        step waits for the trainer to strap them on (:meth:`continue_calibration`)."""
        if self.rows is None or not len(self.rows):
            self.cal = CalibrationStep("failed", "No data yet: connect the sensors first")
            return
        if start is None:
            start = float(self.rows.view()[-1, T])
        self._align_plan = (start, start + case_s, True)
        self.cal = CalibrationStep(
            "case", "Lay the sensors side by side in the case, still", case_s
        )

    def align_headings_at(self, window: tuple[float, float]) -> None:
        """Align headings on a known window (grid time): a recording's or simulation's
        ``heading_alignment`` marker. Planned now, run once those rows exist."""
        self._align_plan = (float(window[0]), float(window[1]), False)

    def continue_calibration(self, stand_s: float = 5.0, march_s: float = 6.0) -> None:
        """After the case step, with the sensors on: stand still, then march."""
        self.start_calibration(stand_s, march_s)

    def _advance_alignment(self, now: float) -> None:
        if self._align_plan is None:
            return
        start, end, guided = self._align_plan
        now += 1.0 / (self.rate_hz or 100.0) - 1e-9
        if now < end:
            if self.cal.phase == "case":
                self.cal.remaining_s = end - now
            return
        self._align_plan = None
        if not guided and not self.raw_six_d():
            return  # quaternion sensors: as offline, only host-fused 6D headings are aligned
        error = self._align(start, end)
        if guided and error:
            self.cal = CalibrationStep("failed", f"Heading alignment failed: {error}")
        elif guided:
            turned = ", ".join(
                f"{r} {np.rad2deg(a):+.0f}°" for r, a in sorted(self.heading_offsets.items())
            )
            self.cal = CalibrationStep(
                "strap",
                f"✓ Headings aligned ({turned}). Strap the sensors on, then: Sensors on",
            )

    def _align(self, start: float, end: float) -> str | None:
        """Turn the sensors' earth frames onto the pelvis sensor's from the rows in
        [start, end] (their buffers, final rows and angles included); an error text or None."""
        assert self.rows is not None and self.qgs is not None
        time = self.rows.view()[:, T]
        sel = (time >= start) & (time <= end)
        q_all = self.qgs.view()[sel]
        window = {r: q_all[:, 4 * i : 4 * i + 4] for i, r in enumerate(ROLES)}
        window = {r: q for r, q in window.items() if np.isfinite(q).all(axis=1).mean() > 0.5}
        if sel.sum() < 2 or "pelvis" not in window or len(window) < 2:
            return "not all sensors were heard in the case: check them and try again"
        for role, q in window.items():
            ok = q[np.isfinite(q).all(axis=1)]
            speed = np.rad2deg(np.percentile(angular_speed(ok, self.rate_hz or 100.0), 90))
            if speed > 10.0:
                return f"the {role} sensor moved ({speed:.0f}°/s): keep them still in the case"
        offsets = heading_offsets(window)
        by_role = self.by_role()
        for i, role in enumerate(ROLES):
            if role not in offsets or role not in by_role:
                continue
            yaw = yaw_quat(np.array([offsets[role]]))[0]
            sensor = by_role[role]
            sensor.earth = yaw if sensor.earth is None else quat.multiply(yaw, sensor.earth)
            for buf in (sensor.quat.view(), self.qgs.view()[:, 4 * i : 4 * i + 4]):
                buf[:] = quat.multiply(yaw, buf)
            self.heading_offsets[role] = self.heading_offsets.get(role, 0.0) + offsets[role]
        self._recompute_buffer()
        return None

    def calibrate_from_markers(self, markers: list[dict], stand_s: float = 4.5) -> bool:
        """Align headings on the ``heading_alignment`` marker (raw 6D sensors) and calibrate
        on the first ``standing`` marker (grid time = the session's time), once those rows
        exist: a recorded or simulated raw session. False without a standing marker."""
        for m in markers:
            if m.get("exercise") == "heading_alignment":
                self.align_headings_at((m["start"], m["end"]))
                break
        standing = next((m for m in markers if m.get("exercise") == "standing"), None)
        if standing is None:
            return False
        stand_s = min(stand_s, float(standing["end"]) - float(standing["start"]))
        self._cal_plan = (float(standing["start"]), stand_s, 0.0)
        self.cal = CalibrationStep("stand", "Calibrating on the session's standing pose", stand_s)
        return True

    def calibrate_from_start(self, stand_s: float = 4.5, march_s: float = 0.0) -> None:
        """Calibrate on the first seconds of data (recordings and simulations start with
        the client standing): planned now, run as soon as those rows exist."""
        if self.rows is not None and len(self.rows):
            self.start_calibration(stand_s, march_s, float(self.rows.view()[0, T]))
            return
        self._cal_from_start = (stand_s, march_s)
        self.cal = CalibrationStep("stand", "Calibrating on the first seconds (standing)", stand_s)

    def finish_calibration_now(self) -> None:
        """Calibrate with what was collected so far (skips the rest of the marching)."""
        if self._cal_plan is not None and self.rows is not None:
            start, stand_s, _ = self._cal_plan
            end = float(self.rows.view()[-1, T])
            if end - start >= stand_s:
                self._finish_calibration(start, stand_s, end)

    def set_calibration(self, cal: Calibration) -> None:
        """Use a calibration made elsewhere (a file, or an earlier session)."""
        self.calibration = cal
        # drift is measured from this calibration's standing pose on (a file's: from now)
        mid = float(np.mean(cal.quality.static_window))
        covered = self.rows is not None and len(self.rows)
        if covered and not self.rows.view()[0, T] <= mid <= self.rows.view()[-1, T]:
            mid = float(self.rows.view()[-1, T])
        self.drift = LiveDrift(anchor=mid if covered else float("nan"))
        self.mounts = {r: np.asarray(q, dtype=np.float64) for r, q in cal.mounts.items()}
        for role, q in nominal_mounts().items():
            self.mounts.setdefault(role, q)
        self.room = np.asarray(cal.room, dtype=np.float64)
        self.cal = CalibrationStep("done", _quality_text(cal), 0.0, cal)
        self._recompute_buffer()

    def _recompute_buffer(self) -> None:
        """Angles of the buffered rows through the new calibration (the trace on screen
        changes at once, not after a window's time). Finished sets keep their counts."""
        if self.rows is None or not len(self.rows):
            return
        assert self.qgs is not None and self.q_pelvis is not None
        rows, q_all = self.rows.view(), self.qgs.view()
        n = min(len(rows), len(q_all), len(self.q_pelvis))
        q = {r: np.ascontiguousarray(q_all[-n:, 4 * i : 4 * i + 4]) for i, r in enumerate(ROLES)}
        new, seg = self._angles(rows[-n:, T].copy(), q)
        rows[-n:] = new
        self.q_pelvis.view()[-n:] = seg["pelvis"]

    def _advance_calibration(self, now: float) -> None:
        if self._cal_plan is None:
            return
        start, stand_s, march_s = self._cal_plan
        now += 1.0 / (self.rate_hz or 100.0) - 1e-9  # the rows cover up to the next one
        if now < start + stand_s:
            self.cal.remaining_s = start + stand_s - now
            return
        if now < start + stand_s + march_s:
            self.cal = CalibrationStep(
                "march",
                "March in place: lift each knee a few times",
                start + stand_s + march_s - now,
            )
            return
        self._finish_calibration(start, stand_s, start + stand_s + march_s)

    def _finish_calibration(self, start: float, stand_s: float, end: float) -> None:
        self._cal_plan = None
        assert self.rows is not None and self.qgs is not None
        time = self.rows.view()[:, T]
        sel = (time >= start) & (time <= end)
        q_all = self.qgs.view()[sel]
        t = time[sel]
        quats = {r: np.ascontiguousarray(q_all[:, 4 * i : 4 * i + 4]) for i, r in enumerate(ROLES)}
        quats = {r: q for r, q in quats.items() if np.isfinite(q).all(axis=1).mean() > 0.5}
        rate = self.rate_hz or 100.0
        valid = {r: np.asarray(np.isfinite(q).all(axis=1)) for r, q in quats.items()}
        aligned = AlignedSamples(t, quats, valid, rate)
        stand = t <= start + stand_s
        try:
            if "pelvis" not in quats:
                raise CalibrationError("no pelvis data during the calibration: check its sensor")
            standing = AlignedSamples(t[stand], {r: q[stand] for r, q in quats.items()}, {}, rate)
            window = find_still_window(standing, min_seconds=min(2.0, 0.5 * stand_s))
            cal = calibrate(aligned, window)
        except CalibrationError as exc:
            self.cal = CalibrationStep("failed", f"Calibration failed: {exc}")
            return
        self.set_calibration(cal)


def _catalog_entry(name: str, catalog: tuple[ExerciseSpec, ...]) -> ExerciseSpec | None:
    """The entry called ``name``, else (as ``hipimu.scoring.catalog.exercise`` does) the
    longest entry whose name it starts with, renamed; None for unknown exercises."""
    from dataclasses import replace

    for spec in catalog:
        if spec.name == name:
            return spec
    prefixes = [s for s in catalog if name.startswith(s.name + "_")]
    if not prefixes:
        return None
    return replace(max(prefixes, key=lambda s: len(s.name)), name=name)


def lsl_listener(publisher, live_clock: bool) -> Callable[[np.ndarray, dict], None]:
    """A pipeline listener pushing rows to a :class:`hipimu.export.lsl.LslPublisher`:
    the nine angles in degrees (OpenSim order: hips, then pelvis tilt, list, rotation) and
    ``q_GB`` per role. ``live_clock``: host times are the monotonic clock (BLE) and pass
    through; otherwise (replay, simulation) they are shifted so the first row is now."""
    import time as _time

    shift: list[float] = []

    def push(rows: np.ndarray, seg: dict[str, np.ndarray]) -> None:
        t = rows[:, T]
        if not live_clock and not shift:
            shift.append(_time.monotonic() - float(t[0]))
        pelvis = rows[:, PELVIS][:, [2, 1, 0]]  # tilt, list (obliquity), rotation
        angles = np.rad2deg(np.column_stack([rows[:, HIP_R], rows[:, HIP_L], pelvis]))
        publisher.push_chunk(t + (shift[0] if shift else 0.0), angles, seg)

    return push


def fit_clock(points: np.ndarray, min_span_s: float = 5.0) -> ClockModel:
    """Clock model from ``(device_us, arrival)`` rows of the recent notifications.

    Over a short span the slope is poorly determined (2 ms of jitter over 0.1 s is a 2 %
    error), so until ``min_span_s`` of notifications is buffered the scale stays 1 and
    the offset follows the lower envelope; then :meth:`ClockModel.fit` takes over.
    """
    device_s, arrival = points[:, 0] / 1e6, points[:, 1]
    if device_s[-1] - device_s[0] < min_span_s:
        return ClockModel(float(np.min(arrival - device_s)), 1.0)
    return ClockModel.fit(points[:, 0], arrival)


def _quality_text(cal: Calibration) -> str:
    q = cal.quality
    heading = {
        "functional": "heading from the marching",
        "placement": "heading from the sensor placement",
        "forward axis": "heading from the named forward axis",
    }.get(q.heading_source, q.heading_source)
    spread = f" (spread {q.heading_spread_deg:.1f}°)" if np.isfinite(q.heading_spread_deg) else ""
    return f"✓ Calibrated: {heading}{spread}; stood still to {q.static_max_speed_deg_s:.1f}°/s"


def _interpolate(
    times: np.ndarray, q: np.ndarray, t: np.ndarray, max_gap: float, hold: float
) -> np.ndarray:
    """Normalised linear interpolation of quaternions ``q`` at ``t``; NaN across gaps.

    ``times`` increase strictly. Beyond the last sample the last one is held for up to
    ``hold`` seconds.
    """
    out = np.full((len(t), 4), np.nan)
    n = len(times)
    if n == 0:
        return out
    if n > 1:
        j1 = np.minimum(np.maximum(np.searchsorted(times, t), 1), n - 1)
        t0 = times[j1 - 1]
        span = times[j1] - t0
        ok = np.flatnonzero((t >= times[0]) & (t <= times[-1]) & (span <= max_gap))
        if len(ok):
            q0, q1 = q[j1[ok] - 1], q[j1[ok]]
            w = ((t[ok] - t0[ok]) / span[ok])[:, None]
            flip = np.einsum("ij,ij->i", q0, q1) < 0
            q1[flip] *= -1.0
            mix = q0 + w * (q1 - q0)
            out[ok] = mix / np.sqrt(np.einsum("ij,ij->i", mix, mix))[:, None]
    elif len(t):
        out[t == times[0]] = q[0]
    if hold > 0:
        out[(t > times[-1]) & (t - times[-1] <= hold)] = q[-1]
    return out
