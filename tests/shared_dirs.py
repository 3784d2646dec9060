"""Where the tests (and the BROAD benchmarks) find the read-only shared folder.

``HIPIMU_SHARED`` names the shared folder; by default it is ``../shared`` beside the
checkout. It holds ``vendor/micropython-lib`` (the real aioble, for the firmware tests),
``data/`` (real recordings) and ``data/broad`` (the BROAD dataset). The older variables
still override one part each: ``HIPIMU_SHARED_DATA`` the ``data/`` folder (and with it
the default BROAD folder below it), ``HIPIMU_BROAD_DIR`` the BROAD folder. Empty
variables count as unset. docs/testing.md has the table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The shared folder: ``$HIPIMU_SHARED`` or ``../shared`` beside the checkout."""
    return Path(env.get("HIPIMU_SHARED") or REPO.parent / "shared")


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Real recordings: ``$HIPIMU_SHARED_DATA`` or ``<shared>/data``."""
    v = env.get("HIPIMU_SHARED_DATA")
    return Path(v) if v else shared_dir(env) / "data"


def broad_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The BROAD dataset: ``$HIPIMU_BROAD_DIR`` or ``<data>/broad``."""
    v = env.get("HIPIMU_BROAD_DIR")
    return Path(v) if v else data_dir(env) / "broad"


SHARED = shared_dir()
DATA = data_dir()
BROAD = broad_dir()
