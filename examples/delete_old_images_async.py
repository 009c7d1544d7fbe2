"""Delete every image older than the newest three, in every repository (async).

Against a real registry this deletes images: it asks for CONFIRM_DELETE=1 first.
"""

from __future__ import annotations

import asyncio
import os
import sys

from _embedded import Target, registry

from containerregistry.aio import ArtifactManifestOrder, ContainerRegistryClient

KEEP = 3


async def run(target: Target) -> None:
    credential = target.async_credential()
    async with ContainerRegistryClient(target.endpoint, credential, verify=target.verify) as client:
        async for repository_name in client.list_repository_names():
            repository = client.get_repository(repository_name)

            # The images, newest first; everything after the first three goes.
            manifests = repository.list_manifest_properties(
                order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING
            )
            position = 0
            async for manifest in manifests:
                position += 1
                if position <= KEEP:
                    continue
                image = repository.get_artifact(manifest.digest)
                print(f"Deleting image with digest {manifest.digest}.")
                print("   Deleting the following tags from the image:")
                for tag_name in manifest.tags:
                    print(f"        {manifest.repository_name}:{tag_name}")
                    await image.delete_tag(tag_name)
                await image.delete()
    if hasattr(credential, "close"):
        await credential.close()


def main() -> None:
    with registry() as target:
        if not target.embedded and os.environ.get("CONFIRM_DELETE") != "1":
            sys.exit(f"this deletes images from {target.endpoint}: set CONFIRM_DELETE=1 to go ahead")
        asyncio.run(run(target))


if __name__ == "__main__":
    main()
