"""`creg blob push|pull|rm|exists`: single blobs, on any OCI registry."""

from __future__ import annotations

import os
import sys

import click

from ._app import AppContext, emit, pass_app, report
from ._progress import TransferBar

__all__ = ["blob"]


@click.group()
def blob() -> None:
    """Blobs (layers, configs): upload, download, delete, check.

    \b
    Example:
      creg blob push app layer.tar
      creg blob pull app@sha256:4e5f... layer.tar
    """


@blob.command("push")
@click.argument("repository")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@pass_app
def blob_push(app: AppContext, repository: str, file: str) -> None:
    """Upload FILE (or - for stdin) as a blob; prints its digest.

    \b
    Example:
      creg blob push app layer.tar.gz
      tar c ./rootfs | creg blob push app -
    """
    ref = app.reference(repository, allow_tag=False, allow_digest=False)
    source = sys.stdin.buffer if file == "-" else file
    total = None if file == "-" else os.path.getsize(file)
    with app.content_client(ref) as client, TransferBar(f"push {os.path.basename(file)}", total) as bar:
        result = client.upload_blob(source, progress=bar.bytes)
    if app.json:
        emit(app, {"digest": result.digest, "size": result.size, "repository": ref.repository})
    else:
        click.echo(result.digest)


@blob.command("pull")
@click.argument("reference")
@click.argument("destination", type=click.Path(dir_okay=False, allow_dash=True, writable=True))
@pass_app
def blob_pull(app: AppContext, reference: str, destination: str) -> None:
    """Download the blob REPO@DIGEST to DESTINATION (or - for stdout); the digest is verified.

    A partial download never replaces DESTINATION: it is written next to it and renamed at the end.

    \b
    Example:
      creg blob pull app@sha256:4e5f... layer.tar.gz
      creg blob pull app@sha256:4e5f... - | tar tz
    """
    ref = app.reference(reference, allow_tag=False, require="digest")
    assert ref.digest is not None
    with app.content_client(ref) as client, TransferBar(f"pull {ref.digest[:19]}") as bar:
        if destination == "-":
            out = sys.stdout.buffer
            result = client.download_blob_to(ref.digest, out, progress=bar.bytes)
            out.flush()
        else:
            result = client.download_blob_to(ref.digest, destination, progress=bar.bytes)
    if destination != "-":
        report(
            app,
            {"digest": ref.digest, "size": result.size, "path": destination},
            f"{ref.digest}: {result.size} bytes to {destination}",
        )


@blob.command("rm")
@click.argument("reference")
@pass_app
def blob_rm(app: AppContext, reference: str) -> None:
    """Delete the blob REPO@DIGEST (succeeds when it is already gone).

    \b
    Example:
      creg blob rm app@sha256:4e5f...
    """
    ref = app.reference(reference, allow_tag=False, require="digest")
    with app.content_client(ref) as client:
        client.delete_blob(ref.digest)
    report(app, {"deleted": ref.digest, "repository": ref.repository}, f"deleted blob {ref}")


@blob.command("exists")
@click.argument("reference")
@pass_app
def blob_exists(app: AppContext, reference: str) -> None:
    """Print whether the repository holds the blob REPO@DIGEST (true/false); exit 0 either way.

    \b
    Example:
      creg blob exists app@sha256:4e5f...
    """
    ref = app.reference(reference, allow_tag=False, require="digest")
    with app.content_client(ref) as client:
        found = bool(client.blob_exists(ref.digest))
    if app.json:
        emit(app, {"digest": ref.digest, "repository": ref.repository, "exists": found})
    else:
        click.echo("true" if found else "false")
