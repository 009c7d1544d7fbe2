"""HTTP helpers of the emulator's token service: error bodies, `Basic`/`Bearer` header parsing, bounded
form and query reading, and the wrapper that turns unexpected bad input into a 400 (never a 500).
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from ._auth_scopes import Scope, ScopeError, parse_scopes

# Forms and query strings of the token service are tiny; anything bigger is a mistake or an attack.
_MAX_FORM_BYTES = 64 * 1024
_MAX_FIELDS = 200


def error_body(code: str, message: str, detail: Any = None) -> str:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": detail}]})


def json_error(
    exc_class: type[web.HTTPException], code: str, message: str, **kwargs: Any
) -> web.HTTPException:
    return exc_class(text=error_body(code, message), content_type="application/json", **kwargs)


def bad_request(message: str, code: str = "INVALID_REQUEST") -> web.HTTPException:
    return json_error(web.HTTPBadRequest, code, message)


def unauthorized(message: str) -> web.HTTPException:
    return json_error(web.HTTPUnauthorized, "UNAUTHORIZED", message)


def quote_safe(value: str) -> str:
    # Host headers come from the client: keep them from breaking out of the quoted challenge parameters.
    return "".join(ch for ch in value if ch.isprintable() and ch not in '"\\')


def parse_basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password


def bearer_token(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = value.strip()
    return token or None


def json_response(payload: Mapping[str, Any]) -> web.Response:
    return web.json_response(dict(payload), headers={"Cache-Control": "no-store"})


async def read_form(request: web.Request) -> dict[str, list[str]]:
    """Read an urlencoded POST body, bounded in size, into `{name: [values]}`."""
    if request.content_length is not None and request.content_length > _MAX_FORM_BYTES:
        raise json_error(
            web.HTTPRequestEntityTooLarge,
            "SIZE_INVALID",
            f"form body too large (limit {_MAX_FORM_BYTES} bytes)",
            max_size=_MAX_FORM_BYTES,
            actual_size=request.content_length,
        )
    ctype = request.content_type
    if ctype not in ("application/x-www-form-urlencoded", "application/octet-stream", ""):
        raise bad_request(f"unsupported Content-Type {ctype[:100]!r}: send application/x-www-form-urlencoded")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(_MAX_FORM_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > _MAX_FORM_BYTES:
            raise json_error(
                web.HTTPRequestEntityTooLarge,
                "SIZE_INVALID",
                f"form body too large (limit {_MAX_FORM_BYTES} bytes)",
                max_size=_MAX_FORM_BYTES,
                actual_size=size,
            )
    try:
        text = b"".join(chunks).decode("utf-8")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=_MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise bad_request("malformed form body: expected UTF-8 application/x-www-form-urlencoded") from None
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        form.setdefault(key, []).append(value)
    return form


def query_form(request: web.Request) -> dict[str, list[str]]:
    if len(request.query_string) > _MAX_FORM_BYTES:
        raise bad_request(f"query string too long (limit {_MAX_FORM_BYTES} bytes)")
    form: dict[str, list[str]] = {}
    for key, value in request.query.items():
        form.setdefault(key, []).append(value)
    return form


def first(form: Mapping[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def scopes_from(form: Mapping[str, list[str]]) -> list[Scope]:
    try:
        return parse_scopes(form.get("scope", []))
    except ScopeError as exc:
        raise bad_request(str(exc), "SCOPE_INVALID") from None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def never_500(handler: Handler) -> Handler:
    """Turn anything unexpected from bad input into a 400 with an OCI body, never a traceback."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except (ValueError, TypeError, KeyError, UnicodeError) as exc:
            raise bad_request(f"malformed request ({type(exc).__name__})") from None

    return wrapped
