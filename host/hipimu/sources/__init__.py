"""Sources of notifications: simulated sensors, replayed session logs, BLE sensors.

Every source yields :class:`~hipimu.sources.base.Notification` records in arrival
order, the same bytes a BLE sensor sends, so the pipeline cannot tell them apart.
"""

from hipimu.sources.base import Notification

__all__ = ["Notification"]
