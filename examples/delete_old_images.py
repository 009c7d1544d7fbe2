"""Delete every image older than the newest three, in every repository (sync).

Against a real registry this deletes images: it asks for CONFIRM_DELETE=1 first.

    REGISTRY_ENDPOINT=https://myregistry.azurecr.io CONFIRM_DELETE=1 python examples/delete_old_images.py
"""

from __future__ import annotations

import itertools
import os
import sys

from _embedded import registry

from containerregistry import ArtifactManifestOrder, ContainerRegistryClient

KEEP = 3


def main() -> None:
    with registry() as target:
        if not target.embedded and os.environ.get("CONFIRM_DELETE") != "1":
            sys.exit(f"this deletes images from {target.endpoint}: set CONFIRM_DELETE=1 to go ahead")
        with ContainerRegistryClient(target.endpoint, target.credential(), verify=target.verify) as client:
            for repository_name in client.list_repository_names():
                repository = client.get_repository(repository_name)

                # The images, newest first.
                manifests = repository.list_manifest_properties(
                    order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING
                )

                # Delete the images older than the first three.
                for manifest in itertools.islice(manifests, KEEP, None):
                    image = repository.get_artifact(manifest.digest)
                    print(f"Deleting image with digest {manifest.digest}.")
                    print("   Deleting the following tags from the image:")
                    for tag_name in manifest.tags:
                        print(f"        {manifest.repository_name}:{tag_name}")
                        image.delete_tag(tag_name)
                    image.delete()


if __name__ == "__main__":
    main()
