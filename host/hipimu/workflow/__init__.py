"""Workflows: open a session -> analyse -> score -> write, for one session
(:mod:`hipimu.workflow.session`: ``report``, ``export``, ``replay``, ``live --replay``) or a
tree of them (:mod:`hipimu.workflow.batch`). The sinks below (export, report) only write
the results they are given."""
