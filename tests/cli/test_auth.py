"""creg login / logout against an emulator with token auth, on a private DOCKER_CONFIG."""

from __future__ import annotations

import base64
import json
import stat
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from containerregistry.emulator.auth import ALL_ROLES, AuthConfig, User, mint_entra_token

from .conftest import run_cli, run_creg, unique

REFRESH_USER = "00000000-0000-0000-0000-000000000000"
ENTRA_SECRET = "an-entra-secret-long-enough-for-hs256-0123456789"


@pytest.fixture
def secured(registry_emulator_factory: Any) -> Any:
    """An emulator with token auth, one admin user, and trust in Entra ID tokens signed with `entra`."""
    config = AuthConfig(
        users={"alice": User("alice", "wonder land", ALL_ROLES, None)}, entra_secret=ENTRA_SECRET
    )
    return registry_emulator_factory(auth=config)


def test_login_logout_round_trip(secured: Any, docker_config: Path) -> None:
    other = {"auths": {"elsewhere.example": {"auth": "eDp5"}}, "credsStore": "", "experimental": "enabled"}
    docker_config.write_text(json.dumps(other))
    r = secured.endpoint
    repo = unique("private")

    # Anonymous requests are refused...
    denied = run_cli("-r", r, "repo", "ls")
    assert denied.exit_code == 1 and denied.stderr.startswith("error: ") and "401" in denied.stderr

    login = run_cli(
        "-vv", "login", secured.login_server, "-u", "alice", "--password-stdin", input="wonder land\n"
    )
    assert login.exit_code == 0, login.stderr
    # Verbose, but no secrets: neither the password nor its Basic encoding.
    assert "DEBUG" in login.stderr and "wonder land" not in login.output
    assert base64.b64encode(b"alice:wonder land").decode() not in login.output
    saved = json.loads(docker_config.read_text())
    assert saved["experimental"] == "enabled" and saved["auths"]["elsewhere.example"] == {"auth": "eDp5"}
    assert base64.b64decode(saved["auths"][secured.login_server]["auth"]) == b"alice:wonder land"
    assert stat.S_IMODE(docker_config.stat().st_mode) == 0o600

    # ...and succeed with the stored credentials (the docker config is the default credential).
    blob = run_cli("-r", r, "blob", "push", repo, "-", input=b"secret layer")
    assert blob.exit_code == 0, blob.stderr
    assert "wonder land" not in blob.output

    # As a subprocess too, with the same DOCKER_CONFIG.
    done = run_creg(
        "-r",
        r,
        "-o",
        "json",
        "blob",
        "exists",
        f"{repo}@{blob.stdout.strip()}",
        env={"DOCKER_CONFIG": str(docker_config.parent)},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["exists"] is True

    logout = run_cli("logout", secured.login_server)
    assert logout.exit_code == 0 and "logged out" in logout.stderr
    saved = json.loads(docker_config.read_text())
    assert secured.login_server not in saved["auths"] and "elsewhere.example" in saved["auths"]
    assert run_cli("-r", r, "repo", "ls").exit_code == 1
    assert "not logged in" in run_cli("logout", secured.login_server).stderr


def test_login_with_a_wrong_password_saves_nothing(secured: Any, docker_config: Path) -> None:
    result = run_cli("login", secured.login_server, "-u", "alice", "--password-stdin", input="Zq9-not-it\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Zq9-not-it" not in result.output
    assert not docker_config.exists()


def test_global_username_and_password_stdin(secured: Any, docker_config: Path) -> None:
    result = run_cli(
        "-r",
        secured.endpoint,
        "-u",
        "alice",
        "--password-stdin",
        "-o",
        "json",
        "repo",
        "ls",
        input="wonder land\n",
    )
    assert result.exit_code == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)
    assert not docker_config.exists()  # explicit credentials are used, not stored


def test_login_to_a_closed_port_fails_cleanly(docker_config: Path, closed_port: int) -> None:
    result = run_cli("login", f"127.0.0.1:{closed_port}", "-u", "a", "--password-stdin", input="b\n")
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot reach")
    assert not docker_config.exists()


def test_login_azure_without_azure_identity(
    secured: Any, docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # makes the import fail like a missing package
    result = run_cli("login", "--azure", secured.login_server)
    assert result.exit_code == 1
    assert "install containerregistry[azure]" in result.stderr
    assert not docker_config.exists()


def test_login_azure_stores_an_acr_refresh_token(
    secured: Any, docker_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scopes_asked: list[tuple[str, ...]] = []

    class FakeDefaultAzureCredential:
        """Stands in for azure-identity: hands out an Entra ID token the emulator trusts."""

        def get_token(self, *scopes: str, **_: Any) -> Any:
            scopes_asked.append(scopes)
            return types.SimpleNamespace(token=mint_entra_token(ENTRA_SECRET), expires_on=2**31)

    fake = types.ModuleType("azure.identity")
    fake.DefaultAzureCredential = FakeDefaultAzureCredential  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azure.identity", fake)

    result = run_cli("login", "--azure", secured.login_server)
    assert result.exit_code == 0, result.stderr
    assert scopes_asked and scopes_asked[0][0].endswith("/.default")
    entry = json.loads(docker_config.read_text())["auths"][secured.login_server]
    assert base64.b64decode(entry["auth"]).decode() == f"{REFRESH_USER}:"
    assert entry["identitytoken"].count(".") == 2  # a JWT from /oauth2/exchange

    # The stored refresh token works on its own, without azure-identity.
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    listed = run_cli("-r", secured.endpoint, "-o", "json", "repo", "ls")
    assert listed.exit_code == 0, listed.stderr


def test_login_to_distribution_with_basic_auth(distribution_basic: Any, docker_config: Path) -> None:
    host = distribution_basic.host
    wrong = run_cli(
        "login", host, "-u", distribution_basic.username, "--password-stdin", input="Zq9-not-it\n"
    )
    assert wrong.exit_code == 1 and "user name or password" in wrong.stderr
    assert not docker_config.exists()
    password = f"{distribution_basic.password}\n"
    right = run_cli("login", host, "-u", distribution_basic.username, "--password-stdin", input=password)
    assert right.exit_code == 0, right.stderr
    # The stored credentials now let plain OCI commands through.
    pushed = run_cli("-r", distribution_basic.endpoint, "blob", "push", unique("basic"), "-", input=b"x")
    assert pushed.exit_code == 0, pushed.stderr
