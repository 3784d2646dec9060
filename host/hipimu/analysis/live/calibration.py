"""The guided calibration of the live view: heading alignment in the case, standing,
marching, then :func:`hipimu.body.calibration.calibrate` on the buffered rows. What the
trainer reads is in :mod:`hipimu.analysis.live.wizard`."""

from __future__ import annotations

import numpy as np

from hipimu.analysis.live import wizard
from hipimu.analysis.live.drift import LiveDrift
from hipimu.analysis.live.rows import T, nominal_mounts
from hipimu.analysis.live.wizard import CalibrationStep
from hipimu.body.calibration import (
    Calibration,
    CalibrationError,
    angular_speed,
    calibrate,
    find_still_window,
)
from hipimu.body.heading import heading_offsets, yaw_quat
from hipimu.core import quaternion as quat
from hipimu.core.names import ROLES
from hipimu.stream.resample import AlignedSamples

__all__ = ["CalibrationMixin", "CalibrationStep"]


class CalibrationMixin:
    """Guided calibration and heading alignment of the live pipeline."""

    def start_calibration(
        self, stand_s: float = 5.0, march_s: float = 6.0, start: float | None = None
    ) -> None:
        """Begin the guided calibration: stand still ``stand_s``, then march ``march_s``.

        ``start`` (grid time) defaults to now, the newest final row; a recording or a
        simulation that starts standing passes its first row's time.
        """
        if self.rows is None or not len(self.rows):
            self.cal = CalibrationStep("failed", wizard.NO_DATA)
            return
        if start is None:
            start = float(self.rows.view()[-1, T])
        start = max(start, float(self.rows.view()[0, T]))
        self._cal_plan = (start, stand_s, march_s)
        self.cal = CalibrationStep("stand", wizard.STAND, stand_s)

    def start_heading_alignment(self, case_s: float = 3.0, start: float | None = None) -> None:
        """The guided calibration's first step with raw 6D sensors: the sensors lie side by
        side in their case, still, for ``case_s``; their headings are then aligned and the
        step waits for the trainer to strap them on (:meth:`continue_calibration`)."""
        if self.rows is None or not len(self.rows):
            self.cal = CalibrationStep("failed", wizard.NO_DATA)
            return
        if start is None:
            start = float(self.rows.view()[-1, T])
        self._align_plan = (start, start + case_s, True)
        self.cal = CalibrationStep("case", wizard.CASE, case_s)

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
            self.cal = CalibrationStep("failed", wizard.alignment_failed(error))
        elif guided:
            self.cal = CalibrationStep("strap", wizard.aligned(self.heading_offsets))

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
            return wizard.CASE_MISSING
        for role, q in window.items():
            ok = q[np.isfinite(q).all(axis=1)]
            speed = np.rad2deg(np.percentile(angular_speed(ok, self.rate_hz or 100.0), 90))
            if speed > 10.0:
                return wizard.case_moved(role, speed)
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
        self.cal = CalibrationStep("stand", wizard.FROM_MARKERS, stand_s)
        return True

    def calibrate_from_start(self, stand_s: float = 4.5, march_s: float = 0.0) -> None:
        """Calibrate on the first seconds of data (recordings and simulations start with
        the client standing): planned now, run as soon as those rows exist."""
        if self.rows is not None and len(self.rows):
            self.start_calibration(stand_s, march_s, float(self.rows.view()[0, T]))
            return
        self._cal_from_start = (stand_s, march_s)
        self.cal = CalibrationStep("stand", wizard.FROM_START, stand_s)

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
        self.cal = CalibrationStep("done", wizard.quality_text(cal), 0.0, cal)
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
                wizard.MARCH,
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
            self.cal = CalibrationStep("failed", wizard.calibration_failed(exc))
            return
        self.set_calibration(cal)
