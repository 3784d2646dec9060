"""Option types shared by the commands: values checked at parse time (exit code 2).

Every ``type=`` here raises :class:`argparse.ArgumentTypeError` with a message that says
what is wrong, so argparse prints the usage and the option's name and exits with 2.
Output paths are marked (:class:`OutputPath`): ``hipimu.app.cli`` checks that each can be
written before the command starts any long work (a path problem exits with 1).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


class UsageError(ValueError):
    """An option value found wrong once the command has its data (e.g. ``--from`` past
    the end of the recording): exit code 2, like a value refused at parse time."""


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive(text: str) -> float:
    """A finite number > 0 (seconds, speeds, timeouts)."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def non_negative(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def fraction(text: str) -> float:
    """A share in (0, 1]."""
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a share in (0, 1], got {text}")
    return value


def int_range(low: int, high: int):
    """An integer type accepting ``low..high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {value}")
        return value

    parse.__name__ = f"int {low}..{high}"
    return parse


def non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


class OutputPath(str):
    """A path the command will write: ``kind`` is ``dir``, ``file`` or ``any``."""

    kind = "any"

    def problem(self) -> str | None:
        """Why this path cannot be written, or None. Creates nothing."""
        return output_problem(Path(self), self.kind)


class _OutputDir(OutputPath):
    kind = "dir"


class _OutputFile(OutputPath):
    kind = "file"


def output_dir(text: str) -> OutputPath:
    """A directory to create or write into."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return _OutputDir(text)


def output_file(*suffixes: str):
    """A file to write, with one of ``suffixes`` (any suffix when none are given)."""

    def parse(text: str) -> OutputPath:
        if not text:
            raise argparse.ArgumentTypeError("must not be empty")
        if suffixes and Path(text).suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(
                f"{text}: the file name must end in "
                f"{', '.join(suffixes[:-1]) + ' or ' if len(suffixes) > 1 else ''}{suffixes[-1]}"
            )
        return _OutputFile(text)

    parse.__name__ = "output file"
    return parse


def output_any(text: str) -> OutputPath:
    """A file or a directory to write."""
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return OutputPath(text)


def output_problem(path: Path, kind: str) -> str | None:
    """Why ``path`` cannot be written as a ``kind`` (dir/file/any), or None.

    Probes the nearest existing folder with a temporary file (removed at once), which
    catches read-only and virtual file systems that permission bits do not show."""
    if path.exists():
        if kind == "dir" and not path.is_dir():
            return "exists and is not a directory"
        if kind == "file" and path.is_dir():
            return "is a directory, not a file"
        folder = path if path.is_dir() else path.parent
    else:
        folder = path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            return f"cannot create it: {folder} is not a directory"
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".hipimu-probe-", dir=folder)
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(probe)
    if path.is_file() and not os.access(path, os.W_OK):
        return "the file is not writable"
    return None
