"""pytest plugin: fixtures that run the containerregistry emulator on a free loopback port.

Registered as the `containerregistry` pytest11 entry point, so installing the package makes these
fixtures available to any test suite:

`registry_emulator` (session scope)
    One emulator in open mode (no auth, plain http) with a temporary data directory, shared by the
    whole session. It yields the running emulator: use `.endpoint` (`http://127.0.0.1:PORT`),
    `.login_server` (`127.0.0.1:PORT`), `.host`, `.port` and `.data_dir`. Tests share its state, so give
    each test its own repository names.

`registry_emulator_factory` (function scope)
    A callable that starts another emulator per call; keyword arguments go to
    `containerregistry.emulator.run_emulator` (for example `data_dir=path` or `auth=...`). Every emulator
    it started is stopped at the end of the test.

Example::

    def test_push(registry_emulator):
        response = httpx.get(f"{registry_emulator.endpoint}/v2/")
        assert response.status_code == 200
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..emulator import RunningEmulator

__all__ = ["registry_emulator", "registry_emulator_factory"]


@pytest.fixture(scope="session")
def registry_emulator() -> Iterator[RunningEmulator]:
    """A session-wide emulator in open mode with a temporary data directory."""
    # Imported here so that merely installing the plugin costs nothing for suites that never use it.
    from ..emulator import run_emulator

    with run_emulator() as registry:
        yield registry


@pytest.fixture
def registry_emulator_factory() -> Iterator[Callable[..., RunningEmulator]]:
    """Start more emulators (`factory(**run_emulator_kwargs)`); all are stopped at teardown."""
    from ..emulator import run_emulator

    with contextlib.ExitStack() as stack:

        def start(**kwargs: Any) -> RunningEmulator:
            return stack.enter_context(run_emulator(**kwargs))

        yield start
