"""Fixtures: one tiny district per test session, and fresh copies for tests that break one on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pingan.sim import generate

TINY_SEED = 11


@pytest.fixture(scope="session")
def tiny_district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny district (about 2,000 persons, 14 days), generated once. Do not modify it."""
    out = tmp_path_factory.mktemp("sim") / "tiny"
    generate("tiny", TINY_SEED, out, workers=1)
    return out


@pytest.fixture
def damaged_copy(tiny_district: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny district that a test may tamper with."""
    dst = tmp_path / "tiny"
    shutil.copytree(tiny_district, dst)
    return dst
