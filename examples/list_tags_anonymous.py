"""List the tags of an image with anonymous access (sync).

The registry must allow anonymous pull (`az acr update --name myregistry --anonymous-pull-enabled`).

    REGISTRY_ENDPOINT=https://myregistry.azurecr.io python examples/list_tags_anonymous.py
"""

from __future__ import annotations

from urllib.parse import urlsplit

from _embedded import registry

from containerregistry import ContainerRegistryClient


def main() -> None:
    # No credential: anonymous access.
    with (
        registry(anonymous_pull=True) as target,
        ContainerRegistryClient(target.endpoint, verify=target.verify) as client,
    ):
        # A RegistryArtifact gives access to the image's operations (no request is sent yet).
        image = client.get_artifact("library/hello-world", "latest")

        # The tags of the manifest that "latest" points at.
        print(f"{image.fully_qualified_reference} has the following aliases:")
        host = urlsplit(image.registry_endpoint).netloc
        for tag in image.list_tag_properties():
            print(f"    {host}/{image.repository_name}:{tag.name}")


if __name__ == "__main__":
    main()
