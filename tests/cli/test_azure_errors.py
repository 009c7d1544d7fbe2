"""Entra ID failures: azure-identity / azure-core exceptions surface as this library's
`ClientAuthenticationError` (cause chained), and `creg login --azure` without a sign-in prints one line."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import containerregistry
from containerregistry.emulator.auth import AuthConfig, User

from .conftest import run_creg

azure_core = pytest.importorskip("azure.core.exceptions")
azure_identity = pytest.importorskip("azure.identity")


@pytest.fixture
def no_azure_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment where DefaultAzureCredential finds nothing: no AZURE_*, no az CLI, an empty HOME."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH": "1"}
    for name in list(os.environ):
        if name.startswith(("AZURE_", "IDENTITY_", "MSI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return env


@pytest.fixture
def acr_like(registry_emulator_factory: Callable[..., Any]) -> Any:
    """An emulator with token auth: pushing or listing needs a credential, Entra tokens are exchanged."""
    users = {"admin": User("admin", "s3cret-admin", frozenset({"admin"}))}
    return registry_emulator_factory(auth=AuthConfig(users=users))


def _azure_cause(exc: BaseException) -> bool:
    """Whether azure-core's ClientAuthenticationError is in the `__cause__` chain of `exc`."""
    seen = 0
    cause = exc.__cause__
    while cause is not None and seen < 10:
        if isinstance(cause, azure_core.ClientAuthenticationError):
            return True
        cause, seen = cause.__cause__, seen + 1
    return False


class _FailingCredential:
    """A credential as azure-identity's fail: azure-core's own ClientAuthenticationError, several lines."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise azure_core.ClientAuthenticationError("token request failed\nline two\nline three")


class _FailingAsyncCredential:
    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise azure_core.ClientAuthenticationError("token request failed\nline two")


def test_sync_client_wraps_azure_errors(acr_like: Any) -> None:
    with (
        containerregistry.ContainerRegistryClient(acr_like.endpoint, _FailingCredential()) as client,
        pytest.raises(containerregistry.ClientAuthenticationError) as caught,
    ):
        list(client.list_repository_names())
    assert _azure_cause(caught.value)
    assert "\n" not in str(caught.value)
    assert "token request failed" in str(caught.value)


def test_async_client_wraps_azure_errors(acr_like: Any) -> None:
    from containerregistry.aio import ContainerRegistryClient

    async def main() -> None:
        async with ContainerRegistryClient(acr_like.endpoint, _FailingAsyncCredential()) as client:
            with pytest.raises(containerregistry.ClientAuthenticationError) as caught:
                async for _ in client.list_repository_names():
                    pass
        assert _azure_cause(caught.value)

    asyncio.run(main())


def test_default_azure_credential_without_sign_in_is_a_client_authentication_error(
    acr_like: Any, no_azure_sign_in: dict[str, str]
) -> None:
    credential = azure_identity.DefaultAzureCredential(exclude_managed_identity_credential=True)
    with (
        containerregistry.ContainerRegistryClient(acr_like.endpoint, credential) as client,
        pytest.raises(containerregistry.ClientAuthenticationError) as caught,
    ):
        client.get_acr_refresh_token()
    assert _azure_cause(caught.value)


def test_creg_login_azure_without_sign_in_is_one_line(
    acr_like: Any, no_azure_sign_in: dict[str, str], tmp_path: Path
) -> None:
    done = run_creg(
        "login", "--azure", acr_like.login_server, env={**no_azure_sign_in, "DOCKER_CONFIG": str(tmp_path)}
    )
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr  # 79 lines before: the credentials tried, then a traceback
    assert lines[0].startswith("error: no Entra ID token from DefaultAzureCredential")
    assert "az login" in lines[0]
    assert not (tmp_path / "config.json").exists()


def test_unexpected_errors_are_one_line_too() -> None:
    # Whatever breaks in a command (here a bug: a RuntimeError), creg prints one line, no traceback.
    import click
    from click.testing import CliRunner

    from containerregistry.cli._app import CregGroup

    @click.group(cls=CregGroup)
    def group() -> None:
        pass

    @group.command("boom")
    def boom() -> None:
        raise RuntimeError("something nobody expected\nsecond line")

    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: something nobody expected second line (RuntimeError; run with -vv for the traceback)"
    ]
