"""JSON from clients: `loads_json` turns nesting too deep to parse into a `ValueError`, never a 500.

`json.loads` recurses once per nesting level and raises `RecursionError` (not a `ValueError`) on a
document like `[[[[...]]]]` a few thousand levels deep; uncaught, that became a 500 with a traceback in
the log. Nothing a registry stores (manifests, image configs, ACR attribute bodies) needs more than a
handful of levels, so documents nested deeper than `MAX_DEPTH` are refused as well, before the
interpreter's recursion limit is anywhere near.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "JsonTooDeepError", "loads_json"]

#: Deepest nesting accepted (OCI manifests need 4 levels; image configs rarely more than 6).
MAX_DEPTH = 200

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


class JsonTooDeepError(ValueError):
    """The JSON document nests deeper than `MAX_DEPTH` levels."""


def _depth_exceeds(body: bytes, limit: int) -> bool:
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', body)):
        if match[0] in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads_json(body: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, refusing documents nested deeper than `max_depth`.

    Raises:
        JsonTooDeepError: nested too deeply (a `ValueError`, like any other malformed JSON).
        ValueError, UnicodeDecodeError: not JSON.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if _depth_exceeds(raw, max_depth):
        raise JsonTooDeepError(f"the JSON document nests deeper than {max_depth} levels")
    try:
        return json.loads(raw)
    except RecursionError:
        raise JsonTooDeepError("the JSON document nests too deeply") from None
