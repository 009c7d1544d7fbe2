"""Token scopes: the one scope model of the clients and the emulator (PROTOCOL.md section 4). Pure: no I/O.

A scope is `type:name:action[,action]` (`repository:app:pull,push`, `registry:catalog:*`), as in the
Docker token specification. The name may contain `host:port` (`repository:localhost:5000/app:pull`), so
the type ends at the first `:` and the actions start after the last one. Scope lists are separated by
whitespace.

`parse_scope` is the grammar. A client reads what a registry sends leniently (an empty action in
`pull,,push` is dropped and `repository:app:` has no actions), while the emulator, which answers token
requests, refuses both (`strict=True`); which actions and resource types a registry supports is the
emulator's own rule, on top of this grammar (`emulator/_auth_scopes.py`). The token cache's set
operations on scope lists (`merge_scopes`, `scopes_cover`) live here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Scope",
    "ScopeError",
    "format_scope",
    "merge_scopes",
    "parse_scope",
    "parse_scopes",
    "scopes_cover",
]

_SHOWN = 100


class ScopeError(ValueError):
    """A malformed scope string (or, in the emulator, one naming what it does not support)."""


@dataclass(frozen=True)
class Scope:
    """A token scope `type:name:actions` (`repository:app:pull,push`, `registry:catalog:*`).

    Attributes:
        type: the resource type (`repository`, `registry`, `repository(plugin)`).
        name: the resource name (a repository, `catalog`); may contain `host:port`.
        actions: the actions, in the order given, without duplicates.
    """

    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return format_scope(self)


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def parse_scope(text: str, *, strict: bool = False) -> Scope:
    """Parse `type:name:action[,action]`; the name may itself contain `:` (`host:port`).

    Surrounding whitespace is ignored; whitespace inside is not part of any scope. Repeated actions are
    kept once, in first-seen order.

    Args:
        text: one scope.
        strict: refuse an empty action (`pull,,push`) and a scope without actions (`repository:app:`);
            without it, empty actions are dropped.

    Raises:
        ScopeError: the text does not have a type, a name and an actions part (or, with `strict`, has
            an empty action).
    """
    text = text.strip()
    kind, sep1, rest = text.partition(":")
    name, sep2, action_text = rest.rpartition(":")
    if (
        not (sep1 and sep2 and kind and name)
        or any(c.isspace() for c in text)
        or (strict and not action_text)
    ):
        raise ScopeError(f"malformed scope {_shown(text)!r}: expected 'type:name:action[,action]'")
    split = action_text.split(",") if action_text else []
    if strict and "" in split:
        raise ScopeError(f"malformed scope {_shown(text)!r}: empty action")
    return Scope(kind, name, tuple(dict.fromkeys(a for a in split if a)))


def parse_scopes(values: Iterable[str] | str) -> list[Scope]:
    """Parse whitespace-separated scope lists leniently, skipping entries that are not scopes."""
    items = [values] if isinstance(values, str) else list(values)
    out: list[Scope] = []
    for item in items:
        for part in item.split():
            try:
                out.append(parse_scope(part))
            except ScopeError:
                continue
    return out


def format_scope(scope: Scope) -> str:
    """Format a scope back to `type:name:action,action`."""
    return f"{scope.type}:{scope.name}:{','.join(scope.actions)}"


def merge_scopes(existing: Iterable[str], new: Iterable[str]) -> tuple[str, ...]:
    """Union of two scope lists: actions on the same (type, name) are merged.

    Returns:
        Sorted scope strings (a stable key for token caches); unparseable entries are dropped.
    """
    merged: dict[tuple[str, str], list[str]] = {}
    for scope in [*parse_scopes(list(existing)), *parse_scopes(list(new))]:
        actions = merged.setdefault((scope.type, scope.name), [])
        actions.extend(a for a in scope.actions if a not in actions)
    return tuple(sorted(format_scope(Scope(t, n, tuple(sorted(a)))) for (t, n), a in merged.items()))


def scopes_cover(granted: Iterable[str], requested: Iterable[str]) -> bool:
    """True if every action of every requested scope is among the granted ones (`*` grants all)."""
    held: dict[tuple[str, str], set[str]] = {}
    for scope in parse_scopes(list(granted)):
        held.setdefault((scope.type, scope.name), set()).update(scope.actions)
    for scope in parse_scopes(list(requested)):
        actions = held.get((scope.type, scope.name))
        if actions is None:
            return False
        if "*" not in actions and not set(scope.actions) <= actions:
            return False
    return True
