"""`creg`: every containerregistry operation from a terminal (click + rich).

One module per command group; `_app` holds the root group, the global options and the context that
turns them into clients. `main` is the console-script entry point.
"""

from __future__ import annotations

from ._app import cli
from ._artifact import artifact
from ._auth import login, logout
from ._blob import blob
from ._demo import demo
from ._images import copy, prune, pull, push, referrers
from ._inspect import config, digest, inspect, tag_add
from ._manifest import manifest
from ._repo import repo
from ._serve import serve
from ._sync import sync
from ._tag import tag

__all__ = ["cli", "main"]

for _command in (serve, login, logout, repo, tag, manifest, blob, push, pull, copy, referrers, prune, demo):
    cli.add_command(_command)
for _command in (digest, config, inspect, artifact, sync):
    cli.add_command(_command)
tag.add_command(tag_add)


def main() -> None:
    """Console-script entry point: exit 0 ok, 1 error, 2 usage."""
    cli(prog_name="creg")
