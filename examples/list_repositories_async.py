"""List the repositories of a registry (async).

REGISTRY_ENDPOINT=https://myregistry.azurecr.io python examples/list_repositories_async.py
"""

from __future__ import annotations

import asyncio

from _embedded import Target, registry

from containerregistry.aio import ContainerRegistryClient


async def run(target: Target) -> None:
    credential = target.async_credential()
    async with ContainerRegistryClient(target.endpoint, credential, verify=target.verify) as client:
        async for repository in client.list_repository_names():
            print(repository)
    if hasattr(credential, "close"):
        await credential.close()


def main() -> None:
    with registry() as target:
        asyncio.run(run(target))


if __name__ == "__main__":
    main()
