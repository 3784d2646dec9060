"""The incremental, Qt-free live pipeline (docs/live.md)."""
