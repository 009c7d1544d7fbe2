"""Fixtures for the emulator tests: the plugin's shared emulator plus a small push/pull helper."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator.emulator_helpers import Reg

_counter = itertools.count()


@pytest.fixture
def reg(registry_emulator: Any) -> Iterator[Reg]:
    helper = Reg(registry_emulator.endpoint)
    yield helper
    helper.close()


@pytest.fixture
def repo(request: pytest.FixtureRequest) -> str:
    """A repository name unique to the test (with a '/' to exercise routing)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    return f"t{next(_counter)}/{slug}"


@pytest.fixture
def reg_fresh(registry_emulator_factory: Any) -> Iterator[Reg]:
    """A helper on an emulator of its own (empty catalog)."""
    helper = Reg(registry_emulator_factory().endpoint)
    yield helper
    helper.close()
