"""The client's self-contained HTML report (docs/scoring.md)."""

from hipimu.report.client import session_report

__all__ = ["session_report"]
