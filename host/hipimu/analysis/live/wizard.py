"""What the guided calibration tells the trainer, step by step (the live view shows
``CalibrationStep.message``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipimu.body.calibration import Calibration

NOT_CALIBRATED = "Not calibrated: angles assume the nominal sensor placement"
NO_DATA = "No data yet: connect the sensors first"
STAND = "Stand still, feet apart, arms relaxed"
CASE = "Lay the sensors side by side in the case, still"
MARCH = "March in place: lift each knee a few times"
FROM_MARKERS = "Calibrating on the session's standing pose"
FROM_START = "Calibrating on the first seconds (standing)"
CASE_MISSING = "not all sensors were heard in the case: check them and try again"


@dataclass
class CalibrationStep:
    """Where the guided calibration stands, for the view."""

    phase: str = "idle"  # idle, case, strap, stand, march, done, failed
    message: str = NOT_CALIBRATED
    remaining_s: float = 0.0
    calibration: Calibration | None = None


def quality_text(cal: Calibration) -> str:
    q = cal.quality
    heading = {
        "functional": "heading from the marching",
        "placement": "heading from the sensor placement",
        "forward axis": "heading from the named forward axis",
    }.get(q.heading_source, q.heading_source)
    spread = f" (spread {q.heading_spread_deg:.1f}°)" if np.isfinite(q.heading_spread_deg) else ""
    return f"✓ Calibrated: {heading}{spread}; stood still to {q.static_max_speed_deg_s:.1f}°/s"


def case_moved(role: str, speed_deg_s: float) -> str:
    return f"the {role} sensor moved ({speed_deg_s:.0f}°/s): keep them still in the case"


def alignment_failed(error: str) -> str:
    return f"Heading alignment failed: {error}"


def aligned(offsets: dict[str, float]) -> str:
    """The strap step after the headings were turned by ``offsets`` (radians, by role)."""
    turned = ", ".join(f"{r} {np.rad2deg(a):+.0f}°" for r, a in sorted(offsets.items()))
    return f"✓ Headings aligned ({turned}). Strap the sensors on, then: Sensors on"


def calibration_failed(error: Exception | str) -> str:
    return f"Calibration failed: {error}"
