"""The live grid: final and provisional rows from the sensors' buffered samples."""

from __future__ import annotations

import numpy as np

from hipimu.analysis.live.ring import Ring
from hipimu.analysis.live.rows import HIP_L, HIP_R, PELVIS, ROW_WIDTH, T, interpolate
from hipimu.analysis.live.sensors import SensorState
from hipimu.body.kinematics import pelvis_angles
from hipimu.core import quaternion as quat
from hipimu.core.names import ROLES


class GridMixin:
    """Grid building and views of :class:`~hipimu.analysis.live.pipeline.LivePipeline`."""

    def update(self) -> int:
        """Extend the grid with every row the buffered samples allow; returns new final rows."""
        for s in self.sensors.values():  # packets that waited long enough for a lost one
            if s.stream.waiting:
                self._release(s, self.newest_arrival)
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
            out[role] = interpolate(s.host_times(n), s.quat.tail(n), t, 1.5 / s.rate_hz, hold)
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
