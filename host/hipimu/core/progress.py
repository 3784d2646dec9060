"""A small progress display for long work on the command line."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Stage-by-stage progress: ``[2/6] decoding  45%``, redrawn in place on a terminal,
    one line per finished stage otherwise (logs, CI)."""

    def __init__(self, stages: int, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stages = stages
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.index = 0
        self.name = ""
        self.started = time.monotonic()

    def stage(self, name: str) -> None:
        self._finish()
        self.index += 1
        self.name = name
        self.started = time.monotonic()
        self.update(0.0)

    def update(self, fraction: float) -> None:
        if self.quiet or not self.tty:
            return
        pct = int(100 * min(max(fraction, 0.0), 1.0))
        self.stream.write(f"\r[{self.index}/{self.stages}] {self.name:<28s} {pct:3d}%")
        self.stream.flush()

    def _finish(self) -> None:
        if self.quiet or not self.name:
            return
        took = time.monotonic() - self.started
        line = f"[{self.index}/{self.stages}] {self.name:<28s} done ({took:.1f} s)"
        self.stream.write(("\r" if self.tty else "") + line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._finish()
        self.name = ""
