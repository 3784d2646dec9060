"""numpy reference of the ``hipimu._core.sosfilt`` kernel (:mod:`hipimu.core.dsp`).

Written for clarity, not speed: the tests compare the C kernel against it.
"""

from __future__ import annotations

import numpy as np


def sosfilt(
    sos: np.ndarray, x: np.ndarray, zi: np.ndarray, reverse: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Biquad cascade along axis 0 of ``x`` ``(N, C)``, direct form II transposed, from
    the state ``zi`` ``(S, 2, C)`` (from the last row to the first with ``reverse``);
    returns the output and the final state."""
    if reverse:
        y, z = sosfilt(sos, np.asarray(x)[::-1], zi)
        return y[::-1], z
    sos = np.asarray(sos, dtype=np.float64)
    sos = sos / sos[:, 3:4]
    y = np.array(x, dtype=np.float64)
    z = np.array(zi, dtype=np.float64)
    for s, (b0, b1, b2, _a0, a1, a2) in enumerate(sos):
        for n in range(len(y)):
            v = y[n].copy()
            out = b0 * v + z[s, 0]
            z[s, 0] = b1 * v - a1 * out + z[s, 1]
            z[s, 1] = b2 * v - a2 * out
            y[n] = out
    return y, z
