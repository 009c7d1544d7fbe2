"""Names as value types: registry, repository, tag, digest and the reference that combines them.

One parser (`parse_reference`) with the grammar of the OCI Distribution Spec (PROTOCOL.md section 1).
Invalid input raises `InvalidReferenceError` naming the bad part, before any I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..exceptions import InvalidReferenceError
from .scopes import Scope, format_scope

__all__ = [
    "DIGEST_RE",
    "DOCKER_HUB_HOSTS",
    "Digest",
    "REPOSITORY_RE",
    "TAG_RE",
    "Reference",
    "is_docker_hub",
    "parse_reference",
    "validate_digest",
    "validate_repository",
    "validate_tag",
]

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
# Algorithms we know get their exact encoded form; others follow the generic OCI grammar.
DIGEST_RE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_KNOWN_ENCODED = {"sha256": re.compile(r"[a-f0-9]{64}"), "sha512": re.compile(r"[a-f0-9]{128}")}
_HOST_RE = re.compile(
    r"(?:localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*"
    r"|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?"
)
MAX_NAME_LENGTH = 255
#: Docker Hub's names. Its registry API is served at `registry-1.docker.io` (see `_common.normalize_endpoint`),
#: and a one-component repository there is an official image of `library/` (`alpine` = `library/alpine`),
#: as docker, crane and skopeo read it.
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


def is_docker_hub(registry: str) -> bool:
    """True when `registry` (`host[:port]`) names Docker Hub."""
    return isinstance(registry, str) and registry.lower() in DOCKER_HUB_HOSTS


def _show(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def validate_repository(name: str) -> str:
    """Return `name` if it is a valid repository name, else raise `InvalidReferenceError`."""
    # Length first: cheaper than the regex on a huge input, and the more useful message.
    if isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(
            f"invalid repository name {_show(name)}: {len(name)} characters long, the limit is {MAX_NAME_LENGTH}"
        )
    if not isinstance(name, str) or not REPOSITORY_RE.fullmatch(name):
        raise InvalidReferenceError(
            f"invalid repository name {_show(str(name))}: use lowercase letters, digits and "
            "separators (. _ __ -) in components joined by '/'"
        )
    return name


def validate_tag(tag: str) -> str:
    """Return `tag` if it is a valid tag, else raise `InvalidReferenceError`."""
    if not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
        raise InvalidReferenceError(
            f"invalid tag {_show(str(tag))}: 1 to 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'"
        )
    return tag


def validate_digest(digest: str) -> str:
    """Return `digest` if it is a well-formed digest (`sha256:<64 hex>`, `sha512:<128 hex>`), else raise."""
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        raise InvalidReferenceError(f"invalid digest {_show(str(digest))}: expected '<algorithm>:<hex>'")
    algorithm, _, encoded = digest.partition(":")
    pattern = _KNOWN_ENCODED.get(algorithm)
    if pattern is None:
        raise InvalidReferenceError(
            f"invalid digest {_show(digest)}: unsupported algorithm {algorithm!r} (use sha256 or sha512)"
        )
    if not pattern.fullmatch(encoded):
        raise InvalidReferenceError(
            f"invalid digest {_show(digest)}: {algorithm} needs {64 if algorithm == 'sha256' else 128} "
            "lowercase hex characters"
        )
    return digest


@dataclass(frozen=True)
class Digest:
    """A parsed digest, `<algorithm>:<encoded>`: validated once (`Digest.parse`), then passed down as is.

    `str(digest)` is the text form (`sha256:<64 hex>`), for URLs and messages.
    """

    algorithm: str
    encoded: str

    @classmethod
    def parse(cls, text: str | Digest) -> Digest:
        """The digest `text` (a `Digest` is returned as is). Raises `InvalidReferenceError` when malformed."""
        if isinstance(text, Digest):
            return text
        algorithm, _, encoded = validate_digest(text).partition(":")
        return cls(algorithm, encoded)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"


@dataclass(frozen=True)
class Reference:
    """A parsed `registry/repository[:tag][@digest]` reference.

    `registry` is empty when the string had no host part. When both a tag and a digest are given the
    digest identifies the content (`identifier` returns it); the tag is kept for display.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def identifier(self) -> str | None:
        """What to put in `/manifests/<reference>`: the digest if present, else the tag."""
        return self.digest or self.tag

    def scope(self, *actions: str) -> str:
        """The token auth scope for this repository, e.g. `repository:app:pull`."""
        return format_scope(Scope("repository", self.repository, actions or ("pull",)))

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.registry, self.repository, validate_tag(tag), None)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, validate_digest(digest))

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}" if self.registry else self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _looks_like_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def parse_reference(text: str, *, default_registry: str = "") -> Reference:
    """Parse `host[:port]/repo[:tag][@digest]` strictly.

    Args:
        text: the reference. A scheme (`https://`) is not part of a reference and is refused.
        default_registry: registry to use when `text` has no host component.

    On Docker Hub (`docker.io`, `index.docker.io`, or a `default_registry` naming it) a repository of
    one component is an official image: `docker.io/alpine:3` is the repository `library/alpine`.

    Raises:
        InvalidReferenceError: naming the part that is invalid.
    """
    if not isinstance(text, str) or not text:
        raise InvalidReferenceError("empty reference")
    if "://" in text:
        scheme = text.split("://", 1)[0] + "://"
        raise InvalidReferenceError(f"invalid reference {_show(text)}: remove the scheme ({_show(scheme)})")
    if any(ch.isspace() for ch in text):
        raise InvalidReferenceError(f"invalid reference {_show(text)}: contains whitespace")
    remainder, digest = text, None
    if "@" in remainder:
        remainder, _, digest = remainder.partition("@")
        validate_digest(digest)
    registry = ""
    first, sep, rest = remainder.partition("/")
    if sep and _looks_like_host(first):
        if not _HOST_RE.fullmatch(first):
            raise InvalidReferenceError(f"invalid registry host {_show(first)} in {_show(text)}")
        port = first.rpartition("]")[2].partition(":")[2]
        if port and not 0 < int(port) <= 65535:
            raise InvalidReferenceError(f"invalid registry port {port} in {_show(text)}: use 1 to 65535")
        registry, remainder = first, rest
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.find(":", last_slash + 1)
    if colon != -1:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        validate_tag(tag)
    if not remainder:
        raise InvalidReferenceError(f"invalid reference {_show(text)}: missing repository name")
    validate_repository(remainder)
    full = f"{registry}/{remainder}" if registry else remainder
    if len(full) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(
            f"invalid reference {_show(text)}: name is {len(full)} characters, the limit is {MAX_NAME_LENGTH}"
        )
    registry = registry or default_registry
    if is_docker_hub(registry) and "/" not in remainder:
        remainder = f"library/{remainder}"
    return Reference(registry, remainder, tag, digest)
