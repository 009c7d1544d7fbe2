"""Emulator users from a JSON file or command-line flags, and the auth options of `creg serve`.

Users file (JSON)::

    {"users": [
        {"username": "admin", "password": "s3cret", "roles": ["admin"]},
        {"username": "ci", "password": "...", "roles": ["pull", "push"], "repositories": ["app/*"]}
    ]}

Flag: `--user NAME:PASSWORD:ROLE[,ROLE...][@REPO[,REPO...]]`, e.g. `--user ci:pw:pull,push@app/*`.
The password may contain ':' (the name ends at the first ':' and the roles start after the last one).
Roles: pull, push, delete, metadata_read, metadata_write, admin (`-` may stand for `_`).

Passwords never appear in messages, logs or reprs.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from containerregistry.emulator.auth import ALL_ROLES, REFRESH_TOKEN_USERNAME, AuthConfig, User

__all__ = [
    "ENTRA_SECRET_ENV",
    "add_auth_arguments",
    "auth_config_from_args",
    "load_users_file",
    "parse_user_spec",
    "users_from_json",
]

ENTRA_SECRET_ENV = "CREG_ENTRA_SECRET"
_MAX_USERS_FILE = 4 * 1024 * 1024


def _roles(values: Iterable[str], username: str) -> frozenset[str]:
    roles = frozenset(v.strip().lower().replace("-", "_") for v in values if v.strip())
    if not roles:
        raise ValueError(f"user {username!r}: no roles given; use some of {', '.join(sorted(ALL_ROLES))}")
    unknown = roles - ALL_ROLES
    if unknown:
        raise ValueError(
            f"user {username!r}: unknown role(s) {', '.join(sorted(unknown))}; "
            f"use some of {', '.join(sorted(ALL_ROLES))}"
        )
    return roles


def _make_user(
    username: str, password: str, roles: frozenset[str], repositories: Iterable[str] | None
) -> User:
    if not username or any(ch.isspace() or ch == ":" for ch in username):
        raise ValueError(f"invalid user name {username[:60]!r}: it must be non-empty, without ':' or spaces")
    if username == REFRESH_TOKEN_USERNAME:
        raise ValueError(f"the user name {REFRESH_TOKEN_USERNAME} is reserved for refresh-token logins")
    if not password:
        raise ValueError(f"user {username!r}: empty password")
    repos = None
    if repositories is not None:
        repos = frozenset(r.strip() for r in repositories if r.strip())
        if not repos:
            raise ValueError(f"user {username!r}: an empty repository list would grant nothing")
    return User(username, password, roles, repos)


def parse_user_spec(spec: str) -> User:
    """Parse `NAME:PASSWORD:ROLE[,ROLE...][@REPO[,REPO...]]`.

    Raises:
        ValueError: the spec is malformed (the message never contains the password).
    """
    username, sep, rest = spec.partition(":")
    password, sep2, role_text = rest.rpartition(":")
    if not sep or not sep2:
        raise ValueError(
            f"invalid --user for {username[:60]!r}: expected NAME:PASSWORD:ROLE[,ROLE...][@REPO[,REPO...]]"
        )
    role_part, at, repo_part = role_text.partition("@")
    roles = _roles(role_part.split(","), username)
    return _make_user(username, password, roles, repo_part.split(",") if at else None)


def users_from_json(data: Any) -> dict[str, User]:
    """Build users from parsed JSON: `{"users": [...]}` or a bare list of user objects.

    Raises:
        ValueError: a malformed entry, an unknown role or a duplicate user name.
    """
    entries = data.get("users") if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise ValueError('users file: expected {"users": [{"username", "password", "roles"}, ...]}')
    users: dict[str, User] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ValueError(f"users file: entry {index} is not an object")
        username = entry.get("username")
        password = entry.get("password")
        roles = entry.get("roles")
        repositories = entry.get("repositories")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ValueError(f"users file: entry {index} needs string 'username' and 'password'")
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ValueError(f"users file: user {username!r} needs 'roles', a list of strings")
        if repositories is not None and (
            not isinstance(repositories, list) or not all(isinstance(r, str) for r in repositories)
        ):
            raise ValueError(f"users file: user {username!r}: 'repositories' must be a list of strings")
        if username in users:
            raise ValueError(f"users file: duplicate user {username!r}")
        users[username] = _make_user(username, password, _roles(roles, username), repositories)
    return users


def load_users_file(path: Path) -> dict[str, User]:
    """Read users from a JSON file (see the module docstring).

    Raises:
        ValueError: the file is missing, too large, not JSON or malformed.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_USERS_FILE + 1)
    except OSError as exc:
        raise ValueError(f"cannot read users file {str(path)!r}: {exc.strerror}") from None
    if len(raw) > _MAX_USERS_FILE:
        raise ValueError(f"users file {str(path)!r} is larger than {_MAX_USERS_FILE} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        # Only the position, not the excerpt: the file holds passwords.
        where = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "encoding"
        raise ValueError(f"users file {str(path)!r} is not valid JSON ({where})") from None
    return users_from_json(data)


def add_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's auth options to `parser`.

    `--user` and `--users-file` imply `--auth`. The Entra ID secret may also come from `$CREG_ENTRA_SECRET`
    (better than a flag, which other local users can read from the process list).
    """
    group = parser.add_argument_group("authentication")
    group.add_argument(
        "--auth",
        action="store_true",
        help="require token auth (ACR-style Bearer challenges); implied by --user/--users-file",
    )
    group.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD:ROLES[@REPOS]",
        help="add a user, e.g. admin:pw:admin or ci:pw:pull,push@app/* (repeatable)",
    )
    group.add_argument("--users-file", type=Path, metavar="FILE", help='JSON file: {"users": [...]}')
    group.add_argument(
        "--anonymous-pull",
        action="store_true",
        help="allow pull, metadata reads and catalog listing without credentials (as ACR)",
    )
    group.add_argument("--token-ttl", type=int, default=300, metavar="SECONDS", help="access token lifetime")
    group.add_argument(
        "--refresh-token-ttl", type=int, default=3 * 3600, metavar="SECONDS", help="refresh token lifetime"
    )
    group.add_argument(
        "--entra-secret",
        default=None,
        metavar="SECRET",
        help=f"HS256 secret trusted Entra ID tokens are signed with (default: ${ENTRA_SECRET_ENV})",
    )
    group.add_argument(
        "--trust-any-entra-token",
        action="store_true",
        help="accept any well-formed Entra ID token without checking its signature (development only)",
    )


def auth_config_from_args(args: argparse.Namespace) -> AuthConfig | None:
    """Build an `AuthConfig` from parsed `add_auth_arguments` options; None means open mode.

    Raises:
        ValueError: bad users, a bad users file or a non-positive lifetime.
    """
    user_specs: list[str] = list(getattr(args, "user", None) or [])
    users_file: Path | None = getattr(args, "users_file", None)
    if not (getattr(args, "auth", False) or user_specs or users_file):
        return None
    users: dict[str, User] = load_users_file(users_file) if users_file else {}
    for spec in user_specs:
        user = parse_user_spec(spec)
        if user.username in users:
            raise ValueError(f"user {user.username!r} is defined twice")
        users[user.username] = user
    token_ttl = int(getattr(args, "token_ttl", 300))
    refresh_ttl = int(getattr(args, "refresh_token_ttl", 3 * 3600))
    if token_ttl <= 0 or refresh_ttl <= 0:
        raise ValueError("--token-ttl and --refresh-token-ttl must be positive")
    secret = getattr(args, "entra_secret", None) or os.environ.get(ENTRA_SECRET_ENV) or None
    return AuthConfig(
        users=users,
        anonymous_pull=bool(getattr(args, "anonymous_pull", False)),
        token_ttl=token_ttl,
        refresh_token_ttl=refresh_ttl,
        entra_secret=secret,
        trust_any_entra_token=bool(getattr(args, "trust_any_entra_token", False)),
    )
