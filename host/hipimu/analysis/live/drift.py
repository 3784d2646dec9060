"""Heading drift of raw 6D femur sensors, measured live at standing phases."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hipimu.analysis.live.rows import HIP_L, HIP_R, T
from hipimu.body.heading import FEMURS, drift_curve, standing_rows, yaw_quat
from hipimu.core import quaternion as quat
from hipimu.core.names import ROLES


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


class DriftMixin:
    """Drift tracking of :class:`~hipimu.analysis.live.pipeline.LivePipeline`."""

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
