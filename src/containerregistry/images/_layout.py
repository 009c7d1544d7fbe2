"""OCI image layout directories: `oci-layout`, `index.json` and `blobs/<alg>/<hex>` (read and write).

Safety rules, because a layout (or the registry we pull into one) may be hostile:

- A blob path is formed only from a digest that passed `validate_digest` (strict `sha256:<64 hex>` or
  `sha512:<128 hex>`), so it can never contain `/` or `..`; annotations are never used as paths.
- Nothing is written through a symlink: when a layout is opened for writing, `oci-layout`,
  `index.json`, `blobs/` and `blobs/<alg>/` must not be symlinks (nor a blob file when it is checked or
  written), so a layout planted with links to elsewhere is refused (`ImageLayoutError`) before anything
  is created or changed outside it. Directories are created one level at a time and re-checked; a
  blob directory found safe is remembered by its `OciLayout` (a pull writes dozens of blobs into it:
  each then costs one lstat of its own path, not a dozen of the path's every component).
- Blobs are written to a partial file of their own in their final directory (`_files.open_partial`:
  exclusive, never through a link), verified against their digest and size, fsynced and renamed;
  `index.json` is written the same way (`_files.write_atomic`), and callers write it last, after every
  blob it points to.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from .._common import MAX_MANIFEST_SIZE
from .._files import commit_partial, discard_partial, open_partial, unique_partial, write_atomic
from ..exceptions import DigestValidationError, ImageLayoutError, InvalidReferenceError
from ..protocol import media_types
from ..protocol.digest import Hasher, new_hasher
from ..protocol.models import ManifestFormatError, OciAnnotations, OciDescriptor, OciImageIndex
from ..protocol.reference import validate_digest

__all__ = ["REF_NAME", "ImageLayoutError", "LayoutBlobWriter", "OciLayout"]

REF_NAME = "org.opencontainers.image.ref.name"
_LAYOUT_FILE = "oci-layout"
_LAYOUT_VERSION = "1.0.0"
_INDEX_FILE = "index.json"
_COPY_CHUNK = 1 << 20
_BLOBS_DIR = "blobs"
_ALGORITHMS = ("sha256", "sha512")


class LayoutBlobWriter:
    """Writes one blob to a temporary file in the layout; `commit()` verifies and renames it into place."""

    def __init__(self, directory: Path, final: Path, digest: str, size: int | None) -> None:
        self._final = final
        self._digest = digest
        self._size = size
        self._hasher: Hasher = new_hasher(digest)
        self._partial = unique_partial(directory / final.name)
        self._file: BinaryIO = open_partial(self._partial)

    @property
    def bytes_written(self) -> int:
        return self._hasher.size

    def write(self, chunk: bytes) -> None:
        self._hasher.update(chunk)
        if self._size is not None and self._hasher.size > self._size:
            raise DigestValidationError(
                f"blob {self._digest} is larger than the {self._size} bytes its descriptor says",
                expected=self._digest,
            )
        self._file.write(chunk)

    @property
    def file(self) -> BinaryIO:
        """The temporary file, open for reading and writing at its start: a destination for
        `download_blob_to(digest, writer.file)` (ranges on several connections), then `commit_downloaded`."""
        return self._file

    def commit_downloaded(self, size: int) -> None:
        """Rename into place what `download_blob_to` wrote to `file` (it verified the digest).

        Raises:
            DigestValidationError: `size` is not the descriptor's (the temporary file is removed).
        """
        try:
            if self._size is not None and size != self._size:
                raise DigestValidationError(
                    f"blob {self._digest} is {size} bytes, its descriptor says {self._size}",
                    expected=self._digest,
                )
            # download_blob_to to a file object does not fsync: commit_partial does, then renames.
            commit_partial(self._file, self._partial, str(self._final))
        except BaseException:
            self.discard()
            raise

    def commit(self) -> None:
        """Verify digest and size, fsync, and rename into place.

        Raises:
            DigestValidationError: the bytes do not match (the temporary file is removed).
        """
        try:
            self._hasher.verify(self._digest, what=f"blob {self._digest}")
            if self._size is not None and self._hasher.size != self._size:
                raise DigestValidationError(
                    f"blob {self._digest} is {self._hasher.size} bytes, its descriptor says {self._size}",
                    expected=self._digest,
                )
            commit_partial(self._file, self._partial, str(self._final))
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Remove the temporary file (safe to call twice)."""
        discard_partial(self._file, self._partial)

    def __enter__(self) -> LayoutBlobWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.discard()


class OciLayout:
    """An OCI image layout directory.

    Args:
        root: the directory.
        create: create it (and `oci-layout`) when missing; else it must already be a layout.

    Raises:
        ImageLayoutError: not a layout (no `oci-layout` file or an unsupported version).
    """

    def __init__(self, root: str | os.PathLike[str], *, create: bool = False) -> None:
        self.root = Path(root)
        #: Blob directories `blob_writer` created or checked (not links, inside the layout).
        self._safe_dirs: set[Path] = set()
        marker = self.root / _LAYOUT_FILE
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
            self._check_writable()
            if not marker.exists():
                write_atomic(marker, json.dumps({"imageLayoutVersion": _LAYOUT_VERSION}).encode())
        if not self.root.is_dir():
            raise ImageLayoutError(f"oci:{root}: no such directory")
        try:
            layout = json.loads(marker.read_bytes())
        except FileNotFoundError:
            raise ImageLayoutError(
                f"oci:{root} is not an OCI image layout: it has no oci-layout file"
            ) from None
        except (OSError, ValueError) as exc:
            raise ImageLayoutError(f"oci:{root}: unreadable oci-layout file: {exc}") from exc
        if not isinstance(layout, dict) or layout.get("imageLayoutVersion") != _LAYOUT_VERSION:
            raise ImageLayoutError(f"oci:{root}: unsupported oci-layout (expected imageLayoutVersion 1.0.0)")

    def __repr__(self) -> str:
        return f"<OciLayout {str(self.root)!r}>"

    # -- no writing through links ------------------------------------------------------------------

    def _refuse_link(self, path: Path, *, directory: bool = False) -> bool:
        """Raise when `path` is a symlink (or, for a directory, not a directory); True when it exists."""
        return self._checked_stat(path, directory=directory) is not None

    def _checked_stat(self, path: Path, *, directory: bool = False) -> os.stat_result | None:
        """`_refuse_link`, giving the lstat result (None: no such path)."""
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return None
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            raise ImageLayoutError(
                f"oci:{self.root}: {path} is a symbolic link; refusing to write through it "
                "(it could point outside the layout)"
            )
        if directory and not stat.S_ISDIR(mode):
            raise ImageLayoutError(f"oci:{self.root}: {path} is not a directory")
        if not directory and not stat.S_ISREG(mode):
            raise ImageLayoutError(f"oci:{self.root}: {path} is not a regular file")
        return info

    def _check_writable(self) -> None:
        """Refuse a layout whose fixed paths are symlinks (see the module docstring)."""
        self._refuse_link(self.root / _LAYOUT_FILE)
        self._refuse_link(self.root / _INDEX_FILE)
        if self._refuse_link(self.root / _BLOBS_DIR, directory=True):
            for algorithm in _ALGORITHMS:
                self._refuse_link(self.root / _BLOBS_DIR / algorithm, directory=True)

    def _make_dir(self, path: Path) -> None:
        """Create `path` (one level) unless it exists; never through or as a symlink."""
        if self._refuse_link(path, directory=True):
            return
        try:
            path.mkdir()
        except FileExistsError:
            pass
        self._refuse_link(path, directory=True)

    # -- blobs ----------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        """`blobs/<alg>/<hex>` for a validated digest.

        Raises:
            ImageLayoutError: the digest is malformed (never turned into a path).
        """
        try:
            validate_digest(digest)
        except InvalidReferenceError as exc:
            raise ImageLayoutError(f"oci:{self.root}: refusing blob path for {exc}") from exc
        algorithm, _, encoded = digest.partition(":")
        return self.root / "blobs" / algorithm / encoded

    def has_blob(self, digest: str, size: int | None = None) -> bool:
        """True when the blob file exists (with the given size, if any). The content is not re-hashed.

        Raises:
            ImageLayoutError: the blob file is a symlink or not a regular file (a layout being written
                must not hold links to content elsewhere).
        """
        info = self._checked_stat(self.blob_path(digest))
        if info is None:
            return False
        return size is None or info.st_size == size

    def open_blob(self, digest: str) -> BinaryIO:
        """Open a blob for reading (the caller verifies what it reads).

        Raises:
            ImageLayoutError: the blob is missing.
        """
        path = self.blob_path(digest)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise ImageLayoutError(f"oci:{self.root}: blob {digest} is missing") from None

    def read_blob(self, digest: str, *, size: int | None = None, max_size: int = MAX_MANIFEST_SIZE) -> bytes:
        """Read a small blob (a manifest or config) into memory and verify digest and size.

        Raises:
            ImageLayoutError: missing or larger than `max_size`.
            DigestValidationError: the content does not match.
        """
        with self.open_blob(digest) as file:
            content = file.read(max_size + 1)
        if len(content) > max_size:
            raise ImageLayoutError(f"oci:{self.root}: blob {digest} is larger than {max_size} bytes")
        hasher = new_hasher(digest)
        hasher.update(content)
        hasher.verify(digest, what=f"oci:{self.root} blob {digest}")
        if size is not None and len(content) != size:
            raise DigestValidationError(
                f"oci:{self.root} blob {digest} is {len(content)} bytes, its descriptor says {size}",
                expected=digest,
            )
        return content

    def blob_writer(self, digest: str, size: int | None = None) -> LayoutBlobWriter:
        """Start writing a blob; use as a context manager and call `commit()` when all bytes are in."""
        final = self.blob_path(digest)
        directory = final.parent
        if directory not in self._safe_dirs:
            self._make_dir(directory.parent)
            self._make_dir(directory)
            root = self.root.resolve()
            resolved = directory.resolve()
            if resolved != root and root not in resolved.parents:
                raise ImageLayoutError(
                    f"oci:{self.root}: {directory} resolves outside the layout; refusing to write"
                )
            self._safe_dirs.add(directory)
        self._refuse_link(final)
        return LayoutBlobWriter(directory, final, digest, size)

    def write_blob(self, digest: str, content: bytes) -> None:
        """Write a blob held in memory (verified before it is renamed into place)."""
        with self.blob_writer(digest, len(content)) as writer:
            writer.write(content)
            writer.commit()

    def copy_blob_from(
        self,
        other: OciLayout,
        descriptor: OciDescriptor,
        progress: Callable[[int, int | None], Any] | None = None,
    ) -> None:
        """Copy a blob from another layout, verifying it on the way."""
        with (
            other.open_blob(descriptor.digest) as source,
            self.blob_writer(descriptor.digest, descriptor.size) as out,
        ):
            while chunk := source.read(_COPY_CHUNK):
                out.write(chunk)
                if progress is not None:
                    progress(out.bytes_written, descriptor.size)
            out.commit()

    # -- index.json -----------------------------------------------------------------------------

    def read_index(self) -> OciImageIndex:
        """Parse `index.json` (an empty index when there is none).

        Raises:
            ImageLayoutError: malformed, e.g. an entry with an invalid digest such as `sha256:../../x`.
        """
        path = self.root / _INDEX_FILE
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            return OciImageIndex(manifests=[])
        if len(content) > MAX_MANIFEST_SIZE * 4:
            raise ImageLayoutError(
                f"oci:{self.root}: index.json is larger than {MAX_MANIFEST_SIZE * 4} bytes"
            )
        try:
            return OciImageIndex.from_bytes(content)
        except ManifestFormatError as exc:
            raise ImageLayoutError(f"oci:{self.root}: invalid index.json: {exc}") from exc

    def ref_names(self) -> list[str]:
        """The `ref.name` annotations of the entries of `index.json`."""
        return [
            d.annotations[REF_NAME]
            for d in self.read_index().manifests
            if d.annotations and REF_NAME in d.annotations
        ]

    def resolve(self, ref_name: str | None) -> OciDescriptor:
        """The `index.json` entry named `ref_name`; without a name, the only entry.

        Raises:
            ImageLayoutError: no such entry, or no name given and the layout holds several images.
        """
        entries = self.read_index().manifests
        if ref_name is None:
            if len(entries) == 1:
                return entries[0]
            names = ", ".join(self.ref_names()) or "none"
            raise ImageLayoutError(
                f"oci:{self.root} holds {len(entries)} images: name one as oci:{self.root}:NAME (names: {names})"
            )
        matches = [d for d in entries if d.annotations and d.annotations.get(REF_NAME) == ref_name]
        if not matches:
            names = ", ".join(self.ref_names()) or "none"
            raise ImageLayoutError(f"oci:{self.root} has no image named {ref_name!r} (names: {names})")
        return matches[-1]

    def add_to_index(self, entries: Iterable[tuple[OciDescriptor, str | None]]) -> None:
        """Add manifests to `index.json`, atomically (temp file + rename).

        An entry with a ref name replaces any entry with the same ref name; an entry without one is
        added unless the same digest is already listed without a name.
        """
        self._refuse_link(self.root / _INDEX_FILE)
        index = self.read_index()
        manifests = list(index.manifests)
        for descriptor, ref_name in entries:
            entry = OciDescriptor(
                media_type=descriptor.media_type,
                digest=descriptor.digest,
                size=descriptor.size,
                artifact_type=descriptor.artifact_type,
                platform=descriptor.platform,
            )
            if ref_name is not None:
                entry.annotations = OciAnnotations({REF_NAME: ref_name})
                manifests = [
                    m for m in manifests if not (m.annotations and m.annotations.get(REF_NAME) == ref_name)
                ]
            elif any(
                m.digest == entry.digest and not (m.annotations and REF_NAME in m.annotations)
                for m in manifests
            ):
                continue
            manifests.append(entry)
        index.manifests = manifests
        if index.media_type is None and not (self.root / _INDEX_FILE).exists():
            index.media_type = media_types.OCI_INDEX
        write_atomic(self.root / _INDEX_FILE, index.to_bytes())
