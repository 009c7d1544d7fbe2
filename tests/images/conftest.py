"""Fixtures of the image tests."""

from __future__ import annotations

import itertools

import pytest

from tests.images.support import Ops
from tests.support.adapter import ClientKind

_counter = itertools.count()


@pytest.fixture
def ops(client_kind: ClientKind) -> Ops:
    """The image operations through the sync API, then through the async API."""
    return Ops(client_kind)


@pytest.fixture
def repo(ops: Ops) -> str:
    """A repository name unused so far in this session (registries are shared by the session)."""
    return f"img/{ops.flavour}{next(_counter)}"
