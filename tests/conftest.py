"""Fixtures shared by the whole test suite: real registries on loopback, and the sync/async flavours."""

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

from hypothesis import HealthCheck, settings  # noqa: E402

# Property tests judge the code, not the machine: on a loaded 2-core CI machine, generating large
# documents can take longer than Hypothesis's "too slow" health check allows, and a deadline would turn
# a slow draw into a failure. Both are off for the whole suite; each test's own settings still apply.
settings.register_profile("containerregistry", suppress_health_check=[HealthCheck.too_slow], deadline=None)
settings.load_profile("containerregistry")

from tests.support.adapter import FLAVOURS, ClientKind  # noqa: E402
from tests.support.distribution import (  # noqa: E402
    Distribution,
    run_distribution,
    run_distribution_basic,
    run_distribution_token,
)


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    """ "sync", then "async": the flavour of the library a test runs (see `client_kind`)."""
    return str(request.param)


@pytest.fixture
def client_kind(flavour: str) -> Iterator[ClientKind]:
    """The `flavour` as a `ClientKind`: its modules, `adapt` and `run`, on one event loop per test."""
    kind = ClientKind(flavour)
    yield kind
    kind.close()


@pytest.fixture(scope="session")
def distribution() -> Iterator[Distribution]:
    """An open (no auth) CNCF Distribution registry, shared by the session. Deletes are enabled."""
    with run_distribution() as registry:
        yield registry


@pytest.fixture(scope="session")
def distribution_basic() -> Iterator[Distribution]:
    """A Distribution registry with htpasswd basic auth; `.username` and `.password` log in."""
    with run_distribution_basic() as registry:
        yield registry


@pytest.fixture(scope="session")
def _distribution_token_session() -> Iterator[Distribution]:
    with run_distribution_token() as registry:
        yield registry


@pytest.fixture
def distribution_token(_distribution_token_session: Distribution) -> Distribution:
    """A Distribution registry with token auth (shared by the session).

    `.username`, `.password`, and `.token_server` whose `stats` are reset and whose settings
    (`expires_in`, `post_enabled`) are restored before each test.
    """
    server = _distribution_token_session.token_server
    server.stats.reset()
    server.expires_in = 300
    server.post_enabled = True
    return _distribution_token_session
