# This file is generated from containerregistry/aio/_pipeline.py by scripts/unasync.py.
# Do not edit it: edit the async source and run `python scripts/unasync.py`.
"""The request pipeline every async client shares: httpx client + fast transport + retry + registry auth.

Clients call `send()` with the scope a request needs; errors come back as the exceptions of
`containerregistry.exceptions`, with transport failures converted at this boundary. Redirects are
followed here, not by httpx: each hop is a new request that carries the registry's origin
(`REGISTRY_EXTENSION`), so the auth flow gives a hop to another origin no credential and answers none
of its challenges, and the flow's own token requests (secrets in their bodies) are never redirected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from .._bounded import read_response
from .._common import endpoint_candidates, to_timeout
from ..auth import Credential, RegistryAuth
from ..auth._hosts import REGISTRY_EXTENSION
from ..exceptions import RegistryProtocolError, ServiceRequestError
from ..protocol.http import MAX_ERROR_BODY, error_from_response, redact_url
from ..transport import RetryPolicy, RetryTransport, create_transport
from ..transport._policy import is_refused
from ._scheme import probe_endpoint
from ._shim import Lock

__all__ = ["Pipeline", "read_capped"]

#: Redirects followed per request (httpx's default is 20; registries use one, to a storage host).
_MAX_REDIRECTS = 10
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Bodies of successful answers the clients do not stream (upload steps, HEAD, DELETE): refused above this.
_MAX_ANSWER_BODY = 1024 * 1024
#: Sent with every request: the clients decode no compression they did not ask for (a blob's digest
#: covers its bytes as stored, and a compressed JSON answer is a bomb waiting to happen).
_HEADERS = {"Accept-Encoding": "identity"}


class Pipeline:
    """Owns the httpx client of one registry endpoint.

    Args:
        endpoint: `https://host[:port]`. A bare host gets https; a bare loopback host (or any bare host
            with `insecure=True`) is probed once, before the first request: https if it answers, else
            plain http (as docker does). `endpoint` is the probed one once a request was sent.
        credential: see `containerregistry.credentials` (typed `Credential`); None is anonymous.
        transport: an httpx transport to use instead of the default fast one (retries still wrap it).
        http_client: an `httpx.Client` to use as is (its own transport, proxies and timeouts).
        timeout: seconds or an `httpx.Timeout`.
        retry: the retry policy (None: `RetryPolicy()`).
        verify: TLS verification: True, False, or a CA bundle path.
        insecure: allow credentials over plain http to non-loopback hosts.
        audience: the Entra ID audience for ACR token exchange.
        trusted_token_hosts: token servers outside the registry's host and domain that may receive
            a password or refresh token (see `RegistryAuth`).
    """

    def __init__(
        self,
        endpoint: str,
        credential: Credential | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        insecure: bool = False,
        audience: str | None = None,
        trusted_token_hosts: Iterable[str] | None = None,
    ) -> None:
        self.endpoint, self._fallback = endpoint_candidates(endpoint, insecure=insecure)
        self._provisional = self.endpoint  # URLs built before the probe start with this
        self._probe_lock = Lock()
        self.retry = retry or RetryPolicy()
        auth_kwargs: dict[str, Any] = {"insecure": insecure, "trusted_token_hosts": trusted_token_hosts}
        if audience is not None:
            auth_kwargs["audience"] = audience
        self.auth = RegistryAuth(credential, **auth_kwargs)
        self._owns_client = http_client is None
        if http_client is not None:
            self.client = http_client
        else:
            if transport is None:
                transport = create_transport(verify=verify, retry=self.retry)
            else:
                transport = RetryTransport(transport, self.retry)
            # trust_env=False: proxies are the transport's business; httpx would otherwise mount its own
            # (slower) transports for proxied hosts.
            self.client = httpx.Client(
                transport=transport, timeout=to_timeout(timeout), follow_redirects=True, trust_env=False
            )

    def url(self, path: str) -> str:
        return self.endpoint + path

    def resolve_endpoint(self) -> str:
        """The endpoint to talk to, probing https then http once when the scheme was not given."""
        if self._fallback is not None:
            with self._probe_lock:
                if self._fallback is not None:
                    self.endpoint = probe_endpoint(self.client, self.endpoint, self._fallback)
                    self._fallback = None
        return self.endpoint

    def send(
        self,
        method: str,
        url: str,
        *,
        scope: tuple[str, ...],
        action: str,
        headers: Mapping[str, str] | None = None,
        content: Any = None,
        params: Mapping[str, Any] | None = None,
        stream: bool = False,
        expect: tuple[int, ...] = (200,),
        retry: bool = True,
    ) -> httpx.Response:
        """Send one request and return its response when the status is in `expect`.

        With `stream=True` the caller must close the response. Other statuses raise the mapped
        `HttpResponseError`; failures without a response raise `ServiceRequestError`, and an answer
        that cannot be followed (an unusable redirect) raises `RegistryProtocolError`.
        """
        if self._fallback is not None:
            self.resolve_endpoint()
        if self.endpoint != self._provisional and url.startswith(self._provisional + "/"):
            url = self.endpoint + url[len(self._provisional) :]
        extensions: dict[str, Any] = {"containerregistry.scope": scope, REGISTRY_EXTENSION: self.endpoint}
        if not retry:
            extensions["containerregistry.retry"] = False
        request = self.client.build_request(
            method,
            url,
            headers={**_HEADERS, **(headers or {})},
            content=content,
            params=params,
            extensions=extensions,
        )
        for hop in range(_MAX_REDIRECTS + 1):
            try:
                response = self.client.send(request, auth=self.auth, stream=True, follow_redirects=False)
            except httpx.TransportError as exc:
                raise ServiceRequestError(
                    f"{action} failed: no usable response from {redact_url(str(request.url))} ({request.method}): "
                    f"{_describe(exc)}"
                ) from exc
            if response.status_code in expect or not _is_redirect(response):
                break
            response.close()
            if hop == _MAX_REDIRECTS:
                raise RegistryProtocolError(
                    f"{action} failed: more than {_MAX_REDIRECTS} redirects from {redact_url(url)}"
                )
            request = _redirect_request(request, response, action)
        if response.status_code in expect:
            if not stream:
                # Answers we do not stream (uploads, HEAD, DELETE, ...) are small or empty: a large one
                # is refused rather than buffered. A HEAD has no body; its Content-Length is the size of
                # what it describes, so it is not checked.
                read_response(response, _MAX_ANSWER_BODY, action, truncate=method == "HEAD")
            return response
        body = read_response(response, MAX_ERROR_BODY, action, truncate=True)
        raise error_from_response(
            response.status_code,
            response.headers,
            body,
            method=method,
            url=str(response.request.url),
            action=action,
        )

    def get_refresh_token(self) -> str | None:
        """The registry refresh token the credential yields (ACR exchange), fetching it when needed."""
        token: str | None = self.auth.get_refresh_token(self.client, self.resolve_endpoint())
        return token

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


def read_capped(
    response: httpx.Response, limit: int, action: str, error: type[Exception] = RegistryProtocolError
) -> bytes:
    """Read a streamed body of at most `limit` decoded bytes, then close the response.

    A larger body raises `error` without being read whole: first from `Content-Length`, else as soon
    as the decoded bytes pass the limit (a compressed body is inflated step by step, so a gzip bomb
    costs about `limit` bytes of memory). A body that does not decode raises `RegistryProtocolError`.
    """
    return read_response(response, limit, action, error=error)


def _is_redirect(response: httpx.Response) -> bool:
    return response.status_code in _REDIRECT_STATUSES and "Location" in response.headers


def _redirect_request(request: httpx.Request, response: httpx.Response, action: str) -> httpx.Request:
    """The next hop of a redirect, as a new request (the auth flow decides what credential it gets).

    303, and 301/302 after a POST, become a body-less GET (as browsers and httpx do); 307/308 repeat the
    method and body, which needs a body held in memory. The Authorization the flow put on the previous
    hop is dropped: the flow attaches one again only if the next hop is the registry's origin.
    """
    try:
        url = response.url.join(response.headers["Location"]).copy_with(fragment=None)
    except httpx.InvalidURL as exc:
        raise RegistryProtocolError(
            f"{action} failed: the registry sent an unusable redirect Location ({request.method} "
            f"{redact_url(str(request.url))})"
        ) from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise RegistryProtocolError(
            f"{action} failed: the registry redirected to a non-http(s) URL ({request.method} "
            f"{redact_url(str(request.url))})"
        )
    method = request.method
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(request.headers)
    for name in ("Authorization", "Host", "Cookie"):
        headers.pop(name, None)
    content: bytes | None = None
    if method == request.method and method not in ("GET", "HEAD"):
        if not isinstance(request.stream, httpx.ByteStream):
            raise RegistryProtocolError(
                f"{action} failed: the registry redirected a streamed upload ({status} to "
                f"{redact_url(str(url))}), which cannot be sent again"
            )
        content = request.read()
    else:
        for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
            headers.pop(name, None)
    return httpx.Request(method, url, headers=headers, content=content, extensions=request.extensions)


def _describe(exc: BaseException) -> str:
    if is_refused(exc):
        return "connection refused (nothing listens there: is the registry running?)"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
