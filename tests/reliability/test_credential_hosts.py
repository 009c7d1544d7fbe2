"""Credentials stay with the registry the user named (issue 9), against hostile servers on loopback.

Every server here is a real aiohttp server on 127.0.0.1 / 127.0.0.2 that records each request it gets
(where it was addressed, headers, query and body); the tests assert that no secret ever arrives where it
must not: a password (or its Basic header), an identity/refresh token, a registry token, an Entra ID
access token (a marker string from a fake credential), the ACR refresh token obtained for it, or the
registry's own Bearer token.

"Another host" on loopback is another loopback IP (127.0.0.1 vs 127.0.0.2) or `localhost` vs
`127.0.0.1`; host *names* (`registry.example.test`, `auth.hub.test`, `.co.uk`) go through a recording
HTTP proxy, so the rule for names is exercised over real sockets too. Each case runs sync and async.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from click.testing import CliRunner

import containerregistry.aio as aio
from containerregistry import ContainerRegistryContentClient
from containerregistry.auth import RegistryAuth
from containerregistry.cli import cli
from containerregistry.credentials import (
    BasicCredential,
    DockerConfigCredential,
    RefreshTokenCredential,
    RegistryTokenCredential,
)
from containerregistry.exceptions import ClientAuthenticationError, RegistryError
from tests.reliability._emu_common import sha256
from tests.reliability._emu_hostile import serve

pytestmark = pytest.mark.reliability

USER, PASSWORD = "alice", "pw-Secret-alice-31f9"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
IDENTITY = "identity-token-secret-77c2"
REGISTRY_TOKEN = "registry-token-secret-5a10"
ENTRA = "ENTRA-MARKER-access-token-0d4e"
ACR_REFRESH = "acr-refresh-token-secret-9b3a"
GOOD = "registry-bearer-token-secret-c5e8"  # what our token servers issue for a credential
ANON = "anonymous-token-e1f0"  # what they issue to anonymous requests
SECRETS = (PASSWORD, BASIC, IDENTITY, REGISTRY_TOKEN, ENTRA, ACR_REFRESH, GOOD)
BLOB = b"blob bytes behind a redirect"
MODES = ["sync", "async"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# ---------------------------------------------------------------------------------------- servers


@dataclass
class Hit:
    """One request a hostile server received."""

    where: str  # the Host it was addressed to (`127.0.0.2:PORT`, `auth.evil.test`)
    method: str
    target: str  # path and query
    headers: dict[str, str]
    body: str

    def text(self) -> str:
        return json.dumps([self.where, self.method, self.target, self.headers, self.body])


@dataclass
class Wire:
    """Everything every server of a test received."""

    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, handler: Handler) -> Handler:
        async def recording(request: web.Request) -> web.StreamResponse:
            body = (await request.read()).decode("latin-1")
            hit = Hit(request.host, request.method, request.path_qs, dict(request.headers), body)
            with self.lock:
                self.hits.append(hit)
            return await handler(request)

        return recording

    def at(self, where: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.where == where]

    def secrets_at(self, where: str) -> list[str]:
        """The secrets that reached `where` in any form (header, query, body)."""
        text = "\n".join(h.text() for h in self.at(where))
        return [s for s in SECRETS if s in text]


def _where(url: str) -> str:
    return url.split("://", 1)[1].rstrip("/")


def _challenge(realm: str) -> str:
    return f'Bearer realm="{realm}",service="svc",scope="repository:app:pull"'


def _unauthorized(challenge: str) -> web.Response:
    return web.json_response(
        {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
        status=401,
        headers={"WWW-Authenticate": challenge},
    )


async def _token(request: web.Request) -> web.Response:
    """A token server: Basic GET, refresh-token POST, anonymous GET, and ACR's Entra exchange."""
    form = dict(await request.post()) if request.method == "POST" else {}
    if request.path.endswith("/oauth2/exchange"):
        if form.get("access_token") == ENTRA:
            return web.json_response({"refresh_token": ACR_REFRESH})
        return web.json_response({"error": "bad token"}, status=401)
    if request.method == "POST":
        if form.get("refresh_token") in (IDENTITY, ACR_REFRESH):
            return web.json_response({"token": GOOD, "access_token": GOOD, "expires_in": 300})
        return web.json_response({"error": "bad grant"}, status=401)
    authorization = request.headers.get("Authorization")
    if authorization == f"Basic {BASIC}":
        return web.json_response({"token": GOOD, "expires_in": 300})
    if authorization is None:
        return web.json_response({"token": ANON, "expires_in": 300})
    return web.json_response({"error": "bad credentials"}, status=401)


def registry(
    realm: str | None,
    *,
    basic: bool = False,
    blob_redirect: str | None = None,
    upload_location: str | None = None,
    token_redirect: str | None = None,
) -> Handler:
    """A registry whose challenge names `realm` (None: `Basic`); it answers token requests too.

    Args:
        blob_redirect: blob GETs are sent there with a 307 (a "storage host").
        upload_location: `POST /blobs/uploads/` answers with this Location.
        token_redirect: its own token endpoints answer with a 307 to this base URL.
    """

    accepted = {f"Bearer {GOOD}", f"Bearer {ANON}", f"Bearer {REGISTRY_TOKEN}"}
    if basic:
        accepted.add(f"Basic {BASIC}")

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith(("/token", "/oauth2/")):
            if token_redirect is not None:
                raise web.HTTPTemporaryRedirect(f"{token_redirect}{request.path_qs}")
            return await _token(request)
        if request.headers.get("Authorization") not in accepted:
            return _unauthorized(_challenge(realm) if realm else 'Basic realm="registry"')
        if path.endswith("/tags/list"):
            return web.json_response({"name": "app", "tags": ["v1"]})
        if "/blobs/uploads" in path:
            if request.method == "POST":
                location = upload_location or f"{path.rstrip('/')}/session-1"
                return web.Response(status=202, headers={"Location": location, "Content-Length": "0"})
            return web.Response(status=201 if request.method == "PUT" else 202)
        if "/blobs/" in path:
            if blob_redirect is not None:
                raise web.HTTPTemporaryRedirect(f"{blob_redirect}/blob?sig=signed")
            return web.Response(body=BLOB)
        return web.json_response({})

    return handle


def storage(challenge: str | None) -> Handler:
    """A storage host: 401 with `challenge` when given, else it takes uploads and serves the blob."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if challenge is not None:
            return _unauthorized(challenge)
        if request.method in ("PUT", "PATCH"):
            return web.Response(status=201 if request.method == "PUT" else 202)
        return web.Response(body=BLOB)

    return handle


@contextlib.contextmanager
def site(wire: Wire, handler: Handler, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a recording `handler` on `host`; yields its base URL."""
    with serve(wire.record(handler), host=host) as url:
        yield url


@contextlib.contextmanager
def named_hosts(wire: Wire, routes: dict[str, Handler], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make host names reachable: an HTTP proxy (from the environment) that serves `routes` by Host.

    A name the routes do not know gets a 502, so nothing ever leaves loopback.
    """

    async def route(request: web.Request) -> web.StreamResponse:
        handler = routes.get(request.host.split(":", 1)[0])
        if handler is None:
            return web.Response(status=502, text=f"no such test host {request.host}")
        return await handler(request)

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with site(wire, route) as proxy:
        monkeypatch.setenv("http_proxy", proxy)
        monkeypatch.setenv("no_proxy", "")
        yield


# ---------------------------------------------------------------------------------------- clients


class Entra:
    """An Entra ID credential stand-in: `get_token` returns a marker string (sync)."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.calls += 1
        return ENTRA


class AsyncEntra(Entra):
    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.calls += 1
        await asyncio.sleep(0)
        return ENTRA


def credential_for(kind: str, mode: str, endpoint: str, tmp_path: Path) -> Any:
    """The credential `kind` for a client of `endpoint` (docker-config ones are written to a file)."""
    if kind == "basic":
        return BasicCredential(USER, PASSWORD)
    if kind == "identity":
        return RefreshTokenCredential(IDENTITY)
    if kind == "registry-token":
        return RegistryTokenCredential(REGISTRY_TOKEN)
    if kind == "entra":
        return Entra() if mode == "sync" else AsyncEntra()
    entry = {
        "docker-basic": {"auth": BASIC},
        "docker-identity": {"auth": base64.b64encode(b"<token>:").decode(), "identitytoken": IDENTITY},
        "docker-registrytoken": {"registrytoken": REGISTRY_TOKEN},
    }[kind]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {_where(endpoint): entry}}), encoding="utf-8")
    return DockerConfigCredential(config)


def call(mode: str, endpoint: str, credential: Any, op: str, **options: Any) -> Any:
    """Run `op` (`tags`, `download`, `upload`) with a sync or async content client."""
    options.setdefault("timeout", 10)
    if mode == "sync":
        with ContainerRegistryContentClient(endpoint, "app", credential, **options) as client:
            if op == "tags":
                return list(client.list_tags())
            if op == "download":  # after a first request, as in a pull: the credential is warm
                assert list(client.list_tags()) == ["v1"]
                return client.download_blob_content(sha256(BLOB)).content
            return client.upload_blob(BLOB).digest

    async def main() -> Any:
        async with aio.ContainerRegistryContentClient(endpoint, "app", credential, **options) as client:
            if op == "tags":
                return [t async for t in client.list_tags()]
            if op == "download":
                assert [t async for t in client.list_tags()] == ["v1"]
                return (await client.download_blob_content(sha256(BLOB))).content
            return (await client.upload_blob(BLOB)).digest

    return asyncio.run(main())


def assert_refused(caught: pytest.ExceptionInfo[RegistryError], registry_host: str, realm_host: str) -> None:
    """The refusal is a `ClientAuthenticationError` naming both hosts and the opt-in, with no secret."""
    error = caught.value
    assert isinstance(error, ClientAuthenticationError), repr(error)
    message = str(error)
    assert registry_host in message and realm_host in message, message
    assert "trusted_token_hosts" in message, message
    assert [s for s in SECRETS if s in message + repr(error)] == []


# ----------------------------------------------------------------------------------- token realms

# (registry bind address, realm bind address, how the client names the registry, and the realm):
# the rule both ways between two loopback IPs, and between `localhost` and `127.0.0.1`.
LOOPBACK_PAIRS = {
    "127.0.0.1->127.0.0.2": ("127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.2"),
    "127.0.0.2->127.0.0.1": ("127.0.0.2", "127.0.0.1", "127.0.0.2", "127.0.0.1"),
    "localhost->127.0.0.1": ("127.0.0.1", "127.0.0.1", "localhost", "127.0.0.1"),
    "127.0.0.1->localhost": ("127.0.0.1", "127.0.0.1", "127.0.0.1", "localhost"),
}


@contextlib.contextmanager
def foreign_realm(wire: Wire, pair: str) -> Iterator[tuple[str, str]]:
    """A registry whose realm is a token server on another loopback host; yields (endpoint, realm host)."""
    registry_bind, realm_bind, registry_name, realm_name = LOOPBACK_PAIRS[pair]
    with site(wire, _token, realm_bind) as token_url:
        realm_where = f"{realm_name}:{token_url.rsplit(':', 1)[1]}"
        with site(wire, registry(f"http://{realm_where}/token"), registry_bind) as registry_url:
            yield f"http://{registry_name}:{registry_url.rsplit(':', 1)[1]}", realm_where


@pytest.mark.parametrize("pair", list(LOOPBACK_PAIRS))
@pytest.mark.parametrize("mode", MODES)
def test_password_never_goes_to_a_token_server_on_another_loopback_host(mode: str, pair: str) -> None:
    wire = Wire()
    with foreign_realm(wire, pair) as (endpoint, realm_where), pytest.raises(RegistryError) as caught:
        call(mode, endpoint, BasicCredential(USER, PASSWORD), "tags")
    assert_refused(caught, _where(endpoint), realm_where)
    assert wire.at(realm_where) == [], "the foreign token server was contacted"
    assert wire.secrets_at(realm_where) == []


@pytest.mark.parametrize("kind", ["identity", "docker-basic", "docker-identity"])
@pytest.mark.parametrize("mode", MODES)
def test_no_credential_kind_goes_to_a_foreign_token_server(mode: str, kind: str, tmp_path: Path) -> None:
    wire = Wire()
    with foreign_realm(wire, "127.0.0.1->127.0.0.2") as (endpoint, realm_where):
        credential = credential_for(kind, mode, endpoint, tmp_path)
        with pytest.raises(RegistryError) as caught:
            call(mode, endpoint, credential, "tags")
    assert_refused(caught, _where(endpoint), realm_where)
    assert wire.at(realm_where) == []
    assert wire.secrets_at(realm_where) == []


# Host names (through the recording proxy): (registry name, realm name, allowed?).
NAME_PAIRS = {
    "other-domain": ("registry.example.test", "auth.evil.test", False),
    "co.uk-neighbour": ("registry.example.co.uk", "auth.other.co.uk", False),
    "suffix-lookalike": ("registry.example.test", "example.test.evil.test", False),
    "docker-hub-like": ("registry-1.hub.test", "auth.hub.test", True),
    "co.uk-same-domain": ("registry.example.co.uk", "auth.example.co.uk", True),
    "same-host": ("ghcr.test", "ghcr.test", True),
}


@pytest.mark.parametrize("pair", list(NAME_PAIRS))
@pytest.mark.parametrize("mode", MODES)
def test_registrable_domain_rule_for_host_names(
    mode: str, pair: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry_name, realm_name, allowed = NAME_PAIRS[pair]
    wire = Wire()
    realm = f"http://{realm_name}/token"
    # On one host, the registry answers the token requests itself.
    routes = {realm_name: _token, registry_name: registry(realm)}
    with named_hosts(wire, routes, monkeypatch):
        # insecure=True only allows plain http to these names; it does not widen the realm rule.
        endpoint = f"http://{registry_name}"
        if allowed:
            assert call(mode, endpoint, BasicCredential(USER, PASSWORD), "tags", insecure=True) == ["v1"]
            token_requests = [h for h in wire.at(realm_name) if h.target.startswith("/token")]
            assert [h.headers.get("Authorization") for h in token_requests] == [f"Basic {BASIC}"]
            return
        with pytest.raises(RegistryError) as caught:
            call(mode, endpoint, BasicCredential(USER, PASSWORD), "tags", insecure=True)
    assert_refused(caught, registry_name, realm_name)
    assert wire.at(realm_name) == []


@pytest.mark.parametrize("mode", MODES)
def test_token_server_on_the_same_ip_other_port_works(mode: str) -> None:
    wire = Wire()
    with site(wire, _token) as token_url, site(wire, registry(f"{token_url}/token")) as endpoint:
        assert call(mode, endpoint, BasicCredential(USER, PASSWORD), "tags") == ["v1"]
        assert [h.headers.get("Authorization") for h in wire.at(_where(token_url))] == [f"Basic {BASIC}"]


REALM_SECRET = "realm-userinfo-secret-4d2b"


async def _refusing_token(request: web.Request) -> web.Response:
    return web.json_response({"errors": [{"code": "DENIED", "message": "no"}]}, status=401)


@pytest.mark.parametrize("realm_on", ["other-ip", "same-ip-other-port"])
@pytest.mark.parametrize("mode", MODES)
def test_realm_userinfo_never_reaches_an_error_message(mode: str, realm_on: str) -> None:
    """A realm URL is shown in errors through the one URL redactor: no userinfo, no query (issue 13).

    The auth flow had two copies of its own, which dropped the query but kept `user:password@`.
    """
    wire = Wire()
    host = "127.0.0.2" if realm_on == "other-ip" else "127.0.0.1"
    with site(wire, _refusing_token, host) as token_url:
        realm = token_url.replace("http://", f"http://tokenuser:{REALM_SECRET}@") + "/token?sig=S3CRET"
        with site(wire, registry(realm)) as endpoint, pytest.raises(ClientAuthenticationError) as caught:
            call(mode, endpoint, BasicCredential(USER, PASSWORD), "tags")
    text = str(caught.value) + repr(caught.value) + str(caught.value.url)
    assert _where(token_url) in text, text
    assert REALM_SECRET not in text and "S3CRET" not in text and "tokenuser" not in text, text


@pytest.mark.parametrize("entry", ["host", "host:port"])
@pytest.mark.parametrize("kind", ["basic", "identity"])
@pytest.mark.parametrize("mode", MODES)
def test_trusted_token_hosts_opts_in(mode: str, kind: str, entry: str, tmp_path: Path) -> None:
    wire = Wire()
    with foreign_realm(wire, "127.0.0.1->127.0.0.2") as (endpoint, realm_where):
        trusted = realm_where if entry == "host:port" else realm_where.split(":")[0]
        credential = credential_for(kind, mode, endpoint, tmp_path)
        assert call(mode, endpoint, credential, "tags", trusted_token_hosts=[trusted]) == ["v1"]
        assert wire.at(realm_where), "the trusted token server was not asked"
        # Trusting one token server trusts no other (here: the same IP on another port).
        other = f"{realm_where.split(':')[0]}:1"
        with pytest.raises(RegistryError) as caught:
            call(mode, endpoint, credential, "tags", trusted_token_hosts=[other])
        assert_refused(caught, _where(endpoint), realm_where)


@pytest.mark.parametrize("mode", MODES)
def test_anonymous_token_requests_may_go_to_any_realm(mode: str) -> None:
    """No secret is involved: an anonymous token comes from wherever the registry says (decided so)."""
    wire = Wire()
    with foreign_realm(wire, "127.0.0.1->127.0.0.2") as (endpoint, realm_where):
        assert call(mode, endpoint, None, "tags") == ["v1"]
    assert [h.headers.get("Authorization") for h in wire.at(realm_where)] == [None]


@pytest.mark.parametrize("realm_on", ["other-ip", "same-ip-other-port"])
@pytest.mark.parametrize("mode", MODES)
def test_entra_token_is_exchanged_only_at_the_registry_itself(mode: str, realm_on: str) -> None:
    wire = Wire()
    bind = "127.0.0.2" if realm_on == "other-ip" else "127.0.0.1"
    with site(wire, _token, bind) as token_url:
        realm_where = _where(token_url)
        with site(wire, registry(f"{token_url}/oauth2/token")) as endpoint:
            for trusted in ((), (realm_where,)):  # no opt-in makes an Entra token travel elsewhere
                credential = Entra() if mode == "sync" else AsyncEntra()
                with pytest.raises(RegistryError) as caught:
                    call(mode, endpoint, credential, "tags", trusted_token_hosts=trusted)
                assert_refused(caught, _where(endpoint), realm_where)
                assert "Entra" in str(caught.value)
    assert wire.at(realm_where) == []
    assert [h for h in wire.hits if ENTRA in h.text()] == []


@pytest.mark.parametrize("mode", MODES)
def test_entra_exchange_at_the_registry_origin_works(mode: str, tmp_path: Path) -> None:
    wire = Wire()
    with registry_with(wire, "entra") as endpoint:  # its realm is its own origin, as ACR's always is
        assert call(mode, endpoint, credential_for("entra", mode, endpoint, tmp_path), "tags") == ["v1"]
    exchanges = [h for h in wire.hits if h.target == "/oauth2/exchange"]
    assert len(exchanges) == 1 and exchanges[0].where == _where(endpoint)
    assert ENTRA in exchanges[0].body


# -------------------------------------------------------------------------------------- redirects

# Secrets a storage host must never see, per credential (the registry's Bearer token included).
REDIRECT_KINDS = ["basic", "identity", "entra"]


def _registry_for(kind: str, endpoint_holder: dict[str, str], **options: Any) -> Handler:
    """The registry for credential `kind`: Basic challenge, or a Bearer realm on its own origin."""

    async def handle(request: web.Request) -> web.StreamResponse:
        base = endpoint_holder["endpoint"]
        realm = None if kind == "basic" else f"{base}/oauth2/token"
        return await registry(realm, basic=kind == "basic", **options)(request)

    return handle


@contextlib.contextmanager
def registry_with(wire: Wire, kind: str, **options: Any) -> Iterator[str]:
    holder: dict[str, str] = {}
    with site(wire, _registry_for(kind, holder, **options)) as endpoint:
        holder["endpoint"] = endpoint
        yield endpoint


@contextlib.contextmanager
def challenging_storage(wire: Wire, kind: str) -> Iterator[str]:
    """A storage host on the registry's IP (another port: another origin, but the same *host*, so the
    realm rule alone would let a token request through) that answers 401 with its own challenge."""
    holder: dict[str, str] = {}

    async def handle(request: web.Request) -> web.StreamResponse:
        base = holder["url"]
        realm = f"{base}/oauth2/token" if kind == "entra" else f"{base}/token"
        challenge = 'Basic realm="storage"' if kind == "basic-challenge" else _challenge(realm)
        if request.path.startswith(("/token", "/oauth2")):
            return await _token(request)
        return await storage(challenge)(request)

    with site(wire, handle) as url:
        holder["url"] = url
        yield url


@pytest.mark.parametrize("kind", REDIRECT_KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_redirected_download_answers_no_storage_challenge(mode: str, kind: str, tmp_path: Path) -> None:
    wire = Wire()
    with (
        challenging_storage(wire, kind) as storage_url,
        registry_with(wire, kind, blob_redirect=storage_url) as endpoint,
    ):
        credential = credential_for(kind, mode, endpoint, tmp_path)
        with pytest.raises(ClientAuthenticationError) as caught:
            call(mode, endpoint, credential, "download")
    where = _where(storage_url)
    assert wire.at(where), "the redirect was not followed"
    assert wire.secrets_at(where) == []
    assert [h.headers.get("Authorization") for h in wire.at(where)] == [None] * len(wire.at(where))
    assert where in str(caught.value)
    assert [s for s in SECRETS if s in str(caught.value)] == []


@pytest.mark.parametrize("mode", MODES)
def test_redirected_download_from_an_open_storage_host_works(mode: str) -> None:
    """The usual case (ACR, Docker Hub): the storage host needs no credential, and gets none."""
    wire = Wire()
    with (
        site(wire, storage(None), "127.0.0.2") as storage_url,
        registry_with(wire, "basic", blob_redirect=storage_url) as endpoint,
    ):
        assert call(mode, endpoint, BasicCredential(USER, PASSWORD), "download") == BLOB
    hits = wire.at(_where(storage_url))
    assert [(h.method, h.target) for h in hits] == [("GET", "/blob?sig=signed")]
    assert hits[0].headers.get("Authorization") is None


@pytest.mark.parametrize("mode", MODES)
def test_redirect_within_the_registry_keeps_its_credential(mode: str) -> None:
    wire = Wire()
    holder: dict[str, str] = {}
    inner = registry(None, basic=True)

    async def moving(request: web.Request) -> web.StreamResponse:
        if "/blobs/sha256:" in request.path and request.headers.get("Authorization") == f"Basic {BASIC}":
            raise web.HTTPTemporaryRedirect(f"{holder['endpoint']}/v2/app/moved/blobs/x")
        return await inner(request)

    with site(wire, moving) as endpoint:
        holder["endpoint"] = endpoint
        assert call(mode, endpoint, BasicCredential(USER, PASSWORD), "download") == BLOB
    moved = [h for h in wire.hits if "/moved/" in h.target]
    assert [h.headers.get("Authorization") for h in moved] == [f"Basic {BASIC}"]


@pytest.mark.parametrize("mode", MODES)
def test_redirect_loop_is_a_clear_error(mode: str) -> None:
    wire = Wire()

    async def loop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"/v2/app/tags/list?hop={len(wire.hits)}")

    with site(wire, loop) as endpoint, pytest.raises(RegistryError, match="redirects"):
        call(mode, endpoint, None, "tags")
    assert len(wire.hits) <= 12


@pytest.mark.parametrize("mode", MODES)
def test_standalone_auth_with_httpx_redirects_answers_no_storage_challenge(mode: str) -> None:
    """`RegistryAuth` on a plain httpx client that follows redirects: the storage's 401 is returned as is."""
    wire = Wire()
    with (
        challenging_storage(wire, "basic") as storage_url,
        registry_with(wire, "basic", blob_redirect=storage_url) as endpoint,
    ):
        url = f"{endpoint}/v2/app/blobs/{sha256(BLOB)}"
        auth = RegistryAuth(BasicCredential(USER, PASSWORD))
        tags = f"{endpoint}/v2/app/tags/list"
        if mode == "sync":
            with httpx.Client(auth=auth, follow_redirects=True, timeout=10) as client:
                assert client.get(tags).status_code == 200  # the credential is warm
                status = client.get(url).status_code
        else:

            async def main() -> int:
                async with httpx.AsyncClient(auth=auth, follow_redirects=True, timeout=10) as client:
                    assert (await client.get(tags)).status_code == 200
                    return (await client.get(url)).status_code

            status = asyncio.run(main())
    assert status == 401
    assert wire.secrets_at(_where(storage_url)) == []


UPLOAD_CASES = [
    ("basic", "challenge"),
    ("basic", "basic-challenge"),
    ("identity", "challenge"),
    ("entra", "challenge"),
    ("registry-token", "challenge"),
    ("registry-token", "accept"),
]


@pytest.mark.parametrize(("kind", "behaviour"), UPLOAD_CASES)
@pytest.mark.parametrize("mode", MODES)
def test_upload_location_on_another_host_gets_no_credential(
    mode: str, kind: str, behaviour: str, tmp_path: Path
) -> None:
    wire = Wire()
    registry_kind = "identity" if "registry" in kind else kind  # a registry token needs no challenge
    storage_kind = "basic-challenge" if behaviour == "basic-challenge" else kind
    with contextlib.ExitStack() as stack:
        if behaviour == "accept":
            storage_url = stack.enter_context(site(wire, storage(None)))
        else:
            storage_url = stack.enter_context(challenging_storage(wire, storage_kind))
        endpoint = stack.enter_context(
            registry_with(wire, registry_kind, upload_location=f"{storage_url}/upload/session-1?state=s")
        )
        credential = credential_for(kind, mode, endpoint, tmp_path)
        if behaviour == "accept":
            assert call(mode, endpoint, credential, "upload") == sha256(BLOB)
        else:
            with pytest.raises(ClientAuthenticationError):
                call(mode, endpoint, credential, "upload", upload_attempts=1)
    where = _where(storage_url)
    assert wire.at(where), "the upload never reached the Location"
    assert wire.secrets_at(where) == []
    assert [h.headers.get("Authorization") for h in wire.at(where)] == [None] * len(wire.at(where))


@pytest.mark.parametrize("kind", ["identity", "entra"])
@pytest.mark.parametrize("mode", MODES)
def test_token_endpoint_redirect_is_not_followed(mode: str, kind: str, tmp_path: Path) -> None:
    """A token POST carries its secret in the body: a 307 would re-send it to the redirect target."""
    wire = Wire()
    with (
        site(wire, _token, "127.0.0.2") as elsewhere,
        registry_with(wire, kind, token_redirect=elsewhere) as endpoint,
    ):
        credential = credential_for(kind, mode, endpoint, tmp_path)
        with pytest.raises(ClientAuthenticationError) as caught:
            call(mode, endpoint, credential, "tags")
    assert wire.at(_where(elsewhere)) == []
    assert "307" in str(caught.value)


# ------------------------------------------------------------------------------------------- creg


def test_creg_trust_token_host_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    wire = Wire()
    with foreign_realm(wire, "127.0.0.1->127.0.0.2") as (endpoint, realm_where):
        base = ["-o", "json", "-r", endpoint, "-u", USER, "--password-stdin"]
        refused = CliRunner().invoke(cli, [*base, "tag", "ls", "--plain", "app"], input=PASSWORD + "\n")
        assert refused.exit_code == 1, refused.output
        assert "--trust-token-host" in refused.output and realm_where in refused.output
        assert PASSWORD not in refused.output
        assert wire.at(realm_where) == []
        trust = ["--trust-token-host", realm_where.split(":")[0]]
        trusted = CliRunner().invoke(
            cli, [*base, *trust, "tag", "ls", "--plain", "app"], input=PASSWORD + "\n"
        )
        assert trusted.exit_code == 0, trusted.output
        assert "v1" in trusted.output
