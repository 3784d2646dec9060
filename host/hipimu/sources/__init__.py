"""Sources of notifications: simulated sensors, replayed session logs, BLE sensors.

Every source yields :class:`~hipimu.core.types.Notification` records in arrival
order, the same bytes a BLE sensor sends, so the pipeline cannot tell them apart.
"""

from hipimu.core.types import Notification

__all__ = ["Notification"]
