"""Client credential safety: no credentials to another host on redirect, none over plain http to a
non-loopback host without `insecure=True`, and no secret or token in logs, reprs or error messages."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiohttp import web

from containerregistry import ContainerRegistryClient, ContainerRegistryContentClient
from containerregistry.credentials import BasicCredential, RefreshTokenCredential
from containerregistry.emulator import run_emulator
from containerregistry.emulator.auth import AuthConfig, User, mint_entra_token
from containerregistry.exceptions import InsecureTransportError, RegistryError
from tests.reliability._emu_common import OCI_MANIFEST, image_manifest, sha256
from tests.support.hostile import Recorder, serve

pytestmark = pytest.mark.reliability

USER, PASSWORD = "alice", "pw-S3cr3t-alice-7f1c"
WRONG = "pw-Wr0ng-guess-99ab"
ENTRA_SECRET = "entra-signing-secret-4b1d-long-enough-for-hs256"
BLOB = b"redirected blob bytes"


# -- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [302, 307])
def test_credentials_not_sent_to_another_host_on_redirect(status: int) -> None:
    other = Recorder()

    async def storage(request: web.Request) -> web.StreamResponse:
        other.add(request)
        return web.Response(body=BLOB, headers={"Content-Type": "application/octet-stream"})

    with serve(storage) as storage_url:

        async def registry(request: web.Request) -> web.StreamResponse:
            if "Authorization" not in request.headers:
                return web.json_response(
                    {"errors": [{"code": "UNAUTHORIZED", "message": "auth"}]},
                    status=401,
                    headers={"WWW-Authenticate": 'Basic realm="registry"'},
                )
            if "/blobs/" in request.path:
                raise (
                    web.HTTPFound(f"{storage_url}/signed?sig=abc")
                    if status == 302
                    else web.HTTPTemporaryRedirect(f"{storage_url}/signed?sig=abc")
                )
            return web.json_response({})

        with serve(registry) as registry_url:
            client = ContainerRegistryContentClient(
                registry_url, "app", BasicCredential(USER, PASSWORD), timeout=10
            )
            with client:
                result = client.download_blob_content(sha256(BLOB))
    assert result.content == BLOB
    assert other.requests, "the redirect was not followed"
    for _method, _path, headers in other.requests:
        lowered = {k.lower(): v for k, v in headers.items()}
        assert "authorization" not in lowered, headers
        assert PASSWORD not in json.dumps(headers)
        assert base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() not in json.dumps(headers)


# -- plain http to a non-loopback host ----------------------------------------------------------


@dataclass
class Seen:
    requests: list[httpx.Request]


def _mock(seen: Seen) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.requests.append(request)
        if "authorization" not in request.headers:
            return httpx.Response(
                401,
                json={"errors": [{"code": "UNAUTHORIZED", "message": "auth"}]},
                headers={"WWW-Authenticate": 'Basic realm="registry"'},
            )
        return httpx.Response(200, json={"name": "app", "tags": ["v1"]})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    "credential",
    [BasicCredential(USER, PASSWORD), RefreshTokenCredential("refresh-token-value-123")],
    ids=["basic", "refresh"],
)
def test_no_credentials_over_plain_http_to_non_loopback(credential: Any) -> None:
    seen = Seen([])
    client = ContainerRegistryContentClient(
        "http://registry.example.com", "app", credential, transport=_mock(seen), timeout=5
    )
    with client, pytest.raises(RegistryError) as caught:
        list(client.list_tags())
    if isinstance(credential, BasicCredential):
        # Basic would have answered the challenge: the client must refuse, and say why.
        assert isinstance(caught.value, InsecureTransportError), repr(caught.value)
        assert "insecure" in str(caught.value).lower()
    assert all("authorization" not in r.headers for r in seen.requests), [
        dict(r.headers) for r in seen.requests
    ]
    assert PASSWORD not in str(caught.value)
    # Sanity (so the test can fail): with insecure=True the same client does send them.
    seen_ok = Seen([])
    allowed = ContainerRegistryContentClient(
        "http://registry.example.com",
        "app",
        BasicCredential(USER, PASSWORD),
        transport=_mock(seen_ok),
        timeout=5,
        insecure=True,
    )
    with allowed, contextlib.suppress(Exception):
        # (What happens after the credentials went out does not matter here; MockTransport's eager
        # bodies and the streaming reader do not mix.)
        list(allowed.list_tags())
    assert any("authorization" in r.headers for r in seen_ok.requests)


# -- nothing secret in logs ---------------------------------------------------------------------


class _Entra:
    """An Entra ID credential stand-in (azure-identity shape)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        @dataclass
        class AccessToken:
            token: str
            expires_on: int

        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _session(endpoint: str, credential: Any, texts: list[str]) -> None:
    texts.append(repr(credential))
    with ContainerRegistryContentClient(endpoint, "secret/app", credential, timeout=10) as client:
        texts.append(repr(client))
        config = json.dumps({"architecture": "amd64", "os": "linux", "who": repr(type(credential))}).encode()
        client.upload_blob(config)
        client.upload_blob(b"layer")
        digest = client.set_manifest(
            image_manifest(config, [b"layer"]), tag="v1", media_type=OCI_MANIFEST
        ).digest
        assert client.get_manifest("v1").digest == digest
        assert "v1" in list(client.list_tags())
        assert client.download_blob_content(sha256(b"layer")).content == b"layer"
    with ContainerRegistryClient(endpoint, credential, timeout=10) as registry:
        texts.append(repr(registry))
        assert "secret/app" in list(registry.list_repository_names())
        repo = registry.get_repository("secret/app")
        texts.append(repr(repo.get_properties()))
        texts += [repr(t) for t in repo.list_tag_properties()]


def test_no_secret_in_logs_reprs_or_errors(captured: io.StringIO) -> None:
    users = {USER: User(USER, PASSWORD, frozenset({"admin"}))}
    config = AuthConfig(users=users, entra_secret=ENTRA_SECRET, token_ttl=60)
    entra_token = mint_entra_token(ENTRA_SECRET, subject="bob")
    texts: list[str] = []
    with run_emulator(auth=config) as registry:
        endpoint = registry.endpoint
        # A refresh token the way `docker login` would get one.
        offline = httpx.post(
            f"{endpoint}/oauth2/token",
            data={
                "grant_type": "password",
                "username": USER,
                "password": PASSWORD,
                "access_type": "offline",
                "service": registry.login_server,
                "scope": "repository:secret/app:pull",
            },
            timeout=10,
        )
        refresh_token = offline.json()["refresh_token"]
        _session(endpoint, BasicCredential(USER, PASSWORD), texts)
        _session(endpoint, RefreshTokenCredential(refresh_token), texts)
        _session(endpoint, _Entra(entra_token), texts)
        # A failing login, and an invalid refresh token.
        for bad in (BasicCredential(USER, WRONG), RefreshTokenCredential(refresh_token[:-6] + "AAAAAA")):
            with ContainerRegistryContentClient(endpoint, "secret/app", bad, timeout=10) as client:
                with pytest.raises(RegistryError) as caught:
                    client.get_manifest("v1")
                texts += [str(caught.value), repr(caught.value), repr(bad), repr(caught.value.__cause__)]
                context = caught.value.__context__
                texts.append(repr(context))
    log = captured.getvalue()
    assert "containerregistry" in log or "httpx" in log or "urllib3" in log, "nothing was logged at DEBUG"
    everything = log + "\n".join(texts)
    secrets = {
        "password": PASSWORD,
        "wrong password": WRONG,
        "basic header": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        "wrong basic header": base64.b64encode(f"{USER}:{WRONG}".encode()).decode(),
        "refresh token": refresh_token,
        "entra token": entra_token,
        "entra secret": ENTRA_SECRET,
    }
    leaked = [name for name, value in secrets.items() if value in everything]
    # Every token the emulator issues (and the Entra one) is a JWT: none may appear in any form.
    jwts = re.findall(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", everything)
    print(
        f"\n[reliability] secrets: {len(log.splitlines())} DEBUG log lines, {len(texts)} reprs/errors grepped"
    )
    assert leaked == [], leaked
    assert jwts == [], jwts[:3]
