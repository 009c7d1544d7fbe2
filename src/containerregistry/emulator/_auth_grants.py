"""Grants of the emulator's auth: users and roles -> the actions an identity is granted.

Owns `User` (roles, repository restrictions), the `Identity` a request or token stands for, `grant`
(requested scope ∩ what the roles allow, ACR-style), what `anonymous_pull` lets through without
credentials, and whether a token's `access` claim covers a need. Pure: no I/O, no tokens, no aiohttp.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from ._auth_scopes import REPOSITORY_ACTIONS, Scope

__all__ = ["ALL_ROLES", "Identity", "Need", "User", "anonymous_allows", "covers", "grant"]

ALL_ROLES: frozenset[str] = frozenset({*REPOSITORY_ACTIONS, "admin"})

# What a request needs: (resource type, resource name, actions), as `authorize` takes them.
Need = tuple[str, str, tuple[str, ...]]


@dataclass
class User:
    """An emulator user.

    Attributes:
        username: the login name.
        password: the password (never shown in `repr`).
        roles: a subset of `ALL_ROLES`; `admin` grants everything, other roles grant exactly the action
            of the same name.
        repositories: when not None, the roles apply only to repositories matching one of these names or
            `fnmatch` patterns (`app/*`; `*` also matches `/`). Restricted users cannot list the catalog.
        password_hash: instead of `password` (then ""), a bcrypt or `$pbkdf2-sha256$` hash of it (see
            `containerregistry.emulator.users`); never shown in `repr`.
    """

    username: str
    password: str = field(repr=False)
    roles: frozenset[str] = frozenset()
    repositories: frozenset[str] | None = None
    password_hash: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.roles = frozenset(self.roles)
        unknown = self.roles - ALL_ROLES
        if unknown:
            raise ValueError(
                f"user {self.username!r}: unknown role(s) {sorted(unknown)}; known roles: {sorted(ALL_ROLES)}"
            )
        if self.repositories is not None:
            self.repositories = frozenset(self.repositories)


@dataclass(frozen=True)
class Identity:
    """Who a request or token stands for: a user, an Entra ID identity, anonymous, or anyone (open mode)."""

    subject: str
    kind: str  # "user", "entra", "anonymous", "open"
    roles: frozenset[str]
    repositories: frozenset[str] | None = None

    def allows_repository(self, name: str) -> bool:
        if self.repositories is None:
            return True
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.repositories)


def grant(identity: Identity, scope: Scope, *, anonymous_pull: bool) -> tuple[str, ...]:
    """The actions of `scope` that `identity` may have (ACR-style: exactly the roles' actions)."""
    if identity.kind == "open":
        return scope.actions
    if "admin" in identity.roles:
        if scope.type == "registry":
            return scope.actions if identity.repositories is None else ()
        return scope.actions if identity.allows_repository(scope.name) else ()
    if identity.kind == "anonymous":
        if anonymous_pull and scope.type == "repository":
            return tuple(a for a in scope.actions if a in ("pull", "metadata_read"))
        if anonymous_pull and scope.type == "registry":
            return scope.actions  # ACR's anonymous token lists the catalog too
        return ()
    if scope.type == "registry":
        # Listing the catalog reveals every repository name: only unrestricted readers may.
        if identity.repositories is None and identity.roles & {"pull", "metadata_read"}:
            return scope.actions
        return ()
    if not identity.allows_repository(scope.name):
        return ()
    return tuple(a for a in scope.actions if a in identity.roles)


def anonymous_allows(resource_type: str, resource_name: str, actions: tuple[str, ...]) -> bool:
    """Whether `anonymous_pull` lets a request without credentials have this: pull and metadata_read on
    repositories, and listing the catalog (as ACR's anonymous token, which has `registry:catalog:*`)."""
    if resource_type == "registry":
        return resource_name == "catalog"
    return (
        resource_type == "repository"
        and bool(actions)
        and all(a in ("pull", "metadata_read") for a in actions)
    )


def covers(access: Any, resource_type: str, resource_name: str, actions: tuple[str, ...]) -> bool:
    """Whether an access claim grants every needed action (`""` needs only a valid token)."""
    if not resource_type:
        return True
    if not isinstance(access, list):
        return False
    have: set[str] = set()
    for entry in access:
        if (
            isinstance(entry, dict)
            and entry.get("type") == resource_type
            and entry.get("name") == resource_name
            and isinstance(entry.get("actions"), list)
        ):
            have.update(a for a in entry["actions"] if isinstance(a, str))
    return "*" in have or all(a in have for a in actions)
