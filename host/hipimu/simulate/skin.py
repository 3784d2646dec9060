"""What a sensor strapped on the skin sees of its bone: soft-tissue twist and output noise.

The thigh's skin (and the sensor on it) twists about the femur's long axis as the hip
flexes, lagging the flexion (first order, ``soft_tissue_tau_s``): ``soft_tissue_deg`` of
external twist at 55 deg of flexion, proportionally. Each sensor's orientation output
also carries white noise (``noise_deg`` RMS per axis). The pelvis sensor sits on the
sacrum, where the skin barely moves: noise only. The truth stays the bones' motion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import lfilter
from scipy.spatial.transform import Rotation

if TYPE_CHECKING:
    from hipimu.simulate import SensorRealism

GRID_S = 0.01  # the lag is solved on this grid and interpolated to the sample times
TWIST_AT_RAD = np.deg2rad(55.0)  # the flexion at which the twist reaches soft_tissue_deg


class Skin:
    """The skin under each sensor for one protocol, over ``[0, duration]`` of its time.

    ``loop``: times past the end wrap around (a looping protocol, as the virtual
    peripherals run it). ``rng`` draws the output noise.
    """

    def __init__(
        self, protocol, realism: SensorRealism, rng: np.random.Generator, *, loop: bool = False
    ) -> None:
        self.realism = realism
        self.rng = rng
        self.duration = float(protocol.duration)
        self.loop = loop
        self._grid = np.arange(0.0, self.duration + 2 * GRID_S, GRID_S)
        self._twist: dict[str, np.ndarray] = {}
        if realism.soft_tissue_deg:
            truth = protocol.truth(self._grid)
            alpha = 1.0 - np.exp(-GRID_S / realism.soft_tissue_tau_s)
            gain = np.deg2rad(realism.soft_tissue_deg) / TWIST_AT_RAD
            for side in ("right", "left"):
                flex = truth[f"hip_{side}"][:, 0]
                lagged, _ = lfilter([alpha], [1.0, alpha - 1.0], flex, zi=[(1 - alpha) * flex[0]])
                # external twist on both sides: about -y on the right, +y on the left
                sign = -1.0 if side == "right" else 1.0
                self._twist[side] = sign * gain * lagged

    def twist(self, side: str, t: np.ndarray) -> np.ndarray:
        """The skin's twist about the femur's long axis (radians) at protocol times ``t``."""
        t = np.asarray(t, dtype=np.float64)
        if side not in self._twist:
            return np.zeros_like(t)
        if self.loop:
            t = np.mod(t, self.duration)
        return np.interp(t, self._grid, self._twist[side])

    def apply(self, q_gb: np.ndarray, role: str, t: np.ndarray) -> np.ndarray:
        """``q_GB`` (N, 4) of the bone -> of the skin under ``role``'s sensor."""
        r = Rotation.from_quat(q_gb, scalar_first=True)
        if role != "pelvis" and self._twist:
            side = "right" if role == "femur_r" else "left"
            r = r * Rotation.from_rotvec(np.outer(self.twist(side, t), [0.0, 1.0, 0.0]))
        if self.realism.noise_deg:
            noise = self.rng.normal(scale=np.deg2rad(self.realism.noise_deg), size=(len(r), 3))
            r = r * Rotation.from_rotvec(noise)
        out = np.atleast_2d(r.as_quat(scalar_first=True))
        dots = np.sum(out[1:] * out[:-1], axis=1)
        flips = np.cumsum(dots < 0) % 2
        out[1:][flips == 1] *= -1
        return out
