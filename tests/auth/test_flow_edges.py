"""RegistryAuth edge cases: redirects to another host, plain http, bad challenges, docker config end to end."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from containerregistry.auth import SCOPE_EXTENSION, BasicCredential, DockerConfigCredential, RegistryAuth
from containerregistry.exceptions import ClientAuthenticationError, InsecureTransportError
from tests.support.hostile import serve


def test_authorization_is_not_sent_after_a_redirect_to_another_host() -> None:
    seen_by_storage: list[str | None] = []
    expected = "Basic " + base64.b64encode(b"user:secret-pw").decode()

    async def storage(request: web.Request) -> web.StreamResponse:
        seen_by_storage.append(request.headers.get("Authorization"))
        return web.Response(body=b"blob")

    with serve(storage) as storage_url:

        async def registry(request: web.Request) -> web.StreamResponse:
            if request.headers.get("Authorization") != expected:
                return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="registry"'})
            return web.Response(status=307, headers={"Location": f"{storage_url}/signed?sig=abc"})

        with serve(registry) as registry_url:
            auth = RegistryAuth(BasicCredential("user", "secret-pw"))
            with httpx.Client(auth=auth, follow_redirects=True, timeout=5) as client:
                for _ in range(2):
                    response = client.get(f"{registry_url}/v2/app/blobs/sha256:{'a' * 64}")
                    assert response.status_code == 200
                    assert response.content == b"blob"
            assert auth.stats.challenges == 1
    assert seen_by_storage == [None, None]


def _mock_registry(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "auth.example.com":
            return httpx.Response(200, json={"token": "tok", "expires_in": 300})
        if "Authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return httpx.Response(200)

    return httpx.MockTransport(handler)


def test_plain_http_to_a_remote_host_is_refused() -> None:
    seen: list[httpx.Request] = []
    auth = RegistryAuth(BasicCredential("user", "pw-not-sent"))
    with (
        httpx.Client(auth=auth, transport=_mock_registry(seen)) as client,
        pytest.raises(InsecureTransportError) as caught,
    ):
        client.get("http://registry.example.com/v2/")
    assert "registry.example.com" in str(caught.value)
    assert "pw-not-sent" not in str(caught.value)
    assert all("Authorization" not in r.headers for r in seen)
    # insecure=True allows it; https never needed it.
    for url, insecure in (
        ("http://registry.example.com/v2/", True),
        ("https://registry.example.com/v2/", False),
    ):
        seen.clear()
        with httpx.Client(
            auth=RegistryAuth(BasicCredential("user", "pw"), insecure=insecure),
            transport=_mock_registry(seen),
        ) as client:
            assert client.get(url).status_code == 200
        assert "Authorization" in seen[-1].headers


def test_plain_http_token_realm_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            raise AssertionError("credentials must not travel to an http realm")
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer realm="http://auth.example.com/token",service="s"'}
        )

    auth = RegistryAuth(BasicCredential("user", "pw"))
    with (
        httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(InsecureTransportError),
    ):
        client.get("https://registry.example.com/v2/")


def test_anonymous_plain_http_is_allowed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(200, json={"token": "anon"})
        if request.headers.get("Authorization") == "Bearer anon":
            return httpx.Response(200)
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer realm="http://auth.example.com/token",service="s"'}
        )

    auth = RegistryAuth(None)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as client:
        assert (
            client.get(
                "http://registry.example.com/v2/", extensions={SCOPE_EXTENSION: ("repository:a:pull",)}
            ).status_code
            == 200
        )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b"boom"),
        (200, b"not json"),
        (200, b'{"no": "token"}'),
        (403, b'{"errors":[{"code":"DENIED","message":"nope"}]}'),
    ],
)
def test_token_endpoint_failures_raise(status: int, body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(status, content=body)
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service="s"'}
        )

    auth = RegistryAuth(BasicCredential("user", "pw-hidden"))
    with (
        httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(ClientAuthenticationError) as caught,
    ):
        client.get(
            "https://registry.example.com/v2/a/tags/list",
            extensions={SCOPE_EXTENSION: ("repository:a:pull",)},
        )
    message = str(caught.value)
    assert "registry.example.com" in message and "https://auth.example.com/token" in message
    assert "repository:a:pull" in message
    assert "pw-hidden" not in message
    assert auth.stats.token_requests == 1  # bounded: no retry loop


def test_401_without_challenge_is_returned_as_is() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(401, headers={"WWW-Authenticate": "=,garbage=="})

    with httpx.Client(
        auth=RegistryAuth(BasicCredential("u", "p")), transport=httpx.MockTransport(handler)
    ) as client:
        assert client.get("https://r.example.com/v2/").status_code == 401
    assert calls == 1


def test_docker_config_credential_end_to_end(distribution_basic, tmp_path: Path) -> None:
    reg = distribution_basic
    raw = f"{reg.username}:{reg.password}".encode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {reg.host: {"auth": base64.b64encode(raw).decode()}}})
    )
    auth = RegistryAuth(DockerConfigCredential(tmp_path / "config.json"))
    with httpx.Client(auth=auth, timeout=10) as client:
        assert client.get(f"{reg.endpoint}/v2/").status_code == 200
        assert client.get(f"{reg.endpoint}/v2/").history == []
    assert reg.password not in repr(auth)
