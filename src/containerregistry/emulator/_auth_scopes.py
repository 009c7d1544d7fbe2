"""Token scopes of the emulator's auth: the `type:name:actions` grammar (`Scope`, `parse_scopes`).

Owns what a scope string may say (repository actions, the one registry scope `registry:catalog:*`) and
how the `scope` parameters of a token request merge. Pure: no I/O, no tokens, no aiohttp.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..exceptions import InvalidReferenceError
from ..protocol.reference import validate_repository

__all__ = ["MAX_SCOPES", "REPOSITORY_ACTIONS", "Scope", "ScopeError", "parse_scopes"]

REPOSITORY_ACTIONS: tuple[str, ...] = ("pull", "push", "delete", "metadata_read", "metadata_write")
# The most scopes one token request may ask for.
MAX_SCOPES = 50


class ScopeError(ValueError):
    """A malformed or unsupported scope string."""


@dataclass(frozen=True)
class Scope:
    """One `type:name:actions` scope.

    Attributes:
        type: `repository` or `registry`.
        name: repository name, or `catalog`.
        actions: requested actions, in the order given, without duplicates.
    """

    type: str
    name: str
    actions: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse and validate one scope string.

        The name may itself contain ':' (`host:port/app`), so the type ends at the first ':' and the
        actions start after the last one.

        Raises:
            ScopeError: the string is malformed, or names an unknown type, action or invalid repository.
        """
        shown = text if len(text) <= 100 else text[:97] + "..."
        rtype, sep, rest = text.partition(":")
        name, sep2, action_text = rest.rpartition(":")
        if not sep or not sep2 or not rtype or not name or not action_text:
            raise ScopeError(f"malformed scope {shown!r}: expected 'type:name:action[,action]'")
        actions = tuple(dict.fromkeys(a for a in action_text.split(",")))
        if "" in actions:
            raise ScopeError(f"malformed scope {shown!r}: empty action")
        if rtype == "repository":
            try:
                validate_repository(name)
            except InvalidReferenceError as exc:
                raise ScopeError(f"invalid scope {shown!r}: {exc}") from None
            if "*" in actions:
                actions = REPOSITORY_ACTIONS
            unknown = [a for a in actions if a not in REPOSITORY_ACTIONS]
            if unknown:
                raise ScopeError(
                    f"invalid scope {shown!r}: unknown action(s) {unknown}; known: {list(REPOSITORY_ACTIONS)}"
                )
        elif rtype == "registry":
            if name != "catalog" or actions != ("*",):
                raise ScopeError(f"invalid scope {shown!r}: the only registry scope is 'registry:catalog:*'")
        else:
            raise ScopeError(f"invalid scope {shown!r}: unknown resource type {rtype!r}")
        return cls(rtype, name, actions)

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Parse `scope` parameters: each may hold several space-separated scopes.

    Scopes for the same resource are merged (actions unioned, first-seen order kept).

    Raises:
        ScopeError: any scope is malformed, or there are too many.
    """
    merged: dict[tuple[str, str], list[str]] = {}
    count = 0
    for value in values:
        for text in value.split():
            count += 1
            if count > MAX_SCOPES:
                raise ScopeError(f"too many scopes (the limit is {MAX_SCOPES})")
            scope = Scope.parse(text)
            actions = merged.setdefault((scope.type, scope.name), [])
            actions.extend(a for a in scope.actions if a not in actions)
    return [Scope(t, n, tuple(a)) for (t, n), a in merged.items()]
