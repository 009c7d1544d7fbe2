"""Bounded reading of non-blob response bodies, and JSON parsing that cannot escape the error contract.

Every body the library buffers (manifests, tag lists, ACR metadata, token answers, error bodies, upload
answers) is read here: the raw bytes come from httpx's `iter_raw()` and any `Content-Encoding` is
decoded by `BoundedDecoder` in steps of at most `_STEP` bytes, so the cap applies to the *decoded*
size as it grows. A gzip-of-gzip bomb (13 KB on the wire, gigabytes decoded) is stopped once the
cap is passed, after allocating about the cap, never the whole expansion. httpx's own decoders
(used by `iter_bytes()`/`read()`) inflate each network chunk whole, which is what this replaces.

`loads_json` turns JSON nested too deeply for the parser (a `RecursionError`) into
`RegistryProtocolError`; `json_object` is the one reader of a JSON-object answer (invalid JSON or another
kind of value is a `RegistryProtocolError` naming the request).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import httpx

from .exceptions import RegistryProtocolError, ServiceRequestError
from .protocol.http import parse_content_length, redact_url

__all__ = [
    "BoundedDecoder",
    "aread_response",
    "json_kind",
    "json_object",
    "loads_json",
    "read_response",
    "request_line",
]

#: Largest piece one decoding step may produce (zlib's `max_length`).
_STEP = 64 * 1024
#: `Content-Encoding: gzip, gzip, ...` deeper than this is refused (each layer holds a zlib state).
_MAX_LAYERS = 2
_GZIP = zlib.MAX_WBITS | 16


class _OverLimit(RegistryProtocolError):
    """Raised inside this module for a body over its cap; re-raised as the caller's error class."""


class _Inflater:
    """One gzip or deflate layer, inflating at most `_STEP` bytes per step."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._gzip = coding in ("gzip", "x-gzip")
        self._raw_deflate = False
        self._started = False
        self._obj = zlib.decompressobj(_GZIP if self._gzip else zlib.MAX_WBITS)

    def pieces(self, data: bytes) -> Any:
        """Yield the decoded pieces of `data` (each at most `_STEP` bytes), consuming all of it."""
        while True:
            try:
                out = self._obj.decompress(data, _STEP)
            except zlib.error:
                if self._gzip or self._started or self._raw_deflate:
                    raise
                # Some servers send raw deflate (no zlib header) as "deflate": httpx accepts both.
                self._raw_deflate = True
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._started = True
            data = self._obj.unconsumed_tail
            if out:
                yield out
            if self._obj.eof:
                rest = self._obj.unused_data
                if self._gzip and rest.strip(b"\0"):
                    self._obj = zlib.decompressobj(_GZIP)  # another gzip member follows
                    data = rest
                    continue
                return
            if not data and len(out) < _STEP:
                return  # all input consumed and nothing left pending in zlib

    @property
    def complete(self) -> bool:
        return self._obj.eof or not self._started


class BoundedDecoder:
    """Decodes a body's `Content-Encoding` incrementally and keeps at most `limit` decoded bytes.

    Args:
        content_encoding: the response's `Content-Encoding` header (None or "" for none).
        limit: the most decoded bytes accepted.
        what: names the request in error messages ("get manifest v1 from ...").
        truncate: keep the first `limit` bytes and stop instead of raising (error bodies, which are
            only read to describe an error that is raised anyway).

    Raises (from `feed`/`finish`, unless `truncate`):
        RegistryProtocolError: over the limit, an unknown or too deep `Content-Encoding`, or
            bytes that do not decode.
    """

    def __init__(
        self, content_encoding: str | None, limit: int, what: str, *, truncate: bool = False
    ) -> None:
        self.limit = limit
        self.what = what
        self.truncate = truncate
        self.full = False
        self._buffer = bytearray()
        self._raw = 0
        self._layers: list[_Inflater] = []
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > _MAX_LAYERS:
            self._fail(f"the response has {len(codings)} layers of Content-Encoding ({content_encoding})")
        for coding in reversed(codings):  # the last coding listed was applied last: undo it first
            if coding not in ("gzip", "x-gzip", "deflate"):
                self._fail(f"the response has an unsupported Content-Encoding {coding!r}")
            self._layers.append(_Inflater(coding))
        #: Raw (still encoded) bytes accepted: a compressed body is never larger than this in practice.
        self.raw_limit = limit if not self._layers else 2 * limit + _STEP

    def _fail(self, reason: str) -> None:
        if self.truncate:
            self.full = True
            self._layers = []
            return
        raise RegistryProtocolError(f"{self.what} failed: {reason}")

    def check_length(self, content_length: str | None) -> None:
        """Refuse from the headers alone when the announced length is already over the limit."""
        length = parse_content_length(content_length)
        if length is not None and length > self.raw_limit:
            if self.truncate:
                return
            raise _OverLimit(
                f"{self.what} failed: the response is {content_length} bytes; the limit is {self.limit} bytes"
            )

    def feed(self, raw: bytes) -> bool:
        """Take the next raw chunk. Returns False once nothing more is wanted (truncate mode, full)."""
        if self.full:
            return False
        self._raw += len(raw)
        if self._raw > self.raw_limit and self._layers:
            if not self.truncate:
                raise _OverLimit(
                    f"{self.what} failed: the compressed response exceeds {self.raw_limit} bytes"
                )
            self.full = True
            return False
        try:
            self._push(0, raw)
        except zlib.error:
            self._fail(f"the response body does not decode as {self._coding_names()}")
        return not self.full

    def _push(self, level: int, data: bytes) -> None:
        if self.full:
            return
        if level == len(self._layers):
            room = self.limit - len(self._buffer)
            if len(data) > room:
                if not self.truncate:
                    raise _OverLimit(
                        f"{self.what} failed: the response exceeds the limit of {self.limit} bytes"
                        + (f" (decoded from {self._coding_names()})" if self._layers else "")
                    )
                self._buffer += data[:room]
                self.full = True
                return
            self._buffer += data
            return
        for piece in self._layers[level].pieces(data):
            self._push(level + 1, piece)
            if self.full:
                return

    def _coding_names(self) -> str:
        return ", ".join(layer.coding for layer in reversed(self._layers)) or "identity"

    def finish(self) -> bytes:
        """The decoded body. Raises `RegistryProtocolError` when a compressed body ended early."""
        if not self.full and not all(layer.complete for layer in self._layers):
            self._fail(f"the {self._coding_names()} response body ended early")
        return bytes(self._buffer)


def read_response(
    response: httpx.Response,
    limit: int,
    what: str,
    *,
    truncate: bool = False,
    error: type[Exception] = RegistryProtocolError,
) -> bytes:
    """Read a streamed sync response's body (decoded, at most `limit` bytes), then close it.

    Over the limit raises `error` (`RegistryProtocolError` by default) unless `truncate`. The body
    is also stored as `response.content`.
    """
    decoder = _decoder(response, limit, what, truncate, error)
    try:
        if response.is_stream_consumed:
            return _checked(_already_read, response, decoder, error)
        try:
            for chunk in response.iter_raw():
                if not _feed(decoder, chunk, error):
                    break
        except httpx.TransportError as exc:
            if truncate:
                return bytes(decoder._buffer)
            raise ServiceRequestError(
                f"{what} failed: connection lost while reading the response: {exc}"
            ) from exc
        return _store(response, decoder, error)
    finally:
        response.close()


async def aread_response(
    response: httpx.Response,
    limit: int,
    what: str,
    *,
    truncate: bool = False,
    error: type[Exception] = RegistryProtocolError,
) -> bytes:
    """Async twin of `read_response`."""
    decoder = _decoder(response, limit, what, truncate, error)
    try:
        if response.is_stream_consumed:
            return _checked(_already_read, response, decoder, error)
        try:
            async for chunk in response.aiter_raw():
                if not _feed(decoder, chunk, error):
                    break
        except httpx.TransportError as exc:
            if truncate:
                return bytes(decoder._buffer)
            raise ServiceRequestError(
                f"{what} failed: connection lost while reading the response: {exc}"
            ) from exc
        return _store(response, decoder, error)
    finally:
        await response.aclose()


def _decoder(
    response: httpx.Response, limit: int, what: str, truncate: bool, error: type[Exception]
) -> BoundedDecoder:
    try:
        decoder = BoundedDecoder(response.headers.get("Content-Encoding"), limit, what, truncate=truncate)
        decoder.check_length(response.headers.get("Content-Length"))
    except RegistryProtocolError as exc:
        raise _as(error, exc) from None
    return decoder


def _feed(decoder: BoundedDecoder, chunk: bytes, error: type[Exception]) -> bool:
    try:
        return decoder.feed(chunk)
    except RegistryProtocolError as exc:
        raise _as(error, exc) from None


def _store(response: httpx.Response, decoder: BoundedDecoder, error: type[Exception]) -> bytes:
    try:
        body = decoder.finish()
    except RegistryProtocolError as exc:
        raise _as(error, exc) from None
    response._content = body
    return body


def _checked(read: Any, response: httpx.Response, decoder: BoundedDecoder, error: type[Exception]) -> bytes:
    try:
        body: bytes = read(response, decoder)
    except RegistryProtocolError as exc:
        raise _as(error, exc) from None
    return body


def _already_read(response: httpx.Response, decoder: BoundedDecoder) -> bytes:
    """A body something else already read (bounded by this module too): hand out at most the limit."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return b""
    if len(content) > decoder.limit and not decoder.truncate:
        raise _OverLimit(f"{decoder.what} failed: the response exceeds the limit of {decoder.limit} bytes")
    return content[: decoder.limit]


def _as(error: type[Exception], exc: RegistryProtocolError) -> Exception:
    """Over the cap: the caller's error class (e.g. `ManifestTooLargeError`); anything else unusable:
    `RegistryProtocolError`. Never the private `_OverLimit` itself."""
    if isinstance(exc, _OverLimit):
        return error(str(exc))
    return exc


def loads_json(data: bytes | str, what: str) -> Any:
    """`json.loads`, with JSON nested too deeply raising `RegistryProtocolError` (ValueError passes)."""
    try:
        return json.loads(data)
    except RecursionError:
        raise RegistryProtocolError(f"{what} failed: the registry sent JSON nested too deeply") from None


def json_object(response: httpx.Response, action: str) -> dict[str, Any]:
    """The JSON object of an already-read `response` body; `RegistryProtocolError` for anything else."""
    try:
        body = loads_json(response.content, action)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistryProtocolError(
            f"{action} failed: the registry sent invalid JSON ({request_line(response)}): {exc}"
        ) from exc
    if not isinstance(body, dict):
        raise RegistryProtocolError(
            f"{action} failed: the registry sent JSON that is not an object ({request_line(response)}): "
            f"got {json_kind(body)}"
        )
    return body


def request_line(response: httpx.Response) -> str:
    """`GET https://host/v2/...` of the request `response` answers (query and userinfo dropped)."""
    return f"{response.request.method} {redact_url(str(response.request.url))}"


def json_kind(value: object) -> str:
    """The JSON type of a decoded value, for messages (the value itself may be large or hostile)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list" if all(isinstance(v, str) for v in value) else "a list with non-strings"
    return "an object"
