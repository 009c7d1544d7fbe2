"""Concurrent requests through one `RegistryAuth`, against the real emulator in token mode.

What a user notices: a burst of first requests for a scope costs one token request (and one 401) per
scope, and a request never waits for another request's body: while one upload of a new scope is still
sending its body, requests of that scope (once its token is there) and of other new scopes go through.
Sync (threads) and async (one event loop).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from containerregistry.auth import SCOPE_EXTENSION, BasicCredential, RegistryAuth
from containerregistry.emulator import RunningEmulator, run_emulator

USER, PASSWORD = "admin", "admin-password-0123"
BURST = 8
WAIT = 5.0  # seconds the slow upload's body waits for the other requests before it gives up

FIRST, SECOND = b"a" * 1000, b"b" * 1000
DIGEST = "sha256:" + hashlib.sha256(FIRST + SECOND).hexdigest()


@pytest.fixture(scope="module")
def registry() -> Iterator[RunningEmulator]:
    with run_emulator(users=[f"{USER}:{PASSWORD}:admin"]) as running:
        yield running


def _tokens(registry: RunningEmulator) -> int:
    return int(registry.auth.stats.token_requests)


def _hint(repo: str, actions: str = "pull") -> dict[str, object]:
    return {SCOPE_EXTENSION: (f"repository:{repo}:{actions}",)}


def _tags(registry: RunningEmulator, repo: str) -> str:
    return f"{registry.endpoint}/v2/{repo}/tags/list"


def _upload(registry: RunningEmulator, repo: str) -> str:
    return f"{registry.endpoint}/v2/{repo}/blobs/uploads/?digest={DIGEST}"


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_burst_of_cold_requests_fetches_one_token_per_scope(
    registry: RunningEmulator, flavour: str
) -> None:
    auth = RegistryAuth(BasicCredential(USER, PASSWORD))
    repos = [f"burst-{flavour}/a", f"burst-{flavour}/b"]
    targets = [repo for repo in repos for _ in range(BURST)]
    before = _tokens(registry)
    if flavour == "sync":
        with httpx.Client(auth=auth, timeout=10) as client, ThreadPoolExecutor(len(targets)) as pool:
            barrier = threading.Barrier(len(targets), timeout=10)

            def get(repo: str) -> int:
                barrier.wait()
                return client.get(_tags(registry, repo), extensions=_hint(repo)).status_code

            statuses = list(pool.map(get, targets))
    else:

        async def burst() -> list[int]:
            async with httpx.AsyncClient(auth=auth, timeout=10) as client:
                answers = await asyncio.gather(
                    *(client.get(_tags(registry, repo), extensions=_hint(repo)) for repo in targets)
                )
                return [a.status_code for a in answers]

        statuses = asyncio.run(burst())
    # The repositories do not exist: 404 with a token, never 401.
    assert statuses == [404] * len(targets)
    assert _tokens(registry) - before == len(repos)
    assert auth.stats.token_requests == len(repos)
    assert auth.stats.challenges == 1  # the first request learned the challenge; the rest waited for it


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_requests_do_not_wait_for_a_slow_upload_body(registry: RunningEmulator, flavour: str) -> None:
    """An upload of a new scope sends half its body, then waits until requests of its scope and of
    another new scope have completed: they must not wait for its body."""
    auth = RegistryAuth(BasicCredential(USER, PASSWORD))
    slow, other = f"slow-{flavour}/a", f"slow-{flavour}/b"
    before = _tokens(registry)
    if flavour == "sync":
        started, others_done = threading.Event(), threading.Event()
        waited: list[bool] = []

        def body() -> Iterator[bytes]:
            yield FIRST
            started.set()
            waited.append(others_done.wait(WAIT))
            yield SECOND

        with httpx.Client(auth=auth, timeout=30) as client, ThreadPoolExecutor(1) as pool:
            upload = pool.submit(
                client.post, _upload(registry, slow), content=body(), extensions=_hint(slow, "pull,push")
            )
            assert started.wait(10)
            statuses = [
                client.get(_tags(registry, slow), extensions=_hint(slow)).status_code,
                client.get(_tags(registry, other), extensions=_hint(other)).status_code,
            ]
            others_done.set()
            assert upload.result(timeout=30).status_code == 201
    else:

        async def run() -> tuple[list[bool], list[int]]:
            started, others_done = asyncio.Event(), asyncio.Event()
            waited: list[bool] = []

            async def body() -> AsyncIterator[bytes]:
                yield FIRST
                started.set()
                try:
                    await asyncio.wait_for(others_done.wait(), WAIT)
                    waited.append(True)
                except asyncio.TimeoutError:
                    waited.append(False)
                yield SECOND

            async with httpx.AsyncClient(auth=auth, timeout=30) as client:
                upload = asyncio.ensure_future(
                    client.post(_upload(registry, slow), content=body(), extensions=_hint(slow, "pull,push"))
                )
                await asyncio.wait_for(started.wait(), 10)
                answers = [
                    await client.get(_tags(registry, slow), extensions=_hint(slow)),
                    await client.get(_tags(registry, other), extensions=_hint(other)),
                ]
                others_done.set()
                assert (await upload).status_code == 201
                return waited, [a.status_code for a in answers]

        waited, statuses = asyncio.run(run())
    # Both went through while the upload's body was still open (with a token: the repositories have
    # no tags, 404, never 401). Before the fix they waited for the whole body (`waited` was [False]).
    assert waited == [True]
    assert statuses == [404, 404]
    # One token for the upload's scope (the pull of that repository used it), one for the other scope.
    assert _tokens(registry) - before == 2
    assert auth.stats.token_requests == 2
