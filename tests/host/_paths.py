"""Where this test process imports hipimu from, for the subprocesses tests start.

A subprocess must import the same hipimu as the test: the working tree (``host/`` with
the C extension built in place) or the installed package (the README's test command,
CI). Putting ``host/`` on its path regardless would mix a fresh clone's sources, whose
``hipimu/_core/`` holds only C files, with no compiled extension.
"""

from __future__ import annotations

import os
from pathlib import Path

import hipimu
import hipimu_fw


def import_path(*first: str | Path) -> str:
    """A PYTHONPATH that finds this process's hipimu and hipimu_fw (after ``first``)."""
    dirs = [str(p) for p in first]
    for package in (hipimu, hipimu_fw):
        root = str(Path(package.__file__).resolve().parents[1])
        if root not in dirs:
            dirs.append(root)
    return os.pathsep.join(dirs)
