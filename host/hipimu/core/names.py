"""Names shared by every stage: sensor roles, body sides, hip planes, angle columns.

Defined once here; every module that needs one of them imports it from this module.
"""

from __future__ import annotations

#: Sensor roles, in the order every table and export lists them.
ROLES = ("pelvis", "femur_r", "femur_l")
#: Body sides, right first (the ISB convention's reference side).
SIDES = ("right", "left")
#: The thigh sensor's role for each side.
FEMUR_OF_SIDE = {"right": "femur_r", "left": "femur_l"}
#: Hip planes in the order of the Z-X-Y (flexion, adduction, rotation) decomposition.
ANGLE_NAMES = ("flexion", "adduction", "rotation")
#: OpenSim coordinate names of the nine angles every export writes, in this order.
ANGLE_COLUMNS = (
    "hip_flexion_r", "hip_adduction_r", "hip_rotation_r",
    "hip_flexion_l", "hip_adduction_l", "hip_rotation_l",
    "pelvis_tilt", "pelvis_list", "pelvis_rotation",
)  # fmt: skip

#: where the sensors sit unless the session says otherwise (session metadata ``placement``)
DEFAULT_PLACEMENT = "sacrum, lateral mid-thigh"
