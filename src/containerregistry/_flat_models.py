"""Results of the Azure-SDK-shaped methods of `ContainerRegistryClient` that differ from ours.

`get_manifest(repository, tag_or_digest)` returns, as the SDK does, the manifest's JSON as a dict in
`manifest`; our `ContainerRegistryContentClient.get_manifest` returns a parsed model there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .exceptions import RegistryProtocolError
from .protocol.results import GetManifestResult

__all__ = ["ManifestJsonResult"]


@dataclass(frozen=True, repr=False)
class ManifestJsonResult(GetManifestResult):
    """A `GetManifestResult` whose `manifest` is the manifest's JSON (a dict), as the Azure SDK returns it.

    Attributes:
        digest: the verified digest.
        media_type: the manifest's media type.
        content: the exact bytes the registry returned.
        manifest: `content` as JSON.
    """

    manifest: dict[str, Any] = None  # type: ignore[assignment]

    @classmethod
    def of(cls, result: GetManifestResult) -> ManifestJsonResult:
        try:
            document = json.loads(result.content)
        except ValueError as exc:
            raise RegistryProtocolError(f"manifest {result.digest} is not JSON: {exc}") from None
        return cls(
            digest=result.digest, media_type=result.media_type, content=result.content, manifest=document
        )

    def __repr__(self) -> str:
        return f"GetManifestResult(digest={self.digest!r}, media_type={self.media_type!r})"
