"""`oci-archive:FILE[:tag]` and `docker-archive:FILE[:ref]` for `creg push|pull|copy`.

`_images._run` hands a transfer to `run_archive` when either side is an archive; this turns it into
`push_archive` (archive -> registry) or `pull_archive` (registry -> archive).
"""

from __future__ import annotations

import click

from ..images import pull_archive, push_archive
from ..images._archive import is_archive_location, parse_archive_location
from ..images._models import RegistryLocation
from ._app import AppContext, emit_record

__all__ = ["is_archive_location", "run_archive"]


def run_archive(app: AppContext, verb: str, source: str, target: str, platforms: tuple[str, ...]) -> None:
    """Move one image between a registry and an archive (one side must be each)."""
    from ._images import image_location

    if is_archive_location(source) and is_archive_location(target):
        raise click.UsageError("copy between two archives is not supported: go through a registry or oci:DIR")
    if is_archive_location(source):
        src_archive = parse_archive_location(source)
        dst = image_location(app, target)
        if not isinstance(dst, RegistryLocation):
            raise click.UsageError(f"{verb}: from {src_archive} the destination must be a registry reference")
        if platforms:
            raise click.UsageError(
                "--platform does not apply when pushing an archive (it holds what it holds)"
            )
        result = push_archive(src_archive, dst, credential=app.credential, **app.client_options())
    else:
        src = image_location(app, source)
        dst_archive = parse_archive_location(target)
        if not isinstance(src, RegistryLocation):
            raise click.UsageError(f"{verb}: into {dst_archive} the source must be a registry reference")
        result = pull_archive(
            src,
            dst_archive,
            credential=app.credential,
            platforms=list(platforms) or None,
            **app.client_options(),
        )
    click.echo(
        f"{verb}: {result.source} -> {result.target} ({result.blobs_copied} blobs copied, "
        f"{result.blobs_skipped} skipped, {result.bytes_copied} bytes)",
        err=True,
    )
    emit_record(app, result)
