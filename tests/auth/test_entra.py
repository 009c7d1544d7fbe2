"""Entra ID -> ACR refresh token -> access tokens, and ACR's anonymous flow, against a loopback ACR look-alike."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import jwt
import pytest

from containerregistry.auth import SCOPE_EXTENSION, RegistryAuth
from containerregistry.exceptions import ClientAuthenticationError

from .acr_fake import FakeAsyncEntraCredential, FakeEntraCredential, run_acr_fake


def meta(repo: str) -> dict[str, object]:
    return {SCOPE_EXTENSION: (f"repository:{repo}:metadata_read",)}


@pytest.fixture
def acr():
    with run_acr_fake() as fake:
        yield fake


def test_metadata_calls_cost_a_constant_number_of_token_requests(acr) -> None:
    credential = FakeEntraCredential(tenant="tenant-42")
    auth = RegistryAuth(credential)
    with httpx.Client(auth=auth, timeout=10) as client:
        for _ in range(20):
            response = client.get(f"{acr.endpoint}/acr/v1/hello/_tags", extensions=meta("hello"))
            assert response.status_code == 200
    assert acr.counts["exchange"] == 1
    assert acr.counts["token"] == 1
    assert acr.counts["registry"] == 21  # one 401, then 20 answered
    assert auth.stats.challenges == 1
    assert auth.stats.exchanges == 1
    assert credential.calls == [("https://containerregistry.azure.net/.default",)]
    assert acr.exchanged_tenants == ["tenant-42"]  # taken from the Entra token's tid claim


def test_new_scope_uses_the_cached_refresh_token(acr) -> None:
    auth = RegistryAuth(FakeEntraCredential())
    with httpx.Client(auth=auth, timeout=10) as client:
        assert client.get(f"{acr.endpoint}/acr/v1/one/_tags", extensions=meta("one")).status_code == 200
        assert (
            client.get(
                f"{acr.endpoint}/v2/two/tags/list", extensions={SCOPE_EXTENSION: ("repository:two:pull",)}
            ).status_code
            == 200
        )
    assert acr.counts["exchange"] == 1
    assert acr.counts["token"] == 2
    # The second token request carries the scopes held so far plus the new one, one scope parameter each.
    assert acr.token_scopes[-1] == ("repository:one:metadata_read", "repository:two:pull")
    assert auth.stats.challenges == 1  # the new scope was fetched before sending


def test_refresh_token_is_exchanged_again_near_its_expiry(acr) -> None:
    acr.refresh_lifetime = 300  # within the 5-minute margin: never reused
    auth = RegistryAuth(FakeEntraCredential())
    with httpx.Client(auth=auth, timeout=10) as client:
        for repo in ("a", "b"):
            assert client.get(f"{acr.endpoint}/acr/v1/{repo}/_tags", extensions=meta(repo)).status_code == 200
    assert acr.counts["exchange"] == 2


async def test_async_credential_with_concurrent_calls(acr) -> None:
    credential = FakeAsyncEntraCredential()
    auth = RegistryAuth(credential)
    async with httpx.AsyncClient(auth=auth, timeout=10) as client:
        first = await client.get(f"{acr.endpoint}/acr/v1/hello/_tags", extensions=meta("hello"))
        assert first.status_code == 200
        answers = await asyncio.gather(
            *(client.get(f"{acr.endpoint}/acr/v1/hello/_tags", extensions=meta("hello")) for _ in range(16))
        )
        assert all(a.status_code == 200 for a in answers)
        refresh = await auth.get_refresh_token_async(client, acr.endpoint)
    assert acr.counts["exchange"] == 1
    assert acr.counts["token"] == 1
    assert len(credential.calls) == 1
    assert refresh and jwt.decode(refresh, options={"verify_signature": False})["typ"] == "refresh"


async def test_a_cold_burst_of_many_scopes_exchanges_once(acr) -> None:
    """Concurrent first requests for different scopes fetch a token each, in parallel, but share one
    Entra ID token and one exchange (the other scopes wait for that exchange, not for each other)."""
    credential = FakeAsyncEntraCredential()
    auth = RegistryAuth(credential)
    repos = [f"burst{i}" for i in range(4)]
    async with httpx.AsyncClient(auth=auth, timeout=10) as client:
        answers = await asyncio.gather(
            *(client.get(f"{acr.endpoint}/acr/v1/{repo}/_tags", extensions=meta(repo)) for repo in repos * 4)
        )
    assert [a.status_code for a in answers] == [200] * 16
    assert acr.counts["exchange"] == 1
    assert len(credential.calls) == 1
    assert acr.counts["token"] == len(repos)  # one per scope
    assert auth.stats.challenges == 1


def test_get_refresh_token_exchanges_once(acr) -> None:
    auth = RegistryAuth(FakeEntraCredential())
    with httpx.Client(timeout=10) as client:
        refresh = auth.get_refresh_token(client, acr.endpoint)
        again = auth.get_refresh_token(client, acr.endpoint)
    assert refresh and refresh == again
    assert auth.cached_refresh_token(acr.endpoint) == refresh
    assert acr.counts["exchange"] == 1
    assert acr.counts["registry"] == 1  # one GET /v2/ to learn the challenge
    assert refresh not in repr(auth)


def test_wrong_audience_is_explained(acr) -> None:
    auth = RegistryAuth(FakeEntraCredential(), audience="https://management.azure.com")
    with httpx.Client(auth=auth, timeout=10) as client, pytest.raises(ClientAuthenticationError) as caught:
        client.get(f"{acr.endpoint}/acr/v1/hello/_tags", extensions=meta("hello"))
    message = str(caught.value)
    assert "https://management.azure.com" in message  # the audience we used
    assert "audience is not https://containerregistry.azure.net" in message  # what the server said
    assert "/oauth2/exchange" in message and "401" in message


def test_rejected_entra_token_is_a_401_from_the_exchange(acr) -> None:
    credential = FakeEntraCredential(secret="not-the-trusted-secret-000000000000")
    token = credential.get_token("https://containerregistry.azure.net/.default").token
    auth = RegistryAuth(credential)
    with httpx.Client(auth=auth, timeout=10) as client, pytest.raises(ClientAuthenticationError) as caught:
        client.get(f"{acr.endpoint}/acr/v1/hello/_tags", extensions=meta("hello"))
    assert caught.value.status_code == 401
    assert "exchang" in str(caught.value)
    assert token not in str(caught.value)
    assert acr.counts["token"] == 0


def test_a_scope_the_identity_lacks_is_named(acr) -> None:
    acr.allowed["object-1"] = {"pull", "metadata_read"}
    auth = RegistryAuth(FakeEntraCredential())
    with httpx.Client(auth=auth, timeout=10) as client, pytest.raises(ClientAuthenticationError) as caught:
        client.put(
            f"{acr.endpoint}/v2/hello/manifests/v1",
            content=b"{}",
            extensions={SCOPE_EXTENSION: ("repository:hello:push",)},
        )
    assert "repository:hello:push" in str(caught.value)
    assert "refused" in str(caught.value)


def test_anonymous_acr_uses_the_password_grant_without_credentials(acr) -> None:
    acr.anonymous_pull = True
    auth = RegistryAuth(None)
    with httpx.Client(auth=auth, timeout=10) as client:
        for _ in range(3):
            response = client.get(
                f"{acr.endpoint}/v2/hello/tags/list", extensions={SCOPE_EXTENSION: ("repository:hello:pull",)}
            )
            assert response.status_code == 200
    assert acr.counts["token"] == 1
    assert acr.counts["token_get"] == 0


def test_anonymous_acr_refused_falls_back_to_get_then_raises(acr) -> None:
    auth = RegistryAuth(None)
    with httpx.Client(auth=auth, timeout=10) as client, pytest.raises(ClientAuthenticationError) as caught:
        client.get(
            f"{acr.endpoint}/v2/hello/tags/list", extensions={SCOPE_EXTENSION: ("repository:hello:pull",)}
        )
    assert acr.counts["token"] == 1 and acr.counts["token_get"] == 1
    assert "repository:hello:pull" in str(caught.value)


def test_async_credential_needs_an_async_client(acr) -> None:
    auth = RegistryAuth(FakeAsyncEntraCredential())
    with httpx.Client(auth=auth, timeout=10) as client, pytest.raises(TypeError, match="async"):
        client.get(f"{acr.endpoint}/acr/v1/hello/_tags", extensions=meta("hello"))


def test_entra_credential_on_a_non_acr_registry_is_explained(distribution_token) -> None:
    auth = RegistryAuth(FakeEntraCredential())
    with (
        httpx.Client(auth=auth, timeout=10) as client,
        pytest.raises(ClientAuthenticationError, match="oauth2/token"),
    ):
        client.get(f"{distribution_token.endpoint}/v2/app/tags/list")


def test_azure_identity_is_never_imported() -> None:
    code = (
        "import sys, containerregistry.auth, containerregistry.credentials\n"
        "bad = [m for m in sys.modules if m.startswith('azure')]\n"
        "assert not bad, bad\n"
    )
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert time.monotonic() - started < 60


def test_debug_logs_of_an_entra_session_hold_no_secret(acr, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    credential = FakeEntraCredential()
    auth = RegistryAuth(credential)
    with caplog.at_level(logging.DEBUG), httpx.Client(auth=auth, timeout=10) as client:
        for repo in ("a", "b"):
            assert client.get(f"{acr.endpoint}/acr/v1/{repo}/_tags", extensions=meta(repo)).status_code == 200
        refresh = auth.get_refresh_token(client, acr.endpoint)
    state = next(iter(auth._registries.values()))
    entra = credential.get_token("https://containerregistry.azure.net/.default").token
    assert refresh
    hidden = [entra, refresh, *(t.value for t in state.tokens.values())]
    assert len(hidden) >= 4
    messages = [r.getMessage() for r in caplog.records]
    assert any("oauth2/exchange" in m for m in messages)
    for message in messages:
        for secret in hidden:
            assert secret not in message
