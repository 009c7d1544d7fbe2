"""`RegistryAuth`: the registry authentication handshake as one ``httpx.Auth`` generator flow.

The flow (``_flow``) is written once. It yields either an ``httpx.Request`` to send (and receives the
response) or an `_EntraTokenNeeded` step (and receives an Entra ID access token string). The only
sync/async difference is how an Entra token is obtained and how a token response body is read, so
`RegistryAuth.sync_auth_flow` and `RegistryAuth.async_auth_flow` are small drivers around it.

Per registry (scheme + host) it remembers the challenge (Basic, or Bearer realm/service), the scopes
it holds, access tokens per scope set (until their expiry), and a refresh token (from a token server
or from the ACR Entra ID exchange). Requests carry the scopes they need in
``request.extensions["containerregistry.scope"]``; when a cached token covers them it is attached
before sending, and once the challenge is known a new scope is fetched before sending too, so the
steady state costs no 401 round trips. At most one retry per request.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from .._common import is_loopback_host
from ..exceptions import ClientAuthenticationError, ErrorDetail, InsecureTransportError, RegistryError
from ..protocol.challenge import Challenge, merge_scopes, parse_www_authenticate, scopes_cover
from ._credentials import (
    BasicCredential,
    DockerConfigCredential,
    RefreshTokenCredential,
    RegistryTokenCredential,
)
from ._hosts import (
    REGISTRY_EXTENSION,
    check_entra_realm,
    check_token_host,
    normalize_trusted_hosts,
    origin_key,
)

__all__ = ["DEFAULT_AUDIENCE", "SCOPE_EXTENSION", "AuthStats", "RegistryAuth"]

logger = logging.getLogger("containerregistry.auth")

SCOPE_EXTENSION = "containerregistry.scope"
DEFAULT_AUDIENCE = "https://containerregistry.azure.net"
# Marks requests the flow itself makes (token endpoints, pings): the drivers read their bodies.
_INTERNAL = "containerregistry.auth.internal"
_DEFAULT_EXPIRES_IN = 60.0  # Docker token spec: assume 60 s when the server does not say
_ACR_REFRESH_MARGIN = 300.0  # exchange again 5 minutes before the ACR refresh token expires
_ACR_REFRESH_DEFAULT = 3600.0  # when the refresh token is not a readable JWT (ACR's last about 3 h)
_ACR_CLIENT_ID = "containerregistry-python"


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


@dataclass
class _Token:
    value: str = field(repr=False)
    scopes: tuple[str, ...]
    expires_at: float  # time.monotonic() deadline, margin already taken off

    def valid(self) -> bool:
        return time.monotonic() < self.expires_at


@dataclass
class _RegistryState:
    key: str  # "https://host:port"
    host: str
    challenge: Challenge | None = None
    held_scopes: tuple[str, ...] = ()
    tokens: dict[tuple[str, ...], _Token] = field(default_factory=dict)
    last_token: _Token | None = None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: float | None = None
    refresh_from_exchange: bool = False
    pinged: bool = False
    # Set once a request succeeded without any Authorization: such a registry needs no warm-up.
    open_access: bool = False


@dataclass(frozen=True)
class _EntraTokenNeeded:
    """A flow step: the driver must return an Entra ID access token string for these scopes."""

    scopes: tuple[str, ...]


_Step = httpx.Request | _EntraTokenNeeded
_Flow = Generator[_Step, Any, Any]


def _jwt_claims(token: str) -> dict[str, Any]:
    """Claims of a JWT without verifying it (only to read ``exp``/``tid``; the server verifies)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _is_replayable(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


class RegistryAuth(httpx.Auth):
    """Authentication for container registries, for ``httpx.Client`` and ``httpx.AsyncClient``.

    Handles Basic and Bearer (Docker/OCI token) challenges, ACR's Entra ID exchange, token caching
    per (registry, scope set), and proactive token use for requests that announce their scopes in
    ``request.extensions["containerregistry.scope"]``.

    Token requests for a `BasicCredential` use ``GET <realm>`` with Basic credentials: it is the one
    method the Docker token spec requires of every token server (Docker Hub, GHCR, Harbor, ACR admin
    users and scoped tokens all answer it), so it costs one request with no fallback. With
    ``prefer_post=True`` the OAuth2 password grant (``POST``) is tried first instead, falling back to
    ``GET`` on 404/405; it returns a refresh token, which is then used for later scopes.

    Credentials stay with the registry (see `containerregistry.auth._hosts`): a password, identity or
    refresh token goes to a token server only on the registry's host or registrable domain (or one in
    `trusted_token_hosts`), else `UntrustedTokenServerError` is raised before anything is sent; an Entra
    ID token is exchanged only at the registry's own origin. A 401 from another origin (after httpx
    followed a redirect) is returned as is, and a request carrying
    ``extensions["containerregistry.registry"]`` (the registry's origin, set by the library's clients)
    to another origin (an upload ``Location`` elsewhere) gets no credential at all. Token requests carry
    secrets in their bodies: send with ``follow_redirects=False`` (httpx's default; the library's
    clients follow redirects themselves) so a token endpoint's 307 is not followed.

    Requests whose body is a one-shot stream cannot be sent twice, so they cannot be retried after a
    401. For them the flow learns the registry's challenge first (a ``GET /v2/`` "ping" when none is
    known yet) and fetches a token before sending. Content clients should still send a cheap request
    with the same scope first (e.g. the upload ``POST``), which also warms the token cache.

    Args:
        credential: None (anonymous), `BasicCredential`, `RefreshTokenCredential`,
            `DockerConfigCredential`, `RegistryTokenCredential`, or an Entra ID credential (any object
            with ``get_token(*scopes)``, sync or async; async ones need ``httpx.AsyncClient``).
        audience: the Entra ID audience; the token is requested for ``<audience>/.default``.
        insecure: allow sending credentials over plain http to hosts that are not loopback.
        prefer_post: try the OAuth2 password grant before ``GET`` for a `BasicCredential`.
        trusted_token_hosts: token servers outside the registry's host and registrable domain that may
            receive a password, identity or refresh token: ``"auth.example.com"`` (any port) or
            ``"auth.example.com:8443"``. Does not apply to Entra ID credentials.

    Attributes:
        stats: `AuthStats` counters.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        credential: object | None = None,
        *,
        audience: str = DEFAULT_AUDIENCE,
        insecure: bool = False,
        prefer_post: bool = False,
        trusted_token_hosts: Iterable[str] | None = None,
    ) -> None:
        self._credential = credential
        self._trusted = normalize_trusted_hosts(trusted_token_hosts)
        self._audience = audience.rstrip("/")
        self._insecure = insecure
        self._prefer_post = prefer_post
        self._registries: dict[str, _RegistryState] = {}
        self._resolved: dict[str, object | None] = {}
        #: Hosts whose docker-config credential could not be resolved (a missing credential helper):
        #: requests go anonymous, and the error is raised only if the registry then asks for credentials.
        self._resolve_errors: dict[str, RegistryError] = {}
        self.stats = AuthStats()
        self._thread_lock = threading.Lock()
        self._aio_lock: asyncio.Lock | None = None
        self._aio_lock_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"RegistryAuth(credential={self._credential!r}, audience={self._audience!r}, insecure={self._insecure})"

    @property
    def audience(self) -> str:
        """The Entra ID audience (without ``/.default``)."""
        return self._audience

    # ----------------------------------------------------------------- credentials per registry

    def _is_entra(self, credential: object | None) -> bool:
        return (
            credential is not None
            and not isinstance(
                credential,
                BasicCredential | RefreshTokenCredential | RegistryTokenCredential | DockerConfigCredential,
            )
            and callable(getattr(credential, "get_token", None))
        )

    def _credential_for(self, state: _RegistryState) -> object | None:
        if isinstance(self._credential, DockerConfigCredential):
            # Resolving may run a credential helper: do it once per host.
            if state.host not in self._resolved:
                try:
                    self._resolved[state.host] = self._credential.resolve(state.host)
                except RegistryError as exc:
                    # An open registry needs no credentials: a broken helper must not block it.
                    self._resolved[state.host] = None
                    self._resolve_errors[state.host] = exc
            return self._resolved[state.host]
        return self._credential

    def _state_for(self, url: httpx.URL) -> _RegistryState:
        key = _origin(url)
        state = self._registries.get(key)
        if state is None:
            host = url.host if url.port is None else f"{url.host}:{url.port}"
            state = self._registries[key] = _RegistryState(key=key, host=host)
        return state

    def _require_secure(self, url: httpx.URL, credential: object | None, state: _RegistryState) -> None:
        if credential is None or self._insecure or url.scheme != "http" or is_loopback_host(url.host):
            return
        raise InsecureTransportError(
            f"refusing to send credentials for registry {state.host} over plain http to {url.host}; "
            "use https, or pass insecure=True if this network is trusted"
        )

    @staticmethod
    def _foreign(request: httpx.Request) -> bool:
        """A request to another origin than the registry's (a URL the server supplied)."""
        registry = request.extensions.get(REGISTRY_EXTENSION)
        return registry is not None and origin_key(request.url) != origin_key(str(registry))

    def _check_token_host(self, state: _RegistryState, realm_url: httpx.URL, what: str) -> None:
        check_token_host(state.key, state.host, realm_url, self._trusted, what)

    def _check_entra_realm(self, state: _RegistryState, realm_url: httpx.URL) -> None:
        check_entra_realm(state.key, state.host, realm_url)

    def _secrets(self, credential: object | None, state: _RegistryState, *extra: str) -> list[str]:
        found = [s for s in extra if s]
        if isinstance(credential, BasicCredential):
            found.append(credential.password)
        elif isinstance(credential, RefreshTokenCredential):
            found.append(credential.refresh_token)
        elif isinstance(credential, RegistryTokenCredential):
            found.append(credential.token)
        if state.refresh_token:
            found.append(state.refresh_token)
        return [s for s in found if len(s) >= 4]

    # --------------------------------------------------------------------------- the flow

    def _flow(self, request: httpx.Request) -> _Flow:
        """`_flow_steps`, and when the registry still refuses (401) a request that went anonymous because
        the docker config's credential helper failed, that failure (it says what to fix)."""
        steps = self._flow_steps(request)
        value: Any = None
        last: httpx.Response | None = None
        while True:
            try:
                step = steps.send(value)
            except StopIteration:
                break
            except ClientAuthenticationError as exc:
                error = self._resolve_error(request)
                if error is not None:
                    raise error from exc
                raise
            value = yield step
            if isinstance(value, httpx.Response):
                last = value
        if last is not None and last.status_code == 401 and (error := self._resolve_error(request)):
            raise error

    def _resolve_error(self, request: httpx.Request) -> RegistryError | None:
        if self._foreign(request) or not self._resolve_errors:
            return None
        return self._resolve_errors.get(self._state_for(request.url).host)

    def _flow_steps(self, request: httpx.Request) -> _Flow:
        if self._foreign(request):
            # A URL the server supplied on another origin (an upload Location, a redirect target): no
            # credential goes there, asked for or not, and its challenges are not answered.
            request.headers.pop("Authorization", None)
            yield request
            return
        state = self._state_for(request.url)
        credential = self._credential_for(state)
        hinted = tuple(request.extensions.get(SCOPE_EXTENSION) or ())

        if isinstance(credential, RegistryTokenCredential):
            self._require_secure(request.url, credential, state)
            request.headers["Authorization"] = f"Bearer {credential.token}"
            yield request
            return

        if not _is_replayable(request) and state.challenge is None and not state.pinged:
            yield from self._ping(state)

        sent = self._attach_cached(state, credential, request, hinted)
        known = state.challenge
        if (
            sent is None
            and known is not None
            and known.scheme == "bearer"
            and (hinted or not _is_replayable(request))
        ):
            scopes = merge_scopes(state.held_scopes, hinted)
            token = yield from self._get_token(state, credential, known, scopes)
            self._require_secure(request.url, credential, state)
            request.headers["Authorization"] = f"Bearer {token.value}"
            sent = token

        response = yield request
        if response.status_code != 401:
            if "Authorization" not in request.headers:
                state.open_access = True
            return
        if _redirected_away(request, response):
            # httpx followed a redirect to another origin (a storage host): its challenge is not the
            # registry's, and answering it would hand that host the registry's credentials.
            return
        challenges = parse_www_authenticate(response.headers.get_list("www-authenticate"))
        self.stats.challenges += 1
        challenge = next((c for c in challenges if c.scheme == "bearer"), None) or next(
            (c for c in challenges if c.scheme == "basic"), None
        )
        if challenge is None:
            return
        logger.debug(
            "challenge from %s: %s realm=%s service=%s scope=%s",
            state.host,
            challenge.scheme,
            challenge.realm,
            challenge.service,
            " ".join(challenge.scopes),
        )
        previous = state.challenge
        state.challenge = challenge
        if not _is_replayable(request):
            logger.debug("%s %s: body is a stream, not retrying after 401", request.method, request.url.path)
            return

        if challenge.scheme == "basic":
            if not isinstance(credential, BasicCredential):
                return
            if sent == "basic":
                raise self._rejected(state, request, response, credential, "the user name or password")
            self._require_secure(request.url, credential, state)
            request.headers["Authorization"] = _basic_header(credential)
            retry = yield request
            if retry.status_code == 401 and not _redirected_away(request, retry):
                raise self._rejected(state, request, retry, credential, "the user name or password")
            return

        wanted = merge_scopes(hinted, challenge.scopes)
        if isinstance(sent, _Token):
            # The token we sent was refused although it was meant for these scopes: it was revoked or
            # expired early. Forget it and fetch a fresh one (once).
            for key, cached in list(state.tokens.items()):
                if cached is sent:
                    del state.tokens[key]
            if state.last_token is sent:
                state.last_token = None
        if previous is not None and previous.realm != challenge.realm:
            state.tokens.clear()
            state.last_token = None
        # Like go-containerregistry: add the new scope to those already held and refresh once, so one
        # token keeps serving every repository this client touched.
        scopes = merge_scopes(state.held_scopes, wanted)
        token = yield from self._get_token(state, credential, challenge, scopes)
        self._require_secure(request.url, credential, state)
        request.headers["Authorization"] = f"Bearer {token.value}"
        retry = yield request
        if retry.status_code == 401 and not _redirected_away(request, retry):
            raise self._rejected(
                state, request, retry, credential, f"the token for scope {' '.join(scopes) or '(none)'}"
            )

    def _rejected(
        self,
        state: _RegistryState,
        request: httpx.Request,
        response: httpx.Response,
        credential: object | None,
        what: str,
    ) -> ClientAuthenticationError:
        who = "anonymous access" if credential is None else what
        message, errors = _server_message(response, self._secrets(credential, state))
        return ClientAuthenticationError(
            f"registry {state.host} refused {who} for {request.method} {request.url.path} (HTTP 401): {message}",
            status_code=401,
            errors=errors,
            method=request.method,
            url=_without_query(str(request.url)),
        )

    def _attach_cached(
        self,
        state: _RegistryState,
        credential: object | None,
        request: httpx.Request,
        hinted: tuple[str, ...],
    ) -> _Token | str | None:
        """Attach what is already known to work (no I/O). Returns the token, ``"basic"`` or None."""
        challenge = state.challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if isinstance(credential, BasicCredential):
                self._require_secure(request.url, credential, state)
                request.headers["Authorization"] = _basic_header(credential)
                return "basic"
            return None
        token = self._cached_token(state, hinted)
        if token is None:
            return None
        self._require_secure(request.url, credential, state)
        request.headers["Authorization"] = f"Bearer {token.value}"
        return token

    def _cached_token(self, state: _RegistryState, hinted: tuple[str, ...]) -> _Token | None:
        if not hinted:
            last = state.last_token
            return last if last is not None and last.valid() else None
        exact = state.tokens.get(merge_scopes((), hinted))
        if exact is not None and exact.valid():
            return exact
        for token in reversed(list(state.tokens.values())):
            if token.valid() and scopes_cover(token.scopes, hinted):
                return token
        return None

    def _ping(self, state: _RegistryState) -> _Flow:
        state.pinged = True
        self.stats.pings += 1
        ping = httpx.Request("GET", f"{state.key}/v2/", extensions={_INTERNAL: True})
        response = yield ping
        if response.status_code == 401 and not _redirected_away(ping, response):
            challenges = parse_www_authenticate(response.headers.get_list("www-authenticate"))
            state.challenge = next((c for c in challenges if c.scheme == "bearer"), None) or next(
                (c for c in challenges if c.scheme == "basic"), None
            )

    # ------------------------------------------------------------------------- token requests

    def _get_token(
        self, state: _RegistryState, credential: object | None, challenge: Challenge, scopes: tuple[str, ...]
    ) -> Generator[_Step, Any, _Token]:
        realm = challenge.realm
        if not realm:
            raise ClientAuthenticationError(
                f"registry {state.host} sent a Bearer challenge without a realm", status_code=401
            )
        service = challenge.service or ""
        realm_url = httpx.URL(realm)
        acr_realm = realm_url.path.rstrip("/").endswith("/oauth2/token")
        body: dict[str, Any]
        if self._is_entra(credential):
            if not acr_realm:
                raise ClientAuthenticationError(
                    f"registry {state.host}: an Entra ID credential needs an ACR token endpoint "
                    f"(realm .../oauth2/token), but the registry named {_without_query(realm)}",
                    status_code=401,
                )
            self._check_entra_realm(state, realm_url)
            body = yield from self._acr_access_token(state, credential, realm_url, service, scopes)
        elif isinstance(credential, RefreshTokenCredential) or state.refresh_token:
            refresh = (
                credential.refresh_token
                if isinstance(credential, RefreshTokenCredential)
                else state.refresh_token or ""
            )
            self._check_token_host(state, realm_url, "the refresh token")
            self._require_secure(realm_url, credential or "refresh", state)
            body = yield from self._post_refresh_grant(
                state, credential, realm, service, scopes, refresh, acr_realm
            )
        elif isinstance(credential, BasicCredential):
            self._check_token_host(state, realm_url, "the password")
            self._require_secure(realm_url, credential, state)
            body = {}
            if self._prefer_post:
                form = {
                    "grant_type": "password",
                    "service": service,
                    "client_id": _ACR_CLIENT_ID,
                    "access_type": "offline",
                    "username": credential.username,
                    "password": credential.password,
                }
                response = yield from self._token_post(state, realm, form, scopes, acr_realm)
                if response.status_code not in (404, 405):
                    body = self._token_body(state, credential, realm, scopes, response, "password grant")
            if not body:
                response = yield from self._token_get(
                    state, realm, service, scopes, _basic_header(credential)
                )
                body = self._token_body(state, credential, realm, scopes, response, "token request")
        else:
            body = {}
            if acr_realm:
                # ACR's anonymous flow is a password grant without credentials; others want a GET.
                form = {"grant_type": "password", "service": service, "client_id": _ACR_CLIENT_ID}
                response = yield from self._token_post(state, realm, form, scopes, acr_realm)
                if response.status_code == 200:
                    body = self._token_body(state, None, realm, scopes, response, "anonymous token request")
            if not body:
                response = yield from self._token_get(state, realm, service, scopes, None)
                body = self._token_body(state, None, realm, scopes, response, "anonymous token request")
        return self._store_token(state, body, scopes)

    def _store_token(self, state: _RegistryState, body: dict[str, Any], scopes: tuple[str, ...]) -> _Token:
        value = body.get("token") or body.get("access_token")
        assert isinstance(value, str)  # checked by _token_body
        lifetime: float | None = None
        expires_in = body.get("expires_in")
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
            lifetime = float(expires_in)
        else:
            exp = _jwt_claims(value).get("exp")
            if isinstance(exp, (int, float)):
                lifetime = float(exp) - time.time()
        if lifetime is None:
            lifetime = _DEFAULT_EXPIRES_IN
        # Leave a margin for clock skew and the time the request spends in flight.
        margin = min(30.0, max(lifetime, 0.0) / 4)
        token = _Token(value=value, scopes=scopes, expires_at=time.monotonic() + lifetime - margin)
        refresh = body.get("refresh_token")
        if isinstance(refresh, str) and refresh and not state.refresh_from_exchange:
            state.refresh_token = refresh
        state.tokens[scopes] = token
        state.last_token = token
        state.held_scopes = merge_scopes(state.held_scopes, scopes)
        return token

    def _token_get(
        self,
        state: _RegistryState,
        realm: str,
        service: str,
        scopes: tuple[str, ...],
        authorization: str | None,
    ) -> Generator[_Step, Any, httpx.Response]:
        params: list[tuple[str, str | int | float | bool | None]] = [("service", service)] if service else []
        params.extend(("scope", s) for s in scopes)
        request = httpx.Request(
            "GET", httpx.URL(realm).copy_merge_params(params), extensions={_INTERNAL: True}
        )
        if authorization:
            request.headers["Authorization"] = authorization
        self.stats.token_requests += 1
        response: httpx.Response = yield request
        logger.debug(
            "token GET %s for %s scope=%s: HTTP %s",
            _without_query(realm),
            state.host,
            " ".join(scopes),
            response.status_code,
        )
        return response

    def _token_post(
        self,
        state: _RegistryState,
        url: str,
        form: dict[str, str],
        scopes: tuple[str, ...],
        repeat_scope: bool,
    ) -> Generator[_Step, Any, httpx.Response]:
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
            extensions={_INTERNAL: True},
        )
        self.stats.token_requests += 1
        response: httpx.Response = yield request
        logger.debug(
            "token POST %s (grant_type=%s) for %s scope=%s: HTTP %s",
            _without_query(url),
            form.get("grant_type"),
            state.host,
            " ".join(scopes),
            response.status_code,
        )
        return response

    def _token_body(
        self,
        state: _RegistryState,
        credential: object | None,
        realm: str,
        scopes: tuple[str, ...],
        response: httpx.Response,
        what: str,
        *,
        key: str = "",
        extra_secrets: Iterable[str] = (),
    ) -> dict[str, Any]:
        secrets = self._secrets(credential, state, *extra_secrets)
        scope_text = " ".join(scopes) or "(none)"
        if response.status_code != 200:
            message, errors = _server_message(response, secrets)
            raise ClientAuthenticationError(
                f"registry {state.host}: {what} at {_without_query(realm)} for scope {scope_text} "
                f"failed with HTTP {response.status_code}: {message}",
                status_code=response.status_code,
                errors=errors,
                method=response.request.method,
                url=_without_query(realm),
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        wanted = (key,) if key else ("token", "access_token")
        if not isinstance(body, dict) or not any(
            isinstance(body.get(k), str) and body.get(k) for k in wanted
        ):
            raise ClientAuthenticationError(
                f"registry {state.host}: {what} at {_without_query(realm)} for scope {scope_text} "
                f"returned no {' or '.join(wanted)}",
                status_code=response.status_code,
                method=response.request.method,
                url=_without_query(realm),
            )
        return body

    def _post_refresh_grant(
        self,
        state: _RegistryState,
        credential: object | None,
        realm: str,
        service: str,
        scopes: tuple[str, ...],
        refresh_token: str,
        acr_realm: bool,
    ) -> Generator[_Step, Any, dict[str, Any]]:
        form = {
            "grant_type": "refresh_token",
            "service": service,
            "client_id": _ACR_CLIENT_ID,
            "refresh_token": refresh_token,
        }
        response = yield from self._token_post(state, realm, form, scopes, acr_realm)
        return self._token_body(
            state, credential, realm, scopes, response, "refresh token grant", extra_secrets=(refresh_token,)
        )

    # ------------------------------------------------------------------------ ACR / Entra ID

    def _acr_refresh_token(
        self, state: _RegistryState, credential: object | None, service: str
    ) -> Generator[_Step, Any, str]:
        now = time.monotonic()
        if (
            state.refresh_token
            and state.refresh_from_exchange
            and (state.refresh_expires_at is None or now < state.refresh_expires_at)
        ):
            return state.refresh_token
        scope = f"{self._audience}/.default"
        self.stats.entra_tokens += 1
        entra_token: str = yield _EntraTokenNeeded((scope,))
        # Always the registry's own origin (as the Azure SDK does), whatever a realm says.
        exchange_url = f"{state.key}/oauth2/exchange"
        self._require_secure(httpx.URL(exchange_url), credential, state)
        tenant = _jwt_claims(entra_token).get("tid")
        form = {
            "grant_type": "access_token",
            "service": service,
            "tenant": tenant if isinstance(tenant, str) else "",
            "access_token": entra_token,
        }
        self.stats.exchanges += 1
        response = yield from self._token_post(state, exchange_url, form, (), False)
        if response.status_code != 200:
            message, errors = _server_message(response, [*self._secrets(credential, state), entra_token])
            raise ClientAuthenticationError(
                f"registry {state.host}: exchanging the Entra ID token (audience {self._audience}, "
                f"scope {scope}) for an ACR refresh token at {exchange_url} failed with HTTP "
                f"{response.status_code}: {message}",
                status_code=response.status_code,
                errors=errors,
                method="POST",
                url=exchange_url,
            )
        body = self._token_body(
            state,
            credential,
            exchange_url,
            (),
            response,
            "Entra ID exchange",
            key="refresh_token",
            extra_secrets=(entra_token,),
        )
        refresh = str(body["refresh_token"])
        exp = _jwt_claims(refresh).get("exp")
        lifetime = float(exp) - time.time() if isinstance(exp, (int, float)) else _ACR_REFRESH_DEFAULT
        state.refresh_token = refresh
        state.refresh_from_exchange = True
        state.refresh_expires_at = time.monotonic() + lifetime - _ACR_REFRESH_MARGIN
        return refresh

    def _acr_access_token(
        self,
        state: _RegistryState,
        credential: object | None,
        realm_url: httpx.URL,
        service: str,
        scopes: tuple[str, ...],
    ) -> Generator[_Step, Any, dict[str, Any]]:
        realm = str(realm_url)
        self._require_secure(realm_url, credential, state)
        for attempt in range(2):
            had_cached = bool(state.refresh_token and state.refresh_from_exchange)
            refresh = yield from self._acr_refresh_token(state, credential, service)
            form = {"grant_type": "refresh_token", "service": service, "refresh_token": refresh}
            response = yield from self._token_post(state, realm, form, scopes, True)
            if response.status_code == 401 and had_cached and attempt == 0:
                # The cached refresh token was revoked or expired early: exchange again, once.
                state.refresh_token = None
                state.refresh_from_exchange = False
                continue
            return self._token_body(
                state,
                credential,
                realm,
                scopes,
                response,
                "ACR access token request",
                extra_secrets=(refresh,),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    # -------------------------------------------------------------- refresh token for docker login

    def cached_refresh_token(self, endpoint: str) -> str | None:
        """The ACR refresh token (or token-server refresh token) held for `endpoint`, without I/O."""
        state = self._registries.get(_origin(httpx.URL(endpoint)))
        if state is None or not state.refresh_token:
            return None
        if state.refresh_expires_at is not None and time.monotonic() >= state.refresh_expires_at:
            return None
        return state.refresh_token

    def _refresh_token_flow(self, endpoint: str) -> Generator[_Step, Any, str | None]:
        state = self._state_for(httpx.URL(endpoint))
        credential = self._credential_for(state)
        if isinstance(credential, RefreshTokenCredential):
            return credential.refresh_token
        cached = self.cached_refresh_token(endpoint)
        if cached:
            return cached
        if state.challenge is None:
            yield from self._ping(state)
        challenge = state.challenge
        if challenge is None or challenge.scheme != "bearer" or not challenge.realm:
            return None
        realm_url = httpx.URL(challenge.realm)
        if self._is_entra(credential):
            return (yield from self._acr_refresh_token(state, credential, challenge.service or ""))
        if isinstance(credential, BasicCredential):
            self._check_token_host(state, realm_url, "the password")
            self._require_secure(realm_url, credential, state)
            form = {
                "grant_type": "password",
                "service": challenge.service or "",
                "client_id": _ACR_CLIENT_ID,
                "access_type": "offline",
                "username": credential.username,
                "password": credential.password,
            }
            response = yield from self._token_post(state, challenge.realm, form, (), False)
            if response.status_code == 200:
                try:
                    refresh = response.json().get("refresh_token")
                except (ValueError, AttributeError):
                    refresh = None
                if isinstance(refresh, str) and refresh:
                    state.refresh_token = refresh
                    return refresh
        return None

    def get_refresh_token(self, client: httpx.Client, endpoint: str) -> str | None:
        """Return a refresh token for `endpoint` (for ``docker login -u 00000000-0000-0000-0000-000000000000``).

        For an Entra ID credential this is the ACR refresh token from ``/oauth2/exchange`` (exchanging
        now if none is cached); for a `RefreshTokenCredential` its token; for a `BasicCredential` the
        refresh token of an OAuth2 password grant, if the token server issues one. May send a
        ``GET /v2/`` to learn the registry's challenge.

        Args:
            client: the ``httpx.Client`` to send with (its own auth is not used for these requests).
            endpoint: the registry endpoint, ``https://host[:port]``.

        Returns:
            The refresh token, or None when the registry does not issue one for this credential.
        """
        flow = self._refresh_token_flow(endpoint)
        value: Any = None
        try:
            while True:
                step = flow.send(value)
                if isinstance(step, _EntraTokenNeeded):
                    value = self._entra_token_sync(step)
                else:
                    value = client.send(step, auth=None, follow_redirects=False)
                    value.read()
        except StopIteration as stop:
            result: str | None = stop.value
            return result

    async def get_refresh_token_async(self, client: httpx.AsyncClient, endpoint: str) -> str | None:
        """Async twin of `get_refresh_token` for ``httpx.AsyncClient``."""
        flow = self._refresh_token_flow(endpoint)
        value: Any = None
        try:
            while True:
                step = flow.send(value)
                if isinstance(step, _EntraTokenNeeded):
                    value = await self._entra_token_async(step)
                else:
                    value = await client.send(step, auth=None, follow_redirects=False)
                    await value.aread()
        except StopIteration as stop:
            result: str | None = stop.value
            return result

    # --------------------------------------------------------------------------- drivers

    def _entra_token_sync(self, step: _EntraTokenNeeded) -> str:
        get_token = getattr(self._credential, "get_token")  # noqa: B009 - checked by _is_entra
        if inspect.iscoroutinefunction(get_token):
            raise TypeError("an async Entra ID credential needs an async client (httpx.AsyncClient / .aio)")
        try:
            result = get_token(*step.scopes)
        except Exception as exc:
            raise _entra_failure(self._credential, exc) from exc
        return _token_string(result)

    async def _entra_token_async(self, step: _EntraTokenNeeded) -> str:
        get_token = getattr(self._credential, "get_token")  # noqa: B009 - checked by _is_entra
        try:
            result = get_token(*step.scopes)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            raise _entra_failure(self._credential, exc) from exc
        return _token_string(result)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The flow for sync use (httpx calls `sync_auth_flow` / `async_auth_flow`)."""
        yield from self.sync_auth_flow(request)

    # -------------------------------------------------------------- single flight on a cold start

    def _is_cold(self, request: httpx.Request) -> bool:
        """True when this request would have to go and fetch a token (nothing cached covers it).

        Concurrent cold requests are let through one at a time, so a burst of N first calls costs one
        exchange and one token request instead of N; once the cache is warm they run in parallel.
        """
        if self._foreign(request):
            return False
        state = self._state_for(request.url)
        if state.open_access or isinstance(self._credential, RegistryTokenCredential):
            return False
        challenge = state.challenge
        if challenge is not None and challenge.scheme == "basic":
            return False
        hinted = tuple(request.extensions.get(SCOPE_EXTENSION) or ())
        return self._cached_token(state, hinted) is None

    def _sync_lock(self) -> threading.Lock:
        return self._thread_lock

    def _async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._aio_lock is None or self._aio_lock_loop is not loop:
            self._aio_lock, self._aio_lock_loop = asyncio.Lock(), loop
        return self._aio_lock

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Drive the shared flow for ``httpx.Client``."""
        lock: threading.Lock | None = None
        if self._is_cold(request):
            lock = self._sync_lock()
            lock.acquire()
            if not self._is_cold(request):
                lock.release()
                lock = None
        try:
            yield from self._drive_sync(request)
        finally:
            if lock is not None:
                lock.release()

    def _drive_sync(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self._flow(request)
        value: Any = None
        while True:
            try:
                step = flow.send(value)
            except StopIteration:
                return
            if isinstance(step, _EntraTokenNeeded):
                value = self._entra_token_sync(step)
                continue
            response = yield step
            if step.extensions.get(_INTERNAL) or response.status_code == 401:
                response.read()
            value = response

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Drive the shared flow for ``httpx.AsyncClient``."""
        lock: asyncio.Lock | None = None
        if self._is_cold(request):
            lock = self._async_lock()
            await lock.acquire()
            if not self._is_cold(request):
                lock.release()
                lock = None
        try:
            flow = self._flow(request)
            value: Any = None
            while True:
                try:
                    step = flow.send(value)
                except StopIteration:
                    return
                if isinstance(step, _EntraTokenNeeded):
                    value = await self._entra_token_async(step)
                    continue
                response = yield step
                if step.extensions.get(_INTERNAL) or response.status_code == 401:
                    await response.aread()
                value = response
        finally:
            if lock is not None:
                lock.release()


def _redirected_away(request: httpx.Request, response: httpx.Response) -> bool:
    """True when `response` came from another origin than `request` (httpx followed a redirect)."""
    return origin_key(response.request.url) != origin_key(request.url)


def _basic_header(credential: BasicCredential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _entra_failure(credential: object, exc: Exception) -> Exception:
    """An Entra ID credential's failure (azure-identity / azure-core raise their own types, with
    messages of many lines listing each credential tried) as this library's `ClientAuthenticationError`,
    one line; the original stays chained as `__cause__`. Our own errors, and TypeError, pass unchanged."""
    if isinstance(exc, (RegistryError, TypeError)):
        return exc
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    logger.debug("Entra ID credential %s failed: %s", type(credential).__name__, exc)
    return ClientAuthenticationError(
        f"no Entra ID token from {type(credential).__name__}: {first} (sign in with `az login`, or set"
        " the AZURE_* variables of a service principal or managed identity)",
        status_code=401,
    )


def _token_string(result: object) -> str:
    token = getattr(result, "token", result)
    if not isinstance(token, str) or not token:
        raise TypeError("get_token() must return an AccessToken (with .token) or a token string")
    return token


def _server_message(response: httpx.Response, secrets: Iterable[str]) -> tuple[str, list[ErrorDetail]]:
    """A short, secret-free summary of an error response body, and its OCI error entries."""
    errors: list[ErrorDetail] = []
    text = ""
    try:
        body = json.loads(response.content or b"null")
    except (ValueError, httpx.ResponseNotRead):
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
