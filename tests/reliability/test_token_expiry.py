"""Token expiry mid-operation: the emulator issues 5-second access tokens.

A transfer throttled through the proxy to last longer than a token (the real-clock, end-to-end proof:
the emulator's tokens really expire mid-transfer), and listings paged one item at a time while the
client's token cache clock (a fake one, moved 5.5 s between pages: no waiting) outruns a token's life,
must finish without a user-visible error (the client fetches fresh tokens on its own). Sync and async.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from containerregistry import BasicCredential, ContainerRegistryClient, ContainerRegistryContentClient, aio
from containerregistry.emulator.auth import AuthConfig, EmulatorAuth, User
from tests.reliability.report import Report
from tests.support.adapter import ClientKind
from tests.support.clock import FakeClock, use_clock
from tests.support.faults import FaultConfig, run_fault_proxy

pytestmark = pytest.mark.reliability

TOKEN_TTL = 5
PAUSE = TOKEN_TTL + 0.5  # the fake clock moves this much between pages: the token is dead by then
THROTTLE = 2 * 1024 * 1024  # bytes/s through the proxy
BLOB = 13 * 1024 * 1024  # at THROTTLE: about 6.5 s, longer than a token lives
USER, PASSWORD = "alice", "reliability-pw"  # test-only credentials of a throwaway emulator


@pytest.fixture
def token_registry(registry_emulator_factory: Callable[..., Any]) -> Iterator[Any]:
    auth = EmulatorAuth(
        AuthConfig(token_ttl=TOKEN_TTL, users={USER: User(USER, PASSWORD, frozenset({"admin"}))})
    )
    yield registry_emulator_factory(auth=auth)


def _port(endpoint: str) -> int:
    return int(urlsplit(endpoint).port or 80)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_long_transfers_outlive_their_token(
    token_registry: Any, flavour: str, client_kind: ClientKind, seed: int, report_dir: Path
) -> None:
    """Upload then download a blob, each throttled to ~6.5 s: more than a token's 5 s."""
    data = random.Random(seed).randbytes(BLOB)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    stats = token_registry.auth.stats
    credential = BasicCredential(USER, PASSWORD)
    repo = f"reliability/long-{flavour}"
    # Sync uploads in chunks (several PATCHes spanning the expiry), async in one streamed PATCH.
    chunking: dict[str, Any] = {} if client_kind.is_async else {"chunk_size": 2 * 1024 * 1024}
    config = FaultConfig(throttle_bps=THROTTLE, seed=seed)
    with run_fault_proxy(_port(token_registry.endpoint), config) as proxy:
        client = client_kind.package.ContainerRegistryContentClient(
            proxy.endpoint, repo, credential, timeout=30, **chunking
        )
        with client_kind.adapt(client) as c:
            started = time.monotonic()
            result = c.upload_blob(data)
            upload_seconds = time.monotonic() - started
            tokens_after_upload = stats.token_requests
            started = time.monotonic()
            received = c.download_blob_content(digest).content
            download_seconds = time.monotonic() - started
    report = Report(f"token-expiry-transfer-{flavour}")
    report.set("blob bytes", BLOB)
    report.set("upload seconds", round(upload_seconds, 1))
    report.set("download seconds", round(download_seconds, 1))
    report.count("token requests (upload)", tokens_after_upload)
    report.count("token requests (total)", stats.token_requests)
    report.count("401 challenges", stats.challenges)
    report.publish(report_dir)
    assert result.digest == digest and result.size == BLOB
    assert received == data
    assert upload_seconds > TOKEN_TTL + 1 and download_seconds > TOKEN_TTL + 1, "not throttled enough"
    # The upload outlived its first token: finishing it (commit) took a fresh one.
    assert tokens_after_upload >= 2
    # The download started with a token that expired while the body was still streaming.


def _sync_pages(paged: Any, clock: FakeClock) -> list[list[Any]]:
    pages = []
    for page in paged.by_page():
        pages.append(list(page))
        if len(pages) >= 10:
            break
        clock.advance(PAUSE)
    return pages


async def _async_pages(paged: Any, clock: FakeClock) -> list[list[Any]]:
    pages = []
    async for page in paged.by_page():
        pages.append([item async for item in page])
        if len(pages) >= 10:
            break
        clock.advance(PAUSE)
    return pages


def test_paging_outlives_its_token(token_registry: Any, report_dir: Path) -> None:
    """ACR tags, the catalog and OCI tags/list, one item per page, sync and async: the client's clock
    moves 5.5 s (more than a token's 5 s) between pages, so every page after the first needs a fresh
    token, fetched before sending. Each listing has its own client and clock, and the whole test takes
    no real waiting (the emulator's tokens really expiring is `test_long_transfers_outlive_their_token`)."""
    endpoint = token_registry.endpoint
    credential = BasicCredential(USER, PASSWORD)
    repos = ["reliability/page-a", "reliability/page-b", "reliability/page-c"]
    tags = ["t1", "t2", "t3"]
    for name in repos:
        with ContainerRegistryContentClient(endpoint, name, credential) as seeder:
            config = seeder.upload_blob(b"{}")
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.empty.v1+json",
                    "digest": config.digest,
                    "size": 2,
                },
                "layers": [],
                "artifactType": "application/vnd.example.reliability",
            }
            for tag in tags:
                seeder.set_manifest(manifest, tag=tag)
    stats = token_registry.auth.stats
    pages: dict[str, list[list[Any]]] = {}
    fetched: dict[str, int] = {}

    def listings_sync() -> Iterator[tuple[str, Any, Callable[[Any], Any]]]:
        yield (
            "sync acr list_tag_properties",
            ContainerRegistryClient(endpoint, credential),
            lambda c: c.get_repository(repos[0]).list_tag_properties(results_per_page=1),
        )
        yield (
            "sync acr list_repository_names",
            ContainerRegistryClient(endpoint, credential),
            lambda c: c.list_repository_names(results_per_page=1),
        )
        yield (
            "sync content list_tags",
            ContainerRegistryContentClient(endpoint, repos[0], credential),
            lambda c: c.list_tags(results_per_page=1),
        )

    started = time.monotonic()
    for name, client, listing in listings_sync():
        with client:
            before = stats.token_requests
            pages[name] = _sync_pages(listing(client), use_clock(client, FakeClock()))
            fetched[name] = stats.token_requests - before

    async def run_async() -> None:
        listings: list[tuple[str, Any, Callable[[Any], Any]]] = [
            (
                "async acr list_tag_properties",
                aio.ContainerRegistryClient(endpoint, credential),
                lambda c: c.get_repository(repos[0]).list_tag_properties(results_per_page=1),
            ),
            (
                "async acr list_repository_names",
                aio.ContainerRegistryClient(endpoint, credential),
                lambda c: c.list_repository_names(results_per_page=1),
            ),
            (
                "async content list_tags",
                aio.ContainerRegistryContentClient(endpoint, repos[0], credential),
                lambda c: c.list_tags(results_per_page=1),
            ),
        ]
        for name, client, listing in listings:
            async with client:
                before = stats.token_requests
                clock = use_clock(client, FakeClock())
                pages[name] = await asyncio.wait_for(_async_pages(listing(client), clock), 60)
                fetched[name] = stats.token_requests - before

    asyncio.run(run_async())
    seconds = time.monotonic() - started
    report = Report("token-expiry-paging")
    report.set("seconds", round(seconds, 1))
    report.set("client clock moved between pages (s)", PAUSE)
    report.count("token requests while paging", sum(fetched.values()))
    for name, got in pages.items():
        report.set(f"pages: {name}", len(got))
    report.publish(report_dir)
    assert len(pages) == 6
    for name, got in pages.items():
        assert all(len(page) == 1 for page in got), (name, got)
        items = [page[0] for page in got]
        if "list_tag_properties" in name:
            assert sorted(item.name for item in items) == tags, name
        elif "repository_names" in name:
            assert sorted(items) == repos, name
        else:
            assert sorted(items) == tags, name
        # One token for the first page (after its 401), then a fresh one for each later page: the
        # client's clock says the one before has expired.
        assert fetched[name] == 3, (name, fetched)
