"""Fixtures shared by the whole test suite: real registries on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Test modules import shared helpers as `tests.support...`; pytest's default (prepend) import mode only
# puts `tests/` itself on sys.path, so add the repository root. (`pythonpath = ["."]` in pyproject's
# [tool.pytest.ini_options] would make this unnecessary.)
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.distribution import Distribution, run_distribution  # noqa: E402


@pytest.fixture(scope="session")
def distribution() -> Iterator[Distribution]:
    """An open (no auth) CNCF Distribution registry, shared by the session. Deletes are enabled."""
    with run_distribution() as registry:
        yield registry
