"""List the repositories of a registry (sync).

    REGISTRY_ENDPOINT=https://myregistry.azurecr.io python examples/list_repositories.py

Without REGISTRY_ENDPOINT it runs against an embedded emulator.
"""

from __future__ import annotations

from _embedded import registry

from containerregistry import ContainerRegistryClient


def main() -> None:
    # Create a ContainerRegistryClient that authenticates through Entra ID.
    with (
        registry() as target,
        ContainerRegistryClient(target.endpoint, target.credential(), verify=target.verify) as client,
    ):
        # Get the collection of repository names from the registry (fetched page by page).
        for repository in client.list_repository_names():
            print(repository)


if __name__ == "__main__":
    main()
