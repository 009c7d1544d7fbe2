"""`ClientOptions`: one frozen value of the client options; clients take it as `options=`, and the keywords
a caller writes win over it."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

from containerregistry import (
    BasicCredential,
    ClientOptions,
    ContainerRegistryClient,
    ContainerRegistryContentClient,
    aio,
)
from containerregistry.transport import RetryPolicy

SECRET = "s3cret-password-value"


@pytest.mark.parametrize(
    ("base", "keywords", "expected"),
    [
        (None, {}, ClientOptions()),
        (None, {"timeout": 5.0}, ClientOptions(timeout=5.0)),
        (ClientOptions(timeout=5.0, insecure=True), {}, ClientOptions(timeout=5.0, insecure=True)),
        (ClientOptions(timeout=5.0), {"timeout": 7.0}, ClientOptions(timeout=7.0)),
        (ClientOptions(verify=False), {"verify": "/ca.pem"}, ClientOptions(verify="/ca.pem")),
        # A keyword at its default does not undo a field of the options.
        (
            ClientOptions(verify=False, insecure=True),
            {"verify": True, "insecure": False},
            ClientOptions(verify=False, insecure=True),
        ),
        (
            ClientOptions(),
            {"trusted_token_hosts": ["auth.example"]},
            ClientOptions(trusted_token_hosts=("auth.example",)),
        ),
        (
            ClientOptions(audience="https://a.example"),
            {"audience": None},
            ClientOptions(audience="https://a.example"),
        ),
    ],
)
def test_merged(base: ClientOptions | None, keywords: dict[str, object], expected: ClientOptions) -> None:
    assert ClientOptions.merged(base, **keywords) == expected  # type: ignore[arg-type]


def test_trusted_token_hosts_become_a_tuple() -> None:
    assert ClientOptions(trusted_token_hosts="auth.example").trusted_token_hosts == ("auth.example",)  # type: ignore[arg-type]
    assert ClientOptions(trusted_token_hosts=None).trusted_token_hosts == ()  # type: ignore[arg-type]


def test_frozen_and_no_secret_in_repr() -> None:
    options = ClientOptions(credential=BasicCredential("user", SECRET), timeout=3.0)
    assert SECRET not in repr(options) and "credential" not in repr(options)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.timeout = 4.0  # type: ignore[misc]
    assert dataclasses.replace(options, timeout=4.0).timeout == 4.0


def test_options_must_be_client_options() -> None:
    with pytest.raises(TypeError, match="ClientOptions"):
        ContainerRegistryContentClient("http://127.0.0.1:1", "app", options={"timeout": 1})  # type: ignore[arg-type]


def _handler(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/tags/list"):
            return httpx.Response(200, json={"name": "app", "tags": ["1"]})
        return httpx.Response(200, json={"repositories": ["app"]})

    return httpx.MockTransport(handle)


def test_sync_clients_use_the_options() -> None:
    seen: list[httpx.Request] = []
    options = ClientOptions(transport=_handler(seen), timeout=3.0, retry=RetryPolicy(max_retries=0))
    with ContainerRegistryContentClient("http://127.0.0.1:1", "app", options=options) as content:
        assert list(content.list_tags()) == ["1"]
        assert content._pipeline.client.timeout == httpx.Timeout(3.0)
        assert content._pipeline.retry.max_retries == 0
    # A keyword given wins over the options' field.
    with ContainerRegistryClient("http://127.0.0.1:1", options=options, timeout=9.0) as registry:
        assert list(registry.list_repository_names()) == ["app"]
        assert registry._session.pipeline.client.timeout == httpx.Timeout(9.0)
    assert len(seen) == 2


def test_async_clients_use_the_options() -> None:
    seen: list[httpx.Request] = []

    async def run() -> None:
        options = ClientOptions(transport=_handler(seen), timeout=3.0)
        async with aio.ContainerRegistryContentClient(
            "http://127.0.0.1:1", "app", options=options
        ) as content:
            assert [tag async for tag in content.list_tags()] == ["1"]
            assert content._pipeline.client.timeout == httpx.Timeout(3.0)
        async with aio.ContainerRegistryClient(
            "http://127.0.0.1:1", options=options, timeout=9.0
        ) as registry:
            assert [name async for name in registry.list_repository_names()] == ["app"]
            assert registry._session.pipeline.client.timeout == httpx.Timeout(9.0)

    asyncio.run(run())
    assert len(seen) == 2
