"""`creg`: every containerregistry operation from a terminal (click + rich).

One module per command group; `_app` holds the root group, the global options and the context that
turns them into clients. `main` is the console-script entry point. Commands are registered by name
(`_COMMANDS`) and their module is imported only when the command runs or shows its own help, so `creg
--help` loads neither the HTTP stack nor rich (see `_lazy`).
"""

from __future__ import annotations

import sys

from ._app import cli

__all__ = ["cli", "main"]

#: Root command -> (its module in this package, the command's attribute, the first paragraph of its help).
_COMMANDS = {
    "artifact": ("_artifact", "artifact", "OCI artifacts (any files), as oras pushes and pulls them."),
    "blob": ("_blob", "blob", "Blobs (layers, configs): upload, download, delete, check."),
    "config": (
        "_inspect",
        "config",
        "Print an image's config blob, exactly as stored (crane config); -o json pretty-prints it.",
    ),
    "copy": (
        "_images",
        "copy",
        "Copy an image between registries, OCI layouts and archives (digests preserved; same-registry blobs"
        " are mounted).",
    ),
    "demo": (
        "_demo",
        "demo",
        "Walk through the seed's scenarios: push, list, lock, order, prune, pull and verify.",
    ),
    "digest": (
        "_inspect",
        "digest",
        "Print the digest of the manifest REFERENCE names (crane digest, oras resolve).",
    ),
    "inspect": (
        "_inspect",
        "inspect",
        "Summarize an image or index: media type, digest, platforms, created, layers, labels (skopeo inspect).",
    ),
    "login": ("_auth", "login", "Verify credentials against REGISTRY, then store them in the docker config."),
    "logout": (
        "_auth",
        "logout",
        "Remove REGISTRY's credentials from the docker config (other entries are kept).",
    ),
    "manifest": ("_manifest", "manifest", "Manifests: list, fetch, upload, lock, delete."),
    "prune": (
        "_images",
        "prune",
        "Delete a repository's manifests beyond the newest --keep (by last update), skipping locked ones.",
    ),
    "pull": (
        "_images",
        "pull",
        "Pull the image REFERENCE into an OCI layout directory (oci:DIR[:tag]) or an archive; digests are"
        " verified.",
    ),
    "push": (
        "_images",
        "push",
        "Push an image from an OCI layout (oci:DIR[:tag]) or an archive to REFERENCE in a registry.",
    ),
    "referrers": (
        "_images",
        "referrers",
        "List the manifests that refer to an image (signatures, SBOMs, attestations).",
    ),
    "repo": ("_repo", "repo", "Repositories: list, show, lock, delete."),
    "serve": ("_serve", "serve", "Run the local registry emulator until interrupted (Ctrl-C)."),
    "sync": (
        "_sync",
        "sync",
        "Mirror repositories as a config file says (skopeo sync, regsync): incremental, concurrent, resumable.",
    ),
    "tag": ("_tag", "tag", "Tags: list, show, lock, delete."),
}

for _name, (_module, _attribute, _summary) in _COMMANDS.items():
    cli.add_lazy_command(_name, f"{__name__}.{_module}:{_attribute}", _summary)


def main() -> None:
    """Console-script entry point: exit 0 ok, 1 error, 2 usage."""
    # httpx imports its own command line (`httpx._main`: click, rich.progress, rich.syntax, pygments)
    # whenever click and rich are installed, as they are with creg, which never runs it. A None entry in
    # sys.modules makes that one import fail, and httpx then defines a stub `httpx.main`: every creg
    # command that talks to a registry starts faster. Only here, in creg's own process (not on import,
    # so a program that imports the CLI keeps httpx as it is).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    cli(prog_name="creg")
