"""Fixtures for the docking tests: the shared Vina 1iep example and a private receptor cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def vina_1iep(shared_data: Path) -> Path:
    """../shared/data/docking/vina_1iep: receptor, crystal ligand (imatinib) and Vina's box."""
    folder = shared_data / "docking" / "vina_1iep"
    if not folder.is_dir():
        pytest.skip(f"AutoDock Vina 1iep example not found at {folder}")
    return folder


@pytest.fixture(scope="session")
def receptor_cache(tmp_path_factory) -> Path:
    """A receptor cache folder shared by this test session (never the user's ~/.cache)."""
    return tmp_path_factory.mktemp("receptor-cache")


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch, receptor_cache):
    monkeypatch.setenv("MOLGEN_CACHE", str(receptor_cache.parent / "molgen-cache"))
