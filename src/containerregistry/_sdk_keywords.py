"""The Azure SDK's client keywords (`connection_verify=`, `retry_total=`, ...) mapped onto ours, or refused.

`ContainerRegistryClient(endpoint, credential, **kwargs)` takes the keywords azure-core's pipeline client
documents so that code written for azure-containerregistry runs unchanged. Each is translated into our
own options (`verify`, `timeout`, `retry`, `audience`), accepted and ignored when it only tunes azure-core's
own logging, or refused with a `TypeError` saying what to use instead. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from ._common import to_timeout
from .transport import RetryPolicy

__all__ = ["SdkOptions", "sdk_client_options"]

#: Keywords that only tune azure-core's own logging or tracing: accepted, no effect here (our log is the
#: `containerregistry` logger, which never records secrets).
_IGNORED = frozenset(
    {
        "logging_enable",
        "logging_body",
        "network_span_namer",
        "tracing_attributes",
        "connection_data_block_size",
    }
)

#: Keywords with no equivalent, and what to do instead.
_REFUSED = {
    "policies": "azure-core pipeline policies do not apply; pass http_client= (an httpx client with event hooks)",
    "per_call_policies": "azure-core pipeline policies do not apply; pass http_client= (an httpx client)",
    "per_retry_policies": "azure-core pipeline policies do not apply; pass http_client= (an httpx client)",
    "authentication_policy": "authentication is built in; pass the credential as the second argument",
    "session": "pass http_client= (an httpx client) instead of a requests session",
    "proxies": "pass http_client=httpx.Client(proxy=...) (httpx.AsyncClient for the async client)",
    "connection_cert": "pass http_client= with an httpx client configured for the client certificate",
    "headers": "pass http_client=httpx.Client(headers=...) to add headers to every request",
    "user_agent": "pass http_client=httpx.Client(headers={'User-Agent': ...})",
    "retry_mode": "the backoff is always exponential with full jitter; use retry_backoff_factor / retry=",
}


@dataclasses.dataclass
class SdkOptions:
    """Our client options after the SDK keywords were applied."""

    transport: Any
    verify: bool | str
    timeout: float | httpx.Timeout | None
    retry: RetryPolicy | None
    audience: str | None


def _transport(transport: Any, *, asynchronous: bool) -> Any:
    """`transport` as an httpx transport: as is, or an azure-core transport wrapped (see _azure_transport).

    As in the SDK, an azure-core transport brings its own TLS settings (`RequestsTransport(connection_verify=)`):
    `connection_verify=` / `verify=` of the client do not apply to it.
    """
    if transport is None or hasattr(
        transport, "handle_request" if not asynchronous else "handle_async_request"
    ):
        return transport
    from ._azure_transport import AsyncAzureCoreTransport, AzureCoreTransport, is_azure_transport

    if is_azure_transport(transport):
        is_async = type(transport).__name__.startswith("Async") or "aiohttp" in type(transport).__module__
        if is_async == asynchronous:
            return (AsyncAzureCoreTransport if asynchronous else AzureCoreTransport)(transport)
    kind = "async" if asynchronous else "sync"
    raise TypeError(
        f"transport= takes an httpx transport ({'httpx.AsyncHTTPTransport' if asynchronous else 'httpx.HTTPTransport'})"
        f" or an azure-core {'AsyncHttpTransport' if asynchronous else 'HttpTransport'} for the {kind} client, not "
        f"{type(transport).__module__}.{type(transport).__name__}. Leave it out (the default transport is "
        "faster), or pass http_client= with a configured httpx client"
    )


def sdk_client_options(
    keywords: dict[str, Any],
    *,
    transport: Any,
    verify: bool | str,
    timeout: float | httpx.Timeout | None,
    retry: RetryPolicy | None,
    audience: str | None,
    kind: type = httpx.BaseTransport,
) -> SdkOptions:
    """Apply the Azure SDK keywords in `keywords` to our options (`kind`: the client's httpx transport base).

    Raises:
        TypeError: an unknown keyword, one with no equivalent (the message says what to use instead), or a
            transport that is neither httpx's nor azure-core's of the client's kind (sync or async).
        ValueError: `credential_scopes` that do not name one `<audience>/.default`, or that contradict
            `audience`.
    """
    given = dict(keywords)
    for name in list(given):
        if name in _IGNORED:
            del given[name]
        elif name in _REFUSED:
            raise TypeError(f"ContainerRegistryClient does not take {name}=: {_REFUSED[name]}")
    if "connection_verify" in given:
        verify = given.pop("connection_verify")
    connect = given.pop("connection_timeout", None)
    read = given.pop("read_timeout", None)
    if connect is not None or read is not None:
        base = to_timeout(timeout)
        timeout = httpx.Timeout(
            connect=base.connect if connect is None else connect,
            read=base.read if read is None else read,
            write=base.write,
            pool=base.pool,
        )
    retry_fields: dict[str, Any] = {}
    for sdk_name, ours in (
        ("retry_total", "max_retries"),
        ("retry_backoff_factor", "backoff_factor"),
        ("retry_backoff_max", "backoff_max"),
    ):
        if sdk_name in given:
            retry_fields[ours] = given.pop(sdk_name)
    for count in ("retry_connect", "retry_read", "retry_status"):
        value = given.pop(count, None)  # ours counts every retry against one budget: the smaller one wins
        if value is not None:
            retry_fields["max_retries"] = min(int(value), retry_fields.get("max_retries", value))
    if retry_fields:
        retry = dataclasses.replace(retry or RetryPolicy(), **retry_fields)
    scopes = given.pop("credential_scopes", None)
    if scopes is not None:
        scopes = [scopes] if isinstance(scopes, str) else list(scopes)
        if len(scopes) != 1 or not str(scopes[0]).endswith("/.default"):
            raise ValueError(f"credential_scopes must be one '<audience>/.default' scope, not {scopes!r}")
        scope_audience = str(scopes[0]).removesuffix("/.default")
        if audience is not None and str(audience).rstrip("/") != scope_audience.rstrip("/"):
            raise ValueError(f"credential_scopes {scopes!r} contradict audience={audience!r}")
        audience = scope_audience
    transport = _transport(transport, asynchronous=kind is httpx.AsyncBaseTransport)
    if given:
        raise TypeError(
            f"ContainerRegistryClient got unexpected keyword arguments: {', '.join(sorted(given))}"
        )
    return SdkOptions(transport=transport, verify=verify, timeout=timeout, retry=retry, audience=audience)
