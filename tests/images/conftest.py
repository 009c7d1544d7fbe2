"""Fixtures of the image tests."""

from __future__ import annotations

import itertools

import pytest

from tests.images.support import Ops

_counter = itertools.count()


@pytest.fixture(params=["sync", "async"])
def ops(request: pytest.FixtureRequest) -> Ops:
    """The image operations through the sync API, then through the async API."""
    return Ops(str(request.param))


@pytest.fixture
def repo(ops: Ops) -> str:
    """A repository name unused so far in this session (registries are shared by the session)."""
    return f"img/{ops.flavour}{next(_counter)}"
