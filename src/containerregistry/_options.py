"""`ClientOptions`: the options every client, the pipeline and the image functions are built from.

One frozen value instead of the same keywords (credential, audience, transport, timeout, retry, verify,
insecure, trusted_token_hosts) re-declared in each of them. The clients keep their keyword signatures and
also take `options=ClientOptions(...)`; `ClientOptions.merged` is how the two combine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .auth import AsyncCredential
from .transport import RetryPolicy

__all__ = ["ClientOptions"]


@dataclass(frozen=True)
class ClientOptions:
    """How a client talks to a registry: its credential and connection options.

    Build one and pass it to any client (`ContainerRegistryClient(endpoint, options=opts)`) or image
    function; `dataclasses.replace(opts, timeout=5)` makes a variant. Frozen, so one value can be shared.

    Attributes:
        credential: None (anonymous) or a credential (see `containerregistry.credentials`); never in the repr.
        audience: the Entra ID audience for ACR (see `ContainerRegistryAudience`); None for the default.
        transport: an httpx transport to use instead of the default fast one (an `httpx.BaseTransport`
            for the sync clients, an `httpx.AsyncBaseTransport` for the async ones); retries still wrap it.
        timeout: seconds or an `httpx.Timeout`; None for the default (120 s, 15 s to connect).
        retry: the retry policy for idempotent requests; None for `RetryPolicy()`.
        verify: TLS verification: True, False, or a CA bundle path.
        insecure: allow sending credentials over plain http to a host that is not loopback.
        trusted_token_hosts: token servers outside the registry's host and registrable domain that may
            receive a password, identity or refresh token (`host` or `host:port` entries).
    """

    credential: AsyncCredential | None = field(default=None, repr=False)
    audience: str | None = None
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None
    timeout: float | httpx.Timeout | None = None
    retry: RetryPolicy | None = None
    verify: bool | str = True
    insecure: bool = False
    trusted_token_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        hosts: Any = self.trusted_token_hosts
        if hosts is None:
            hosts = ()
        elif isinstance(hosts, str):
            hosts = (hosts,)
        object.__setattr__(self, "trusted_token_hosts", tuple(hosts))

    @classmethod
    def merged(
        cls,
        options: ClientOptions | None,
        *,
        credential: AsyncCredential | None = None,
        audience: str | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        insecure: bool = False,
        trusted_token_hosts: Iterable[str] | None = None,
    ) -> ClientOptions:
        """`options` (or the defaults) with each keyword that is not at its default replacing its field.

        This is how a client reads `Client(endpoint, credential, timeout=..., options=...)`: the keywords
        a caller wrote win over the options value.
        """
        given: dict[str, Any] = {}
        if credential is not None:
            given["credential"] = credential
        if audience is not None:
            given["audience"] = audience
        if transport is not None:
            given["transport"] = transport
        if timeout is not None:
            given["timeout"] = timeout
        if retry is not None:
            given["retry"] = retry
        if verify is not True:
            given["verify"] = verify
        if insecure:
            given["insecure"] = insecure
        if trusted_token_hosts is not None:
            given["trusted_token_hosts"] = trusted_token_hosts
        if options is None:
            return cls(**given)
        if not isinstance(options, ClientOptions):
            raise TypeError(f"options must be a ClientOptions, not {type(options).__name__}")
        return dataclasses.replace(options, **given) if given else options
