"""Shared test fixtures: paths to the repository and to the read-only shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shared_dirs import DATA as SHARED_DATA  # HIPIMU_SHARED (docs/testing.md)

REPO = Path(__file__).resolve().parents[1]

# Qt draws offscreen in every test process, whichever test file runs first in it (pytest-xdist
# spreads the files over processes); the no-display test removes it for its own child.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real recordings not found at {SHARED_DATA} (a checkout without shared/; "
            "HIPIMU_SHARED: docs/testing.md)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_session():
    """The default (asymmetric) simulated session, realistic as every simulation is by
    default (standing sway, a stance off neutral, sensor noise, soft-tissue twist):
    what a user's session looks like. Shared by pipeline tests."""
    from hipimu.simulate import simulate_session

    return simulate_session(seed=0)
