"""Shared fixtures: every test runs its experiments under its own tmp_path, quietly."""
import pytest


@pytest.fixture
def run_kwargs(tmp_path):
    return {"local_dir": str(tmp_path), "verbose": 0}
