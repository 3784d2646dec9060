"""Sinks for analysed sessions: research formats, result files, LSL."""
