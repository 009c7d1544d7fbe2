"""Token forms and token answers: what the auth flow sends to a token server and how it reads the reply.

Sans-I/O: the request builders return ``httpx.Request`` objects (or are generators that yield one and
receive its response), the parsers take a response whose body the driver has already read (with
`read_answer` / `aread_answer`, the only functions here that touch a stream: they read a body with
its cap). Owns:

- the flow's step types (`EntraTokenNeeded`, `Hold`, `Release`, `Step`, `Flow`) and its counters (`AuthStats`);
- the token request forms: ``GET <realm>?service=&scope=`` (Docker token spec), the OAuth2 ``POST``
  grants (password, refresh token, ACR's access token and ``/oauth2/exchange``) and how each encodes
  its scopes (ACR: one ``scope`` field per scope; the Docker OAuth spec: one space-separated value);
- token answers: the token (``token`` or ``access_token``), its lifetime (``expires_in``, else the
  JWT's ``exp``, else the spec's 60 s default), a password grant's refresh token, secret-free
  summaries of error answers, and the caps on the bodies the flow reads (1 MiB for a token answer,
  64 KiB, cut, for an error or a 401).

The challenge itself (``WWW-Authenticate``, scopes) is parsed by `containerregistry.protocol.challenge`.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from .._bounded import aread_response, loads_json, read_response
from ..exceptions import ClientAuthenticationError, ErrorDetail
from ..protocol.http import MAX_ERROR_BODY, redact_url
from ._credentials import BasicCredential, RefreshTokenCredential, RegistryTokenCredential

__all__ = [
    "ACR_CLIENT_ID",
    "DEFAULT_EXPIRES_IN",
    "INTERNAL",
    "Hold",
    "Release",
    "MAX_ERROR_BODY",
    "MAX_TOKEN_BODY",
    "AuthStats",
    "EntraTokenNeeded",
    "Flow",
    "Step",
    "aread_answer",
    "basic_header",
    "is_acr_realm",
    "jwt_claims",
    "known_secrets",
    "needs_body",
    "parse_token_body",
    "password_form",
    "prepare",
    "read_answer",
    "refresh_grant_form",
    "refresh_token_of",
    "server_message",
    "token_get",
    "token_lifetime",
    "token_post",
]

logger = logging.getLogger("containerregistry.auth")

# Marks requests the flow itself makes (token endpoints, pings): the drivers read their bodies.
INTERNAL = "containerregistry.auth.internal"
DEFAULT_EXPIRES_IN = 60.0  # Docker token spec: assume 60 s when the server does not say
ACR_CLIENT_ID = "containerregistry-python"
#: Token answers above this many decoded bytes are refused; error and 401 bodies are cut at
#: `MAX_ERROR_BODY` (the protocol's one cap on error bodies).
MAX_TOKEN_BODY = 1024 * 1024


@dataclass
class AuthStats:
    """Counters for tests and diagnostics.

    Attributes:
        token_requests: requests sent to token endpoints (realm GET/POST, ``/oauth2/exchange``).
        challenges: 401 responses with a ``WWW-Authenticate`` challenge received from registries.
        exchanges: Entra ID -> ACR refresh token exchanges.
        entra_tokens: Entra ID access tokens requested from the credential.
        pings: ``GET /v2/`` requests the flow sent to learn a challenge.
    """

    token_requests: int = 0
    challenges: int = 0
    exchanges: int = 0
    entra_tokens: int = 0
    pings: int = 0


@dataclass(frozen=True)
class EntraTokenNeeded:
    """A flow step: the driver must return an Entra ID access token string for these scopes."""

    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Hold:
    """A flow step: the driver must take the single-flight lock `key` (waiting while another flow
    holds it) and keep it until the flow yields `Release` with that key, or ends."""

    key: str


@dataclass(frozen=True)
class Release:
    """A flow step: the driver releases the lock the flow took with `Hold` of the same `key`."""

    key: str


Step = httpx.Request | EntraTokenNeeded | Hold | Release
Flow = Generator[Step, Any, Any]


def jwt_claims(token: str) -> dict[str, Any]:
    """Claims of a JWT without verifying it (only to read ``exp``/``tid``; the server verifies)."""
    import jwt  # here, not at the top: PyJWT loads cryptography, which a client without tokens never needs

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def basic_header(credential: BasicCredential) -> str:
    """The ``Authorization: Basic`` value for a user name and password."""
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def is_acr_realm(realm_url: httpx.URL) -> bool:
    """An ACR token endpoint (``.../oauth2/token``): it takes password grants and one scope per field."""
    return realm_url.path.rstrip("/").endswith("/oauth2/token")


def password_form(service: str, credential: BasicCredential) -> dict[str, str]:
    """The OAuth2 password grant for `credential`, asking for a refresh token (``access_type=offline``)."""
    return {
        "grant_type": "password",
        "service": service,
        "client_id": ACR_CLIENT_ID,
        "access_type": "offline",
        "username": credential.username,
        "password": credential.password,
    }


def refresh_grant_form(service: str, refresh_token: str) -> dict[str, str]:
    """The OAuth2 refresh token grant (token servers and ACR's ``/oauth2/token``)."""
    return {
        "grant_type": "refresh_token",
        "service": service,
        "client_id": ACR_CLIENT_ID,
        "refresh_token": refresh_token,
    }


def token_lifetime(body: dict[str, Any], value: str, now: Callable[[], float] = time.time) -> float:
    """Seconds a token answer's token lives: ``expires_in``, else its JWT ``exp``, else 60 s.

    Args:
        body: the token answer.
        value: its token.
        now: the wall clock, to turn a JWT's ``exp`` (a Unix time) into seconds from now.
    """
    expires_in = body.get("expires_in")
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
        return float(expires_in)
    exp = jwt_claims(value).get("exp")
    if isinstance(exp, (int, float)):
        return float(exp) - now()
    return DEFAULT_EXPIRES_IN


def known_secrets(credential: object | None, refresh_token: str | None, *extra: str) -> list[str]:
    """The secrets an error message must never show: the credential's, a held refresh token, `extra`."""
    found = [s for s in extra if s]
    if isinstance(credential, BasicCredential):
        found.append(credential.password)
    elif isinstance(credential, RefreshTokenCredential):
        found.append(credential.refresh_token)
    elif isinstance(credential, RegistryTokenCredential):
        found.append(credential.token)
    if refresh_token:
        found.append(refresh_token)
    return [s for s in found if len(s) >= 4]


# ------------------------------------------------------------------------------- token requests


def token_get(
    stats: AuthStats,
    host: str,
    realm: str,
    service: str,
    scopes: tuple[str, ...],
    authorization: str | None,
) -> Generator[Step, Any, httpx.Response]:
    """``GET <realm>?service=...&scope=...`` (one ``scope`` parameter per scope), yielded; returns the answer."""
    params: list[tuple[str, str | int | float | bool | None]] = [("service", service)] if service else []
    params.extend(("scope", s) for s in scopes)
    request = httpx.Request("GET", httpx.URL(realm).copy_merge_params(params), extensions={INTERNAL: True})
    if authorization:
        request.headers["Authorization"] = authorization
    stats.token_requests += 1
    response: httpx.Response = yield request
    logger.debug(
        "token GET %s for %s scope=%s: HTTP %s",
        redact_url(realm),
        host,
        " ".join(scopes),
        response.status_code,
    )
    return response


def token_post(
    stats: AuthStats,
    host: str,
    url: str,
    form: dict[str, str],
    scopes: tuple[str, ...],
    repeat_scope: bool,
) -> Generator[Step, Any, httpx.Response]:
    """A form ``POST`` to a token endpoint (empty fields left out), yielded; returns the answer."""
    fields: list[tuple[str, str | int | float | bool | None]] = [(k, v) for k, v in form.items() if v]
    if scopes:
        # ACR takes one scope parameter per scope; the Docker OAuth spec wants one space-separated value.
        if repeat_scope:
            fields.extend(("scope", s) for s in scopes)
        else:
            fields.append(("scope", " ".join(scopes)))
    content = str(httpx.QueryParams(fields)).encode()
    request = httpx.Request(
        "POST",
        url,
        content=content,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        extensions={INTERNAL: True},
    )
    stats.token_requests += 1
    response: httpx.Response = yield request
    logger.debug(
        "token POST %s (grant_type=%s) for %s scope=%s: HTTP %s",
        redact_url(url),
        form.get("grant_type"),
        host,
        " ".join(scopes),
        response.status_code,
    )
    return response


# -------------------------------------------------------------------------------- token answers


def parse_token_body(
    host: str,
    realm: str,
    scopes: tuple[str, ...],
    response: httpx.Response,
    what: str,
    secrets: list[str],
    *,
    key: str = "",
) -> dict[str, Any]:
    """The JSON object of a token answer, which holds a non-empty `key` (default: ``token`` or ``access_token``).

    Raises:
        ClientAuthenticationError: the answer is not a 200, or holds no such token; its message names
            the registry `host`, `what` was asked at which realm for which scopes, and what the server
            said, with every one of `secrets` masked.
    """
    scope_text = " ".join(scopes) or "(none)"
    if response.status_code != 200:
        message, errors = server_message(response, secrets)
        raise ClientAuthenticationError(
            f"registry {host}: {what} at {redact_url(realm)} for scope {scope_text} "
            f"failed with HTTP {response.status_code}: {message}",
            status_code=response.status_code,
            errors=errors,
            method=response.request.method,
            url=redact_url(realm),
        )
    try:
        body = loads_json(response.content, f"{what} at {redact_url(realm)} for registry {host}")
    except ValueError:
        body = None
    wanted = (key,) if key else ("token", "access_token")
    if not isinstance(body, dict) or not any(isinstance(body.get(k), str) and body.get(k) for k in wanted):
        raise ClientAuthenticationError(
            f"registry {host}: {what} at {redact_url(realm)} for scope {scope_text} "
            f"returned no {' or '.join(wanted)}",
            status_code=response.status_code,
            method=response.request.method,
            url=redact_url(realm),
        )
    return body


def refresh_token_of(response: httpx.Response, realm: str) -> str | None:
    """The refresh token of a password grant's answer, or None (not a 200, not JSON, none issued)."""
    if response.status_code != 200:
        return None
    try:
        refresh = loads_json(response.content, f"password grant at {redact_url(realm)}").get("refresh_token")
    except (ValueError, AttributeError):
        refresh = None
    return refresh if isinstance(refresh, str) and refresh else None


def server_message(response: httpx.Response, secrets: Iterable[str]) -> tuple[str, list[ErrorDetail]]:
    """A short, secret-free summary of an error response body, and its OCI error entries."""
    errors: list[ErrorDetail] = []
    text = ""
    try:
        body = json.loads(response.content or b"null")
    except (ValueError, RecursionError, httpx.ResponseNotRead):
        body = None
        try:
            text = response.text
        except httpx.ResponseNotRead:
            text = ""
    if isinstance(body, dict):
        raw = body.get("errors")
        if isinstance(raw, list):
            for entry in raw:
                if isinstance(entry, dict):
                    errors.append(
                        ErrorDetail(
                            str(entry.get("code", "")), str(entry.get("message", "")), entry.get("detail")
                        )
                    )
        parts = [f"{e.code}: {e.message}" if e.message else e.code for e in errors]
        for key in ("error", "error_description", "details", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
        text = "; ".join(parts)
    text = " ".join(text.split())[:300] or (response.reason_phrase or "no details")
    for secret in secrets:
        text = text.replace(secret, "***")
    errors = [
        ErrorDetail(
            e.code,
            _scrub(e.message, secrets),
            e.detail if not isinstance(e.detail, str) else _scrub(e.detail, secrets),
        )
        for e in errors
    ]
    return text, errors


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


# -------------------------------------------------------------- reading the answers (for the drivers)


def prepare(step: httpx.Request) -> None:
    """Token requests and pings invite no compression (their answers are read with a cap anyway)."""
    if step.extensions.get(INTERNAL):
        step.headers.setdefault("Accept-Encoding", "identity")


def needs_body(step: httpx.Request, response: httpx.Response) -> bool:
    """The flow reads the answers to its own requests, and 401s (to describe a refusal)."""
    return bool(step.extensions.get(INTERNAL)) or response.status_code == 401


def _body_limit(step: httpx.Request, response: httpx.Response) -> tuple[int, str, bool]:
    """(cap, what, truncate) for reading a body the flow needs: a token answer is refused above its cap
    (`RegistryProtocolError`); an error or 401 body is only read to describe a failure, so it is cut."""
    what = f"{step.method} {redact_url(str(step.url))}"
    if step.extensions.get(INTERNAL) and response.status_code == 200:
        return MAX_TOKEN_BODY, what, False
    return MAX_ERROR_BODY, what, True


def read_answer(step: httpx.Request, response: httpx.Response) -> None:
    """Read the body of a response the flow needs (see `needs_body`), within its cap."""
    limit, what, truncate = _body_limit(step, response)
    read_response(response, limit, what, truncate=truncate)


async def aread_answer(step: httpx.Request, response: httpx.Response) -> None:
    """Async twin of `read_answer`."""
    limit, what, truncate = _body_limit(step, response)
    await aread_response(response, limit, what, truncate=truncate)
