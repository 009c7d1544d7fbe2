"""`creg demo`: the seed README's scenarios, end to end, against the embedded emulator (or --registry).

Each step is printed on stderr with whether it checked out; results go to stdout (one JSON object
with `-o json`). The exit status is 0 only when every step checked out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from .._common import login_server_of, normalize_endpoint
from ..auth import Credential
from ..exceptions import OperationNotAllowedError, RegistryError
from ..protocol.acr import ArtifactManifestOrder
from ._app import AppContext, describe_error, emit_records, fail, stderr_console

__all__ = ["demo"]

_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
_VERSIONS = ("v1", "v2", "v3", "v4", "v5")
_KEEP = 3


class _StepFailed(Exception):
    """A step ran but its result was not what the scenario expects."""


class _Demo:
    """State shared by the steps: clients, what was pushed, results for stdout."""

    def __init__(self, app: AppContext, endpoint: str, credential: Credential | None, workdir: Path) -> None:
        self.app = app
        self.endpoint = endpoint
        self.credential = credential
        self.workdir = workdir
        self.console = stderr_console()
        self.repository = f"creg-demo/hello-{secrets.token_hex(3)}"
        self.digests: dict[str, str] = {}
        self.layers: list[tuple[str, int]] = []
        self.results: dict[str, Any] = {"registry": login_server_of(endpoint), "repository": self.repository}
        self.failures: list[str] = []

    # -- plumbing --------------------------------------------------------------------------------

    def client(self, *, anonymous: bool = False) -> Any:
        from .._sync import ContainerRegistryClient

        return ContainerRegistryClient(
            self.endpoint, None if anonymous else self.credential, **self.app.client_options()
        )

    def content(self) -> Any:
        from .._sync import ContainerRegistryContentClient

        return ContainerRegistryContentClient(
            self.endpoint, self.repository, self.credential, **self.app.client_options()
        )

    def say(self, text: str) -> None:
        """A result line for people (table mode only; -o json prints one object at the end)."""
        if not self.app.json:
            click.echo(text)

    def step(self, number: int, total: int, title: str, action: Callable[[], str]) -> None:
        self.console.print(f"[bold cyan][{number}/{total}][/] {title}")
        started = time.perf_counter()
        try:
            summary = action()
        except (_StepFailed, RegistryError, OSError, ValueError) as exc:
            self.failures.append(f"{title}: {describe_error(exc)}")
            self.console.print(f"      [bold red]FAILED[/] {describe_error(exc)}")
            return
        elapsed = time.perf_counter() - started
        self.console.print(f"      [green]ok[/] {summary} [dim]({elapsed * 1000:.0f} ms)[/]")

    # -- steps -----------------------------------------------------------------------------------

    def push_versions(self) -> str:
        """The seed's upload sample: layers and a config as blobs, then a manifest per tag."""
        with self.content() as content:
            for index in range(3):
                layer = secrets.token_bytes(32 * 1024 * (index + 1))
                result = content.upload_blob(layer)
                self.layers.append((result.digest, len(layer)))
            for version in _VERSIONS:
                config = json.dumps(
                    {"architecture": "amd64", "os": "linux", "config": {"Labels": {"version": version}}},
                    sort_keys=True,
                ).encode()
                uploaded = content.upload_blob(config)
                manifest = {
                    "schemaVersion": 2,
                    "mediaType": _MANIFEST_TYPE,
                    "config": {"mediaType": _CONFIG_TYPE, "digest": uploaded.digest, "size": len(config)},
                    "layers": [{"mediaType": _LAYER_TYPE, "digest": d, "size": s} for d, s in self.layers],
                    "annotations": {"org.opencontainers.image.version": version},
                }
                body = json.dumps(manifest, separators=(",", ":")).encode()
                self.digests[version] = content.set_manifest(
                    body, tag=version, media_type=_MANIFEST_TYPE
                ).digest
                # Distinct last-update times, so "newest first" has one right answer.
                time.sleep(0.02)
            content.set_manifest(content.get_manifest("v5").content, tag="latest", media_type=_MANIFEST_TYPE)
        for version in _VERSIONS:
            self.say(f"pushed {self.repository}:{version} {self.digests[version]}")
        self.results["pushed"] = dict(self.digests)
        return f"{len(_VERSIONS)} versions of a {len(self.layers)}-layer image, and latest -> v5"

    def list_repositories(self) -> str:
        with self.client() as client:
            names = list(client.list_repository_names())
        if self.repository not in names:
            raise _StepFailed(f"{self.repository} is not in the catalog")
        for name in names:
            self.say(f"repository {name}")
        self.results["repositories"] = names
        return f"{len(names)} repositories, {self.repository} among them"

    def list_tags_anonymously(self) -> str:
        """The seed's anonymous sample: the aliases of the image tagged latest, with no credential."""
        with self.client(anonymous=True) as client:
            image = client.get_artifact(self.repository, "latest")
            tags = sorted(str(t.name) for t in image.list_tag_properties())
            reference = image.fully_qualified_reference
        if tags != ["latest", "v5"]:
            raise _StepFailed(f"expected the aliases latest and v5, got {tags}")
        for tag in tags:
            self.say(f"{reference} alias {login_server_of(self.endpoint)}/{self.repository}:{tag}")
        self.results["aliases_of_latest"] = tags
        return f"{reference} has the aliases {', '.join(tags)}"

    def lock_tag(self) -> str:
        """The seed's properties sample: latest can no longer be written or deleted."""
        with self.client() as client:
            image = client.get_artifact(self.repository, "latest")
            props = image.update_tag_properties("latest", can_write=False, can_delete=False)
            if props.can_write is not False or props.can_delete is not False:
                raise _StepFailed("the registry did not keep the lock")
            try:
                image.delete_tag("latest")
            except OperationNotAllowedError:
                pass
            else:
                raise _StepFailed("deleting the locked tag latest succeeded")
        self.say(f"locked {self.repository}:latest (write and delete disabled); deleting it was refused")
        self.results["locked"] = "latest"
        return "latest is locked, and deleting it was refused (405)"

    def list_manifests(self) -> str:
        with self.client() as client:
            listing = client.get_repository(self.repository).list_manifest_properties(
                order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING
            )
            manifests = list(listing)
        if not self.app.json:
            columns = [
                ("digest", lambda m: m.digest),
                ("tags", lambda m: sorted(m.tags)),
                ("updated", lambda m: m.last_updated_on),
            ]
            emit_records(self.app, manifests, columns)
        order = [m.digest for m in manifests]
        expected = [self.digests[v] for v in reversed(_VERSIONS)]
        if order != expected:
            raise _StepFailed("the manifests are not listed newest first")
        self.results["manifests_newest_first"] = [
            {"digest": m.digest, "tags": sorted(m.tags)} for m in manifests
        ]
        return f"{len(order)} manifests, newest (v5) first"

    def prune(self) -> str:
        """The seed's delete sample, as one library call: every manifest but the newest three."""
        from ..images import prune

        result = prune(
            self.endpoint,
            self.repository,
            keep=_KEEP,
            credential=self.credential,
            **self.app.client_options(),
        )
        for old in result.deleted:
            self.say(f"deleted {self.repository}@{old.digest} (tags: {', '.join(sorted(old.tags)) or '-'})")
        with self.client() as client:
            remaining = [m.digest for m in client.get_repository(self.repository).list_manifest_properties()]
        expected = {self.digests[v] for v in _VERSIONS[_KEEP - 1 :]}
        if set(remaining) != expected:
            raise _StepFailed(f"expected v3, v4 and v5 left, found {len(remaining)} manifests")
        self.results["pruned"] = [m.digest for m in result.deleted]
        return f"deleted {len(result.deleted)} old manifests (v1, v2); v3, v4, v5 left"

    def pull_and_verify(self) -> str:
        from ..images import pull_image

        layout = self.workdir / "layout"
        source = f"{login_server_of(self.endpoint)}/{self.repository}:v5"
        pull_image(
            _registry_location(self.endpoint, self.repository, "v5"),
            f"oci:{layout}:v5",
            credential=self.credential,
            **self.app.client_options(),
        )
        checked = _verify_layout(layout, self.digests["v5"], [d for d, _ in self.layers])
        self.say(f"pulled {source} into oci:{layout}:v5; {checked} blobs verified")
        self.results["pulled"] = {"reference": source, "layout": str(layout), "digest": self.digests["v5"]}
        return f"oci:{layout}:v5 holds v5 ({self.digests['v5'][:19]}...), {checked} blob digests verified"

    def clean_up(self) -> str:
        with self.client() as client:
            client.get_artifact(self.repository, "latest").update_tag_properties(
                "latest", can_write=True, can_delete=True
            )
            client.delete_repository(self.repository)
        return f"unlocked latest and deleted {self.repository}"


def _registry_location(endpoint: str, repository: str, tag: str) -> Any:
    from ..images import RegistryLocation
    from ..protocol.reference import Reference

    scheme = endpoint.split("://", 1)[0]
    return RegistryLocation(Reference(login_server_of(endpoint), repository, tag, None), scheme=scheme)


def _verify_layout(layout: Path, digest: str, layer_digests: list[str]) -> int:
    """Check the layout independently of the library: index entry, and every blob against its name."""
    index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    entries = [m for m in index.get("manifests", []) if m.get("digest") == digest]
    if not entries:
        raise _StepFailed(f"index.json has no entry for {digest}")
    blobs = layout / "blobs" / "sha256"
    checked = 0
    for path in blobs.iterdir():
        if hashlib.sha256(path.read_bytes()).hexdigest() != path.name:
            raise _StepFailed(f"blob {path.name} does not match its digest")
        checked += 1
    manifest = json.loads((blobs / digest.split(":", 1)[1]).read_bytes())
    wanted = [manifest["config"]["digest"], *layer_digests]
    missing = [d for d in wanted if not (blobs / d.split(":", 1)[1]).is_file()]
    if missing:
        raise _StepFailed(f"blobs missing from the layout: {', '.join(missing)}")
    return checked


@contextlib.contextmanager
def _registry(app: AppContext, registry: str | None) -> Iterator[tuple[str, Credential | None, bool]]:
    """(endpoint, credential, embedded): the given registry, or an emulator in this process."""
    if registry:
        yield normalize_endpoint(registry), app.credential, False
        return
    from ..emulator import run_emulator

    with run_emulator() as emulator:
        stderr_console().print(f"[dim]embedded emulator at {emulator.endpoint} (temporary data)[/]")
        yield emulator.endpoint, None, True


@click.command("demo")
@click.option(
    "--registry",
    "-r",
    "demo_registry",
    metavar="URL",
    help="run against this registry instead of an embedded emulator (also: creg -r URL demo)",
)
@click.pass_context
def demo(ctx: click.Context, demo_registry: str | None) -> None:
    """Walk through the seed's scenarios: push, list, lock, order, prune, pull and verify.

    Without --registry, an emulator runs in this process on a free port with a temporary data
    directory. Steps are printed on stderr, results on stdout; exits 0 only when every step
    checked out. Against a real registry, the demo repository is deleted at the end.

    \b
    Example:
      creg demo
      creg -o json demo | jq .manifests_newest_first
      creg demo --registry http://127.0.0.1:5000
    """
    app = ctx.find_object(AppContext)
    assert app is not None
    registry = demo_registry
    root = ctx.find_root()
    if registry is None and root.get_parameter_source("registry") is click.core.ParameterSource.COMMANDLINE:
        registry = app.registry
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="creg-demo-") as work,
        _registry(app, registry) as (endpoint, cred, embedded),
    ):
        state = _Demo(app, endpoint, cred, Path(work))
        steps: list[tuple[str, Callable[[], str]]] = [
            ("push a 3-layer image as v1..v5 (and latest)", state.push_versions),
            ("list repositories", state.list_repositories),
            ("list the tags of latest anonymously", state.list_tags_anonymously),
            ("lock latest (no write, no delete) and try to delete it", state.lock_tag),
            ("list manifests, newest first", state.list_manifests),
            ("delete all but the newest three (tags, then manifests)", state.prune),
            ("pull v5 into an OCI layout and verify its digests", state.pull_and_verify),
        ]
        if not embedded:
            steps.append(("clean up", state.clean_up))
        for number, (title, action) in enumerate(steps, 1):
            if state.failures and not state.digests:
                break  # nothing was pushed: every later step would fail for the same reason
            state.step(number, len(steps), title, action)
    elapsed = time.perf_counter() - started
    state.results["ok"] = not state.failures
    state.results["failures"] = state.failures
    if app.json:
        click.echo(json.dumps(state.results, indent=2))
    if state.failures:
        fail(f"{len(state.failures)} demo step(s) failed: {state.failures[0]}")
    stderr_console().print(f"[bold green]all {len(steps)} steps checked out[/] in {elapsed:.1f} s")
