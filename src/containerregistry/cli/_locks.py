"""Naming the lock behind a refused delete: which of repository, manifest or tag, which flag, and the
`creg ... update` command that lifts it (the registry's 405 says only "disallowed")."""

from __future__ import annotations

from typing import Any

from ..exceptions import HttpResponseError, ServiceRequestError

__all__ = ["explain_refusal"]


def _flags(properties: Any) -> list[str]:
    return [
        name
        for name, value in (("deleteEnabled", properties.can_delete), ("writeEnabled", properties.can_write))
        if value is False
    ]


def _lift(flags: list[str]) -> str:
    return " ".join("--delete" if f == "deleteEnabled" else "--write" for f in flags)


def explain_refusal(
    client: Any, repository: str, *, tag: str | None = None, digest: str | None = None
) -> str:
    """Why the registry refused to delete: the first lock found (repository, then manifest, then tags).

    Args:
        client: a sync `ContainerRegistryClient`.
    """
    try:
        repo = client.get_repository(repository)
        flags = _flags(repo.get_properties())
        if flags:
            return (
                f"repository {repository} is locked ({', '.join(f + '=false' for f in flags)});"
                f" lift with: creg repo update {repository} {_lift(flags)}"
            )
        if digest:
            artifact = client.get_artifact(repository, digest)
            flags = _flags(artifact.get_manifest_properties())
            if flags:
                return (
                    f"manifest {repository}@{digest} is locked ({', '.join(f + '=false' for f in flags)});"
                    f" lift with: creg manifest update {repository}@{digest} {_lift(flags)}"
                )
            tags = list(artifact.list_tag_properties())
        else:
            tags = [client.get_artifact(repository, tag).get_tag_properties(tag)] if tag else []
        for properties in tags:
            flags = _flags(properties)
            if flags:
                return (
                    f"tag {repository}:{properties.name} is locked ({', '.join(f + '=false' for f in flags)});"
                    f" lift with: creg tag update {repository}:{properties.name} {_lift(flags)}"
                )
    except (HttpResponseError, ServiceRequestError):
        pass
    return "the registry disallows it (no repository, manifest or tag lock found: deletes may be disabled)"
