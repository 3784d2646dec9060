"""The shared folder's variables (tests/shared_dirs.py, docs/testing.md): HIPIMU_SHARED
moves everything; the older HIPIMU_SHARED_DATA and HIPIMU_BROAD_DIR override one part."""

from pathlib import Path

from shared_dirs import REPO, broad_dir, data_dir, shared_dir


def test_default_is_the_folder_beside_the_checkout():
    assert shared_dir({}) == REPO.parent / "shared"
    assert data_dir({}) == REPO.parent / "shared" / "data"
    assert broad_dir({}) == REPO.parent / "shared" / "data" / "broad"


def test_hipimu_shared_moves_all_three():
    env = {"HIPIMU_SHARED": "/x/shared"}
    assert shared_dir(env) == Path("/x/shared")
    assert data_dir(env) == Path("/x/shared/data")
    assert broad_dir(env) == Path("/x/shared/data/broad")


def test_old_names_still_override():
    env = {"HIPIMU_SHARED": "/x/shared", "HIPIMU_SHARED_DATA": "/d"}
    assert data_dir(env) == Path("/d") and broad_dir(env) == Path("/d/broad")
    env["HIPIMU_BROAD_DIR"] = "/b"
    assert broad_dir(env) == Path("/b") and shared_dir(env) == Path("/x/shared")
    assert data_dir({"HIPIMU_SHARED_DATA": ""}) == REPO.parent / "shared" / "data"  # empty
