"""Fixtures of the CLI tests."""

import pytest


@pytest.fixture
def exports_forbidden(monkeypatch):
    """Any export fails the test: for option combinations that must be refused before anything loads or is written."""
    def never(*args, **kwargs):
        raise AssertionError("a refused combination must not load or export anything")

    monkeypatch.setattr("encexport.cli.export_cmd.export", never)
    monkeypatch.setattr("encexport.export.optimized.export_optimized", never)
