"""Sensor orientation: the C orientation filter (6D/9D) and zero-phase low-pass."""
