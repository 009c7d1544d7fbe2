"""`creg sync CONFIG` and `creg copy --all-tags`: mirror whole repositories, incrementally.

Thin shells over `containerregistry.images.mirror_repository` / `sync_mirrors`. One line per tag goes
to stderr as it finishes; the table (or JSON with -o json, or the file of --report) says what was
copied, what was already there and what failed. Exit status 1 when anything failed.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import click

from .._files import write_atomic
from ..images import load_sync_config, mirror_repository, sync_mirrors
from ..images._mirror import MirrorItem, MirrorResult, SyncConfigError, SyncReport, parse_shard
from ..images._models import RegistryLocation
from ._app import AppContext, emit_records, fail, pass_app
from ._output import _jsonable

__all__ = ["copy_all_tags", "sync"]

_lock = threading.Lock()


def _announce(item: MirrorItem) -> None:
    detail = f" ({item.blobs_copied} blobs, {item.bytes_copied} bytes)" if item.action == "copied" else ""
    if item.error:
        detail = f": {item.error}"
    with _lock:
        click.echo(f"{item.action}: {item.source} -> {item.target}{detail}", err=True)


_COLUMNS = (
    ("action", lambda i: i.action),
    ("tag", lambda i: i.tag),
    ("target", lambda i: i.target),
    ("digest", lambda i: i.digest),
    ("error", lambda i: i.error),
)


def _summary(results: list[MirrorResult], dry_run: bool) -> str:
    items = [item for r in results for item in r.items]
    counts = {
        a: sum(1 for i in items if i.action == a) for a in ("copied", "would copy", "up-to-date", "failed")
    }
    first = f"would copy {counts['would copy']}" if dry_run else f"copied {counts['copied']}"
    text = f"{first}, up to date {counts['up-to-date']}, failed {counts['failed']} of {len(items)} tag(s)"
    broken = [r for r in results if r.error]
    if broken:
        text += f"; {len(broken)} repository(ies) could not be read"
    return text


def _location(app: AppContext, text: str) -> RegistryLocation:
    from ._images import image_location

    location = image_location(app, text)
    if not isinstance(location, RegistryLocation):
        raise click.BadParameter(f"{text!r}: --all-tags copies between registry repositories")
    if location.tag or location.digest:
        raise click.BadParameter(f"{text!r}: with --all-tags give a repository, without a tag or digest")
    return location


def copy_all_tags(
    app: AppContext,
    source: str,
    destination: str,
    platforms: tuple[str, ...],
    referrers: bool,
    concurrency: int,
) -> None:
    """`creg copy --all-tags SRC_REPO DST_REPO`."""
    result = mirror_repository(
        _location(app, source),
        _location(app, destination),
        credential=app.credential,
        platforms=list(platforms) or None,
        include_referrers=referrers,
        concurrency=concurrency,
        progress=_announce,
        **app.client_options(),
    )
    emit_records(app, result.items, _COLUMNS)
    click.echo(_summary([result], dry_run=False), err=True)
    if not result.ok:
        fail(f"{result.count('failed')} tag(s) of {result.source} failed to copy (a re-run resumes)")


@click.command("sync")
@click.argument("config_file", metavar="CONFIG", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--dry-run", is_flag=True, help="only say what would be copied (reads both sides, writes nothing)"
)
@click.option(
    "--shard",
    metavar="I/N",
    help="run only shard I of N (0-based): N workers with 0/N..N-1/N share the repositories, each once",
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="also write the JSON report here",
)
@pass_app
def sync(
    app: AppContext, config_file: str, dry_run: bool, shard: str | None, report_file: str | None
) -> None:
    """Mirror repositories as a config file says (skopeo sync, regsync): incremental, concurrent, resumable.

    CONFIG is JSON, or YAML (.yaml/.yml) when PyYAML is installed. Each entry of `sync` names a source
    and a target repository, and optionally tags (regex, exclude, semver, newest), platforms and
    referrers; `defaults` applies to every entry. Tags the target already has at the same digest are
    skipped, so a re-run after an interruption resumes where it stopped.

    \b
    Example:
      creg sync mirror.yaml --dry-run
      creg -o json sync mirror.yaml --report report.json
      creg sync mirror.yaml --shard "$JOB_COMPLETION_INDEX/4"   # Kubernetes Indexed Job, 4 workers
    \b
    mirror.yaml:
      defaults: {platforms: [linux/amd64, linux/arm64], referrers: true}
      sync:
        - source: docker.io/library/alpine
          target: myregistry.azurecr.io/mirror/alpine
          tags: {semver: ">=3.18", newest: 3}
    """
    try:
        config = load_sync_config(config_file)
        chosen_shard = parse_shard(shard) if shard else None
    except SyncConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    report: SyncReport = sync_mirrors(
        config,
        shard=chosen_shard,
        dry_run=dry_run,
        credential=app.credential,
        progress=_announce,
        **app.client_options(),
    )
    data: dict[str, Any] = _jsonable(report)
    data["ok"] = report.ok
    if report_file:
        # Atomic: a reader (or a crash) never sees half a report, and a planted link is not written through.
        write_atomic(report_file, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    if app.json:
        click.echo(json.dumps(data, indent=2))
    else:
        emit_records(app, [item for r in report.results for item in r.items], _COLUMNS)
    for result in report.results:
        if result.error:
            click.echo(f"failed: {result.source} -> {result.target}: {result.error}", err=True)
    shard_text = (
        f" (shard {report.shard}: {len(report.results)} of {report.jobs_total} repositories)" if shard else ""
    )
    click.echo(_summary(report.results, dry_run) + shard_text, err=True)
    if not report.ok:
        fail("some tags or repositories failed (see above); a re-run resumes where this one stopped")
