"""Credentials: what a client authenticates with.

- ``None``: anonymous.
- `BasicCredential`: a user name and password (or an ACR admin user / repository-scoped token).
- `RefreshTokenCredential`: an ACR refresh token or a Docker identity token (OAuth2 refresh grant).
- `DockerConfigCredential`: whatever ``docker login`` stored: ``config.json`` ``auths``, then
  ``credHelpers``, then ``credsStore`` (``docker-credential-<name> get``).
- Any object with ``get_token(*scopes)`` (azure-identity credentials, sync or async): Entra ID,
  exchanged for an ACR refresh token by `RegistryAuth`.

Secrets never appear in reprs or exception messages.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import RegistryError, RegistryProtocolError

__all__ = [
    "DOCKER_HUB_SERVER_URL",
    "BasicCredential",
    "DockerConfigCredential",
    "RefreshTokenCredential",
    "RegistryTokenCredential",
    "normalize_registry_host",
]

DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/"
_DOCKER_HUB_HOSTS = frozenset(
    {"index.docker.io", "registry-1.docker.io", "docker.io", "registry.hub.docker.com"}
)
#: Seconds a credential helper gets; it may prompt a keychain, but must not hang a client forever.
DEFAULT_HELPER_TIMEOUT = 30.0


@dataclass(frozen=True)
class BasicCredential:
    """A user name and password (HTTP Basic, or the password grant of a token server).

    Args:
        username: the user name (for ACR: the admin user or a repository-scoped token name).
        password: the password or token; never shown in ``repr``.
    """

    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"BasicCredential(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class RefreshTokenCredential:
    """An OAuth2 refresh token: an ACR refresh token or a Docker identity token.

    Args:
        refresh_token: the token, sent only to the registry's token endpoint; never shown in ``repr``.
    """

    refresh_token: str = field(repr=False)

    def __repr__(self) -> str:
        return "RefreshTokenCredential(refresh_token='***')"


@dataclass(frozen=True)
class RegistryTokenCredential:
    """A bearer token sent as is (Docker config ``registrytoken``); no token exchange happens.

    Args:
        token: the bearer token; never shown in ``repr``.
    """

    token: str = field(repr=False)

    def __repr__(self) -> str:
        return "RegistryTokenCredential(token='***')"


ResolvedCredential = BasicCredential | RefreshTokenCredential | RegistryTokenCredential | None


def normalize_registry_host(key: str) -> str:
    """Reduce a Docker config key (``https://host:port/v1/``, ``host``) to a lowercase ``host[:port]``.

    Docker Hub's many names all become ``index.docker.io``.
    """
    text = key.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    host = text.split("/", 1)[0].lower()
    return "index.docker.io" if host in _DOCKER_HUB_HOSTS else host


class DockerConfigCredential:
    """The credentials ``docker login`` stored for a registry.

    Looks, per registry host: ``auths[host]`` (``auth`` = base64 ``user:pass``, ``username``/``password``,
    ``identitytoken`` -> refresh token grant, ``registrytoken`` -> bearer token used directly), then
    ``credHelpers[host]``, then ``credsStore``. A helper is run as ``docker-credential-<name> get``
    with the server URL on stdin; ``Username == "<token>"`` means the secret is an identity token;
    "credentials not found" means anonymous.

    A helper runs in its own process group with a deadline (`helper_timeout`); when it passes, the
    whole group is killed (grandchildren too), and an answer longer than 1 MiB is refused. The async
    clients run helpers in a worker thread, so a slow one does not stall the event loop.

    Args:
        config_path: the ``config.json`` to read; default ``$DOCKER_CONFIG/config.json`` or
            ``~/.docker/config.json``. A missing file means anonymous everywhere.
        helper_timeout: seconds a credential helper may take (default 30).
    """

    def __init__(
        self,
        config_path: str | os.PathLike[str] | None = None,
        *,
        helper_timeout: float = DEFAULT_HELPER_TIMEOUT,
    ) -> None:
        self.helper_timeout = helper_timeout
        if config_path is None:
            base = os.environ.get("DOCKER_CONFIG")
            config_path = Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"
        self.config_path = Path(config_path)

    def __repr__(self) -> str:
        return f"DockerConfigCredential(config_path={str(self.config_path)!r})"

    def _load(self) -> dict[str, Any]:
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise RegistryError(f"cannot read docker config {self.config_path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise RegistryError(f"docker config {self.config_path} is not UTF-8 text") from None
        try:
            data = json.loads(text)
        except ValueError:
            # The parser's message may quote the file's content, which holds secrets: say where only.
            raise RegistryError(f"docker config {self.config_path} is not valid JSON") from None
        if not isinstance(data, dict):
            raise RegistryError(f"docker config {self.config_path} is not a JSON object")
        return data

    def resolve(self, registry: str) -> ResolvedCredential:
        """Return the credential stored for `registry` (``host[:port]``), or None for anonymous.

        Raises:
            RegistryError: the config or a credential helper is broken (the message names which, not secrets).
        """
        host = normalize_registry_host(registry)
        config = self._load()
        auths = config.get("auths")
        if isinstance(auths, dict):
            for key, entry in auths.items():
                if isinstance(key, str) and normalize_registry_host(key) == host and isinstance(entry, dict):
                    found = self._from_entry(entry, host)
                    if found is not None:
                        return found
        helpers = config.get("credHelpers")
        if isinstance(helpers, dict):
            for key, helper in helpers.items():
                if isinstance(key, str) and normalize_registry_host(key) == host and isinstance(helper, str):
                    return self._run_helper(helper, host)
        store = config.get("credsStore")
        if isinstance(store, str) and store:
            return self._run_helper(store, host)
        return None

    def _from_entry(self, entry: dict[str, Any], host: str) -> ResolvedCredential:
        identity = entry.get("identitytoken")
        if isinstance(identity, str) and identity:
            return RefreshTokenCredential(identity)
        registry_token = entry.get("registrytoken")
        if isinstance(registry_token, str) and registry_token:
            return RegistryTokenCredential(registry_token)
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
            except (binascii.Error, ValueError):  # ValueError: non-ASCII text (UnicodeDecodeError is one)
                raise RegistryError(
                    f"docker config {self.config_path}: the 'auth' entry for {host} is not base64 of user:password"
                ) from None
            username, sep, password = decoded.partition(":")
            if not sep:
                raise RegistryError(
                    f"docker config {self.config_path}: the 'auth' entry for {host} is not base64 of user:password"
                )
            return BasicCredential(username, password)
        user, secret = entry.get("username"), entry.get("password")
        if isinstance(user, str) and isinstance(secret, str) and user:
            return BasicCredential(user, secret)
        return None

    def _run_helper(self, name: str, host: str) -> ResolvedCredential:
        # Imported here, when a helper is configured: it loads subprocess (and signal), which a docker
        # config without helpers, and so `creg tag ls` on most machines, never needs.
        from ._helper import MAX_HELPER_OUTPUT, HelperOutputTooLarge, HelperTimeout, run_helper

        program = f"docker-credential-{name}"
        path = shutil.which(program)
        if path is None:
            raise RegistryError(
                f"credential helper {program} (configured for {host} in the docker config) is not on PATH:"
                " install it, or fix credsStore/credHelpers in $DOCKER_CONFIG/config.json; to send no"
                " credentials, use --anonymous (creg) or credential=None"
            )
        server_url = DOCKER_HUB_SERVER_URL if host == "index.docker.io" else host
        try:
            done = run_helper([path, "get"], server_url.encode(), timeout=self.helper_timeout)
        except HelperTimeout:
            raise RegistryError(
                f"credential helper {program} did not answer for {host} within {self.helper_timeout:g} s"
            ) from None
        except HelperOutputTooLarge:
            raise RegistryProtocolError(
                f"credential helper {program} wrote more than {MAX_HELPER_OUTPUT} bytes for {host}"
            ) from None
        except OSError as exc:
            raise RegistryError(f"credential helper {program} could not run: {exc.strerror}") from None
        if done.returncode != 0:
            said = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
            if "credentials not found" in said.lower():
                return None
            # The helper's output is not trusted to be secret-free: report the exit status only.
            raise RegistryError(
                f"credential helper {program} failed for {host} (exit status {done.returncode})"
            )
        try:
            answer = json.loads(done.stdout)
        except (ValueError, RecursionError):
            raise RegistryError(f"credential helper {program} gave an unreadable answer for {host}") from None
        username: object = answer.get("Username", "") if isinstance(answer, dict) else None
        secret: object = answer.get("Secret", "") if isinstance(answer, dict) else None
        if not isinstance(username, str) or not isinstance(secret, str) or not secret:
            raise RegistryError(f"credential helper {program} gave an unreadable answer for {host}")
        if username == "<token>":
            return RefreshTokenCredential(secret)
        return BasicCredential(username, secret)
