"""Recording: the append-only session log, the session directory, research formats.

``log`` (SessionLogWriter, read_log), ``session_dir`` (the files of a session),
``export`` and its formats (``tables``, ``opensim``, ``hdf5``, ``c3d``), ``lsl``
(Lab Streaming Layer publisher), ``stream`` (record any source into a log).
"""

from hipimu.record.log import (
    LogContents,
    LogFormatError,
    Recovery,
    SessionLogWriter,
    new_client_id,
    read_log,
)

__all__ = [
    "LogContents",
    "LogFormatError",
    "Recovery",
    "SessionLogWriter",
    "new_client_id",
    "read_log",
]
