"""Where `push`, `pull` and `copy` read and write: image locations given on the command line.

`image_location` parses a location relative to `--registry` and refuses what would surprise: a `pull`
destination that is a registry repository (`creg pull app:1 out3` must not copy into repository `out3`),
an argument that looks like a path or an archive file but has no transport (`./x`, `x.tar`: a hint
names the transport), and transports creg does not know (`dir:`, `containers-storage:`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import click

from ..images import ImageLocation, RegistryLocation, parse_image_location
from ..images._archive import is_archive_location, parse_archive_location
from ._app import AppContext

__all__ = ["image_location"]

#: Transports of skopeo/podman (`containers-transports(5)`) that a reference could be mistaken for.
_OTHER_TRANSPORTS = (
    "containers-storage",
    "dir",
    "docker-archive",
    "docker-daemon",
    "oci-archive",
    "ostree",
    "sif",
    "tarball",
)
_PREFIX_RE = re.compile(r"^([a-z][a-z0-9-]*):(?!//)")
_ARCHIVE_RE = re.compile(r"\.(tar|tar\.gz|tgz|tar\.zst)$", re.IGNORECASE)


def _supported(text: str) -> bool:
    """Whether `text` parses as a local (non-registry) location in this version of creg."""
    if is_archive_location(text):
        try:
            parse_archive_location(text)
        except ValueError:
            return False
        return True
    try:
        return not isinstance(parse_image_location(text, default_registry="localhost"), RegistryLocation)
    except ValueError:
        return False


def _looks_local(text: str) -> bool:
    if text.startswith(("./", "../", "/", "~")) or text in (".", ".."):
        return True
    return "/" not in text and bool(_ARCHIVE_RE.search(text))


def _hint(text: str) -> str:
    """`did you mean oci:./x or docker-archive:x.tar?`, naming only transports this creg reads."""
    path = text if text.startswith(("./", "../", "/", "~")) else f"./{text}"
    if _ARCHIVE_RE.search(text):
        options = [f"{t}:{text}" for t in ("docker-archive", "oci-archive") if _supported(f"{t}:{text}")]
        if not options:
            return (
                f"an archive is not an image location in this version of creg: unpack it, then use oci:{path}"
            )
    else:
        options = [f"oci:{path}"]
        archive = f"{text.rstrip('/')}.tar"
        if _supported(f"docker-archive:{archive}"):
            options.append(f"docker-archive:{archive}")
    return "did you mean " + " or ".join(options) + "?"


def image_location(app: AppContext, text: str, *, role: str = "", local_only: bool = False) -> ImageLocation:
    """`oci:DIR[:tag]`, or a reference relative to `--registry` (whose scheme it then keeps).

    Args:
        app: the `AppContext` (its `--registry`).
        role: `source` or `destination`, for messages.
        local_only: refuse registry references (the destination of `pull`).

    Raises:
        click.BadParameter: malformed, an unknown transport, a path without a transport, or a registry
            reference where only a local location is taken.
    """
    what = f"{role} {text!r}" if role else repr(text)
    prefix = _PREFIX_RE.match(text)
    if prefix and prefix.group(1) in _OTHER_TRANSPORTS and not _supported(text):
        raise click.BadParameter(
            f"{what}: creg does not read or write the {prefix.group(1)}: transport; it takes registry"
            " references and oci:DIR[:tag]"
        )
    if prefix and text[prefix.end() :].startswith(("./", "../", "/", "~")) and not _supported(text):
        raise click.BadParameter(
            f"{what}: unknown transport {prefix.group(1)}:; creg takes registry references and oci:DIR[:tag]"
        )
    try:
        location = parse_image_location(text, default_registry=app.login_server)
    except ValueError as exc:
        if _looks_local(text):
            raise click.BadParameter(f"{what} is not an image location: {_hint(text)}") from exc
        raise click.BadParameter(str(exc)) from exc
    if isinstance(location, RegistryLocation):
        if local_only:
            raise click.BadParameter(
                f"{what} is a registry reference, but pull writes to a local directory: {_hint(text)}"
                " (to copy between registries, use creg copy)"
            )
        if _looks_local(text):
            raise click.BadParameter(
                f"{what} looks like a file or directory, not a registry reference: {_hint(text)}"
            )
        endpoint = app.endpoint
        # `-r http://myhost:5000` and `app:1` must talk http to myhost, as every other command does.
        if location.scheme is None and location.registry == app.login_server and "://" in endpoint:
            location = RegistryLocation(location.reference, scheme=urlsplit(endpoint).scheme)
    return location
