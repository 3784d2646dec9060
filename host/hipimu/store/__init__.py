"""The session log and session directories on disk, and file formats read as sessions."""
