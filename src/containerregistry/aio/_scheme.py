"""Which scheme a registry named without one speaks: https first, then plain http where docker allows it.

Docker's rule: a registry is reached over https; only a loopback registry or one marked insecure may
fall back to plain http. `probe_endpoint` decides with one anonymous `GET /v2/` (no credentials are
ever attached to it, over either scheme); the pipeline calls it once, before its first request, and
keeps the answer. On loopback a bare TLS handshake (no certificate check, so no CA store to load)
tells TLS from plain http first: a plain-http emulator costs one extra connection, not a TLS setup.
"""

from __future__ import annotations

import logging
import ssl
from urllib.parse import urlsplit

import httpx

from .._common import is_loopback_host
from ..protocol.http import parse_content_length
from ._shim import speaks_tls

__all__ = ["probe_endpoint"]

_LOGGER = logging.getLogger("containerregistry")
#: The probe is one small request; a server that holds a TLS handshake open this long is not answering.
_PROBE_TIMEOUT = httpx.Timeout(15.0, connect=10.0)
#: The largest `/v2/` body the probe reads to keep its connection (registries send a few bytes).
_PROBE_BODY_MAX = 4096


def _certificate_rejected(exc: BaseException) -> bool:
    """True when the https attempt failed because the certificate was not trusted (the server speaks TLS)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        text = str(current).lower()
        if "certificate verify failed" in text or "certificate_verify_failed" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


async def _answers(client: httpx.AsyncClient, endpoint: str) -> None:
    """Send `GET <endpoint>/v2/` without credentials, retries or redirects; raise if nothing answers."""
    request = client.build_request(
        "GET", f"{endpoint}/v2/", timeout=_PROBE_TIMEOUT, extensions={"containerregistry.retry": False}
    )
    # auth=None: no credentials even when a caller-supplied http_client has its own auth.
    response = await client.send(request, auth=None, follow_redirects=False, stream=True)
    try:
        # An answer with its status is all the probe needs. Its body (`{}`, or an error) is read too
        # when the registry says it is small, so that the connection goes back to the pool for the
        # request that follows: closed unread, it would be dropped, and that request connect again.
        length = parse_content_length(response.headers.get("content-length"))
        if length is not None and length <= _PROBE_BODY_MAX:
            async for _ in response.aiter_raw():
                pass
    except httpx.HTTPError:
        pass  # it answered: a body cut short only costs its connection, as before
    finally:
        await response.aclose()


async def probe_endpoint(client: httpx.AsyncClient, first: str, fallback: str | None) -> str:
    """The endpoint to use: `first` (https) if it answers any HTTP status, else `fallback` (http) if that does.

    When https fails because the certificate is not trusted, the server does speak TLS: there is no
    fallback (the request then reports the certificate error). When neither answers, `first` is kept,
    so the failure the caller sees is the https one.
    """
    parts = urlsplit(first)
    host = parts.netloc
    if fallback is None:
        return first
    https_error: BaseException | str
    if is_loopback_host(parts.hostname or ""):
        tls = await speaks_tls(parts.hostname or "", parts.port or 443, _PROBE_TIMEOUT.connect or 10.0)
        if tls is None:
            _LOGGER.info("%s: nothing answered; using https", host)
            return first
        if tls:
            _LOGGER.info("%s: using https (no scheme was given; it speaks TLS)", host)
            return first
        https_error = "it does not speak TLS"
    else:
        try:
            await _answers(client, first)
        except httpx.TransportError as exc:
            if _certificate_rejected(exc):
                _LOGGER.info("%s: speaks TLS but its certificate is not trusted; staying on https", host)
                return first
            https_error = exc
        else:
            _LOGGER.info("%s: using https (no scheme was given; https answered)", host)
            return first
    try:
        await _answers(client, fallback)
    except httpx.TransportError:
        _LOGGER.info("%s: neither https nor http answered; using https", host)
        return first
    _LOGGER.info(
        "%s: using plain http (no scheme was given and https failed: %s)",
        host,
        str(https_error) or type(https_error).__name__,  # a str or an exception
    )
    return fallback
