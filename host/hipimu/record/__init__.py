"""Recording: the append-only session log and the files a session directory holds."""

from hipimu.record.log import LogContents, SessionLogWriter, read_log

__all__ = ["LogContents", "SessionLogWriter", "read_log"]
