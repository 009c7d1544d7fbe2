"""`creg tag ls|show|update|rm`: tags and their properties."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..exceptions import HttpResponseError, OperationNotAllowedError, ResourceNotFoundError
from ._app import (
    AppContext,
    emit,
    emit_record,
    emit_records,
    fail,
    lacks_acr_api,
    lock_options,
    lock_values,
    pass_app,
    report,
)
from ._lazy import LazyCommand, LazyGroup
from ._locks import explain_refusal

if TYPE_CHECKING:
    from ..images._locations import RegistryLocation

__all__ = ["ORDER_CHOICES", "tag"]

#: `--order` values and the ACR `orderby` they stand for.
ORDER_CHOICES = {"none": "none", "newest": "timedesc", "oldest": "timeasc"}

_TAG_COLUMNS = (
    ("tag", lambda t: t.name),
    ("digest", lambda t: t.digest),
    ("updated", lambda t: t.last_updated_on),
    ("write", lambda t: t.can_write),
    ("delete", lambda t: t.can_delete),
)


#: `tag add` lives with the image commands (it resolves manifests like `digest`): loaded when used.
_TAG_ADD = LazyCommand(
    "containerregistry.cli._inspect:tag_add",
    "Add TAGS to the manifest SOURCE names, in the same repository; no blob moves (crane tag, oras tag).",
)


@click.group(cls=LazyGroup, lazy_commands={"add": _TAG_ADD})
def tag() -> None:
    """Tags: list, show, lock, delete.

    \b
    Example:
      creg tag ls app
      creg tag update app:v1 --no-write --no-delete
    """


@tag.command("ls")
@click.argument("reference")
@click.option(
    "--order",
    type=click.Choice(list(ORDER_CHOICES)),
    default="none",
    show_default=True,
    help="sort by last update",
)
@click.option(
    "--plain",
    is_flag=True,
    help="names only, through the OCI tags/list endpoint (works on every registry, not only ACR)",
)
@pass_app
def tag_ls(app: AppContext, reference: str, order: str, plain: bool) -> None:
    """List the tags of a repository, or of one image (REPO:TAG or REPO@DIGEST: its aliases).

    \b
    Example:
      creg tag ls app --order newest
      creg --anonymous tag ls library/hello-world:latest   # the image's aliases, anonymously
      creg tag ls --plain localhost:5000/app               # any OCI registry
    """
    ref = app.reference(reference)
    if plain:
        if ref.identifier:
            raise click.BadParameter("--plain lists a whole repository: give REPO without a tag or digest")
        with app.content_client(ref) as content:
            names = list(content.list_tags())
        if app.json:
            emit(app, names)
        else:
            for name in names:
                click.echo(name)
        return
    with app.registry_client(ref.client_endpoint) as client:
        if ref.identifier:
            source = client.get_artifact(ref.repository, ref.identifier)
        else:
            source = client.get_repository(ref.repository)
        try:
            tags = list(source.list_tag_properties(order_by=ORDER_CHOICES[order]))
        except HttpResponseError as exc:
            if not lacks_acr_api(exc) or ref.identifier:
                raise
            _oci_tag_ls(app, ref, order)
            return
        emit_records(app, tags, _TAG_COLUMNS)


#: Without the ACR API, `tag ls` resolves the digest of at most this many tags (one GET each).
_RESOLVE_LIMIT = 100


def _oci_tag_ls(app: AppContext, ref: RegistryLocation, order: str) -> None:
    """`tag ls` on a registry without the ACR API: names from `/v2/<name>/tags/list`, digests by GET."""
    with app.content_client(ref) as content:
        names = list(content.list_tags())
        resolve = len(names) <= _RESOLVE_LIMIT
        rows = [
            {"name": name, "digest": content.get_manifest(name).digest if resolve else None} for name in names
        ]
    missing = "update times and locks" if resolve else f"digests (over {_RESOLVE_LIMIT} tags), times, locks"
    note = f"; --order {order} is not possible" if order != "none" else ""
    click.echo(
        f"note: {ref.client_endpoint} has no ACR metadata API: tags from /v2/{ref.repository}/tags/list,"
        f" without {missing}{note}",
        err=True,
    )
    emit_records(app, rows, [("tag", lambda t: t["name"]), ("digest", lambda t: t["digest"])])


@tag.command("show")
@click.argument("reference")
@pass_app
def tag_show(app: AppContext, reference: str) -> None:
    """Show a tag's properties (digest, times, locks).

    \b
    Example:
      creg tag show app:v1
    """
    ref = app.reference(reference, allow_digest=False, require="tag")
    assert ref.tag is not None
    with app.registry_client(ref.client_endpoint) as client:
        try:
            properties = client.get_artifact(ref.repository, ref.tag).get_tag_properties(ref.tag)
        except HttpResponseError as exc:
            if not lacks_acr_api(exc):
                raise
            with app.content_client(ref) as content:
                digest = content.get_manifest(ref.tag).digest
            click.echo(
                f"note: {ref.client_endpoint} has no ACR metadata API: the digest from /v2/, without times or locks",
                err=True,
            )
            emit_record(app, {"name": ref.tag, "digest": digest, "repository": ref.repository})
            return
        emit_record(app, properties)


@tag.command("update")
@click.argument("reference")
@lock_options
@pass_app
def tag_update(app: AppContext, /, reference: str, **locks: Any) -> None:
    """Change a tag's locks; only the flags given are sent.

    \b
    Example:
      creg tag update app:latest --no-write --no-delete   # lock the tag
    """
    changes = lock_values(locks)
    ref = app.reference(reference, allow_digest=False, require="tag")
    assert ref.tag is not None
    with app.registry_client(ref.client_endpoint) as client:
        artifact = client.get_artifact(ref.repository, ref.tag)
        emit_record(app, artifact.update_tag_properties(ref.tag, **changes))


@tag.command("rm")
@click.argument("reference")
@pass_app
def tag_rm(app: AppContext, reference: str) -> None:
    """Delete a tag (the manifest stays). A tag that does not exist is an error (exit status 1).

    Uses the ACR API, or on other registries OCI's delete by tag. A registry that cannot delete a tag
    alone (CNCF Distribution 2.x) is reported with the manifest to delete instead (`manifest rm`,
    which removes all its tags).

    \b
    Example:
      creg tag rm app:v1
    """
    ref = app.reference(reference, allow_digest=False, require="tag")
    assert ref.tag is not None
    with app.registry_client(ref.client_endpoint) as client:
        try:
            client.get_artifact(ref.repository, ref.tag).delete_tag(ref.tag, missing_ok=False)
        except ResourceNotFoundError:
            fail(f"no tag {ref}: nothing deleted")
        except OperationNotAllowedError:
            fail(
                f"cannot delete tag {ref} (405, disallowed): {explain_refusal(client, ref.repository, tag=ref.tag)}"
            )
    report(app, {"deleted": str(ref)}, f"deleted tag {ref}")
