"""`creg digest|config|inspect` and `creg tag add`: look at one image, and give it more tags.

Thin shells over `containerregistry.images` (`get_digest`, `get_image_config`, `inspect_image`,
`add_tags`); they speak plain OCI, so they work on every registry.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..images import add_tags, get_digest, get_image_config, inspect_image
from ..images._inspect import ImageInspection
from ._app import AppContext, emit, emit_record, pass_app, report

__all__ = ["config", "digest", "inspect", "tag_add"]

_PLATFORM = click.option(
    "--platform",
    metavar="OS/ARCH[/VARIANT]",
    help="the image of an index to use (e.g. linux/amd64); optional when the index lists one image",
)


@click.command("digest")
@click.argument("reference")
@pass_app
def digest(app: AppContext, reference: str) -> None:
    """Print the digest of the manifest REFERENCE names (crane digest, oras resolve).

    \b
    Example:
      creg digest app:v1                      # sha256:4e5f...
      creg -o json digest app:v1              # {"digest": ..., "reference": ...}
    """
    ref = app.reference(reference, require="identifier")
    assert ref.identifier is not None
    with app.content_client(ref) as content:
        found = get_digest(content, ref.identifier)
    emit(app, {"reference": str(ref), "digest": found}, text=found)


@click.command("config")
@click.argument("reference")
@_PLATFORM
@pass_app
def config(app: AppContext, reference: str, platform: str | None) -> None:
    """Print an image's config blob, exactly as stored (crane config); -o json pretty-prints it.

    \b
    Example:
      creg config app:v1 | jq .config.Labels
      creg config app:v1 --platform linux/arm64
    """
    ref = app.reference(reference, require="identifier")
    assert ref.identifier is not None
    with app.content_client(ref) as content:
        data = get_image_config(content, ref.identifier, platform=platform)
    if app.json:
        try:
            click.echo(json.dumps(json.loads(data), indent=2))
            return
        except ValueError:
            pass  # not JSON: the bytes as they are
    out = sys.stdout.buffer
    out.write(data)
    if not data.endswith(b"\n"):
        out.write(b"\n")
    out.flush()


def _size(value: int | None) -> str:
    if value is None:
        return ""
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000  # type: ignore[assignment]
    return str(value)


def _table_fields(info: ImageInspection) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "reference": info.reference,
        "digest": info.digest,
        "media type": info.media_type,
    }
    if info.index_digest:
        fields["index digest"] = info.index_digest
    if info.artifact_type:
        fields["artifact type"] = info.artifact_type
    if info.manifests:
        fields["manifests"] = "\n".join(
            f"{m.platform or m.artifact_type or '-'}  {m.digest}  {_size(m.size)}" for m in info.manifests
        )
    else:
        fields["platform"] = ", ".join(info.platforms)
        fields["created"] = info.created
        fields["config"] = f"{info.config_digest} ({info.config_media_type})" if info.config_digest else None
        fields["layers"] = "\n".join(
            f"{layer.digest}  {_size(layer.size)}  {layer.media_type}" for layer in info.layers
        )
        fields["size"] = _size(info.total_size)
        fields["labels"] = "\n".join(f"{k}={v}" for k, v in sorted(info.labels.items()))
    if info.annotations:
        fields["annotations"] = "\n".join(f"{k}={v}" for k, v in sorted(info.annotations.items()))
    if info.subject:
        fields["subject"] = info.subject
    return {k: v for k, v in fields.items() if v not in (None, "")}


@click.command("inspect")
@click.argument("reference")
@_PLATFORM
@pass_app
def inspect(app: AppContext, reference: str, platform: str | None) -> None:
    """Summarize an image or index: media type, digest, platforms, created, layers, labels (skopeo inspect).

    An index shows its platforms and manifests; --platform inspects one of its images instead.

    \b
    Example:
      creg inspect app:v1
      creg inspect app:v1 --platform linux/amd64
      creg -o json inspect app:v1 | jq '.layers[].size'
    """
    ref = app.reference(reference, require="identifier")
    assert ref.identifier is not None
    with app.content_client(ref) as content:
        info = inspect_image(content, ref.identifier, platform=platform)
    if app.json:
        emit_record(app, info)
    else:
        emit_record(app, _table_fields(info))


@click.command("add")
@click.argument("source")
@click.argument("tags", nargs=-1, required=True)
@pass_app
def tag_add(app: AppContext, source: str, tags: tuple[str, ...]) -> None:
    """Add TAGS to the manifest SOURCE names, in the same repository; no blob moves (crane tag, oras tag).

    \b
    Example:
      creg tag add app:v1.2.3 v1.2 v1 latest
      creg tag add app@sha256:4e5f... stable
    """
    ref = app.reference(source, require="identifier")
    assert ref.identifier is not None
    with app.content_client(ref) as content:
        result = add_tags(content, ref.identifier, list(tags))
    report(
        app,
        result,
        f"tagged {ref.repository}@{result.digest} as " + ", ".join(result.tags),
    )
