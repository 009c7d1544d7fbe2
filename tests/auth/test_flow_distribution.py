"""RegistryAuth against the real Distribution registry (basic and token auth), sync and async, over loopback."""

from __future__ import annotations

import logging
import secrets

import httpx
import pytest

from containerregistry.auth import SCOPE_EXTENSION, BasicCredential, RefreshTokenCredential, RegistryAuth
from containerregistry.exceptions import ClientAuthenticationError
from containerregistry.protocol.digest import compute_digest
from tests.support.clock import FakeClock


def scope(repo: str, actions: str = "pull") -> dict[str, object]:
    return {SCOPE_EXTENSION: (f"repository:{repo}:{actions}",)}


def push_blob(client: httpx.Client, endpoint: str, repo: str, data: bytes) -> str:
    digest = compute_digest(data)
    started = client.post(f"{endpoint}/v2/{repo}/blobs/uploads/", extensions=scope(repo, "pull,push"))
    assert started.status_code == 202, started.text
    location = httpx.URL(endpoint).join(started.headers["Location"])
    done = client.put(
        location.copy_merge_params({"digest": digest}), content=data, extensions=scope(repo, "pull,push")
    )
    assert done.status_code == 201, done.text
    return digest


async def push_blob_async(client: httpx.AsyncClient, endpoint: str, repo: str, data: bytes) -> str:
    digest = compute_digest(data)
    started = await client.post(f"{endpoint}/v2/{repo}/blobs/uploads/", extensions=scope(repo, "pull,push"))
    assert started.status_code == 202, started.text
    location = httpx.URL(endpoint).join(started.headers["Location"])
    done = await client.put(
        location.copy_merge_params({"digest": digest}), content=data, extensions=scope(repo, "pull,push")
    )
    assert done.status_code == 201, done.text
    return digest


def unique_repo(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


# ------------------------------------------------------------------------------------------ token auth


def test_token_push_pull_costs_one_challenge_and_one_token(distribution_token) -> None:
    reg = distribution_token
    auth = RegistryAuth(BasicCredential(reg.username, reg.password))
    repo = unique_repo("tok")
    data = b"hello token auth"
    with httpx.Client(auth=auth, timeout=10) as client:
        digest = push_blob(client, reg.endpoint, repo, data)
        pulled = client.get(f"{reg.endpoint}/v2/{repo}/blobs/{digest}", extensions=scope(repo))
        assert pulled.status_code == 200
        assert pulled.content == data
        assert auth.stats.challenges == 1
        assert auth.stats.token_requests == 1
        assert reg.token_server.stats.requests == 1
        # Same scope again: attached from the cache, no 401 and no token request.
        again = client.head(f"{reg.endpoint}/v2/{repo}/blobs/{digest}", extensions=scope(repo))
        assert again.status_code == 200
        assert again.history == []
        assert auth.stats.challenges == 1
        assert reg.token_server.stats.requests == 1
        # BasicCredential asks with GET + Basic (documented choice).
        assert reg.token_server.stats.gets == 1


def test_new_scope_triggers_exactly_one_token_request(distribution_token) -> None:
    reg = distribution_token
    auth = RegistryAuth(BasicCredential(reg.username, reg.password))
    first, second = unique_repo("a"), unique_repo("b")
    with httpx.Client(auth=auth, timeout=10) as client:
        push_blob(client, reg.endpoint, first, b"one")
        assert reg.token_server.stats.requests == 1
        # A request without a scope hint to a new repository: 401, one token request (old + new scope), retry.
        listed = client.get(f"{reg.endpoint}/v2/{second}/tags/list")
        assert listed.status_code == 404  # authorized; the repository does not exist
        assert auth.stats.challenges == 2
        assert reg.token_server.stats.requests == 2
        record = reg.token_server.stats.records[-1]
        assert f"repository:{second}:pull" in record.scopes
        assert any(s.startswith(f"repository:{first}:") for s in record.scopes)
        # A hinted new scope, once the challenge is known: fetched before sending, no 401.
        third = unique_repo("c")
        probe = client.get(f"{reg.endpoint}/v2/{third}/tags/list", extensions=scope(third))
        assert probe.status_code == 404
        assert [r.status_code for r in probe.history] == [200]  # just the token response
        assert auth.stats.challenges == 2
        assert reg.token_server.stats.requests == 3


def test_wrong_password_raises_without_the_password(distribution_token) -> None:
    reg = distribution_token
    wrong = "not-the-password-" + secrets.token_hex(6)
    auth = RegistryAuth(BasicCredential(reg.username, wrong))
    with httpx.Client(auth=auth, timeout=10) as client, pytest.raises(ClientAuthenticationError) as caught:
        client.get(f"{reg.endpoint}/v2/app/tags/list", extensions=scope("app"))
    text = str(caught.value) + repr(caught.value) + repr(auth)
    assert wrong not in text
    assert reg.host in str(caught.value)
    assert reg.token_server.realm in str(caught.value)
    assert "repository:app:pull" in str(caught.value)
    assert caught.value.status_code == 401


def test_anonymous_token_without_access_is_refused_clearly(distribution_token) -> None:
    reg = distribution_token
    with (
        httpx.Client(auth=RegistryAuth(None), timeout=10) as client,
        pytest.raises(ClientAuthenticationError) as caught,
    ):
        client.get(f"{reg.endpoint}/v2/app/tags/list", extensions=scope("app"))
    assert "anonymous" in str(caught.value)
    assert reg.token_server.stats.gets == 1
    assert not reg.token_server.stats.records[0].authenticated


def test_prefer_post_uses_password_grant_then_refresh_token(distribution_token) -> None:
    reg = distribution_token
    auth = RegistryAuth(BasicCredential(reg.username, reg.password), prefer_post=True)
    first, second = unique_repo("p"), unique_repo("q")
    with httpx.Client(auth=auth, timeout=10) as client:
        push_blob(client, reg.endpoint, first, b"x")
        assert (
            client.get(f"{reg.endpoint}/v2/{second}/tags/list", extensions=scope(second)).status_code == 404
        )
    grants = [r.grant_type for r in reg.token_server.stats.records]
    assert grants == ["password", "refresh_token"]


def test_password_grant_falls_back_to_get_on_404(distribution_token) -> None:
    reg = distribution_token
    reg.token_server.post_enabled = False
    auth = RegistryAuth(BasicCredential(reg.username, reg.password), prefer_post=True)
    with httpx.Client(auth=auth, timeout=10) as client:
        push_blob(client, reg.endpoint, unique_repo("f"), b"y")
    assert [r.method for r in reg.token_server.stats.records] == ["POST", "GET"]


def test_refresh_token_credential_uses_the_refresh_grant(distribution_token) -> None:
    reg = distribution_token
    server = reg.token_server
    issued = httpx.post(
        server.realm,
        data={
            "grant_type": "password",
            "service": server.service,
            "username": reg.username,
            "password": reg.password,
        },
        timeout=5,
    ).json()["refresh_token"]
    server.stats.reset()
    auth = RegistryAuth(RefreshTokenCredential(issued))
    with httpx.Client(auth=auth, timeout=10) as client:
        push_blob(client, reg.endpoint, unique_repo("r"), b"z")
    assert [r.grant_type for r in server.stats.records] == ["refresh_token"]
    assert issued not in repr(auth)


def test_expired_token_is_fetched_again(distribution_token) -> None:
    reg = distribution_token
    reg.token_server.expires_in = 60  # cached for 45 s (a quarter is kept as a margin)
    clock = FakeClock()
    auth = RegistryAuth(BasicCredential(reg.username, reg.password), clock=clock)
    repo = unique_repo("e")
    with httpx.Client(auth=auth, timeout=10) as client:

        def tags() -> int:
            return client.get(f"{reg.endpoint}/v2/{repo}/tags/list", extensions=scope(repo)).status_code

        for attempt in range(3):
            if attempt:
                clock.advance(45)  # the cached token is past its deadline
            assert tags() == 404
        # First: 401 + token; then each request finds its token stale and fetches one before sending.
        assert auth.stats.challenges == 1
        assert reg.token_server.stats.requests == 3
        clock.advance(44.9)  # still inside the token's 45 s: it is used, nothing is fetched
        assert tags() == 404
    assert auth.stats.challenges == 1
    assert reg.token_server.stats.requests == 3


def test_streamed_body_gets_a_token_before_sending(distribution_token) -> None:
    reg = distribution_token
    auth = RegistryAuth(BasicCredential(reg.username, reg.password))
    repo = unique_repo("s")
    data = b"streamed body " * 1000
    with httpx.Client(auth=auth, timeout=10) as client:
        started = client.post(f"{reg.endpoint}/v2/{repo}/blobs/uploads/", extensions=scope(repo, "pull,push"))
        location = httpx.URL(reg.endpoint).join(started.headers["Location"])
        fresh = RegistryAuth(BasicCredential(reg.username, reg.password))
        patched = client.patch(
            location,
            content=iter([data[:5000], data[5000:]]),
            headers={"Content-Type": "application/octet-stream"},
            extensions=scope(repo, "pull,push"),
            auth=fresh,
        )
        assert patched.status_code == 202, patched.text
        assert fresh.stats.pings == 1
        assert fresh.stats.challenges == 0  # the stream was never sent to be refused


def test_debug_logs_hold_no_secret(distribution_token, caplog: pytest.LogCaptureFixture) -> None:
    reg = distribution_token
    auth = RegistryAuth(BasicCredential(reg.username, reg.password), prefer_post=True)
    repo = unique_repo("log")
    with caplog.at_level(logging.DEBUG), httpx.Client(auth=auth, timeout=10) as client:
        push_blob(client, reg.endpoint, repo, b"secret-free logs")
        client.get(f"{reg.endpoint}/v2/{unique_repo('log2')}/tags/list", extensions=scope("x"))
    state = next(iter(auth._registries.values()))
    secrets_seen = [reg.password, state.refresh_token, *(t.value for t in state.tokens.values())]
    assert state.refresh_token and len(state.tokens) >= 2
    assert any("token POST" in r.getMessage() for r in caplog.records)  # the logs were captured
    for record in caplog.records:
        text = record.getMessage()
        for secret in secrets_seen:
            assert secret not in text


async def test_async_token_flow(distribution_token) -> None:
    reg = distribution_token
    auth = RegistryAuth(BasicCredential(reg.username, reg.password))
    repo = unique_repo("async")
    async with httpx.AsyncClient(auth=auth, timeout=10) as client:
        digest = await push_blob_async(client, reg.endpoint, repo, b"async bytes")
        pulled = await client.get(f"{reg.endpoint}/v2/{repo}/blobs/{digest}", extensions=scope(repo))
        assert pulled.content == b"async bytes"
        again = await client.get(f"{reg.endpoint}/v2/{repo}/blobs/{digest}", extensions=scope(repo))
        assert again.history == []
    assert auth.stats.challenges == 1
    assert reg.token_server.stats.requests == 1


async def test_async_wrong_password(distribution_token) -> None:
    reg = distribution_token
    auth = RegistryAuth(BasicCredential(reg.username, "wrong-password-123"))
    async with httpx.AsyncClient(auth=auth, timeout=10) as client:
        with pytest.raises(ClientAuthenticationError) as caught:
            await client.get(f"{reg.endpoint}/v2/app/tags/list", extensions=scope("app"))
    assert "wrong-password-123" not in str(caught.value)


# ------------------------------------------------------------------------------------------ basic auth


def test_basic_auth_is_sent_preemptively_after_the_first_challenge(distribution_basic) -> None:
    reg = distribution_basic
    auth = RegistryAuth(BasicCredential(reg.username, reg.password))
    repo = unique_repo("basic")
    with httpx.Client(auth=auth, timeout=10) as client:
        digest = push_blob(client, reg.endpoint, repo, b"basic bytes")
        pulled = client.get(f"{reg.endpoint}/v2/{repo}/blobs/{digest}")
        assert pulled.content == b"basic bytes"
        assert pulled.history == []
    assert auth.stats.challenges == 1
    assert auth.stats.token_requests == 0


def test_basic_wrong_password(distribution_basic) -> None:
    reg = distribution_basic
    auth = RegistryAuth(BasicCredential(reg.username, "bad-password-xyz"))
    with httpx.Client(auth=auth, timeout=10) as client, pytest.raises(ClientAuthenticationError) as caught:
        client.get(f"{reg.endpoint}/v2/")
    assert "bad-password-xyz" not in str(caught.value)
    assert reg.host in str(caught.value)


async def test_basic_async_and_anonymous_gets_the_401(distribution_basic) -> None:
    reg = distribution_basic
    async with httpx.AsyncClient(
        auth=RegistryAuth(BasicCredential(reg.username, reg.password)), timeout=10
    ) as c:
        assert (await c.get(f"{reg.endpoint}/v2/")).status_code == 200
    async with httpx.AsyncClient(auth=RegistryAuth(None), timeout=10) as c:
        assert (await c.get(f"{reg.endpoint}/v2/")).status_code == 401
