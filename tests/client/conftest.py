"""Fixtures for client tests: every test runs against both real registries and both client flavours."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.adapter import ClientKind


@pytest.fixture(params=["distribution", "emulator"])
def registry_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def registry_endpoint(request: pytest.FixtureRequest, registry_kind: str) -> str:
    """The endpoint of a real registry on loopback: CNCF Distribution 2.8.2, or our emulator."""
    if registry_kind == "distribution":
        return str(request.getfixturevalue("distribution").endpoint)
    return str(request.getfixturevalue("registry_emulator").endpoint)


@pytest.fixture
def make_client(client_kind: ClientKind) -> Iterator[Callable[..., Any]]:
    """`make_client(endpoint, repository, **kwargs)`: a client of the flavour, called the same way for both."""
    made: list[Any] = []

    def make(endpoint: str, repository: str, **kwargs: Any) -> Any:
        client = client_kind.adapt(
            client_kind.package.ContainerRegistryContentClient(endpoint, repository, **kwargs)
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


_counter = iter(range(1_000_000))


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name unique to the test (registries are shared by the session)."""
    base = request.node.name.split("[")[0].replace("test_", "").replace("_", "-")[:40].strip("-")
    return f"t/{base}-{next(_counter)}"
