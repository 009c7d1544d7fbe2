"""Token scopes of the emulator's auth: which scopes it supports, on top of `protocol.scopes`' grammar.

The scope model and its grammar are the protocol's (`containerregistry.protocol.scopes`), shared with the
clients; this module owns what the emulator accepts of them (repository actions, the one registry scope
`registry:catalog:*`, valid repository names, a cap on how many) and how the `scope` parameters of a
token request merge. Pure: no I/O, no tokens, no aiohttp.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..exceptions import InvalidReferenceError
from ..protocol import scopes as _protocol
from ..protocol.reference import validate_repository
from ..protocol.scopes import ScopeError, parse_scope

__all__ = ["MAX_SCOPES", "REPOSITORY_ACTIONS", "Scope", "ScopeError", "parse_scopes"]

REPOSITORY_ACTIONS: tuple[str, ...] = ("pull", "push", "delete", "metadata_read", "metadata_write")
# The most scopes one token request may ask for.
MAX_SCOPES = 50


class Scope(_protocol.Scope):
    """One `type:name:actions` scope the emulator supports (a `protocol.scopes.Scope`).

    Attributes:
        type: `repository` or `registry`.
        name: repository name, or `catalog`.
        actions: requested actions, in the order given, without duplicates.
    """

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse (the protocol's grammar, strictly) and validate one scope string.

        Raises:
            ScopeError: the string is malformed, or names an unknown type, action or invalid repository.
        """
        scope = parse_scope(text, strict=True)
        shown = text if len(text) <= 100 else text[:97] + "..."
        actions = scope.actions
        if scope.type == "repository":
            try:
                validate_repository(scope.name)
            except InvalidReferenceError as exc:
                raise ScopeError(f"invalid scope {shown!r}: {exc}") from None
            if "*" in actions:
                actions = REPOSITORY_ACTIONS
            unknown = [a for a in actions if a not in REPOSITORY_ACTIONS]
            if unknown:
                raise ScopeError(
                    f"invalid scope {shown!r}: unknown action(s) {unknown}; known: {list(REPOSITORY_ACTIONS)}"
                )
        elif scope.type == "registry":
            if scope.name != "catalog" or actions != ("*",):
                raise ScopeError(f"invalid scope {shown!r}: the only registry scope is 'registry:catalog:*'")
        else:
            raise ScopeError(f"invalid scope {shown!r}: unknown resource type {scope.type!r}")
        return cls(scope.type, scope.name, actions)


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
