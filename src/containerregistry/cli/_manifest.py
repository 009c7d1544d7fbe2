"""`creg manifest ls|get|put|update|rm`: manifests (get/put/rm speak plain OCI; ls/update use ACR metadata)."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..exceptions import OperationNotAllowedError, ResourceNotFoundError
from ._app import AppContext, emit_record, emit_records, fail, lock_options, lock_values, pass_app, report
from ._locks import explain_refusal
from ._tag import ORDER_CHOICES

__all__ = ["manifest"]

_MANIFEST_COLUMNS = (
    ("digest", lambda m: m.digest),
    ("tags", lambda m: m.tags),
    ("size", lambda m: m.size_in_bytes),
    ("platform", lambda m: "/".join(str(p) for p in (m.operating_system, m.architecture) if p)),
    ("updated", lambda m: m.last_updated_on),
    ("write", lambda m: m.can_write),
    ("delete", lambda m: m.can_delete),
)


@click.group()
def manifest() -> None:
    """Manifests: list, fetch, upload, lock, delete.

    \b
    Example:
      creg manifest ls app --order newest
      creg manifest get app:v1 > manifest.json
    """


@manifest.command("ls")
@click.argument("repository")
@click.option(
    "--order",
    type=click.Choice(list(ORDER_CHOICES)),
    default="none",
    show_default=True,
    help="sort by last update",
)
@pass_app
def manifest_ls(app: AppContext, repository: str, order: str) -> None:
    """List a repository's manifests with their tags, size, platform and locks.

    \b
    Example:
      creg manifest ls app --order newest
    """
    ref = app.reference(repository, allow_tag=False, allow_digest=False)
    with app.registry_client(ref.client_endpoint) as client:
        listing = client.get_repository(ref.repository).list_manifest_properties(
            order_by=ORDER_CHOICES[order]
        )
        emit_records(app, listing, _MANIFEST_COLUMNS)


@manifest.command("get")
@click.argument("reference")
@click.option("--properties", is_flag=True, help="show the ACR properties (size, platform, locks) instead")
@pass_app
def manifest_get(app: AppContext, reference: str, properties: bool) -> None:
    """Print a manifest's exact bytes (or, with --properties, its ACR properties).

    The digest of the printed bytes is the manifest's digest; it is also reported on stderr.

    \b
    Example:
      creg manifest get app:v1 > manifest.json
      creg manifest get app@sha256:4e5f... --properties
    """
    ref = app.reference(reference, require="identifier")
    assert ref.identifier is not None
    if properties:
        with app.registry_client(ref.client_endpoint) as client:
            emit_record(app, client.get_artifact(ref.repository, ref.identifier).get_manifest_properties())
        return
    with app.content_client(ref) as content:
        result = content.get_manifest(ref.identifier)
    out = sys.stdout.buffer
    out.write(result.content)
    if sys.stdout.isatty() and not result.content.endswith(b"\n"):
        out.write(b"\n")
    out.flush()
    click.echo(f"{result.digest} ({result.media_type})", err=True)


@manifest.command("put")
@click.argument("reference")
@click.argument("file", type=click.File("rb"))
@click.option("--media-type", metavar="TYPE", help="Content-Type to send (default: the manifest's mediaType)")
@pass_app
def manifest_put(app: AppContext, reference: str, file: Any, media_type: str | None) -> None:
    """Upload a manifest from FILE (or - for stdin), exactly as written, under a tag or by digest.

    \b
    Example:
      creg manifest put app:v2 manifest.json
      creg manifest get app:v1 | creg manifest put app:copy -
    """
    ref = app.reference(reference, allow_digest=False)
    content = file.read()
    with app.content_client(ref) as client:
        result = client.set_manifest(content, tag=ref.tag, media_type=media_type)
    report(
        app,
        {"digest": result.digest, "tag": ref.tag, "repository": ref.repository},
        f"pushed manifest to {ref}",
    )
    if not app.json:
        click.echo(result.digest)


@manifest.command("update")
@click.argument("reference")
@lock_options
@pass_app
def manifest_update(app: AppContext, /, reference: str, **locks: Any) -> None:
    """Change a manifest's locks (by tag or digest); only the flags given are sent.

    \b
    Example:
      creg manifest update app:v1 --no-delete --no-write   # lock the image
    """
    changes = lock_values(locks)
    ref = app.reference(reference, require="identifier")
    assert ref.identifier is not None
    with app.registry_client(ref.client_endpoint) as client:
        artifact = client.get_artifact(ref.repository, ref.identifier)
        emit_record(app, artifact.update_manifest_properties(**changes))


@manifest.command("rm")
@click.argument("reference")
@pass_app
def manifest_rm(app: AppContext, reference: str) -> None:
    """Delete a manifest and all its tags; a tag is resolved to its digest first.

    \b
    Example:
      creg manifest rm app@sha256:4e5f...
      creg manifest rm app:v1          # deletes the manifest v1 points to (and its other tags)
    """
    ref = app.reference(reference, require="identifier")
    with app.content_client(ref) as content:
        try:
            digest = ref.digest or content.get_manifest(ref.identifier).digest
        except ResourceNotFoundError:
            fail(f"no manifest {ref}: nothing deleted")
        try:
            content.delete_manifest(digest, missing_ok=False)
        except ResourceNotFoundError:
            fail(f"no manifest {ref}: nothing deleted")
        except OperationNotAllowedError:
            with app.registry_client(ref.client_endpoint) as client:
                fail(
                    f"cannot delete {ref.repository}@{digest} (405, disallowed): {explain_refusal(client, ref.repository, digest=digest)}"
                )
    report(
        app, {"deleted": digest, "repository": ref.repository}, f"deleted manifest {ref.repository}@{digest}"
    )
