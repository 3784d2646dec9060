"""Shared test fixtures: paths to the repository and to the read-only shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# HIPIMU_SHARED_DATA points elsewhere (a worktree whose parent holds no shared/)
SHARED_DATA = Path(os.environ.get("HIPIMU_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (a checkout without shared/)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_session():
    """The default (asymmetric) simulated session, shared by pipeline tests."""
    from hipimu.simulate import simulate_session

    return simulate_session(seed=0)
