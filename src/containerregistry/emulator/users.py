"""Emulator users from a users file, `$CREG_SERVE_USERS` or flags, and the auth options of `creg serve`.

Command-line arguments are readable by every local user (`ps`, /proc/<pid>/cmdline), so passwords
belong in a users file or the environment, not in `--user` (kept for throwaway use).

Users file, htpasswd style (`--users-file FILE`): one `NAME:HASH[:ROLE[,ROLE...][@REPO[,REPO...]]]`
per line, `#` comments; HASH is bcrypt (`htpasswd -nB NAME`, needs the `bcrypt` package) or
`$pbkdf2-sha256$...` (`creg serve --hash-password` reads a password on stdin and prints one). Without
roles a user gets `admin`, as any htpasswd user of CNCF Distribution may do everything::

    admin:$2y$05$...                                 # from htpasswd -nB admin
    ci:$pbkdf2-sha256$100000$...$...:pull,push@app/*

Users file, JSON (a file starting with `{` or `[`)::

    {"users": [
        {"username": "admin", "password_hash": "$2y$05$...", "roles": ["admin"]},
        {"username": "ci", "password": "...", "roles": ["pull", "push"], "repositories": ["app/*"]}
    ]}

Environment: `CREG_SERVE_USERS`, one `NAME:PASSWORD:ROLE[,ROLE...][@REPO[,REPO...]]` per line (CI
secrets usually arrive as environment variables; only the same user and root can read a process's
environment).

Flag: `--user NAME:PASSWORD:ROLE[,ROLE...][@REPO[,REPO...]]`, e.g. `--user ci:pw:pull,push@app/*`.
The password may contain ':' (the name ends at the first ':' and the roles start after the last one).
Roles: pull, push, delete, metadata_read, metadata_write, admin (`-` may stand for `_`).

Passwords and hashes never appear in messages, logs or reprs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from containerregistry.emulator.auth import ALL_ROLES, REFRESH_TOKEN_USERNAME, AuthConfig, User

__all__ = [
    "ENTRA_SECRET_ENV",
    "USERS_ENV",
    "add_auth_arguments",
    "auth_config_from_args",
    "load_users_file",
    "parse_user_spec",
    "users_from_env",
    "users_from_htpasswd",
    "users_from_json",
]

ENTRA_SECRET_ENV = "CREG_ENTRA_SECRET"
USERS_ENV = "CREG_SERVE_USERS"
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
    username: str,
    password: str,
    roles: frozenset[str],
    repositories: Iterable[str] | None,
    password_hash: str | None = None,
) -> User:
    if not username or any(ch.isspace() or ch == ":" for ch in username):
        raise ValueError(f"invalid user name {username[:60]!r}: it must be non-empty, without ':' or spaces")
    if username == REFRESH_TOKEN_USERNAME:
        raise ValueError(f"the user name {REFRESH_TOKEN_USERNAME} is reserved for refresh-token logins")
    if password_hash is not None:
        from ._passwords import validate_hash

        validate_hash(password_hash, username)
    elif not password:
        raise ValueError(f"user {username!r}: empty password")
    repos = None
    if repositories is not None:
        repos = frozenset(r.strip() for r in repositories if r.strip())
        if not repos:
            raise ValueError(f"user {username!r}: an empty repository list would grant nothing")
    return User(username, password, roles, repos, password_hash=password_hash)


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
        password_hash = entry.get("password_hash")
        roles = entry.get("roles")
        repositories = entry.get("repositories")
        if password is None and isinstance(password_hash, str):
            password = ""
        else:
            password_hash = None
        if not isinstance(username, str) or not isinstance(password, str):
            raise ValueError(
                f"users file: entry {index} needs string 'username' and 'password' (or 'password_hash')"
            )
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
        users[username] = _make_user(username, password, _roles(roles, username), repositories, password_hash)
    return users


def users_from_htpasswd(text: str, source: str = "users file") -> dict[str, User]:
    """Users from htpasswd-style lines `NAME:HASH[:ROLES[@REPOS]]` (see the module docstring).

    Raises:
        ValueError: a malformed line, an unsupported hash or a duplicate user (never showing a hash).
    """
    users: dict[str, User] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        username, sep, rest = line.partition(":")
        password_hash, _, role_text = rest.partition(":")
        if not sep or not password_hash:
            raise ValueError(f"{source}, line {number}: expected NAME:HASH[:ROLES[@REPOS]]")
        role_part, at, repo_part = (role_text or "admin").partition("@")
        if username in users:
            raise ValueError(f"{source}: duplicate user {username!r}")
        users[username] = _make_user(
            username,
            "",
            _roles(role_part.split(","), username),
            repo_part.split(",") if at else None,
            password_hash,
        )
    return users


def users_from_env(environ: Mapping[str, str] | None = None) -> dict[str, User]:
    """Users from `$CREG_SERVE_USERS`: one `NAME:PASSWORD:ROLES[@REPOS]` per line.

    Raises:
        ValueError: a malformed line or a duplicate user (never showing a password).
    """
    text = (os.environ if environ is None else environ).get(USERS_ENV, "")
    users: dict[str, User] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            user = parse_user_spec(line.strip())
        except ValueError as exc:
            raise ValueError(f"${USERS_ENV}: {exc}") from None
        if user.username in users:
            raise ValueError(f"${USERS_ENV}: duplicate user {user.username!r}")
        users[user.username] = user
    return users


def load_users_file(path: Path) -> dict[str, User]:
    """Read users from an htpasswd-style or JSON file (see the module docstring).

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
    if raw.lstrip()[:1] not in (b"{", b"["):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"users file {str(path)!r} is not UTF-8 text") from None
        return users_from_htpasswd(text, f"users file {str(path)!r}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        # Only the position, not the excerpt: the file holds passwords.
        where = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else "encoding"
        raise ValueError(f"users file {str(path)!r} is not valid JSON ({where})") from None
    return users_from_json(data)


def add_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's auth options to `parser`.

    `--user`, `--users-file` and `$CREG_SERVE_USERS` imply `--auth`. The Entra ID secret may also come from `$CREG_ENTRA_SECRET`
    (better than a flag, which other local users can read from the process list).
    """
    group = parser.add_argument_group("authentication")
    group.add_argument(
        "--auth",
        action="store_true",
        help=f"require token auth (ACR-style Bearer challenges); implied by --users-file, ${USERS_ENV}, --user",
    )
    group.add_argument(
        "--users-file",
        type=Path,
        metavar="FILE",
        help="the way to give users: htpasswd-style lines NAME:HASH[:ROLES[@REPOS]] (bcrypt from "
        "htpasswd -nB, or a hash from --hash-password; no ROLES = admin), or JSON "
        '{"users": [{"username", "password_hash", "roles"}, ...]}',
    )
    group.add_argument(
        "--hash-password",
        action=_HashPasswordAction,
        nargs=0,
        help="read a password from stdin, print a hash for --users-file and exit",
    )
    group.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD:ROLES[@REPOS]",
        help="add a user, e.g. ci:pw:pull,push@app/* (repeatable); for throwaway use only: "
        f"the password is visible in the process list (use --users-file or ${USERS_ENV}, one "
        "NAME:PASSWORD:ROLES per line)",
    )
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


class _HashPasswordAction(argparse.Action):
    """`--hash-password`: hash a password read from stdin (never from the command line) and exit."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None
    ) -> None:
        from ._passwords import hash_password

        if sys.stdin.isatty():
            import getpass

            password = getpass.getpass("password: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            parser.error("--hash-password: empty password on stdin")
        print(hash_password(password))
        parser.exit(0)


def auth_config_from_args(args: argparse.Namespace) -> AuthConfig | None:
    """Build an `AuthConfig` from parsed `add_auth_arguments` options; None means open mode.

    Raises:
        ValueError: bad users, a bad users file or a non-positive lifetime.
    """
    user_specs: list[str] = list(getattr(args, "user", None) or [])
    users_file: Path | None = getattr(args, "users_file", None)
    env_users = users_from_env()
    if not (getattr(args, "auth", False) or user_specs or users_file or env_users):
        return None
    users: dict[str, User] = load_users_file(users_file) if users_file else {}
    for name, user in env_users.items():
        if name in users:
            raise ValueError(f"user {name!r} is defined twice")
        users[name] = user
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
