"""`creg login` / `creg logout`: credentials in the docker config, verified against the registry first.

Entries are written the way `docker login` writes them (`auths[host].auth` = base64 `user:password`;
an ACR refresh token as `identitytoken`), so docker, skopeo and `DockerConfigCredential` all read them.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from .._common import endpoint_candidates, login_server_of, normalize_endpoint
from .._files import write_atomic
from ..auth import BasicCredential, RegistryAuth
from ..auth._credentials import normalize_registry_host
from ._app import AppContext, fail, pass_app, report

__all__ = ["ACR_REFRESH_TOKEN_USERNAME", "docker_config_path", "login", "logout"]

#: The user name docker uses with an ACR refresh token (`docker login -u 0000... -p <token>`).
ACR_REFRESH_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"


def docker_config_path() -> Path:
    """`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (where docker looks too)."""
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        # Never rewrite a file we cannot parse: it may hold other tools' credentials.
        fail(f"docker config {path} is not valid JSON; fix or move it first")
    if not isinstance(data, dict):
        fail(f"docker config {path} is not a JSON object; fix or move it first")
    return data


def _write_config(path: Path, data: dict[str, Any]) -> None:
    """Replace the config atomically with mode 0600 (it holds secrets), keeping every other entry."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(data, indent="\t") + "\n").encode("utf-8"), mode=0o600)


def _drop_entries(auths: dict[str, Any], host: str) -> int:
    """Remove every `auths` key that names `host` (`host`, `https://host/v1/`, ...); returns how many."""
    stale = [key for key in auths if isinstance(key, str) and normalize_registry_host(key) == host]
    for key in stale:
        del auths[key]
    return len(stale)


def _endpoint(app: AppContext, registry: str) -> str:
    if "://" in registry:
        return normalize_endpoint(registry)
    return app.endpoint_for(registry)


def _configured_helper(config: dict[str, Any], host: str) -> str | None:
    """The credential helper docker would store `host`'s login in: `credHelpers[host]`, else `credsStore`."""
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict):
        for key, name in helpers.items():
            if (
                isinstance(key, str)
                and normalize_registry_host(key) == host
                and isinstance(name, str)
                and name
            ):
                return name
    store = config.get("credsStore")
    return store if isinstance(store, str) and store else None


def _helper_store(name: str, host: str, entry: dict[str, Any]) -> None:
    """`docker-credential-NAME store` with `{"ServerURL", "Username", "Secret"}` on stdin."""
    program = f"docker-credential-{name}"
    found = shutil.which(program)
    if found is None:
        fail(
            f"the docker config stores logins with {program}, which is not on PATH: install it, or remove"
            f" credsStore/credHelpers from {docker_config_path()} to store the login in the file"
        )
    username, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
    if "identitytoken" in entry:
        username, secret = "<token>", entry["identitytoken"]
    payload = json.dumps({"ServerURL": host, "Username": username, "Secret": secret}).encode()
    try:
        done = subprocess.run([found, "store"], input=payload, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        fail(f"{program} store failed: {type(exc).__name__}")
    if done.returncode != 0:
        message = done.stdout.decode(errors="replace").strip() or f"exit status {done.returncode}"
        fail(f"{program} store failed: {message.splitlines()[0] if message else ''}")


def _verify_basic(app: AppContext, endpoint: str, credential: BasicCredential) -> None:
    """Log in the way docker does: `GET /v2/`, answering its challenge with the credentials."""
    from .._sync._scheme import probe_endpoint

    auth = RegistryAuth(credential, insecure=app.insecure, trusted_token_hosts=app.trusted_token_hosts)
    try:
        with httpx.Client(verify=app.verify, timeout=30.0) as http:
            # A bare host: https, or http for loopback/--insecure (the probe sends no credentials).
            endpoint = probe_endpoint(http, *endpoint_candidates(endpoint, insecure=app.insecure))
            response = http.get(f"{endpoint}/v2/", auth=auth)
    except httpx.HTTPError as exc:
        fail(f"cannot reach {login_server_of(endpoint)}: {exc}")
    if response.status_code == 401:
        fail(f"{login_server_of(endpoint)} rejected the user name or password")
    if response.status_code != 200:
        fail(f"{login_server_of(endpoint)} answered {response.status_code} to GET /v2/; is it a registry?")


def _azure_refresh_token(app: AppContext, endpoint: str) -> str:
    try:
        # Imported lazily: azure-identity is an optional extra, and heavy to import.
        identity = importlib.import_module("azure.identity")
    except ImportError:
        fail("--azure needs azure-identity: install containerregistry[azure]")
    credential = identity.DefaultAzureCredential()
    from .._sync import ContainerRegistryClient

    with ContainerRegistryClient(endpoint, credential, **app.client_options()) as client:
        token = client.get_acr_refresh_token()
    if not token:
        fail(f"{login_server_of(endpoint)} gave no refresh token for the Entra ID identity")
    return str(token)


@click.command("login")
@click.argument("registry")
@click.option(
    "--username", "-u", "login_username", metavar="NAME", help="user name (default: the global --username)"
)
@click.option("--password-stdin", "login_password_stdin", is_flag=True, help="read the password from stdin")
@click.option(
    "--azure",
    is_flag=True,
    help="log in with Entra ID (DefaultAzureCredential) and store the ACR refresh token",
)
@pass_app
def login(
    app: AppContext,
    registry: str,
    login_username: str | None,
    login_password_stdin: bool,
    azure: bool,
) -> None:
    """Verify credentials against REGISTRY, then store them in the docker config.

    The entry goes to $DOCKER_CONFIG/config.json (or ~/.docker/config.json), mode 0600; other
    entries are kept. With --azure, an Entra ID token (from azure-identity's DefaultAzureCredential)
    is exchanged for an ACR refresh token, stored as an identity token as `az acr login` would.

    \b
    Example:
      echo "$PASSWORD" | creg login myregistry.azurecr.io -u admin --password-stdin
      creg login --azure myregistry.azurecr.io
    """
    endpoint = _endpoint(app, registry)
    host = normalize_registry_host(login_server_of(endpoint))
    path = docker_config_path()
    config = _read_config(path)
    if azure:
        if login_username or login_password_stdin or app.username:
            raise click.UsageError("--azure takes no --username or password")
        token = _azure_refresh_token(app, endpoint)
        entry: dict[str, Any] = {
            "auth": base64.b64encode(f"{ACR_REFRESH_TOKEN_USERNAME}:".encode()).decode(),
            "identitytoken": token,
        }
        who = "Entra ID identity"
    else:
        username = login_username or app.username
        password = app.password
        if login_password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        if username is None:
            raise click.UsageError("give --username (and the password with --password-stdin), or --azure")
        if not password:
            stdin = sys.stdin
            if login_password_stdin or not stdin.isatty():
                raise click.UsageError("empty password: pipe it with --password-stdin")
            password = click.prompt("Password", hide_input=True, err=True)
        credential = BasicCredential(username, password)
        _verify_basic(app, endpoint, credential)
        entry = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
        who = username
    auths = config.get("auths")
    if not isinstance(auths, dict):
        auths = {}
    _drop_entries(auths, host)
    helper = _configured_helper(config, host)
    if helper:
        # As docker does: the secret goes to the credential helper, the config keeps an empty entry.
        _helper_store(helper, host, entry)
        auths[host] = {}
    else:
        auths[host] = entry
    config["auths"] = auths
    _write_config(path, config)
    report(
        app,
        {"registry": host, "config": str(path), "username": who},
        f"logged in to {host} as {who} ({path})",
    )


@click.command("logout")
@click.argument("registry")
@pass_app
def logout(app: AppContext, registry: str) -> None:
    """Remove REGISTRY's credentials from the docker config (other entries are kept).

    \b
    Example:
      creg logout myregistry.azurecr.io
    """
    host = normalize_registry_host(login_server_of(_endpoint(app, registry)))
    path = docker_config_path()
    config = _read_config(path)
    auths = config.get("auths")
    removed = _drop_entries(auths, host) if isinstance(auths, dict) else 0
    if removed:
        _write_config(path, config)
    message = f"logged out of {host}" if removed else f"not logged in to {host} (nothing in {path})"
    report(app, {"registry": host, "config": str(path), "removed": bool(removed)}, message)
