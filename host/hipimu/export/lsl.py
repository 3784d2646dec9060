"""Lab Streaming Layer publisher: hip and pelvis angles and sensor quaternions (pylsl).

Two LSL streams per session, found by name on the local network:

* ``<session> angles`` (type ``Angles``, 9 float32 channels, degrees): the OpenSim names
  ``hip_flexion_r, hip_adduction_r, hip_rotation_r, hip_flexion_l, hip_adduction_l,
  hip_rotation_l, pelvis_tilt, pelvis_list, pelvis_rotation``;
* ``<session> quaternions`` (type ``Orientation``, 12 float32 channels): ``q_GB`` per
  segment, scalar-first, ``pelvis_w, pelvis_x, ..., femur_l_z``.

Timestamps are seconds on the host's monotonic clock: liblsl's ``local_clock`` is the
same clock as :func:`time.monotonic` on Linux, so the pipeline's host times pass through.

    pub = LslPublisher("client-c-42")
    pub.push(t, angles_deg, {"pelvis": q, "femur_r": q, "femur_l": q})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from hipimu.core.names import ANGLE_COLUMNS, ROLES

QUAT_CHANNELS = tuple(f"{r}_{c}" for r in ROLES for c in "wxyz")


def _pylsl():
    from hipimu.core.extras import require

    return require("pylsl", "LSL streaming", "lsl")


def _info(pylsl, name: str, kind: str, channels: Sequence[str], unit: str, rate: float,
          source_id: str):  # fmt: skip
    info = pylsl.StreamInfo(name, kind, len(channels), rate, "float32", source_id)
    desc = info.desc()
    desc.append_child_value("manufacturer", "hipimu")
    chans = desc.append_child("channels")
    for label in channels:
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", kind)
    return info


class LslPublisher:
    """Publish a session's angles (degrees) and segment quaternions on LSL."""

    def __init__(self, session_name: str, rate_hz: float = 100.0) -> None:
        pylsl = _pylsl()
        self._clock = pylsl.local_clock
        self.session_name = session_name
        self.angles_name = f"{session_name} angles"
        self.quats_name = f"{session_name} quaternions"
        self._angles = pylsl.StreamOutlet(
            _info(
                pylsl,
                self.angles_name,
                "Angles",
                ANGLE_COLUMNS,
                "degrees",
                rate_hz,
                f"hipimu-{session_name}-angles",
            )
        )
        self._quats = pylsl.StreamOutlet(
            _info(
                pylsl,
                self.quats_name,
                "Orientation",
                QUAT_CHANNELS,
                "normalized",
                rate_hz,
                f"hipimu-{session_name}-quaternions",
            )
        )

    @staticmethod
    def _angle_row(angles_deg: Sequence[float] | Mapping[str, float]) -> list[float]:
        if isinstance(angles_deg, Mapping):
            return [float(angles_deg[c]) for c in ANGLE_COLUMNS]
        row = [float(v) for v in angles_deg]
        if len(row) != len(ANGLE_COLUMNS):
            raise ValueError(f"{len(row)} angles, expected {len(ANGLE_COLUMNS)}: {ANGLE_COLUMNS}")
        return row

    @staticmethod
    def _quat_rows(quats: Mapping[str, np.ndarray] | np.ndarray, n: int) -> np.ndarray:
        if isinstance(quats, Mapping):
            missing = [r for r in ROLES if r not in quats]
            if missing:
                raise ValueError(f"no quaternion for {', '.join(missing)}")
            arr = np.hstack([np.asarray(quats[r], np.float64).reshape(n, 4) for r in ROLES])
        else:
            arr = np.asarray(quats, np.float64).reshape(n, -1)
        if arr.shape[1] != len(QUAT_CHANNELS):
            raise ValueError(f"{arr.shape[1]} quaternion values, expected {len(QUAT_CHANNELS)}")
        return arr

    def push(
        self,
        time: float | None,
        angles_deg: Sequence[float] | Mapping[str, float],
        quats: Mapping[str, np.ndarray] | np.ndarray | None = None,
    ) -> None:
        """One sample: ``time`` host seconds (None: now), nine angles (ANGLE_COLUMNS order or
        a mapping by name), and optionally ``q_GB`` per role (or 12 values)."""
        stamp = self._clock() if time is None else float(time)
        self._angles.push_sample(self._angle_row(angles_deg), stamp)
        if quats is not None:
            self._quats.push_sample(self._quat_rows(quats, 1)[0].tolist(), stamp)

    def push_chunk(
        self,
        times: np.ndarray,
        angles_deg: np.ndarray,
        quats: Mapping[str, np.ndarray] | np.ndarray | None = None,
    ) -> None:
        """Many samples: ``times`` (N,), ``angles_deg`` (N, 9), ``quats`` role -> (N, 4)."""
        times = np.asarray(times, np.float64)
        n = len(times)
        angles = np.asarray(angles_deg, np.float64).reshape(n, len(ANGLE_COLUMNS))
        self._angles.push_chunk(angles.tolist(), times.tolist())
        if quats is not None:
            self._quats.push_chunk(self._quat_rows(quats, n).tolist(), times.tolist())

    def have_consumers(self) -> bool:
        return bool(self._angles.have_consumers() or self._quats.have_consumers())

    def close(self) -> None:
        """Withdraw the streams."""
        self._angles = self._quats = None  # liblsl destroys an outlet with its last reference

    def __enter__(self) -> LslPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
