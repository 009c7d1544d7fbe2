"""Pure HTTP helpers shared by the clients and auth: headers, URLs and error bodies. No I/O.

Everything here takes strings and bytes and returns values; nothing raises on a server's garbage
except where documented (a malformed header is an answer the caller must be able to survive).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from ..exceptions import (
    ClientAuthenticationError,
    ErrorDetail,
    HttpResponseError,
    OperationNotAllowedError,
    PermissionDeniedError,
    ResourceNotFoundError,
    TooManyRequestsError,
)
from .challenge import parse_www_authenticate

__all__ = [
    "MAX_ERROR_BODY",
    "add_query",
    "error_from_response",
    "join_location",
    "parse_content_length",
    "parse_content_range",
    "range_answer_problem",
    "split_ranges",
    "parse_error_body",
    "parse_link_next",
    "parse_retry_after",
    "parse_upload_range",
    "redact_url",
]

#: Only this much of an error body is ever looked at: a proxy may answer with megabytes of HTML.
MAX_ERROR_BODY = 64 * 1024

# Longest registry-provided text copied into an exception message, and how many error entries are shown.
_MAX_TEXT = 200
_MAX_SHOWN_ERRORS = 3

_ERROR_CLASSES: dict[int, type[HttpResponseError]] = {
    401: ClientAuthenticationError,
    403: PermissionDeniedError,
    404: ResourceNotFoundError,
    405: OperationNotAllowedError,
    429: TooManyRequestsError,
}

# re.ASCII: `\d` alone also matches other scripts' digits ("٣"), which int() accepts, `\s` other spaces, and
# IGNORECASE alone lets U+017F (long s) stand for "s". A header is ASCII text.
_UPLOAD_RANGE_RE = re.compile(r"(?:bytes[ =])?\s*(\d+)\s*-\s*(-1|\d+)", re.IGNORECASE | re.ASCII)
_CONTENT_RANGE_RE = re.compile(r"bytes[ =]\s*(\d+)\s*-\s*(\d+)\s*/\s*(\d+|\*)", re.IGNORECASE | re.ASCII)
# RFC 9110 section 10.2.3: delay-seconds is 1*DIGIT (ASCII digits: `\d` would also take "٣"). A fraction
# ("1.5") and a leading "+" are tolerated, as seen in the wild; a sign "-", an exponent, "_" or any other
# text is not a delay (and then not an HTTP-date either), so the value is invalid.
_DELAY_SECONDS_RE = re.compile(r"\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for httpx.Headers and plain dicts alike."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


def _split_links(header: str) -> list[tuple[str, dict[str, str]]]:
    """Split an RFC 8288 Link header into (target, params) pairs; stops at the first malformed link."""
    links: list[tuple[str, dict[str, str]]] = []
    pos, end = 0, len(header)
    while pos < end:
        while pos < end and header[pos] in " \t,":
            pos += 1
        if pos >= end:
            break
        if header[pos] != "<":
            break
        close = header.find(">", pos + 1)
        if close == -1:
            break
        target = header[pos + 1 : close].strip()
        pos = close + 1
        params: dict[str, str] = {}
        # Parameters: `; name=value` or `; name="quoted, value"` until a top-level comma.
        while pos < end:
            while pos < end and header[pos] in " \t":
                pos += 1
            if pos >= end or header[pos] == ",":
                break
            if header[pos] != ";":
                return links
            pos += 1
            while pos < end and header[pos] in " \t":
                pos += 1
            name_start = pos
            while pos < end and header[pos] not in "=;, \t":
                pos += 1
            name = header[name_start:pos].lower()
            while pos < end and header[pos] in " \t":
                pos += 1
            value = ""
            if pos < end and header[pos] == "=":
                pos += 1
                while pos < end and header[pos] in " \t":
                    pos += 1
                if pos < end and header[pos] == '"':
                    pos += 1
                    chars: list[str] = []
                    while pos < end and header[pos] != '"':
                        if header[pos] == "\\" and pos + 1 < end:
                            pos += 1
                        chars.append(header[pos])
                        pos += 1
                    if pos >= end:
                        return links  # unterminated quoted string
                    pos += 1
                    value = "".join(chars)
                else:
                    value_start = pos
                    while pos < end and header[pos] not in ";,":
                        pos += 1
                    value = header[value_start:pos].strip()
            # RFC 8288: only the first occurrence of a parameter counts.
            if name and name not in params:
                params[name] = value
        links.append((target, params))
    return links


def parse_link_next(link_header: str | None, base_url: str) -> str | None:
    """The URL of the next page from a `Link` header, or None on the last page.

    Understands RFC 8288 headers with several links (`<a>; rel="prev", <b>; rel="next"`), quoted and
    unquoted parameters and space-separated relation types. Relative targets (ACR answers
    `</acr/v1/_catalog?last=x&n=2>; rel="next"`) are resolved against `base_url`.

    Args:
        link_header: the header value (several `Link` headers may be joined with ", ").
        base_url: the URL of the request that returned the header.

    Returns:
        An absolute http(s) URL, or None when there is no next link or the header is garbage.
    """
    if not link_header:
        return None
    for target, params in _split_links(link_header):
        relations = params.get("rel", "").lower().split()
        if "next" not in relations or not target:
            continue
        try:
            resolved = urljoin(base_url, target)
            parts = urlsplit(resolved)
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None
        return resolved
    return None


def parse_upload_range(value: str | None, *, sent: int | None = None) -> int | None:
    """How many bytes an upload session holds, from the `Range: 0-<end>` header of a PATCH or status GET.

    `<end>` is the inclusive offset of the last byte held, so `0-99` means 100 bytes.

    `0-0` is ambiguous: it means "one byte", but Distribution (and registries copying it) also answer
    `0-0` for an empty session, where `0--1` would be exact. Empty sessions are by far the common case
    (a status check right after POST), so `0-0` returns 0 unless the caller says it has sent exactly one
    byte (`sent=1`), the only case where one byte is a consistent answer. A client that has sent more than
    one byte and reads `0-0` cannot tell 0 from 1 held bytes; it should start a new session rather than
    guess, since resuming from the wrong offset corrupts the blob (the final digest check would refuse it).

    Args:
        value: the header value; a `bytes=` prefix is tolerated.
        sent: how many bytes the client has sent in this session, used only to read `0-0`.

    Returns:
        The number of bytes held, or None when the header is absent or malformed (including a start
        other than 0, which no registry should send).
    """
    if value is None:
        return None
    match = _UPLOAD_RANGE_RE.fullmatch(value.strip())
    if not match or int(match.group(1)) != 0:
        return None
    last = int(match.group(2))
    if last == -1:
        return 0
    if last == 0:
        return 1 if sent == 1 else 0
    return last + 1


def parse_content_length(value: str | None) -> int | None:
    """A `Content-Length` header as a number, or None when it is absent or not 1*DIGIT (RFC 9110 8.6).

    ASCII digits only: `str.isdigit()` also takes "²" (latin-1 0xB2, which `int()` refuses with a
    ValueError) and other scripts' digits (which `int()` reads). Surrounding blanks are ignored. Never raises.
    """
    if value is None:
        return None
    text = value.strip(" \t")
    return int(text) if text and text.isascii() and text.isdigit() else None


def parse_content_range(value: str) -> tuple[int, int, int | None]:
    """Parse a `Content-Range: bytes <first>-<last>/<total>` response header (`<total>` may be `*`).

    Returns:
        `(first, last, total)`; both offsets inclusive; total is None for `*`.

    Raises:
        ValueError: the header is malformed or inconsistent (`last < first`, `last >= total`),
            including the unsatisfied form `bytes */<total>`.
    """
    if not isinstance(value, str):
        raise ValueError(f"invalid Content-Range {value!r}: expected 'bytes <first>-<last>/<total>'")
    match = _CONTENT_RANGE_RE.fullmatch(value.strip())
    if not match:
        raise ValueError(f"invalid Content-Range {value[:80]!r}: expected 'bytes <first>-<last>/<total>'")
    first, last = int(match.group(1)), int(match.group(2))
    total = None if match.group(3) == "*" else int(match.group(3))
    if last < first:
        raise ValueError(f"invalid Content-Range {value!r}: last byte {last} before first byte {first}")
    if total is not None and last >= total:
        raise ValueError(f"invalid Content-Range {value!r}: last byte {last} beyond total size {total}")
    return first, last, total


def split_ranges(start: int, end: int, size: int) -> list[tuple[int, int]]:
    """`[start, end)` in pieces of `size` bytes (the last may be shorter), each as `(start, end)`."""
    return [(offset, min(offset + size, end)) for offset in range(start, end, size)]


def range_answer_problem(
    status: int, content_range: str, start: int, end: int, size: int | None
) -> str | None:
    """Why an answer to `Range: bytes=<start>-<end - 1>` of a `size`-byte blob does not serve exactly those
    bytes (`the registry ...` completes the sentence), or None when it does: a 206 whose `Content-Range`
    (the header's value, "" when absent) names that range and that total."""
    if status != 206:
        return f"answered a range request with {status}"
    try:
        first, last, total = parse_content_range(content_range)
    except ValueError as exc:
        return f"sent {exc}"
    if (first, last + 1, total) != (start, end, size):
        return f"asked for bytes {start}-{end - 1}/{size}, got {first}-{last}/{total}"
    return None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3).

    The one parser of the header: the retry policy of `transport/` and the exceptions' `retry_after`
    both use it.

    Args:
        value: the header value.
        now: the current time for HTTP-dates (default: the current UTC time); naive means UTC.

    Returns:
        Seconds (0.0 when the date is in the past), or None when absent or invalid. Invalid includes a
        negative delay (`"-5"`), which RFC 9110 does not allow (delay-seconds is a non-negative
        integer), an exponent or digit separators (`"1e3"`, `"1_0"`), non-ASCII digits, and NaN or
        infinity. An HTTP-date without a zone (the obsolete asctime form) is GMT, as RFC 9110 says.
        Never raises.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELAY_SECONDS_RE.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # older Pythons return None instead of raising
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    if current.tzinfo is None:
        current = current.replace(tzinfo=timezone.utc)
    try:
        delta = (when - current).total_seconds()
    except OverflowError:
        return None
    return max(delta, 0.0)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def parse_error_body(content: bytes, content_type: str | None) -> list[ErrorDetail]:
    """The OCI error entries of a response body: `{"errors": [{"code", "message", "detail"}]}`.

    Tolerates anything: HTML from a proxy, plain text, truncated or huge bodies (only the first
    `MAX_ERROR_BODY` bytes are read; a JSON document longer than that yields no entries), entries with
    missing or mistyped fields (skipped when `code` is missing). The content type is not trusted:
    registries and proxies label JSON `text/plain` and vice versa, so the bytes decide.

    Args:
        content: the response body (possibly empty).
        content_type: the response `Content-Type`, used only to skip bodies that cannot be JSON cheaply.

    Returns:
        The entries found, possibly empty. Never raises on malformed input.
    """
    if not content:
        return []
    head = bytes(content[:MAX_ERROR_BODY])
    stripped = head.lstrip()
    if not stripped.startswith(b"{"):
        return []
    if content_type and "html" in content_type.lower() and not stripped.startswith(b'{"'):
        return []
    try:
        document = json.loads(head.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return []
    if not isinstance(document, dict):
        return []
    entries = document.get("errors")
    if entries is None and isinstance(document.get("code"), str):
        entries = [document]  # a few token services answer a single bare error object
    if not isinstance(entries, list):
        return []
    details: list[ErrorDetail] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        code = entry.get("code")
        if not isinstance(code, (str, int)) or isinstance(code, bool) or code == "":
            continue
        details.append(
            ErrorDetail(code=str(code), message=_as_text(entry.get("message")), detail=entry.get("detail"))
        )
    return details


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    # Collapse whitespace so a multi-line body cannot break the one-line message, then bound its length.
    single = " ".join(text.split())
    return single if len(single) <= limit else single[: limit - 3] + "..."


def _scope_from_challenge(headers: Mapping[str, str]) -> str | None:
    """The `scope` of the `WWW-Authenticate` challenges, read by the one challenge parser."""
    challenge = _header(headers, "www-authenticate")
    if not challenge:
        return None
    scopes = [scope for parsed in parse_www_authenticate(challenge) for scope in parsed.scopes]
    return " ".join(scopes) if scopes else None


def error_from_response(
    status_code: int,
    headers: Mapping[str, str],
    content: bytes,
    *,
    method: str,
    url: str,
    action: str,
) -> HttpResponseError:
    """Build the exception for an error response (it is returned, not raised).

    The subclass follows the status: 401 `ClientAuthenticationError`, 403 `PermissionDeniedError`,
    404 `ResourceNotFoundError`, 405 `OperationNotAllowedError`, 429 `TooManyRequestsError`, else
    `HttpResponseError`. The message reads like
    `get manifest failed: 404 MANIFEST_UNKNOWN: manifest unknown (GET https://host/v2/repo/manifests/tag)`.
    The URL is redacted (no query, no userinfo): upload queries carry `_state` and redirects carry
    signed-URL secrets. A 401 names the scope of its `WWW-Authenticate` challenge when there is one.

    Args:
        status_code: the response status.
        headers: the response headers (`httpx.Headers` or any mapping; looked up case-insensitively).
        content: the response body (only the first `MAX_ERROR_BODY` bytes are read).
        method: the request method.
        url: the request URL.
        action: what was being done, for the message (`"get manifest"`, `"upload blob"`).

    Returns:
        The exception, with `errors`, `method`, redacted `url` and `retry_after` filled.
    """
    errors = parse_error_body(content, _header(headers, "content-type"))
    safe_url = redact_url(url)
    method = method.upper()
    if errors:
        shown = [
            f"{_clip(e.code, 64)}: {_clip(e.message)}" if e.message else _clip(e.code, 64)
            for e in errors[:_MAX_SHOWN_ERRORS]
        ]
        if len(errors) > _MAX_SHOWN_ERRORS:
            shown.append(f"and {len(errors) - _MAX_SHOWN_ERRORS} more")
        reason = "; ".join(shown)
    else:
        try:
            reason = HTTPStatus(status_code).phrase
        except ValueError:
            reason = "error"
        content_type = (_header(headers, "content-type") or "").lower()
        # Plain-text bodies are usually a short reason ("404 page not found"); HTML and binary are noise.
        if content and content_type.startswith("text/plain"):
            snippet = _clip(bytes(content[: _MAX_TEXT * 2]).decode("utf-8", errors="replace"))
            if snippet:
                reason = f"{reason}: {snippet}"
    message = f"{action} failed: {status_code} {reason}"
    if status_code == 401:
        scope = _scope_from_challenge(headers)
        if scope:
            message += f"; the registry requires scope {_clip(scope)!r}"
    message += f" ({method} {safe_url})"
    error_class = _ERROR_CLASSES.get(status_code, HttpResponseError)
    return error_class(
        message,
        status_code=status_code,
        errors=errors,
        method=method,
        url=safe_url,
        retry_after=parse_retry_after(_header(headers, "retry-after")),
    )


def redact_url(url: str) -> str:
    """`url` without its query string, fragment and userinfo, safe to show in messages and logs.

    Works on malformed URLs too (no parsing that can raise).
    """
    text = str(url)
    for mark in ("#", "?"):
        text = text.split(mark, 1)[0]
    scheme_end = text.find("://")
    if scheme_end != -1:
        authority_start = scheme_end + 3
        path_start = text.find("/", authority_start)
        authority_end = len(text) if path_start == -1 else path_start
        authority = text[authority_start:authority_end]
        if "@" in authority:
            authority = authority.rsplit("@", 1)[1]
        text = text[:authority_start] + authority + text[authority_end:]
    return text


def join_location(base_url: str, location: str) -> str:
    """Resolve an upload `Location` header against the registry endpoint.

    ACR answers a relative `Location` (`/v2/<name>/blobs/uploads/<id>?_state=...`), Distribution an
    absolute one; either is returned as an absolute URL with its query intact (it may carry state the
    registry needs). Never build an upload URL by hand: always follow the newest Location.

    Args:
        base_url: the registry endpoint (or the URL of the request that returned the header).
        location: the header value.

    Raises:
        ValueError: `location` is empty or resolves to something other than an http(s) URL.
    """
    target = location.strip() if isinstance(location, str) else ""
    if not target:
        raise ValueError("the registry sent an empty Location header")
    resolved = urljoin(base_url, target)
    parts = urlsplit(resolved)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the registry sent an unusable Location {redact_url(target)!r}")
    return resolved


def add_query(url: str, params: Mapping[str, object] | None = None, /, **kwargs: object) -> str:
    """Append query parameters to `url`, keeping the query it already has.

    Uses `&` when `url` has a query and `?` otherwise; keys and values are percent-encoded (`str()` of
    the value); None values are skipped. Names that are Python keywords go in the mapping:
    `add_query(url, {"mount": digest, "from": repo})`. A fragment stays at the end.

    Args:
        url: the URL, typically an upload `Location` that may carry `_state=...`.
        params: parameters as a mapping (optional, positional).
        **kwargs: more parameters.
    """
    items = [*(params or {}).items(), *kwargs.items()]
    encoded = "&".join(
        f"{quote(str(key), safe='')}={quote(str(value), safe='')}"
        for key, value in items
        if value is not None
    )
    if not encoded:
        return url
    base, hash_mark, fragment = url.partition("#")
    if "?" not in base:
        separator = "?"
    elif base.endswith(("?", "&")):
        separator = ""
    else:
        separator = "&"
    return f"{base}{separator}{encoded}{hash_mark}{fragment}"
