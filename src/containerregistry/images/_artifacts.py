"""OCI artifacts as oras users know them, the pure half: file specs, safe titles, the manifest.

An artifact is an OCI image manifest whose config is the OCI 1.1 empty descriptor
(`application/vnd.oci.empty.v1+json`, `{}`), whose `artifactType` says what it is, and whose layers
are files named by the `org.opencontainers.image.title` annotation. `safe_target` decides where a
title may be written when pulling: never outside the chosen directory (absolute paths, `..`, and
symlinks on the way are refused). The network half lives in `images/_async/_artifacts_oras.py`.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import RegistryError
from ..protocol import media_types
from ..protocol.models import OciAnnotations, OciDescriptor, OciImageManifest

__all__ = [
    "ANNOTATION_TITLE",
    "DEFAULT_ARTIFACT_TYPE",
    "DEFAULT_FILE_MEDIA_TYPE",
    "ArtifactFile",
    "ArtifactPathError",
    "PullArtifactResult",
    "PulledFile",
    "PushArtifactResult",
    "ReferrerNode",
    "artifact_manifest",
    "parse_file_spec",
    "safe_target",
]

#: The annotation that names a layer's file (`oras push` sets it; `oras pull` writes files by it).
ANNOTATION_TITLE = "org.opencontainers.image.title"
#: What oras calls an artifact pushed without `--artifact-type`.
DEFAULT_ARTIFACT_TYPE = "application/vnd.unknown.artifact.v1"
#: The media type of a file pushed without one (as `oras push` does).
DEFAULT_FILE_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar"

_MEDIA_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")


class ArtifactPathError(RegistryError, ValueError):
    """A file title that would be written outside the destination directory, or a bad file spec."""


@dataclass(frozen=True)
class ArtifactFile:
    """A file to push as one layer: its path, media type and title (default: its base name)."""

    path: str
    media_type: str = DEFAULT_FILE_MEDIA_TYPE
    title: str | None = None

    @property
    def name(self) -> str:
        return self.title or os.path.basename(os.path.normpath(self.path))


@dataclass(frozen=True)
class PushArtifactResult:
    """The outcome of `push_artifact` / `attach_artifact`."""

    digest: str
    repository: str
    tag: str | None
    artifact_type: str
    files: list[OciDescriptor] = field(default_factory=list)
    subject: str | None = None


@dataclass(frozen=True)
class PulledFile:
    """A file written by `pull_artifact`: where, and the verified digest and size."""

    path: str
    title: str
    digest: str
    size: int


@dataclass(frozen=True)
class PullArtifactResult:
    """The outcome of `pull_artifact`; `skipped` are the digests of layers without a title."""

    digest: str
    artifact_type: str | None
    files: list[PulledFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class ReferrerNode:
    """One manifest in a referrers tree: its descriptor's fields and the manifests that refer to it."""

    digest: str
    media_type: str
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    referrers: list[ReferrerNode] = field(default_factory=list)


def parse_file_spec(text: str) -> ArtifactFile:
    """`FILE` or `FILE:MEDIATYPE` (as `oras push` takes them); an existing path wins over a split.

    Raises:
        ArtifactPathError: the file does not exist, is not a regular file, or the media type is malformed.
    """
    path, media_type = text, DEFAULT_FILE_MEDIA_TYPE
    if not os.path.exists(text) and ":" in text:
        head, _, tail = text.rpartition(":")
        if not _MEDIA_TYPE_RE.match(tail):
            raise ArtifactPathError(f"{text!r}: {tail!r} is not a media type (type/subtype)")
        path, media_type = head, tail
    if not os.path.isfile(path):
        raise ArtifactPathError(f"{path!r}: no such file")
    return ArtifactFile(path=path, media_type=media_type)


def check_files(files: Sequence[ArtifactFile]) -> None:
    """Every file has a usable title and no two share one."""
    if not files:
        raise ArtifactPathError("give at least one file")
    seen: set[str] = set()
    for file in files:
        check_title(file.name)
        if file.name in seen:
            raise ArtifactPathError(f"two files are titled {file.name!r}: a pull could write only one")
        seen.add(file.name)


def check_title(title: str) -> str:
    """`title` as a relative POSIX path inside the destination, or `ArtifactPathError`."""
    if not title or "\x00" in title:
        raise ArtifactPathError(f"file title {title!r} is empty or holds a NUL byte")
    if "\\" in title or posixpath.isabs(title) or re.match(r"^[A-Za-z]:", title):
        raise ArtifactPathError(f"file title {title!r} is an absolute path: refused")
    parts = title.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ArtifactPathError(
            f"file title {title!r} is not a plain relative path (empty, '.' or '..' parts)"
        )
    return title


def safe_target(directory: str | os.PathLike[str], title: str) -> Path:
    """Where `title` goes under `directory`, after checking it cannot land outside it.

    Refused: absolute titles, `..` or empty parts, and any existing symlink on the way (the
    directories between `directory` and the file, or the file itself).

    Raises:
        ArtifactPathError: the title is unsafe.
    """
    check_title(title)
    root = Path(directory)
    current = root
    for part in title.split("/"):
        current = current / part
        if current.is_symlink():
            raise ArtifactPathError(f"file title {title!r}: {current} is a symlink: refused")
        if current.exists() and current != root / title and not current.is_dir():
            raise ArtifactPathError(f"file title {title!r}: {current} is not a directory")
    real_root = os.path.realpath(root)
    real_parent = os.path.realpath(current.parent)
    if os.path.commonpath([real_root, real_parent]) != real_root:
        raise ArtifactPathError(f"file title {title!r} resolves outside {root}: refused")
    if current.exists() and not current.is_file():
        raise ArtifactPathError(f"file title {title!r}: {current} exists and is not a regular file")
    return current


def artifact_manifest(
    layers: Sequence[OciDescriptor],
    *,
    artifact_type: str,
    annotations: Mapping[str, str] | None = None,
    subject: OciDescriptor | None = None,
) -> OciImageManifest:
    """An OCI 1.1 artifact manifest: the empty config, `artifactType`, the layers, maybe a subject."""
    empty = OciDescriptor(
        media_type=media_types.OCI_EMPTY,
        digest=media_types.OCI_EMPTY_DIGEST,
        size=len(media_types.OCI_EMPTY_DATA),
    )
    return OciImageManifest(
        config=empty,
        layers=list(layers),
        media_type=media_types.OCI_MANIFEST,
        artifact_type=artifact_type,
        subject=subject,
        annotations=OciAnnotations(annotations) if annotations else None,
    )


def title_of(layer: OciDescriptor) -> str | None:
    """A layer's `org.opencontainers.image.title`, if it has one."""
    return layer.annotations.get(ANNOTATION_TITLE) if layer.annotations else None
