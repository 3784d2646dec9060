"""The client's self-contained HTML report (docs/scoring.md).

A sink: it receives scored results (:func:`report_data`, :func:`write_report`);
:func:`hipimu.workflow.session.session_report` opens, analyses and scores the session.
"""

from hipimu.report.client import report_data, write_report

__all__ = ["report_data", "write_report"]


def __getattr__(name: str):
    if name == "session_report":  # re-exported lazily: the workflow is a layer above
        from hipimu.workflow.session import session_report

        return session_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
