"""`creg push|pull|copy|referrers|prune`: whole images and indexes between registries, OCI layouts and archives.

Archive sides go to `_archive.py`, `copy --all-tags` to `_sync.py` and `referrers --tree` to `_artifact.py`;
`prune` deletes a repository's manifests beyond the newest `--keep` through `containerregistry.images.prune`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click

from ..images import (
    CopyImageResult,
    ImageLocation,
    copy_image,
    pull_image,
    push_image,
)
from ..images import (
    prune as prune_images,
)
from ._app import AppContext, Interrupted, emit_record, emit_records, fail, pass_app
from ._locations import image_location
from ._progress import TransferBar

__all__ = ["copy", "image_location", "parse_duration", "prune", "pull", "push", "referrers"]


def _transfer_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--concurrency",
        type=click.IntRange(1, 64),
        default=4,
        show_default=True,
        help="blobs transferred at once (out of a compressed archive: one at a time)",
    )(function)
    function = click.option(
        "--referrers/--no-referrers",
        default=False,
        show_default=True,
        help="also copy the manifests that refer to the image (signatures, SBOMs)",
    )(function)
    function = click.option(
        "--platform",
        "platforms",
        multiple=True,
        metavar="OS/ARCH[/VARIANT]",
        help="only these platforms of an index (repeatable); default: all",
    )(function)
    return function


def _run(
    app: AppContext,
    operation: Callable[..., CopyImageResult],
    verb: str,
    source: str,
    target: str,
    platforms: tuple[str, ...],
    referrers: bool,
    concurrency: int,
    preserve_digests: bool | None = None,
) -> None:
    from ._archive import is_archive_location, run_archive

    if is_archive_location(source) or is_archive_location(target):
        return run_archive(app, verb, source, target, platforms, referrers, concurrency)
    src = image_location(app, source, role="source")
    dst = image_location(app, target, role="destination", local_only=verb == "pull")
    extra = {} if preserve_digests is None else {"convert_to_oci": not preserve_digests}
    with TransferBar(verb) as bar:
        try:
            result = operation(
                src,
                dst,
                credential=app.credential,
                platforms=list(platforms) or None,
                include_referrers=referrers,
                concurrency=concurrency,
                progress=bar.event,
                **extra,
                **app.client_options(),
            )
        except KeyboardInterrupt as exc:
            raise Interrupted(_interrupted_state(dst, bar)) from exc
    click.echo(
        f"{verb}: {result.source} -> {result.target} ({result.blobs_copied} blobs copied, "
        f"{result.blobs_skipped} skipped, {result.blobs_mounted} mounted, {result.bytes_copied} bytes)",
        err=True,
    )
    if result.converted_from:
        click.echo(
            f"converted Docker v2 media types to OCI for the layout (as skopeo does): the manifest digest "
            f"is now {result.digest} (it was {result.converted_from}); --preserve-digests keeps the original",
            err=True,
        )
    emit_record(app, result)


def _interrupted_state(target: ImageLocation, bar: TransferBar) -> str:
    """What an interrupted transfer left at `target`: the blobs that landed, and that a re-run resumes."""
    landed = bar.landed
    size = sum(landed.values())
    total = f" of {bar.blobs_total}" if bar.blobs_total else ""
    text = (
        f"{len(landed)}{total} blobs are complete at {target} ({size} bytes)"
        f"{': ' + ', '.join(sorted(landed)) if 0 < len(landed) <= 8 else ''}; no manifest was written,"
        f" so {target} shows no new image; run the same command again to resume (blobs already there"
        f" are skipped)"
    )
    return text


def _preserve_digests_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--preserve-digests",
        is_flag=True,
        help="into an OCI layout, keep Docker v2 manifests byte for byte (their digests too); by default "
        "they are converted to OCI media types, which skopeo, podman and buildah need to read the layout",
    )(function)


@click.command("push")
@click.argument("source")
@click.argument("reference")
@_transfer_options
@pass_app
def push(
    app: AppContext,
    source: str,
    reference: str,
    platforms: tuple[str, ...],
    referrers: bool,
    concurrency: int,
) -> None:
    """Push an image from an OCI layout (oci:DIR[:tag]) or an archive to REFERENCE in a registry.

    Archives: oci-archive:FILE[:tag] (a tar of an OCI layout) and docker-archive:FILE[:ref] (what
    `docker save` writes), read in place (nothing is extracted), every digest verified.

    \b
    Example:
      creg push oci:./build:1.0 app:1.0
      creg push oci:./build myregistry.azurecr.io/app:1.0 --platform linux/amd64
      creg push docker-archive:app.tar:app:1.0 app:1.0    # docker save -o app.tar app:1.0
    """
    _run(app, push_image, "push", source, reference, platforms, referrers, concurrency)


@click.command("pull")
@click.argument("reference")
@click.argument("destination")
@_transfer_options
@_preserve_digests_option
@pass_app
def pull(
    app: AppContext,
    reference: str,
    destination: str,
    platforms: tuple[str, ...],
    referrers: bool,
    concurrency: int,
    preserve_digests: bool,
) -> None:
    """Pull the image REFERENCE into an OCI layout directory (oci:DIR[:tag]) or an archive; digests are verified.

    Archives: oci-archive:FILE[:tag] (every platform) and docker-archive:FILE[:ref] (one image, for
    `docker load`; --platform chooses it from an index). The file appears only when complete.

    A Docker v2 image is stored with OCI media types (its manifest digest changes, as with skopeo),
    unless --preserve-digests is given.

    \b
    Example:
      creg pull app:1.0 oci:./app:1.0
      skopeo inspect oci:./app:1.0      # any OCI tool reads the layout
      creg pull app:1.0 docker-archive:app.tar --platform linux/amd64 && docker load -i app.tar
    """
    _run(app, pull_image, "pull", reference, destination, platforms, referrers, concurrency, preserve_digests)


@click.command("copy")
@click.argument("source")
@click.argument("destination")
@_transfer_options
@_preserve_digests_option
@click.option(
    "--all-tags", is_flag=True, help="copy every tag of repository SOURCE to repository DESTINATION"
)
@pass_app
def copy(
    app: AppContext,
    source: str,
    destination: str,
    platforms: tuple[str, ...],
    referrers: bool,
    concurrency: int,
    preserve_digests: bool,
    all_tags: bool,
) -> None:
    """Copy an image between registries, OCI layouts and archives (digests preserved; same-registry blobs are mounted).

    Into an OCI layout, Docker v2 images get OCI media types (new manifest digests) unless
    --preserve-digests is given. Archives (oci-archive:FILE[:tag], docker-archive:FILE[:ref], also
    `docker save | gzip` output) are read and written in place, never extracted.

    \b
    Example:
      creg copy app:1.0 mirror/app:1.0
      creg copy docker.io/library/alpine:3 myregistry.azurecr.io/alpine:3 --platform linux/amd64
      creg copy oci:./a:1 oci:./b:1
      creg copy --all-tags app mirror/app      # every tag; those already there are skipped
      creg copy docker-archive:app.tar oci-archive:app-oci.tar
    """
    if all_tags:
        from ._sync import copy_all_tags

        return copy_all_tags(app, source, destination, platforms, referrers, concurrency)
    _run(app, copy_image, "copy", source, destination, platforms, referrers, concurrency, preserve_digests)


@click.command("referrers")
@click.argument("reference")
@click.option("--artifact-type", metavar="TYPE", help="only referrers of this artifact type")
@click.option("--tree", is_flag=True, help="also the referrers of referrers, as a tree (oras discover)")
@pass_app
def referrers(app: AppContext, reference: str, artifact_type: str | None, tree: bool) -> None:
    """List the manifests that refer to an image (signatures, SBOMs, attestations).

    Uses the referrers API, or the sha256-<hex> tag fallback on registries without it.

    \b
    Example:
      creg referrers app:1.0
      creg -o json referrers app@sha256:4e5f... --artifact-type application/spdx+json
      creg referrers app:1.0 --tree        # signatures of SBOMs too
    """
    ref = app.reference(reference, require="identifier")
    with app.content_client(ref) as content:
        if tree:
            assert ref.identifier is not None
            from ._artifact import print_referrer_tree

            return print_referrer_tree(app, content, ref.identifier, artifact_type)
        digest = ref.digest or content.get_manifest(ref.identifier).digest
        emit_records(
            app,
            content.list_referrers(digest, artifact_type=artifact_type),
            [
                ("digest", lambda d: d.digest),
                ("artifact type", lambda d: d.artifact_type),
                ("media type", lambda d: d.media_type),
                ("size", lambda d: d.size),
            ],
        )


_DURATION_RE = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `12h`, `7d`, `2w`, or combinations such as `1d12h`.

    Raises:
        click.BadParameter: anything else.
    """
    cleaned = text.strip().lower()
    matches = list(_DURATION_RE.finditer(cleaned))
    if not matches or "".join(m.group(0) for m in matches).replace(" ", "") != cleaned.replace(" ", ""):
        raise click.BadParameter(f"{text!r}: expected a duration such as 12h, 7d or 2w")
    return timedelta(seconds=sum(int(m.group(1)) * _UNIT_SECONDS[m.group(2)] for m in matches))


@click.command("prune")
@click.argument("repository")
@click.option(
    "--keep", type=click.IntRange(min=0), required=True, help="how many of the newest manifests to keep"
)
@click.option("--dry-run", is_flag=True, help="only show what would be deleted")
@click.option(
    "--tag-pattern", metavar="GLOB", help="only manifests with a tag matching this glob are candidates"
)
@click.option(
    "--older-than", metavar="AGE", help="only delete manifests last updated longer ago (e.g. 12h, 7d, 2w)"
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=16,
    show_default=True,
    help="deletes in flight at once",
)
@pass_app
def prune(
    app: AppContext,
    repository: str,
    keep: int,
    dry_run: bool,
    tag_pattern: str | None,
    older_than: str | None,
    concurrency: int,
) -> None:
    """Delete a repository's manifests beyond the newest --keep (by last update), skipping locked ones.

    Uses the ACR metadata API (ACR and the emulator). Platform manifests follow their index. A delete
    that fails is reported and the others go on; the exit status is then 1.

    \b
    Example:
      creg prune app --keep 3 --dry-run
      creg prune app --keep 10 --tag-pattern 'pr-*' --older-than 7d
    """
    age = parse_duration(older_than) if older_than else None
    ref = app.reference(repository, allow_tag=False, allow_digest=False)
    result = prune_images(
        ref.client_endpoint,
        ref.repository,
        keep=keep,
        credential=app.credential,
        dry_run=dry_run,
        tag_pattern=tag_pattern,
        older_than=age,
        concurrency=concurrency,
        **app.client_options(),
    )
    # Refusals by a lock are what prune is asked to respect; a delete that failed is an error.
    failed = [m for m in result.skipped if m.reason.startswith(("the delete failed", "not tried"))]
    if app.json:
        emit_record(app, result)
        if failed:
            fail(f"{len(failed)} deletes failed or were not tried in {ref}: run prune again to retry them")
        return
    action = "would delete" if dry_run else "deleted"
    rows = [(action, m) for m in result.deleted]
    rows += [
        ("skipped (locked)" if m.reason.startswith("locked") else "failed" if m in failed else "skipped", m)
        for m in result.skipped
    ]
    rows += [("kept", m) for m in result.kept]
    emit_records(
        app,
        rows,
        [
            ("action", lambda r: r[0]),
            ("digest", lambda r: r[1].digest),
            ("tags", lambda r: r[1].tags),
            ("updated", lambda r: r[1].last_updated_on),
            ("reason", lambda r: r[1].reason),
        ],
    )
    click.echo(
        f"{action} {len(result.deleted)}, kept {len(result.kept)}, skipped {len(result.skipped)} in {ref}",
        err=True,
    )
    if failed:
        fail(f"{len(failed)} deletes failed or were not tried: run prune again to retry them")
