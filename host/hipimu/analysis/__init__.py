"""Analysis: every stage from notifications to angles and scores, offline and live."""
