"""List the tags of an image with anonymous access (async)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from _embedded import Target, registry

from containerregistry.aio import ContainerRegistryClient


async def run(target: Target) -> None:
    async with ContainerRegistryClient(target.endpoint, verify=target.verify) as client:
        image = client.get_artifact("library/hello-world", "latest")
        print(f"{image.fully_qualified_reference} has the following aliases:")
        host = urlsplit(image.registry_endpoint).netloc
        async for tag in image.list_tag_properties():
            print(f"    {host}/{image.repository_name}:{tag.name}")


def main() -> None:
    with registry(anonymous_pull=True) as target:
        asyncio.run(run(target))


if __name__ == "__main__":
    main()
