"""Workflows: open a session, analyse, score, write; batches of sessions."""
