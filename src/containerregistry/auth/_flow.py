"""`RegistryAuth`: the registry authentication handshake as one ``httpx.Auth`` generator flow.

The flow (``RegistryAuth._flow``) is written once. It yields either an ``httpx.Request`` to send (and
receives the response) or an `EntraTokenNeeded` step (and receives an Entra ID access token string).
The only sync/async difference is how an Entra token is obtained, how a token response body is read
and how a lock is waited for, so there is one driver per flavour (`._drive`), and both the
``httpx.Auth`` entry points and `get_refresh_token` / `get_refresh_token_async` run their flow
through it.

This module owns the decisions of the handshake: which credential a registry gets, when to ping,
attach a cached token, fetch one before sending or answer a 401, and which token request a
credential needs, and what concurrent flows do once between them (learning a registry's challenge,
fetching a token per scope set: the flow yields `Hold` / `Release` around them). The pieces it uses
live beside it: the drivers, their locks and the off-loop resolution of credential helpers in
`._drive`, the token forms and answers in `._tokens`, the token cache (with its injectable clock) in
`._cache`, the Entra ID exchange in `._entra`, and which hosts may receive a credential in `._hosts`.

Requests carry the scopes they need in ``request.extensions["containerregistry.scope"]``; when a
cached token covers them it is attached before sending, and once the challenge is known a new scope
is fetched before sending too, so the steady state costs no 401 round trips. At most one retry per
request.

Concurrent requests: while a registry's challenge is unknown, one request goes first and the others
wait for its first answer (a 401 names the challenge); a token for a scope set is fetched by one flow
while the others needing that scope set wait for it and then use it. Requests of other scopes, and
requests whose token is cached, wait for nothing: no request waits for another one's body.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from typing import Any

import httpx

from ..exceptions import ClientAuthenticationError, RegistryError
from ..protocol.challenge import Challenge, merge_scopes, parse_www_authenticate, select_challenge
from ..protocol.http import redact_url
from ._cache import RegistryState, Token, TokenCache
from ._credential_types import AsyncCredential
from ._credentials import (
    BasicCredential,
    DockerConfigCredential,
    RefreshTokenCredential,
    RegistryTokenCredential,
)
from ._drive import CredentialResolver, FlightLocks, drive_async, drive_sync
from ._entra import EntraExchange, is_entra
from ._hosts import (
    REGISTRY_EXTENSION,
    check_entra_realm,
    check_token_host,
    normalize_trusted_hosts,
    origin_key,
    require_secure_transport,
)
from ._tokens import (
    ACR_CLIENT_ID,
    INTERNAL,
    AuthStats,
    Flow,
    Hold,
    Release,
    Step,
    basic_header,
    is_acr_realm,
    known_secrets,
    parse_token_body,
    password_form,
    refresh_grant_form,
    refresh_token_of,
    server_message,
    token_get,
    token_post,
)

__all__ = ["DEFAULT_AUDIENCE", "SCOPE_EXTENSION", "AuthStats", "RegistryAuth"]

logger = logging.getLogger("containerregistry.auth")

SCOPE_EXTENSION = "containerregistry.scope"
DEFAULT_AUDIENCE = "https://containerregistry.azure.net"


def _is_replayable(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


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
            with ``get_token(*scopes)``, sync or async; async ones need ``httpx.AsyncClient``): an
            `AsyncCredential` (see `containerregistry.credentials`).
        audience: the Entra ID audience; the token is requested for ``<audience>/.default``.
        insecure: allow sending credentials over plain http to hosts that are not loopback.
        prefer_post: try the OAuth2 password grant before ``GET`` for a `BasicCredential`.
        trusted_token_hosts: token servers outside the registry's host and registrable domain that may
            receive a password, identity or refresh token: ``"auth.example.com"`` (any port) or
            ``"auth.example.com:8443"``. Does not apply to Entra ID credentials.
        clock: the clock of the token cache (seconds that never go back; default ``time.monotonic``).
            Tests pass a fake one to expire tokens without waiting.

    Attributes:
        stats: `AuthStats` counters.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        credential: AsyncCredential | None = None,
        *,
        audience: str = DEFAULT_AUDIENCE,
        insecure: bool = False,
        prefer_post: bool = False,
        trusted_token_hosts: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credential = credential
        self._trusted = normalize_trusted_hosts(trusted_token_hosts)
        self._audience = audience.rstrip("/")
        self._insecure = insecure
        self._prefer_post = prefer_post
        self._cache = TokenCache(clock)
        self._registries = self._cache.registries
        self._resolver = (
            CredentialResolver(credential) if isinstance(credential, DockerConfigCredential) else None
        )
        self.stats = AuthStats()
        self._entra = EntraExchange(self._audience, insecure, self.stats, self._cache)
        self._locks = FlightLocks()
        # Token fetches of different scope sets may finish at once (in threads): one store at a time.
        self._store_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RegistryAuth(credential={self._credential!r}, audience={self._audience!r}, insecure={self._insecure})"

    @property
    def audience(self) -> str:
        """The Entra ID audience (without ``/.default``)."""
        return self._audience

    # ----------------------------------------------------------------- credentials per registry

    def _credential_for(self, state: RegistryState) -> object | None:
        if self._resolver is not None:
            # Resolving may run a credential helper: it is done once per host.
            return self._resolver.for_host(state.host)
        return self._credential

    def _require_secure(self, url: httpx.URL, credential: object | None, state: RegistryState) -> None:
        require_secure_transport(url, credential, state.host, self._insecure)

    @staticmethod
    def _foreign(request: httpx.Request) -> bool:
        """A request to another origin than the registry's (a URL the server supplied)."""
        registry = request.extensions.get(REGISTRY_EXTENSION)
        return registry is not None and origin_key(request.url) != origin_key(str(registry))

    def _secrets(self, credential: object | None, state: RegistryState, *extra: str) -> list[str]:
        return known_secrets(credential, state.refresh_token, *extra)

    # --------------------------------------------------------------------------- the flow

    def _flow(self, request: httpx.Request) -> Flow:
        """`_flow_steps`, and when the registry still refuses (401) a request that went anonymous because
        the docker config's credential helper failed, that failure (it says what to fix)."""
        steps = self._flow_steps(request)
        value: Any = None
        last: httpx.Response | None = None
        while True:
            try:
                step = steps.send(value)
            except StopIteration as stop:
                if last is not None and last.status_code == 401 and (error := self._resolve_error(request)):
                    raise error from None
                return stop.value
            except ClientAuthenticationError as exc:
                error = self._resolve_error(request)
                if error is not None:
                    raise error from exc
                raise
            value = yield step
            if isinstance(value, httpx.Response):
                last = value

    def _resolve_error(self, request: httpx.Request) -> RegistryError | None:
        if self._foreign(request) or self._resolver is None:
            return None
        return self._resolver.error_for(self._cache.state_for(request.url).host)

    def _flow_steps(self, request: httpx.Request) -> Flow:
        if self._foreign(request):
            # A URL the server supplied on another origin (an upload Location, a redirect target): no
            # credential goes there, asked for or not, and its challenges are not answered.
            request.headers.pop("Authorization", None)
            yield request
            return
        state = self._cache.state_for(request.url)
        credential = self._credential_for(state)
        hinted = tuple(request.extensions.get(SCOPE_EXTENSION) or ())

        if isinstance(credential, RegistryTokenCredential):
            self._require_secure(request.url, credential, state)
            request.headers["Authorization"] = f"Bearer {credential.token}"
            yield request
            return

        # While the registry's challenge is unknown, one request at a time learns it: the others wait
        # for its first answer only (not for its token, its body or its retry).
        discovery: str | None = None
        if state.challenge is None and not state.open_access:
            discovery = f"challenge {state.key}"
            yield Hold(discovery)
            if state.challenge is not None or state.open_access:
                yield Release(discovery)
                discovery = None

        if not _is_replayable(request) and state.challenge is None and not state.pinged:
            yield from self._ping(state)
            if discovery is not None and state.challenge is not None:
                yield Release(discovery)
                discovery = None

        sent = self._attach_cached(state, credential, request, hinted)
        known = state.challenge
        if (
            sent is None
            and known is not None
            and known.scheme == "bearer"
            and (hinted or not _is_replayable(request))
        ):
            token = yield from self._single_token(state, credential, known, hinted)
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
        challenge = select_challenge(parse_www_authenticate(response.headers.get_list("www-authenticate")))
        self.stats.challenges += 1
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
        if discovery is not None:
            yield Release(discovery)
        if not _is_replayable(request):
            logger.debug("%s %s: body is a stream, not retrying after 401", request.method, request.url.path)
            return

        if challenge.scheme == "basic":
            if not isinstance(credential, BasicCredential):
                return
            if sent == "basic":
                raise self._rejected(state, request, response, credential, "the user name or password")
            self._require_secure(request.url, credential, state)
            request.headers["Authorization"] = basic_header(credential)
            retry = yield request
            if retry.status_code == 401 and not _redirected_away(request, retry):
                raise self._rejected(state, request, retry, credential, "the user name or password")
            return

        wanted = merge_scopes(hinted, challenge.scopes)
        if isinstance(sent, Token):
            # The token we sent was refused although it was meant for these scopes: it was revoked or
            # expired early. Forget it and fetch a fresh one (once).
            self._cache.forget(state, sent)
        if previous is not None and previous.realm != challenge.realm:
            self._cache.forget_all(state)
        token = yield from self._single_token(state, credential, challenge, wanted)
        self._require_secure(request.url, credential, state)
        request.headers["Authorization"] = f"Bearer {token.value}"
        retry = yield request
        if retry.status_code == 401 and not _redirected_away(request, retry):
            raise self._rejected(
                state, request, retry, credential, f"the token for scope {' '.join(token.scopes) or '(none)'}"
            )

    def _rejected(
        self,
        state: RegistryState,
        request: httpx.Request,
        response: httpx.Response,
        credential: object | None,
        what: str,
    ) -> ClientAuthenticationError:
        who = "anonymous access" if credential is None else what
        message, errors = server_message(response, self._secrets(credential, state))
        return ClientAuthenticationError(
            f"registry {state.host} refused {who} for {request.method} {request.url.path} (HTTP 401): {message}",
            status_code=401,
            errors=errors,
            method=request.method,
            url=redact_url(str(request.url)),
        )

    def _attach_cached(
        self,
        state: RegistryState,
        credential: object | None,
        request: httpx.Request,
        hinted: tuple[str, ...],
    ) -> Token | str | None:
        """Attach what is already known to work (no I/O). Returns the token, ``"basic"`` or None."""
        challenge = state.challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if isinstance(credential, BasicCredential):
                self._require_secure(request.url, credential, state)
                request.headers["Authorization"] = basic_header(credential)
                return "basic"
            return None
        token = self._cache.cached(state, hinted)
        if token is None:
            return None
        self._require_secure(request.url, credential, state)
        request.headers["Authorization"] = f"Bearer {token.value}"
        return token

    def _ping(self, state: RegistryState) -> Flow:
        state.pinged = True
        self.stats.pings += 1
        ping = httpx.Request("GET", f"{state.key}/v2/", extensions={INTERNAL: True})
        response = yield ping
        if response.status_code == 401 and not _redirected_away(ping, response):
            state.challenge = select_challenge(
                parse_www_authenticate(response.headers.get_list("www-authenticate"))
            )

    # ------------------------------------------------------------------------- token requests

    def _single_token(
        self, state: RegistryState, credential: object | None, challenge: Challenge, wanted: tuple[str, ...]
    ) -> Generator[Step, Any, Token]:
        """A token covering `wanted`, fetched by one flow at a time per (registry, scope set): a flow that
        waited for another's fetch finds its token cached and sends no token request."""
        wanted = merge_scopes((), wanted)
        key = f"token {state.key} {' '.join(wanted)}"
        yield Hold(key)
        token = self._cache.cached(state, wanted)
        if token is None:
            # Like go-containerregistry: add the new scope to those already held and refresh once, so
            # one token keeps serving every repository this client touched.
            scopes = merge_scopes(state.held_scopes, wanted)
            token = yield from self._get_token(state, credential, challenge, scopes)
        yield Release(key)
        return token

    def _get_token(
        self, state: RegistryState, credential: object | None, challenge: Challenge, scopes: tuple[str, ...]
    ) -> Generator[Step, Any, Token]:
        realm = challenge.realm
        if not realm:
            raise ClientAuthenticationError(
                f"registry {state.host} sent a Bearer challenge without a realm", status_code=401
            )
        service = challenge.service or ""
        realm_url = httpx.URL(realm)
        acr_realm = is_acr_realm(realm_url)
        body: dict[str, Any]
        if is_entra(credential):
            if not acr_realm:
                raise ClientAuthenticationError(
                    f"registry {state.host}: an Entra ID credential needs an ACR token endpoint "
                    f"(realm .../oauth2/token), but the registry named {redact_url(realm)}",
                    status_code=401,
                )
            check_entra_realm(state.key, state.host, realm_url)
            body = yield from self._entra.access_token(state, credential, realm_url, service, scopes)
        elif isinstance(credential, RefreshTokenCredential) or state.refresh_token:
            refresh = (
                credential.refresh_token
                if isinstance(credential, RefreshTokenCredential)
                else state.refresh_token or ""
            )
            check_token_host(state.key, state.host, realm_url, self._trusted, "the refresh token")
            self._require_secure(realm_url, credential or "refresh", state)
            form = refresh_grant_form(service, refresh)
            response = yield from token_post(self.stats, state.host, realm, form, scopes, acr_realm)
            body = self._token_body(
                state, credential, realm, scopes, response, "refresh token grant", refresh
            )
        elif isinstance(credential, BasicCredential):
            check_token_host(state.key, state.host, realm_url, self._trusted, "the password")
            self._require_secure(realm_url, credential, state)
            body = {}
            if self._prefer_post:
                form = password_form(service, credential)
                response = yield from token_post(self.stats, state.host, realm, form, scopes, acr_realm)
                if response.status_code not in (404, 405):
                    body = self._token_body(state, credential, realm, scopes, response, "password grant")
            if not body:
                response = yield from token_get(
                    self.stats, state.host, realm, service, scopes, basic_header(credential)
                )
                body = self._token_body(state, credential, realm, scopes, response, "token request")
        else:
            body = {}
            if acr_realm:
                # ACR's anonymous flow is a password grant without credentials; others want a GET.
                form = {"grant_type": "password", "service": service, "client_id": ACR_CLIENT_ID}
                response = yield from token_post(self.stats, state.host, realm, form, scopes, acr_realm)
                if response.status_code == 200:
                    body = self._token_body(state, None, realm, scopes, response, "anonymous token request")
            if not body:
                response = yield from token_get(self.stats, state.host, realm, service, scopes, None)
                body = self._token_body(state, None, realm, scopes, response, "anonymous token request")
        with self._store_lock:
            return self._cache.store(state, body, scopes)

    def _token_body(
        self,
        state: RegistryState,
        credential: object | None,
        realm: str,
        scopes: tuple[str, ...],
        response: httpx.Response,
        what: str,
        *extra_secrets: str,
    ) -> dict[str, Any]:
        secrets = self._secrets(credential, state, *extra_secrets)
        return parse_token_body(state.host, realm, scopes, response, what, secrets)

    # -------------------------------------------------------------- refresh token for docker login

    def cached_refresh_token(self, endpoint: str) -> str | None:
        """The ACR refresh token (or token-server refresh token) held for `endpoint`, without I/O."""
        return self._cache.refresh_token(httpx.URL(endpoint))

    def _refresh_token_flow(self, endpoint: str) -> Generator[Step, Any, str | None]:
        state = self._cache.state_for(httpx.URL(endpoint))
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
        if is_entra(credential):
            return (yield from self._entra.refresh_token(state, credential, challenge.service or ""))
        if isinstance(credential, BasicCredential):
            check_token_host(state.key, state.host, realm_url, self._trusted, "the password")
            self._require_secure(realm_url, credential, state)
            form = password_form(challenge.service or "", credential)
            response = yield from token_post(self.stats, state.host, challenge.realm, form, (), False)
            refresh = refresh_token_of(response, challenge.realm)
            if refresh:
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
        driver = drive_sync(self._refresh_token_flow(endpoint), self._credential, self._locks)
        try:
            request = next(driver)
            while True:
                request = driver.send(client.send(request, auth=None, stream=True, follow_redirects=False))
        except StopIteration as stop:
            result: str | None = stop.value
            return result

    async def get_refresh_token_async(self, client: httpx.AsyncClient, endpoint: str) -> str | None:
        """Async twin of `get_refresh_token` for ``httpx.AsyncClient``."""
        await self._resolve_off_loop(httpx.URL(endpoint))
        outcome: list[str | None] = []
        driver = drive_async(self._refresh_token_flow(endpoint), self._credential, self._locks, outcome)
        try:
            request = await driver.__anext__()
            while True:
                response = await client.send(request, auth=None, stream=True, follow_redirects=False)
                request = await driver.asend(response)
        except StopAsyncIteration:
            pass
        return outcome[0] if outcome else None

    # --------------------------------------------------------------------------- entry points

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The flow for sync use (httpx calls `sync_auth_flow` / `async_auth_flow`)."""
        yield from self.sync_auth_flow(request)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Drive the shared flow for ``httpx.Client``."""
        yield from drive_sync(self._flow(request), self._credential, self._locks)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Drive the shared flow for ``httpx.AsyncClient``."""
        await self._resolve_off_loop(request.url)
        driver = drive_async(self._flow(request), self._credential, self._locks)
        try:
            step = await driver.__anext__()
            while True:
                response = yield step
                step = await driver.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await driver.aclose()

    async def _resolve_off_loop(self, url: httpx.URL) -> None:
        """Run a Docker credential helper in a worker thread (see `CredentialResolver`)."""
        if self._resolver is not None:
            await self._resolver.resolve_off_loop(self._cache.state_for(url).host)


def _redirected_away(request: httpx.Request, response: httpx.Response) -> bool:
    """True when `response` came from another origin than `request` (httpx followed a redirect)."""
    return origin_key(response.request.url) != origin_key(request.url)
