"""`client=`: a loop of image copies through one client pays each token once, not once per copy.

The emulator runs with token auth (every request needs a Bearer token), so the token service's counter
shows how many tokens the copies fetched. Sync and async; the async loop runs in one event loop, as
a user's would (a client lives on the loop it was made on).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containerregistry import BasicCredential, ClientOptions, ContainerRegistryClient, images
from containerregistry import aio as caio
from containerregistry.aio import images as aimages
from containerregistry.emulator import RunningEmulator, run_emulator
from tests.images.support import build_layout

USER, PASSWORD = "admin", "admin-password-0123"
COPIES = 4


@pytest.fixture(scope="module")
def token_registry() -> Iterator[RunningEmulator]:
    with run_emulator(users=[f"{USER}:{PASSWORD}:admin"]) as registry:
        yield registry


def _tokens(registry: RunningEmulator) -> int:
    return int(registry.auth.stats.token_requests)


def _push_loop(
    flavour: str, registry: RunningEmulator, layout: Path, repo: str, *, shared: bool
) -> list[str]:
    """Push the layout to `repo:t0..t{COPIES-1}`; returns the digests. `shared`: one client for all."""
    credential = BasicCredential(USER, PASSWORD)
    targets = [f"{registry.login_server}/{repo}:t{i}" for i in range(COPIES)]
    if flavour == "sync":
        if not shared:
            return [images.push_image(f"oci:{layout}", t, credential=credential).digest for t in targets]
        with ContainerRegistryClient(
            registry.endpoint, options=ClientOptions(credential=credential)
        ) as client:
            digests = [images.push_image(f"oci:{layout}", t, client=client).digest for t in targets]
            # The client is still the caller's, and still open.
            assert client.get_repository(repo).get_properties().name == repo
            return digests

    async def run() -> list[str]:
        if not shared:
            return [
                (await aimages.push_image(f"oci:{layout}", t, credential=credential)).digest for t in targets
            ]
        async with caio.ContainerRegistryClient(
            registry.endpoint, options=ClientOptions(credential=credential)
        ) as client:
            digests = [(await aimages.push_image(f"oci:{layout}", t, client=client)).digest for t in targets]
            assert (await client.get_repository(repo).get_properties()).name == repo
            return digests

    return asyncio.run(run())


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_shared_client_fetches_each_token_once(
    tmp_path: Path, token_registry: RunningEmulator, flavour: str
) -> None:
    built = build_layout(tmp_path / "layout", layer_size=10_000)

    before = _tokens(token_registry)
    digests = _push_loop(flavour, token_registry, tmp_path / "layout", f"shared/{flavour}", shared=True)
    shared_tokens = _tokens(token_registry) - before
    assert digests == [built.index_digest] * COPIES

    before = _tokens(token_registry)
    _push_loop(flavour, token_registry, tmp_path / "layout", f"fresh/{flavour}", shared=False)
    fresh_tokens = _tokens(token_registry) - before

    # Each scope's token is fetched once for the whole loop (push, and the metadata read of the lock
    # check and of the final check): a handful, whatever COPIES is. Fresh clients fetch per copy.
    assert 1 <= shared_tokens <= 3
    assert fresh_tokens >= COPIES
    assert fresh_tokens > shared_tokens


def test_client_of_another_registry_is_not_used(tmp_path: Path, token_registry: RunningEmulator) -> None:
    """A shared client serves only its own registry: a location elsewhere gets its own client and the
    `credential` given (here: the right one for the token registry, the client's being for another)."""
    build_layout(tmp_path / "layout", layer_size=1_000)
    with run_emulator() as other, ContainerRegistryClient(other.endpoint) as client:
        result = images.push_image(
            f"oci:{tmp_path / 'layout'}",
            f"{token_registry.login_server}/elsewhere/app:1",
            client=client,
            credential=BasicCredential(USER, PASSWORD),
        )
        assert result.tag == "1"


def test_client_must_be_a_registry_client(tmp_path: Path, token_registry: RunningEmulator) -> None:
    build_layout(tmp_path / "layout", layer_size=1_000)
    bad: Any = object()
    with pytest.raises(TypeError, match="client must be a ContainerRegistryClient"):
        images.push_image(f"oci:{tmp_path / 'layout'}", f"{token_registry.login_server}/x/y:1", client=bad)
