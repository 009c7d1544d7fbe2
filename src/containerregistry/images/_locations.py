"""Where images are: `RegistryLocation` (a `Reference` and the scheme to reach its registry), `LayoutLocation`
(an OCI layout directory) and their parser, `parse_image_location` (no I/O).

Its own module, and a small one, because the CLI resolves every reference it is given to a
`RegistryLocation` (`creg tag ls` among them): importing it costs the name grammar of `protocol/` and
two small dataclasses, not the results and progress types of `_models.py`, which re-exports these names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._common import normalize_endpoint
from ..exceptions import InvalidReferenceError
from ..protocol.reference import Reference, parse_reference

__all__ = [
    "ImageLocation",
    "LayoutLocation",
    "RegistryLocation",
    "as_location",
    "parse_image_location",
    "validate_ref_name",
]

#: `org.opencontainers.image.ref.name` grammar (OCI image layout spec): components of alphanumerics
#: joined by separators, components joined by "/".
_REF_NAME_RE = re.compile(
    r"[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*"
)


def validate_ref_name(name: str) -> str:
    """Return `name` if it is a valid OCI layout reference name (`ref.name` annotation), else raise."""
    if not isinstance(name, str) or len(name) > 255 or not _REF_NAME_RE.fullmatch(name):
        raise InvalidReferenceError(
            f"invalid OCI layout reference name {name!r}: use letters, digits and separators (- . _ : @ +)"
        )
    return name


@dataclass(frozen=True)
class RegistryLocation:
    """An image in a registry: `host[:port]/repository[:tag][@digest]`.

    A thin wrapper of the one name value, `Reference`, that adds only what a name cannot say: how to
    reach its registry (`scheme`). The CLI's references and the image functions' locations are both this.

    Attributes:
        reference: the parsed reference.
        scheme: `http` or `https` when the text named one (`http://127.0.0.1:5000/app:1`), else None:
            https, falling back to http for a loopback host (or any host with `insecure=True`) when https
            gets no answer.
    """

    reference: Reference
    scheme: str | None = None

    @property
    def registry(self) -> str:
        """`host[:port]`."""
        return self.reference.registry

    @property
    def repository(self) -> str:
        return self.reference.repository

    @property
    def tag(self) -> str | None:
        return self.reference.tag

    @property
    def digest(self) -> str | None:
        return self.reference.digest

    @property
    def identifier(self) -> str | None:
        """What to put in `/manifests/<reference>`: the digest if present, else the tag."""
        return self.reference.identifier

    def scope(self, *actions: str) -> str:
        """The token auth scope of this repository (see `Reference.scope`)."""
        return self.reference.scope(*actions)

    @property
    def client_endpoint(self) -> str:
        """The endpoint a client of this location is given: `scheme://host[:port]` when the text named a
        scheme, else `host[:port]`, which the client probes (https, then http for loopback/insecure)."""
        return f"{self.scheme}://{self.registry}" if self.scheme else self.registry

    @property
    def endpoint(self) -> str:
        """`https://host[:port]` (http when the text said `http://`; for a scheme-less loopback host, http
        here, while the clients probe https first, then http)."""
        if self.scheme:
            return normalize_endpoint(f"{self.scheme}://{self.registry}")
        return normalize_endpoint(self.registry)

    def __str__(self) -> str:
        return str(self.reference)


@dataclass(frozen=True)
class LayoutLocation:
    """An image in an OCI image layout directory: `oci:DIR[:tag]` (skopeo's syntax).

    Attributes:
        path: the layout directory.
        tag: the `org.opencontainers.image.ref.name` of the image in `index.json`, or None.
    """

    path: str
    tag: str | None = None

    def __str__(self) -> str:
        return f"oci:{self.path}:{self.tag}" if self.tag else f"oci:{self.path}"


ImageLocation = RegistryLocation | LayoutLocation


def parse_image_location(text: str, *, default_registry: str = "") -> ImageLocation:
    """Parse where an image is: a registry reference or an OCI layout directory.

    Accepted forms:

    - `host[:port]/repository[:tag][@digest]` (the OCI reference grammar); `docker://` (skopeo's
      transport name), `https://` or `http://` may precede it; the scheme, if given, is the one used.
    - `oci:DIR[:tag]`: an OCI image layout directory and optionally the `ref.name` of the image in
      it. As in skopeo, the first `:` after `oci:` separates the directory from the name, so a
      directory name cannot contain `:`.

    Args:
        text: the location.
        default_registry: registry host for a reference written without one (`app:1`).

    Raises:
        InvalidReferenceError: malformed text, or a registry reference without a registry host.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidReferenceError("empty image location")
    if text.startswith("oci:"):
        rest = text[len("oci:") :]
        path, sep, tag = rest.partition(":")
        if not path:
            raise InvalidReferenceError(f"invalid OCI layout location {text!r}: expected oci:DIR[:tag]")
        if sep:
            validate_ref_name(tag)
        return LayoutLocation(path=path, tag=tag if sep else None)
    scheme = None
    for prefix in ("docker://", "https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            scheme = None if prefix == "docker://" else prefix[:-3]
            break
    reference = parse_reference(text, default_registry=default_registry)
    if not reference.registry:
        raise InvalidReferenceError(
            f"image reference {text!r} names no registry: write host[:port]/{reference.repository}"
        )
    return RegistryLocation(reference=reference, scheme=scheme)


def as_location(value: str | ImageLocation, *, default_registry: str = "") -> ImageLocation:
    """A location from text (see `parse_image_location`) or an already parsed location."""
    if isinstance(value, (RegistryLocation, LayoutLocation)):
        return value
    return parse_image_location(value, default_registry=default_registry)
