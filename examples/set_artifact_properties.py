"""Lock an image's tag against overwriting and deletion (sync).

REGISTRY_ENDPOINT=https://myregistry.azurecr.io python examples/set_artifact_properties.py
"""

from __future__ import annotations

from _embedded import registry

from containerregistry import ArtifactTagProperties, ContainerRegistryClient


def main() -> None:
    with (
        registry() as target,
        ContainerRegistryClient(target.endpoint, target.credential(), verify=target.verify) as client,
    ):
        image = client.get_artifact("library/hello-world", "latest")

        # Set permissions on the image's "latest" tag (only these two attributes are sent).
        updated = image.update_tag_properties(
            "latest", ArtifactTagProperties(can_write=False, can_delete=False)
        )
        print(
            f"{image.fully_qualified_reference}: can_write={updated.can_write}, can_delete={updated.can_delete}"
        )


if __name__ == "__main__":
    main()
