"""`creg artifact push|pull|attach` (oras push/pull/attach) and the referrers tree `creg referrers --tree`.

Thin shells over `containerregistry.images` (`push_artifact`, `pull_artifact`, `attach_artifact`,
`referrer_tree`); they speak plain OCI 1.1, so they work on every registry.
"""

from __future__ import annotations

from typing import Any

import click

from ..images import attach_artifact, pull_artifact, push_artifact, referrer_tree
from ..images._artifacts import ArtifactFile, ReferrerNode, parse_file_spec
from ._app import AppContext, emit, pass_app, report

__all__ = ["artifact", "print_referrer_tree"]


def _files(specs: tuple[str, ...]) -> list[ArtifactFile]:
    try:
        return [parse_file_spec(spec) for spec in specs]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="FILE") from exc


def _annotations(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE", param_hint="--annotation")
        out[key] = text
    return out


def _annotation_option(function: Any) -> Any:
    return click.option(
        "--annotation",
        "-a",
        "annotations",
        multiple=True,
        metavar="KEY=VALUE",
        help="a manifest annotation (repeatable)",
    )(function)


@click.group()
def artifact() -> None:
    """OCI artifacts (any files), as oras pushes and pulls them.

    \b
    Example:
      creg artifact push app:sbom sbom.json:application/spdx+json --artifact-type application/spdx+json
      creg artifact pull app:sbom -o ./out
      creg artifact attach app:v1 sig.json --artifact-type application/vnd.example.signature
    """


@artifact.command("push")
@click.argument("reference")
@click.argument("files", nargs=-1, required=True, metavar="FILE[:MEDIATYPE]...")
@click.option(
    "--artifact-type", metavar="TYPE", help="the manifest's artifactType (default: unknown artifact)"
)
@_annotation_option
@pass_app
def artifact_push(
    app: AppContext,
    reference: str,
    files: tuple[str, ...],
    artifact_type: str | None,
    annotations: tuple[str, ...],
) -> None:
    """Push files as an artifact: one layer per file, titled by its name, with the OCI 1.1 empty config.

    \b
    Example:
      creg artifact push app:chart chart.tgz:application/vnd.cncf.helm.chart.content.v1.tar+gzip
      creg artifact push app:docs README.md LICENSE --artifact-type application/vnd.example.docs \\
          --annotation org.opencontainers.image.source=https://example.com/app
    """
    ref = app.reference(reference, allow_digest=False, require="tag")
    chosen = _files(files)
    with app.content_client(ref) as content:
        result = push_artifact(
            content, ref.tag, chosen, artifact_type=artifact_type, annotations=_annotations(annotations)
        )
    report(app, result, f"pushed {len(result.files)} file(s) to {ref}")
    if not app.json:
        click.echo(result.digest)


@artifact.command("attach")
@click.argument("subject")
@click.argument("files", nargs=-1, required=True, metavar="FILE[:MEDIATYPE]...")
@click.option("--artifact-type", required=True, metavar="TYPE", help="what the files are (the artifactType)")
@_annotation_option
@pass_app
def artifact_attach(
    app: AppContext, subject: str, files: tuple[str, ...], artifact_type: str, annotations: tuple[str, ...]
) -> None:
    """Attach files to an image as a referrer (a manifest whose subject is the image), like oras attach.

    The artifact is pushed by digest into SUBJECT's repository; `creg referrers SUBJECT` lists it.

    \b
    Example:
      creg artifact attach app:v1 sbom.spdx.json --artifact-type application/spdx+json
      creg artifact attach app@sha256:4e5f... sig.json --artifact-type application/vnd.example.sig
    """
    ref = app.reference(subject, require="identifier")
    assert ref.identifier is not None
    chosen = _files(files)
    with app.content_client(ref) as content:
        result = attach_artifact(
            content,
            ref.identifier,
            chosen,
            artifact_type=artifact_type,
            annotations=_annotations(annotations),
        )
    report(app, result, f"attached {len(result.files)} file(s) to {ref.repository}@{result.subject}")
    if not app.json:
        click.echo(result.digest)


@artifact.command("pull")
@click.argument("reference")
@click.option(
    "-o",
    "--output-dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="directory to write the files into (created if needed)",
)
@pass_app
def artifact_pull(app: AppContext, reference: str, directory: str) -> None:
    """Write an artifact's files (its titled layers) into DIR, digests verified.

    A title that would land outside DIR (an absolute path, `..`, a symlink on the way) refuses the
    pull before anything is written.

    \b
    Example:
      creg artifact pull app:docs -o ./docs
      creg -o json artifact pull app@sha256:4e5f... -o ./out
    """
    ref = app.reference(reference, require="identifier")
    assert ref.identifier is not None
    with app.content_client(ref) as content:
        result = pull_artifact(content, ref.identifier, directory)
    if app.json:
        emit(app, result)
        return
    for file in result.files:
        click.echo(file.path)
    message = f"pulled {len(result.files)} file(s) from {ref} into {directory}"
    if result.skipped:
        message += f"; skipped {len(result.skipped)} layer(s) without a title"
    click.echo(message, err=True)


def _tree_lines(node: ReferrerNode, prefix: str = "") -> list[str]:
    lines = []
    for position, child in enumerate(node.referrers):
        last = position == len(node.referrers) - 1
        branch = "└── " if last else "├── "
        lines.append(f"{prefix}{branch}{child.artifact_type or child.media_type}  {child.digest}")
        lines.extend(_tree_lines(child, prefix + ("    " if last else "│   ")))
    return lines


def print_referrer_tree(app: AppContext, content: Any, identifier: str, artifact_type: str | None) -> None:
    """`creg referrers --tree`: the image and every manifest that refers to it, recursively."""
    root = referrer_tree(content, identifier, artifact_type=artifact_type)
    if app.json:
        emit(app, root)
        return
    click.echo(f"{content.login_server}/{content.repository}@{root.digest}")
    for line in _tree_lines(root):
        click.echo(line)
