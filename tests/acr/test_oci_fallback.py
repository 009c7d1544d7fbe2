"""On a registry without the ACR metadata API, repository listing falls back to the OCI catalog."""

from __future__ import annotations

from typing import Any

import pytest

from containerregistry import ContainerRegistryClient, ContainerRegistryContentClient, ResourceNotFoundError


def test_list_repository_names_on_distribution(distribution: Any) -> None:
    names = [f"fallback/repo-{i}" for i in range(3)]
    for name in names:
        with ContainerRegistryContentClient(distribution.endpoint, name) as content:
            content.upload_blob(b"x")  # a repository appears in the catalog once it holds a blob link
            content.set_manifest(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {
                        "mediaType": "application/vnd.oci.empty.v1+json",
                        "digest": content.upload_blob(b"{}").digest,
                        "size": 2,
                    },
                    "layers": [],
                },
                tag="v1",
            )
    with ContainerRegistryClient(distribution.endpoint) as client:
        listed = list(client.list_repository_names())
        paged = [name for page in client.list_repository_names(results_per_page=1).by_page() for name in page]
        # The ACR metadata API really is absent there: other calls still say so.
        with pytest.raises(ResourceNotFoundError):
            client.get_repository(names[0]).get_properties()
    assert set(names) <= set(listed)
    assert set(names) <= set(paged)
