"""Segment orientations, hip angles and pelvis angles from calibrated sensors.

Hip angles (ISB, Wu et al. 2002, J Biomech 35:543): ``R = R_pelvis^T R_femur`` decomposed
Z-X-Y into flexion, adduction and internal rotation, positive with the same meaning on
both sides. Pelvis angles relative to the room frame (the pelvis during the standing
pose): rotation about the vertical Y, then obliquity about the anterior X, then tilt
about the lateral Z (Baker 2001), right-hand rule about ISB pelvis axes (docs/frames.md).
All angles are radians; degrees only at the user-facing edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hipimu.body.calibration import Calibration
from hipimu.core import quaternion as quat
from hipimu.stream.assembler import AlignedSamples

PELVIS_NAMES = ("rotation", "obliquity", "tilt")


@dataclass
class Kinematics:
    """Angles on the aligned grid (radians). Rows with a sensor gap are NaN."""

    time: np.ndarray
    hip_right: np.ndarray  # (N, 3) flexion, adduction, internal rotation
    hip_left: np.ndarray
    pelvis: np.ndarray  # (N, 3) rotation, obliquity, tilt relative to the room
    segments: dict[str, np.ndarray]  # q_GB (N, 4)
    room: np.ndarray | None = None  # q_GR, the room frame the pelvis angles refer to
    # q_GB before the low-pass (None when none was applied): smoothness is scored on these
    raw_segments: dict[str, np.ndarray] | None = None

    def hip(self, side: str) -> np.ndarray:
        return self.hip_right if side == "right" else self.hip_left

    @cached_property
    def rate_hz(self) -> float:
        """Sample rate: one over the median step of :attr:`time` (computed once; every
        set scored asks for it)."""
        return 1.0 / float(np.median(np.diff(self.time)))

    def opensim_coordinates(self) -> dict[str, np.ndarray]:
        """The nine OpenSim coordinates (radians) for ``.mot`` files and exports.

        Hip angles are hipimu's. The pelvis follows OpenSim's ``ground_pelvis`` joint:
        tilt about Z, then list about X, then rotation about Y, relative to the room
        (docs/frames.md); it differs from the Baker order of :attr:`pelvis` once the
        pelvis turns.
        """
        room = self.room if self.room is not None else np.array([1.0, 0.0, 0.0, 0.0])
        pelvis = quat.euler_zxy(quat.relative(room, self.segments["pelvis"]))
        return {
            "pelvis_tilt": pelvis[:, 0],
            "pelvis_list": pelvis[:, 1],
            "pelvis_rotation": pelvis[:, 2],
            "hip_flexion_r": self.hip_right[:, 0],
            "hip_adduction_r": self.hip_right[:, 1],
            "hip_rotation_r": self.hip_right[:, 2],
            "hip_flexion_l": self.hip_left[:, 0],
            "hip_adduction_l": self.hip_left[:, 1],
            "hip_rotation_l": self.hip_left[:, 2],
        }


def segment_orientations(aligned: AlignedSamples, cal: Calibration) -> dict[str, np.ndarray]:
    """``q_GB = q_GS * q_SB`` for every calibrated role."""
    return {
        role: quat.multiply(q, cal.mounts[role])
        for role, q in aligned.quat.items()
        if role in cal.mounts
    }


def pelvis_angles(q_gb_pelvis: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Pelvis rotation, obliquity and tilt (radians) relative to the room frame."""
    # scipy's Rotation.as_euler("YXZ"); a gap's NaN rows come out NaN from the kernel
    return quat.euler_yxz(quat.relative(room, q_gb_pelvis))


def compute(
    aligned: AlignedSamples, cal: Calibration, lowpass_hz: float | None = None
) -> Kinematics:
    """Hip and pelvis angles for a calibrated, aligned session; ``lowpass_hz`` low-passes
    the segment orientations first (zero-phase, :mod:`hipimu.orientation.lowpass`)."""
    seg = segment_orientations(aligned, cal)
    raw = None
    if lowpass_hz:
        from hipimu.orientation.lowpass import lowpass_quaternions

        raw = seg
        seg = {r: lowpass_quaternions(q, aligned.rate_hz, lowpass_hz) for r, q in seg.items()}
    if "pelvis" not in seg:
        raise ValueError("no pelvis sensor in this session")
    nan = np.full((len(aligned.time), 3), np.nan)
    hips = {
        side: quat.hip_angles(seg["pelvis"], seg[role], side) if role in seg else nan.copy()
        for side, role in (("right", "femur_r"), ("left", "femur_l"))
    }
    return Kinematics(
        aligned.time,
        hips["right"],
        hips["left"],
        pelvis_angles(seg["pelvis"], cal.room),
        seg,
        np.asarray(cal.room, dtype=np.float64),
        raw,
    )
