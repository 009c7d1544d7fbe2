"""Builders of the default transport stacks."""

from __future__ import annotations

import httpx

from ._policy import RetryPolicy
from ._sync_retry import RetryTransport
from ._tls import CertTypes, VerifyTypes
from ._urllib3 import Urllib3Transport

__all__ = ["create_async_transport", "create_transport"]


def create_transport(
    *,
    verify: VerifyTypes = True,
    cert: CertTypes = None,
    trust_env: bool = True,
    retry: RetryPolicy | None = None,
    pool_maxsize: int = 32,
) -> httpx.BaseTransport:
    """Build the default sync transport: `RetryTransport(Urllib3Transport(...))`.

    Args:
        verify: `True`, `False` or a CA bundle path (see `Urllib3Transport`).
        cert: client certificate path or `(cert_path, key_path)`.
        trust_env: use proxies from the environment.
        retry: the retry policy; `None` means `RetryPolicy()`. `RetryPolicy(max_retries=0)` disables retrying.
        pool_maxsize: connections kept per host.

    Returns:
        A transport for `httpx.Client(transport=...)`.
    """
    inner = Urllib3Transport(verify=verify, cert=cert, trust_env=trust_env, pool_maxsize=pool_maxsize)
    return RetryTransport(inner, retry if retry is not None else RetryPolicy())


def create_async_transport(
    *,
    verify: VerifyTypes = True,
    cert: CertTypes = None,
    trust_env: bool = True,
    retry: RetryPolicy | None = None,
    pool_maxsize: int = 32,
) -> httpx.AsyncBaseTransport:
    """Build the default async transport: `AsyncRetryTransport(AiohttpTransport(...))`.

    Args:
        verify: `True`, `False` or a CA bundle path (see `AiohttpTransport`).
        cert: client certificate path or `(cert_path, key_path)`.
        trust_env: use proxies from the environment.
        retry: the retry policy; `None` means `RetryPolicy()`. `RetryPolicy(max_retries=0)` disables retrying.
        pool_maxsize: maximum number of simultaneous connections.

    Returns:
        A transport for `httpx.AsyncClient(transport=...)`.
    """
    from ._aiohttp import AiohttpTransport  # here: sync users never load aiohttp
    from ._async_retry import AsyncRetryTransport  # nor asyncio

    inner = AiohttpTransport(verify=verify, cert=cert, trust_env=trust_env, pool_maxsize=pool_maxsize)
    return AsyncRetryTransport(inner, retry if retry is not None else RetryPolicy())
