"""Live rows to Lab Streaming Layer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hipimu.analysis.live.rows import HIP_L, HIP_R, PELVIS, T


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
