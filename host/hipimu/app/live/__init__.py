"""The trainer's live window (pyqtgraph, PySide6) and its source thread."""
