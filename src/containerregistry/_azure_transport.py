"""Carries our requests over an azure-core transport (`transport=RequestsTransport()`, `AioHttpTransport()`).

SDK users pass azure-core transports to the client (a custom `requests` session, proxies, a test double).
`AzureCoreTransport` / `AsyncAzureCoreTransport` are httpx transports that send each request through such
a transport: bodies stream both ways (an upload is handed over as an iterator, a response is read in
chunks), redirects stay httpx's, TLS settings are the transport's own (as in the SDK), and azure-core's connection errors become httpx's, so our retries and
resumable transfers work unchanged. azure-core is imported only when one of these is built.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

__all__ = ["AsyncAzureCoreTransport", "AzureCoreTransport", "is_azure_transport"]


def is_azure_transport(transport: Any) -> bool:
    """Whether `transport` looks like an azure-core `HttpTransport` / `AsyncHttpTransport` (duck-typed)."""
    if (
        transport is None
        or hasattr(transport, "handle_request")
        or hasattr(transport, "handle_async_request")
    ):
        return False
    return callable(getattr(transport, "send", None)) and type(transport).__module__.startswith("azure.")


def _azure_request(request: httpx.Request, content: Any) -> Any:
    from azure.core.rest import HttpRequest

    headers = {key: value for key, value in request.headers.multi_items() if key.lower() != "content-length"}
    if "content-length" in request.headers:
        headers["Content-Length"] = request.headers["content-length"]
    return HttpRequest(request.method, str(request.url), headers=headers, content=content)


def _transport_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    from azure.core.exceptions import ServiceRequestError, ServiceResponseTimeoutError

    if isinstance(exc, ServiceResponseTimeoutError):
        return httpx.ReadTimeout(str(exc), request=request)
    if isinstance(exc, ServiceRequestError):
        return httpx.ConnectError(str(exc), request=request)
    return httpx.ReadError(str(exc), request=request)


def _body(request: httpx.Request) -> Any:
    if not request.headers.get("content-length") and "transfer-encoding" not in request.headers:
        return None
    try:
        return request.content  # already in memory (small JSON bodies, manifests)
    except httpx.RequestNotRead:  # an upload: streamed through
        length = request.headers.get("content-length")
        stream: Any = request.stream
        return _Sized(stream, int(length)) if length and length.isdigit() else iter(stream)


class _Sized:
    """An upload's chunks with their total length (so `requests` sends Content-Length, not chunked)."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self._length = length

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def __len__(self) -> int:
        return self._length


class _Stream(httpx.SyncByteStream):
    def __init__(self, response: Any, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        from azure.core.exceptions import AzureError

        try:
            yield from self._response.iter_raw()
        except AzureError as exc:
            raise _transport_error(exc, self._request) from exc

    def close(self) -> None:
        self._response.close()


class AzureCoreTransport(httpx.BaseTransport):
    """An httpx transport over an azure-core `HttpTransport` (which it closes when closed)."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        from azure.core.exceptions import AzureError

        azure_request = _azure_request(request, _body(request))
        timeout = request.extensions.get("timeout", {})
        try:
            response = self._transport.send(
                azure_request,
                stream=True,
                connection_timeout=timeout.get("connect"),
                read_timeout=timeout.get("read"),
            )
        except AzureError as exc:
            raise _transport_error(exc, request) from exc
        return httpx.Response(
            response.status_code, headers=list(response.headers.items()), stream=_Stream(response, request)
        )

    def close(self) -> None:
        self._transport.close()


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, response: Any, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        from azure.core.exceptions import AzureError

        try:
            async for chunk in self._response.iter_raw():
                yield chunk
        except AzureError as exc:
            raise _transport_error(exc, self._request) from exc

    async def aclose(self) -> None:
        await self._response.close()


class AsyncAzureCoreTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an azure-core `AsyncHttpTransport` (which it closes when closed)."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from azure.core.exceptions import AzureError

        body: Any
        try:
            body = request.content if request.headers.get("content-length") else None
        except httpx.RequestNotRead:
            body = request.stream  # an async iterable of bytes: streamed through
        azure_request = _azure_request(request, body)
        timeout = request.extensions.get("timeout", {})
        try:
            response = await self._transport.send(
                azure_request,
                stream=True,
                connection_timeout=timeout.get("connect"),
                read_timeout=timeout.get("read"),
            )
        except AzureError as exc:
            raise _transport_error(exc, request) from exc
        return httpx.Response(
            response.status_code,
            headers=list(response.headers.items()),
            stream=_AsyncStream(response, request),
        )

    async def aclose(self) -> None:
        await self._transport.close()
