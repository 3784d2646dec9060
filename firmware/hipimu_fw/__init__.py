"""hipimu sensor firmware (MicroPython; the pure modules also import under CPython).

On the device this package lives in ``/lib/hipimu_fw``; ``firmware/main.py`` starts it.
``hal`` is the only module that touches ``machine`` or ``bluetooth``.
"""

VERSION = (0, 1)
