"""Helpers shared by the OCI and ACR handlers: query parsing, paging, locks, bounded body reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ..exceptions import InvalidReferenceError
from ..protocol.reference import validate_digest, validate_repository, validate_tag
from ._errors import OciError, disallowed
from ._storage import ATTRIBUTES, Attributes

__all__ = [
    "MAX_PAGE",
    "attributes_json",
    "authorize_all",
    "check_delete",
    "check_read",
    "check_write",
    "is_valid_tag",
    "link_header",
    "page",
    "parse_n",
    "read_limited",
    "refuse_ignored_body",
    "require_digest",
    "require_name",
    "require_tag",
]

# Largest page a client may ask for (Distribution refuses `n` above its maxentries the same way).
MAX_PAGE = 10000


async def authorize_all(
    auth: Any, request: web.Request, needs: Sequence[tuple[str, str, tuple[str, ...]]]
) -> None:
    """Authorize a request that needs several scopes (a cross-repository mount).

    The emulator's auth layers challenge once naming every scope (`authorize_all`); an auth object that
    has only `authorize` is asked once per scope.
    """
    combined = getattr(auth, "authorize_all", None)
    if combined is not None:
        await combined(request, needs)
        return
    for resource_type, resource_name, actions in needs:
        await auth.authorize(request, resource_type, resource_name, actions)


def require_name(name: str) -> str:
    try:
        return validate_repository(name)
    except InvalidReferenceError as exc:
        raise OciError(400, "NAME_INVALID", str(exc), {"name": name[:300]}) from None


def require_digest(digest: str) -> str:
    try:
        return validate_digest(digest)
    except InvalidReferenceError as exc:
        raise OciError(400, "DIGEST_INVALID", str(exc)) from None


def is_valid_tag(tag: str) -> bool:
    try:
        validate_tag(tag)
    except InvalidReferenceError:
        return False
    return True


def require_tag(tag: str) -> str:
    try:
        return validate_tag(tag)
    except InvalidReferenceError as exc:
        raise OciError(400, "TAG_INVALID", str(exc)) from None


def parse_n(request: web.Request) -> int | None:
    """The `n` query parameter: None when absent, else an int in [0, MAX_PAGE]."""
    values = request.query.getall("n", [])
    if not values:
        return None
    text = values[-1]
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) > MAX_PAGE:
        raise OciError(
            400,
            "PAGINATION_NUMBER_INVALID",
            f"invalid number of results requested: n must be an integer from 0 to {MAX_PAGE}",
            {"n": text[:50]},
        )
    return int(text)


def page(items: Sequence[str], n: int | None, last: str | None) -> tuple[list[str], bool]:
    """Items after `last` (in the given order, or lexically when `last` is not an item), at most n."""
    if last:
        if last in items:
            start = list(items).index(last) + 1
        else:
            start = next((i for i, item in enumerate(items) if item > last), len(items))
        items = items[start:]
    if n is None:
        return list(items), False
    return list(items[:n]), len(items) > n


def link_header(path: str, params: dict[str, str]) -> str:
    """A relative `Link` to the next page, e.g. `</v2/_catalog?n=2&last=b>; rel="next"`."""
    return f'<{path}?{urlencode(params)}>; rel="next"'


def attributes_json(row: Attributes) -> dict[str, bool]:
    return {name: bool(getattr(row, column)) for name, column in ATTRIBUTES.items()}


def check_write(*rows: Attributes | None) -> None:
    """Refuse to overwrite anything whose writeEnabled is false (405, like ACR)."""
    if any(row is not None and not row.write_enabled for row in rows):
        raise disallowed()


def check_delete(*rows: Attributes | None) -> None:
    """Deletes need both deleteEnabled and writeEnabled on every object involved."""
    if any(row is not None and not (row.delete_enabled and row.write_enabled) for row in rows):
        raise disallowed()


def check_read(*rows: Attributes | None) -> None:
    if any(row is not None and not row.read_enabled for row in rows):
        raise disallowed()


# Requests whose body the endpoint ignores may carry a little (some clients send `{}`), not more.
IGNORED_BODY_LIMIT = 64 << 10


def refuse_ignored_body(request: web.Request) -> None:
    """413 for a large body sent to an endpoint that does not read one (it would only be drained)."""
    length = request.content_length
    if length is not None and length > IGNORED_BODY_LIMIT:
        raise OciError(413, "SIZE_INVALID", f"this endpoint takes no request body ({length} bytes sent)")


async def read_limited(request: web.Request, limit: int, what: str) -> bytes:
    """Read a whole body of at most `limit` bytes; refuse larger ones from Content-Length unread."""
    length = request.content_length
    if length is not None and length > limit:
        raise OciError(413, "SIZE_INVALID", f"{what} of {length} bytes is above the limit of {limit} bytes")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = await request.content.read(min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise OciError(413, "SIZE_INVALID", f"{what} is above the limit of {limit} bytes")
    return b"".join(chunks)


def json_attributes_body(body: Any) -> dict[str, bool]:
    """Validate a PATCH body of changeable attributes (partial)."""
    if not isinstance(body, dict):
        raise OciError(400, "BAD_REQUEST", "the body must be a JSON object of changeable attributes")
    result: dict[str, bool] = {}
    for key, value in body.items():
        if key not in ATTRIBUTES:
            # ACR has more attributes (teleportEnabled); ignoring unknown ones keeps newer clients working.
            continue
        if not isinstance(value, bool):
            raise OciError(400, "BAD_REQUEST", f"{key} must be true or false")
        result[key] = value
    return result


__all__ += ["json_attributes_body"]
