"""``WWW-Authenticate`` challenges and token scopes (PROTOCOL.md section 4). Pure: no I/O.

A challenge header (RFC 7235) holds one or more challenges, each a scheme followed by either
``name=value`` parameters (values are tokens or quoted strings with backslash escapes) or a
token68. Commas separate both parameters and challenges, so the parser reads tokens and looks
ahead to tell which is which. Malformed input never raises: what cannot be read is dropped.

The scope model and grammar (``type:name:action[,action]``) are `protocol.scopes`'; they are
re-exported here, where the challenge's ``scope`` parameter is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .scopes import Scope, ScopeError, format_scope, merge_scopes, parse_scope, parse_scopes, scopes_cover

__all__ = [
    "Challenge",
    "Scope",
    "ScopeError",
    "format_scope",
    "merge_scopes",
    "parse_scope",
    "parse_scopes",
    "parse_www_authenticate",
    "scopes_cover",
    "select_challenge",
]

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68 = frozenset("-._~+/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WS = " \t"


@dataclass(frozen=True)
class Challenge:
    """One authentication challenge.

    Attributes:
        scheme: the auth scheme, lowercased (``"bearer"``, ``"basic"``).
        params: parameters with lowercased names; a repeated ``scope`` is joined with spaces,
            other repeated names keep their first value.
        token68: the token68 form (``Negotiate abc==``), when the challenge used it.
    """

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        """The ``realm`` parameter, if any."""
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        """The ``service`` parameter, if any."""
        return self.params.get("service")

    @property
    def scopes(self) -> tuple[str, ...]:
        """The space-separated entries of the ``scope`` parameter."""
        return tuple(self.params.get("scope", "").split())


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def skip_ws_and_commas(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t,":
            self.pos += 1

    def read_token(self, chars: frozenset[str] = _TCHAR) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1
        return self.text[start : self.pos]

    def read_bare(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in " \t,":
            self.pos += 1
        return self.text[start : self.pos]

    def read_quoted(self) -> str:
        # Called at the opening quote. An unterminated string takes the rest of the input.
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif ch == '"':
                break
            else:
                out.append(ch)
        return "".join(out)

    def skip_to_comma(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] != ",":
            if self.text[self.pos] == '"':
                self.read_quoted()
            else:
                self.pos += 1

    def param_ahead(self) -> bool:
        """True if the input continues with ``token BWS "="`` (an auth-param, not a new challenge)."""
        saved = self.pos
        try:
            if not self.read_token():
                return False
            self.skip_ws()
            if self.peek() != "=":
                return False
            # "token==" or "token=" followed by a separator is a token68, not a parameter.
            self.pos += 1
            return self.peek() != "="
        finally:
            self.pos = saved


def _parse_one_header(text: str) -> list[Challenge]:
    reader = _Reader(text)
    challenges: list[Challenge] = []
    while True:
        reader.skip_ws_and_commas()
        if reader.at_end():
            return challenges
        scheme = reader.read_token()
        if not scheme or reader.peek() not in ("", " ", "\t", ","):
            reader.skip_to_comma()  # not a challenge: drop this list element
            continue
        params: dict[str, str] = {}
        token68: str | None = None
        reader.skip_ws()
        if not reader.param_ahead():
            saved = reader.pos
            candidate = reader.read_token(_TOKEN68)
            while reader.peek() == "=":
                candidate += "="
                reader.pos += 1
            reader.skip_ws()
            if candidate and reader.peek() in ("", ","):
                token68 = candidate
            else:
                reader.pos = saved
        else:
            while reader.param_ahead():
                name = reader.read_token().lower()
                reader.skip_ws()
                reader.pos += 1  # "="
                reader.skip_ws()
                # Unquoted values should be tokens, but servers send URLs and scopes bare: read to a separator.
                value = reader.read_quoted() if reader.peek() == '"' else reader.read_bare()
                if name == "scope" and name in params:
                    params[name] = f"{params[name]} {value}".strip()
                else:
                    params.setdefault(name, value)
                reader.skip_ws()
                if reader.peek() == ",":
                    reader.skip_ws_and_commas()
                elif not reader.at_end():
                    reader.skip_to_comma()  # junk after a value: skip to the next element
                    reader.skip_ws_and_commas()
        challenges.append(Challenge(scheme.lower(), params, token68))


def parse_www_authenticate(value: str | Iterable[str]) -> list[Challenge]:
    """Parse one or several ``WWW-Authenticate`` header values into challenges, in order.

    Args:
        value: a header value, or the values of several ``WWW-Authenticate`` headers.

    Returns:
        The challenges found; an empty list for empty or unreadable input. Never raises.
    """
    values = [value] if isinstance(value, str) else list(value)
    challenges: list[Challenge] = []
    for item in values:
        if isinstance(item, str):
            challenges.extend(_parse_one_header(item))
    return challenges


def select_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """The challenge a registry client answers: the first Bearer one, else the first Basic one, else None."""
    found = list(challenges)
    return next((c for c in found if c.scheme == "bearer"), None) or next(
        (c for c in found if c.scheme == "basic"), None
    )
