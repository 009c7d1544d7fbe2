"""`oci-archive:FILE[:tag]` and `docker-archive:FILE[:ref]` for `creg push|pull|copy`.

`_images._run` hands a transfer to `run_archive` when either side is an archive; this checks what the
verb allows, refuses the options that cannot apply to the archives given (each with the reason), and
calls `copy_archive`: archive <-> registry, archive <-> OCI layout, archive <-> archive.
"""

from __future__ import annotations

import click

from ..images import copy_archive
from ..images._archive import (
    DOCKER_ARCHIVE,
    ArchiveLocation,
    ArchiveReader,
    is_archive_location,
    parse_archive_location,
)
from ..images._models import LayoutLocation, RegistryLocation
from ._app import AppContext, emit_record

__all__ = ["is_archive_location", "run_archive"]


def _side(
    app: AppContext, text: str, role: str, verb: str
) -> ArchiveLocation | RegistryLocation | LayoutLocation:
    from ._images import image_location

    if is_archive_location(text):
        try:
            return parse_archive_location(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    return image_location(app, text, role=role, local_only=verb == "pull" and role == "destination")


def _explicit(name: str) -> bool:
    context = click.get_current_context()
    source = context.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _check_options(
    source: ArchiveLocation | RegistryLocation | LayoutLocation,
    target: ArchiveLocation | RegistryLocation | LayoutLocation,
    platforms: tuple[str, ...],
    referrers: bool,
    concurrency: int,
) -> None:
    """Refuse, with the reason, an option these archives give no meaning to (never ignore it)."""
    if len(platforms) > 1:
        raise click.UsageError(
            "--platform: an archive copy takes one platform (it writes that image of an index), not "
            f"{len(platforms)}; for several, copy the index whole (no --platform) into an oci-archive:"
        )
    if referrers:
        for side in (source, target):
            if isinstance(side, ArchiveLocation) and side.kind == DOCKER_ARCHIVE:
                raise click.UsageError(
                    f"--referrers: {side} cannot hold referrers (a docker-archive holds images only); use"
                    " oci-archive:, which keeps them in its index.json as a layout does"
                )
    if concurrency > 1 and _explicit("concurrency") and isinstance(source, ArchiveLocation):
        try:
            compressed = ArchiveReader.compression_of(source.path)
        except OSError:
            compressed = None  # the copy says why it cannot read it
        if compressed:
            raise click.UsageError(
                f"--concurrency {concurrency}: {source} is {compressed}-compressed, read as one stream"
                " (one blob after another); leave --concurrency out, or decompress it first"
            )


def run_archive(
    app: AppContext,
    verb: str,
    source: str,
    target: str,
    platforms: tuple[str, ...],
    referrers: bool = False,
    concurrency: int = 4,
) -> None:
    """Move one image where either side is an archive (the other a registry, a layout or an archive)."""
    src = _side(app, source, "source", verb)
    dst = _side(app, target, "destination", verb)
    if verb == "push" and not isinstance(dst, RegistryLocation):
        raise click.UsageError(f"push: the destination {dst} must be a registry reference (use creg copy)")
    if verb == "pull" and not isinstance(src, RegistryLocation):
        raise click.UsageError(f"pull: the source {src} must be a registry reference (use creg copy)")
    _check_options(src, dst, platforms, referrers, concurrency)
    result = copy_archive(
        src,
        dst,
        credential=app.credential,
        platforms=list(platforms) or None,
        include_referrers=referrers,
        concurrency=concurrency,
        **app.client_options(),
    )
    referred = f", {result.referrers} referrers" if result.referrers else ""
    click.echo(
        f"{verb}: {result.source} -> {result.target} ({result.blobs_copied} blobs copied, "
        f"{result.blobs_skipped} skipped, {result.bytes_copied} bytes{referred})",
        err=True,
    )
    emit_record(app, result)
