"""The global options as one value, `AppContext`, and the one place that turns them into clients.

Every command asks it for clients (`registry_client`, `content_client`) and references (`reference`,
giving the one name value of the library, a `RegistryLocation`: a `Reference` and the scheme to reach
its registry), so a new option (a CA bundle, `--insecure`) reaches every command at once.
"""

from __future__ import annotations

import importlib
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from ._errors import describe_error

if TYPE_CHECKING:
    from ..auth import Credential
    from ..images._locations import RegistryLocation

# Imported where used, not here: `creg --help` loads this module and needs none of them (tests/tooling/
# test_lazy_imports.py). `..auth` imports httpx, `..protocol.reference` compiles its grammar, and
# `..images._locations` imports the latter. The client stack is imported by `import_on_fresh_stack`, each
# client from its own module: `creg tag ls` loads the registry client's, not the content client's upload
# and download stack (`containerregistry._sync` is lazy).

__all__ = ["DEFAULT_REGISTRY", "OUTPUT_FORMATS", "AppContext", "import_on_fresh_stack", "pass_app"]

#: `-o` values: `plain` and `tsv` are for scripts (tab-separated fields, one record a line, no padding).
OUTPUT_FORMATS = ("table", "json", "plain", "tsv")

#: Where commands go without `--registry`: the local emulator (`creg serve`).
DEFAULT_REGISTRY = "http://127.0.0.1:5000"


def import_on_fresh_stack(*modules: str) -> None:
    """Import `modules` (those not loaded yet) on a new thread, whose Python stack starts empty.

    CPython 3.11 keeps a thread's frames in 16 KiB chunks and frees a chunk as soon as the frame that
    opened it returns, so recursion that goes up and down across a chunk boundary maps and unmaps a
    chunk each time. The regular-expression compiler recurses like that, and modules compile their
    patterns when they are imported: the sync client stack (httpx, urllib3, the clients) imported at the
    depth of a click command did it about 5,700 times in `creg tag ls` (`strace -c -e trace=munmap`),
    some 40 ms of a 0.2 s start-up, and from a fresh stack about 100 times. Where the boundaries fall
    depends on the depth, so the fix is not a lucky depth but a known one: the top of a new stack, as
    in `python -c "import containerregistry._sync"`.

    A module that fails to import is left alone: the caller's own import raises the error, as before.
    """
    missing = [name for name in modules if name not in sys.modules]
    if not missing:
        return

    def load() -> None:
        for name in missing:
            try:
                importlib.import_module(name)
            except BaseException:  # the caller's own import raises it, on its own thread
                return

    loader = threading.Thread(target=load, name="creg-import", daemon=True)
    loader.start()
    loader.join()


@dataclass
class AppContext:
    """The global options, and the one place that turns them into clients.

    Attributes:
        registry: `--registry`, the registry references without a host are relative to.
        output: `table`, `json`, `plain` or `tsv` (see `OUTPUT_FORMATS`).
        insecure: allow credentials over plain http and skip TLS verification.
        username, password: explicit credentials (`--username` + `--password-stdin`).
        anonymous: send no credentials at all.
        ca_cert: a CA bundle to verify TLS with.
        verbose: 0, 1 (INFO) or 2+ (DEBUG).
        trusted_token_hosts: `--trust-token-host`: token servers outside a registry's host and domain
            that may receive its credentials.
    """

    registry: str = DEFAULT_REGISTRY
    output: str = "table"
    insecure: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    anonymous: bool = False
    ca_cert: str | None = None
    verbose: int = 0
    trusted_token_hosts: tuple[str, ...] = ()

    @property
    def endpoint(self) -> str:
        """`--registry` as `scheme://host[:port]`, or `host[:port]` when it names no scheme (probed)."""
        from .._common import registry_endpoint

        return registry_endpoint(self.registry)

    @property
    def login_server(self) -> str:
        from .._common import login_server_of

        return login_server_of(self.endpoint)

    @property
    def json(self) -> bool:
        return self.output == "json"

    @property
    def plain(self) -> bool:
        """`-o plain` or `-o tsv`: tab-separated lines for scripts (`tsv` with a header line)."""
        return self.output in ("plain", "tsv")

    @property
    def credential(self) -> Credential | None:
        """Explicit credentials if given, none with `--anonymous`, else the docker config's."""
        from ..auth import BasicCredential, DockerConfigCredential

        if self.anonymous:
            return None
        if self.username is not None:
            return BasicCredential(self.username, self.password or "")
        return DockerConfigCredential()

    @property
    def verify(self) -> bool | str:
        if self.ca_cert:
            return self.ca_cert
        return not self.insecure

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments every client of this command is built with."""
        return {
            "verify": self.verify,
            "insecure": self.insecure,
            "trusted_token_hosts": self.trusted_token_hosts,
        }

    def endpoint_for(self, registry: str | None) -> str:
        """The endpoint of `registry` (`host[:port]`): `--registry`'s own when it names that host."""
        if not registry or registry == self.login_server:
            return self.endpoint
        from .._common import registry_endpoint

        return registry_endpoint(registry)

    def reference(
        self,
        text: str,
        *,
        allow_tag: bool = True,
        allow_digest: bool = True,
        require: str | None = None,
    ) -> RegistryLocation:
        """Parse `repo[:tag|@digest]` (relative to `--registry`) or `host/repo...` (its host is the registry).

        The location keeps `--registry`'s scheme when it names that registry (`-r http://host:5000` and
        `app:1` talk http to host:5000); another host, or a `--registry` without a scheme, gets none, and
        the client then probes (https, and http for loopback and `--insecure` registries). Its
        `client_endpoint` is what clients of it are given; `str()` shows it as `host[:port]/repo...`.

        Args:
            require: `tag`, `digest` or `identifier` (either) when the command needs one.

        Raises:
            click.BadParameter: the reference is malformed or lacks/has parts the command does not take.
        """
        from .._common import login_server_of
        from ..images._locations import RegistryLocation
        from ..protocol.reference import Reference, parse_reference

        try:
            # Relative to --registry: on Docker Hub `alpine` is `library/alpine`.
            parsed: Reference = parse_reference(text, default_registry=self.login_server)
        except ValueError as exc:
            raise click.BadParameter(describe_error(exc)) from exc
        if parsed.tag and not allow_tag:
            raise click.BadParameter(f"{text!r}: this command takes no tag")
        if parsed.digest and not allow_digest:
            raise click.BadParameter(f"{text!r}: this command takes no digest")
        if require == "tag" and not parsed.tag:
            raise click.BadParameter(f"{text!r}: give a tag (repo:tag)")
        if require == "digest" and not parsed.digest:
            raise click.BadParameter(f"{text!r}: give a digest (repo@sha256:...)")
        if require == "identifier" and not (parsed.tag or parsed.digest):
            raise click.BadParameter(f"{text!r}: give a tag or a digest (repo:tag or repo@sha256:...)")
        endpoint = self.endpoint_for(parsed.registry)
        scheme = endpoint.split("://", 1)[0] if "://" in endpoint else None
        return RegistryLocation(
            Reference(login_server_of(endpoint), parsed.repository, parsed.tag, parsed.digest), scheme=scheme
        )

    def registry_client(self, endpoint: str | None = None) -> Any:
        """A `ContainerRegistryClient` for `endpoint` (default `--registry`) with the global options."""
        import_on_fresh_stack("containerregistry._sync._registry_client")
        from .._sync._registry_client import ContainerRegistryClient

        return ContainerRegistryClient(endpoint or self.endpoint, self.credential, **self.client_options())

    def content_client(self, ref: RegistryLocation) -> Any:
        """A `ContainerRegistryContentClient` for the repository of `ref`."""
        import_on_fresh_stack("containerregistry._sync._content_client")
        from .._sync._content_client import ContainerRegistryContentClient

        return ContainerRegistryContentClient(
            ref.client_endpoint, ref.repository, self.credential, **self.client_options()
        )


pass_app = click.make_pass_decorator(AppContext)
