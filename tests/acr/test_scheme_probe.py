"""A registry named without a scheme: https first, plain http only for loopback (and `insecure=True`).

Once per client, before its first request: on loopback a bare TLS handshake, then (not TLS) one
anonymous `GET /v2/` over http; it never carries credentials. Sync and async clients, against the
emulator over TLS (token auth) and over plain http.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from containerregistry import BasicCredential, aio
from containerregistry._sync import ContainerRegistryClient, ContainerRegistryContentClient
from containerregistry.emulator import RunningEmulator, run_emulator
from containerregistry.emulator.auth import AuthConfig, EmulatorAuth
from containerregistry.transport import AiohttpTransport, Urllib3Transport
from tests.support.adapter import ClientKind

from .conftest import ADMIN, AsyncCountingTransport, CountingTransport, RequestLog, Seeder


@pytest.fixture(scope="module")
def plain_auth() -> Iterator[RunningEmulator]:
    """The emulator over plain http with token auth (the admin user)."""
    with run_emulator(auth=EmulatorAuth(AuthConfig(users={ADMIN.username: ADMIN}))) as registry:
        yield registry


def _client(kind: ClientKind, endpoint: str, log: RequestLog, verify: Any) -> Any:
    credential = BasicCredential(ADMIN.username, ADMIN.password)
    if not kind.is_async:
        transport = CountingTransport(Urllib3Transport(verify=verify), log)
        return ContainerRegistryClient(endpoint, credential, transport=transport, verify=verify)
    async_transport = AsyncCountingTransport(AiohttpTransport(verify=verify), log)
    return kind.adapt(
        aio.ContainerRegistryClient(endpoint, credential, transport=async_transport, verify=verify)
    )


def _probes(log: RequestLog) -> list[str]:
    """The anonymous `GET /v2/` requests, as URLs."""
    return [
        str(r.url) for r in log.requests if r.method == "GET" and r.url.path == "/v2/" and not r.authorized
    ]


def test_tls_registry_on_loopback_without_scheme(
    flavour: str, client_kind: ClientKind, acr: RunningEmulator, seed: Seeder
) -> None:
    repo = f"probe/tls-{flavour}"
    seed.push(repo, "v1")
    log = RequestLog()
    host = f"127.0.0.1:{acr.port}"
    client = _client(client_kind, host, log, str(acr.ca_cert))
    try:
        assert repo in list(client.list_repository_names())
        assert client.get_repository(repo).get_properties().tag_count == 1
        assert [t.name for t in client.get_repository(repo).list_tag_properties()] == ["v1"]
        assert client.endpoint == f"https://{host}"
    finally:
        client.close()
    # The handshake told TLS (outside the transport): every request went over https, none over http.
    assert log.requests and all(r.url.scheme == "https" for r in log.requests)
    assert not [p for p in _probes(log) if p.startswith("http:")]


def test_plain_registry_on_loopback_without_scheme(
    client_kind: ClientKind, plain_auth: RunningEmulator
) -> None:
    log = RequestLog()
    host = f"127.0.0.1:{plain_auth.port}"
    client = _client(client_kind, host, log, True)
    try:
        assert isinstance(list(client.list_repository_names()), list)
        list(client.list_repository_names())
        assert client.endpoint == f"http://{host}"
    finally:
        client.close()
    # The handshake found no TLS; one anonymous GET /v2/ over http confirmed http, once for the client.
    assert _probes(log)[:1] == [f"http://{host}/v2/"] and str(log.requests[0].url) == f"http://{host}/v2/"
    assert not log.requests[0].authorized
    assert not any(r.url.scheme == "https" for r in log.requests)
    assert any(r.authorized for r in log.requests[1:])  # the credentials went to the host named, over http


def test_explicit_scheme_is_never_probed_nor_changed(
    client_kind: ClientKind, plain_auth: RunningEmulator
) -> None:
    log = RequestLog()
    client = _client(client_kind, plain_auth.endpoint, log, True)
    try:
        list(client.list_repository_names())
    finally:
        client.close()
    assert not any(r.url.scheme == "https" for r in log.requests)


def test_content_client_without_scheme_over_tls(acr: RunningEmulator) -> None:
    host = f"127.0.0.1:{acr.port}"
    credential = BasicCredential(ADMIN.username, ADMIN.password)
    with ContainerRegistryContentClient(
        host, "probe/content", credential, verify=str(acr.ca_cert)
    ) as content:
        digest = content.upload_blob(b"over tls, no scheme").digest
        assert content.download_blob_content(digest).content == b"over tls, no scheme"
        assert content.endpoint == f"https://{host}"


async def test_async_content_client_without_scheme_over_tls(acr: RunningEmulator) -> None:
    host = f"127.0.0.1:{acr.port}"
    credential = BasicCredential(ADMIN.username, ADMIN.password)
    async with aio.ContainerRegistryContentClient(
        host, "probe/content-async", credential, verify=str(acr.ca_cert)
    ) as content:
        digest = (await content.upload_blob(b"async over tls")).digest
        assert (await content.download_blob_content(digest)).content == b"async over tls"
        assert content.endpoint == f"https://{host}"
