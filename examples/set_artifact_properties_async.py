"""Lock an image's tag against overwriting and deletion (async)."""

from __future__ import annotations

import asyncio

from _embedded import Target, registry

from containerregistry.aio import ArtifactTagProperties, ContainerRegistryClient


async def run(target: Target) -> None:
    credential = target.async_credential()
    async with ContainerRegistryClient(target.endpoint, credential, verify=target.verify) as client:
        image = client.get_artifact("library/hello-world", "v1")

        # Set permissions on the image's "latest" tag.
        updated = await image.update_tag_properties(
            "latest", ArtifactTagProperties(can_write=False, can_delete=False)
        )
        print(
            f"{image.repository_name}:latest: can_write={updated.can_write}, can_delete={updated.can_delete}"
        )
    if hasattr(credential, "close"):
        await credential.close()


def main() -> None:
    with registry() as target:
        asyncio.run(run(target))


if __name__ == "__main__":
    main()
