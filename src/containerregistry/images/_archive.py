"""Image archives, the file half: `oci-archive:FILE[:tag]` (a tar of an OCI layout) and
`docker-archive:FILE[:ref]` (what `docker save` writes), read and written as tar streams.

Reading never extracts the archive: members are read in place (`ArchiveReader.open_member`), so a
blob goes from the tar straight into an upload; a gzip-compressed archive (found by its magic bytes) is
checked whole in a first pass and its blobs streamed in a second (`ArchiveReader.stream`). Writing streams each blob into the tar as it
downloads (`ArchiveWriter.blob`: header, bytes, padding) into `FILE.partial`, renamed over FILE only
when everything arrived and matched its digest. The engine is `images/_async/_archives.py` and `_archive_stores.py`.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

from .._files import commit_partial, discard_partial, open_partial
from ..exceptions import DigestValidationError, RegistryError, UnsafePathError
from ..protocol.digest import Hasher

__all__ = [
    "ArchiveError",
    "ArchiveLocation",
    "ArchiveReader",
    "ArchiveWriter",
    "is_archive_location",
    "parse_archive_location",
]

OCI_ARCHIVE = "oci-archive"
DOCKER_ARCHIVE = "docker-archive"
_BLOCK = 512


class ArchiveError(RegistryError, ValueError):
    """An archive that cannot be read (missing member, malformed JSON, no such image) or written."""


@dataclass(frozen=True)
class ArchiveLocation:
    """`oci-archive:FILE[:tag]` or `docker-archive:FILE[:ref]`.

    Attributes:
        kind: `oci-archive` or `docker-archive`.
        path: the tar file.
        name: the tag (oci-archive: the `org.opencontainers.image.ref.name`) or the reference
            (docker-archive: one of `RepoTags`, e.g. `app:1.0`), or None for the only image.
    """

    kind: str
    path: str
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}" + (f":{self.name}" if self.name else "")


def is_archive_location(text: Any) -> bool:
    return isinstance(text, (str, ArchiveLocation)) and (
        isinstance(text, ArchiveLocation) or text.startswith((f"{OCI_ARCHIVE}:", f"{DOCKER_ARCHIVE}:"))
    )


def parse_archive_location(text: str | ArchiveLocation) -> ArchiveLocation:
    """Parse `oci-archive:FILE[:tag]` / `docker-archive:FILE[:ref]` (the first `:` after FILE splits).

    Raises:
        ArchiveError: another form, or no FILE.
    """
    if isinstance(text, ArchiveLocation):
        return text
    kind, _, rest = text.partition(":")
    if kind not in (OCI_ARCHIVE, DOCKER_ARCHIVE):
        raise ArchiveError(
            f"{text!r} is not an archive location (oci-archive:FILE[:tag] or docker-archive:FILE[:ref])"
        )
    path, sep, name = rest.partition(":")
    if not path:
        raise ArchiveError(
            f"{text!r}: name the archive file ({kind}:FILE[:{'tag' if kind == OCI_ARCHIVE else 'ref'}])"
        )
    if sep and not name:
        raise ArchiveError(f"{text!r}: empty name after ':'")
    return ArchiveLocation(kind=kind, path=path, name=name if sep else None)


def _member_name(name: str) -> str:
    name = name.lstrip("./") if name.startswith("./") else name
    return name


class _Section(io.RawIOBase):
    """A read-only, seekable window of `size` bytes at `offset` of a file (one tar member)."""

    def __init__(self, file: BinaryIO, offset: int, size: int) -> None:
        self._file, self._offset, self._size, self._pos = file, offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, min(self._size, base + pos))
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        self._file.seek(self._offset + self._pos)
        data = self._file.read(want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: A compressed archive keeps members up to this size in memory from its first pass (manifests, configs,
#: index.json), within `_CACHE_TOTAL` in all; larger members are only streamed.
_CACHE_MEMBER = 4 * 1024 * 1024
_CACHE_TOTAL = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


class _Unseekable(io.RawIOBase):
    """A member of a compressed archive, read once front to back (an upload of it cannot rewind)."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class ArchiveReader:
    """An image archive opened for reading: its member index, and members read in place.

    A plain tar (what docker save and skopeo write) is read in place: each member is a seekable window
    of the file, several can be read at once. A gzip-compressed one (`docker save | gzip`, detected by
    its magic bytes, whatever its name) cannot be read at an offset: a first pass reads it whole,
    noting every member's size and digest and keeping the small ones (manifests, configs) in memory,
    so a corrupt or truncated file is refused before anything is written anywhere; blobs are then
    read by `stream`, in one second pass in archive order (`sequential` is True).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._digests: dict[str, tuple[str, int]] = {}
        self._heads: dict[str, bytes] = {}
        self._cache: dict[str, bytes] = {}
        try:
            with open(self.path, "rb") as file:
                magic = file.read(4)
        except OSError as exc:
            raise ArchiveError(f"{self.path}: not a readable tar archive: {exc}") from exc
        if magic == _ZSTD_MAGIC:
            raise ArchiveError(
                f"{self.path} is zstd-compressed, which creg does not read: decompress it (zstd -d) first"
            )
        self.sequential = magic[:2] == _GZIP_MAGIC
        self.compression = "gzip" if self.sequential else None
        if self.sequential:
            self._members = self._first_pass()
            return
        try:
            with tarfile.open(self.path, mode="r:") as tar:  # plain tar: what docker save and skopeo write
                self._members = {
                    _member_name(m.name): m for m in tar.getmembers() if m.isfile() or m.issym() or m.islnk()
                }
        except (tarfile.TarError, OSError) as exc:
            raise ArchiveError(f"{self.path}: not a readable tar archive: {exc}") from exc

    @staticmethod
    def compression_of(path: str | os.PathLike[str]) -> str | None:
        """`gzip` or `zstd` when the file starts with that compression's magic bytes, else None."""
        with open(path, "rb") as file:
            magic = file.read(4)
        return "zstd" if magic == _ZSTD_MAGIC else "gzip" if magic[:2] == _GZIP_MAGIC else None

    def _corrupt(self, exc: BaseException) -> ArchiveError:
        return ArchiveError(
            f"{self.path}: a corrupt or truncated gzip-compressed archive: {exc or type(exc).__name__}"
        )

    @contextmanager
    def _stream_tar(self, *, to_the_end: bool = False) -> Iterator[tarfile.TarFile]:
        try:
            with (
                open(self.path, "rb") as raw,
                gzip.GzipFile(fileobj=raw, mode="rb") as unzipped,
                tarfile.open(fileobj=unzipped, mode="r|") as tar,
            ):
                yield tar
                if to_the_end:
                    # The tar ends before the gzip stream does: read on to its end, where its CRC
                    # and length are checked (a flipped byte in the tar's padding shows there).
                    while unzipped.read(_CHUNK):
                        pass
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise self._corrupt(exc) from exc

    def _first_pass(self) -> dict[str, tarfile.TarInfo]:
        members: dict[str, tarfile.TarInfo] = {}
        cached = 0
        with self._stream_tar(to_the_end=True) as tar:
            for member in tar:
                if not (member.isfile() or member.issym() or member.islnk()):
                    continue
                name = _member_name(member.name)
                members[name] = member
                if not member.isfile():
                    continue
                extracted = tar.extractfile(member)
                assert extracted is not None
                hasher = Hasher()
                keep = member.size <= _CACHE_MEMBER and cached + member.size <= _CACHE_TOTAL
                parts: list[bytes] = []
                head = b""
                while chunk := extracted.read(_CHUNK):
                    if len(head) < 4:
                        head += chunk[: 4 - len(head)]
                    hasher.update(chunk)
                    if keep:
                        parts.append(chunk)
                if hasher.size != member.size:
                    raise self._corrupt(EOFError(f"member {name!r} is cut short"))
                self._digests[name] = (hasher.digest, hasher.size)
                self._heads[name] = head
                if keep:
                    self._cache[name] = b"".join(parts)
                    cached += member.size
        return members

    def has(self, name: str) -> bool:
        return _member_name(name) in self._members

    def _resolve(self, name: str, depth: int = 0) -> tarfile.TarInfo:
        member = self._members.get(_member_name(name))
        if member is None:
            raise ArchiveError(f"{self.path}: no member {name!r}")
        if member.issym() or member.islnk():
            if depth > 8:
                raise ArchiveError(f"{self.path}: member {name!r}: too many links")
            target = (
                member.linkname
                if member.islnk()
                else os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname))
            )
            return self._resolve(target, depth + 1)
        return member

    def size(self, name: str) -> int:
        return self._resolve(name).size

    def open_member(self, name: str) -> BinaryIO:
        """A seekable reader of one member, without extracting it (the caller closes it).

        A compressed archive has only its small members at hand (see `stream` for the others).
        """
        member = self._resolve(name)
        if self.sequential:
            cached = self._cache.get(_member_name(member.name))
            if cached is None:
                raise ArchiveError(
                    f"{self.path}: member {name!r} ({member.size} bytes) of a compressed archive is read in"
                    " its pass, not in place"
                )
            return io.BytesIO(cached)
        file = open(self.path, "rb")  # noqa: SIM115 - owned by the returned reader
        return io.BufferedReader(_Section(file, member.offset_data, member.size), _CHUNK)

    def member_digest(self, name: str) -> tuple[str, int]:
        """The sha256 digest and size of a member's bytes."""
        member = _member_name(self._resolve(name).name)
        if member not in self._digests:
            hasher = Hasher()
            with self.open_member(member) as file:
                while chunk := file.read(_CHUNK):
                    hasher.update(chunk)
            self._digests[member] = (hasher.digest, hasher.size)
        return self._digests[member]

    def head(self, name: str) -> bytes:
        """A member's first 4 bytes (its compression's magic)."""
        member = _member_name(self._resolve(name).name)
        if member not in self._heads:
            with self.open_member(member) as file:
                self._heads[member] = file.read(4)
        return self._heads[member]

    def stream(self, names: Iterable[str]) -> Iterator[tuple[str, BinaryIO]]:
        """Each of `names` with a reader of its bytes: in place for a plain tar (in the order given),
        in one pass in archive order for a compressed one. A reader is valid until the next item."""
        wanted = list(dict.fromkeys(names))
        if not self.sequential:
            for name in wanted:
                with self.open_member(name) as file:
                    yield name, file
            return
        by_target: dict[str, list[str]] = {}
        for name in wanted:
            by_target.setdefault(_member_name(self._resolve(name).name), []).append(name)
        seen: set[str] = set()
        with self._stream_tar() as tar:
            for member in tar:
                target = _member_name(member.name)
                if not member.isfile() or target not in by_target or target in seen:
                    continue
                seen.add(target)
                for name in by_target[target]:
                    if name != by_target[target][0]:
                        raise ArchiveError(
                            f"{self.path}: {name!r} and {by_target[target][0]!r} are one member"
                        )
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    yield name, io.BufferedReader(_Unseekable(extracted), _CHUNK)
        missing = [n for t, ns in by_target.items() if t not in seen for n in ns]
        if missing:
            raise ArchiveError(f"{self.path}: members {', '.join(missing)} vanished between two reads")

    def read(self, name: str, *, limit: int = 16 * 1024 * 1024) -> bytes:
        """A small member's bytes (a manifest, a config, index.json)."""
        if self.size(name) > limit:
            raise ArchiveError(f"{self.path}: member {name!r} is larger than {limit} bytes")
        with self.open_member(name) as reader:
            return reader.read()

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except ValueError as exc:
            raise ArchiveError(f"{self.path}: {name} is not valid JSON: {exc}") from exc

    def blob_name(self, digest: str) -> str:
        algorithm, _, hexpart = digest.partition(":")
        if not re.fullmatch(r"[a-z0-9]+", algorithm) or not re.fullmatch(r"[a-f0-9]+", hexpart):
            raise ArchiveError(f"{self.path}: malformed digest {digest!r}")
        return f"blobs/{algorithm}/{hexpart}"

    def read_blob(self, digest: str, *, limit: int = 16 * 1024 * 1024) -> bytes:
        """A small blob by digest (oci-archive), verified."""
        data = self.read(self.blob_name(digest), limit=limit)
        hasher = Hasher(digest.partition(":")[0])
        hasher.update(data)
        if hasher.digest != digest:
            raise DigestValidationError(
                f"{self.path}: blob {digest} does not match its digest", expected=digest
            )
        return data


class ArchiveWriter:
    """A tar being written to `path.partial`; `commit()` renames it over `path`, `abort()` removes it.

    Members are appended one after another (`add_bytes`, `blob`), or laid out ahead (`reserve`: their
    headers written, their data a hole of the known size) and then filled in any order, several at once,
    each through its own file handle (`region`): so blobs can download concurrently straight into the tar.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        # Created exclusively, never through a symlink; committed (fsynced, checked, renamed) by _files.
        self._file: BinaryIO = open_partial(str(self.partial))
        self._names: set[str] = set()
        self._regions: dict[str, tuple[int, int]] = {}  # reserved member -> (data offset, size)

    @staticmethod
    def _header_bytes(name: str, size: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        info.mtime = 0
        return info.tobuf(format=tarfile.PAX_FORMAT)

    def _header(self, name: str, size: int) -> None:
        self._file.write(self._header_bytes(name, size))

    def reserve(self, members: Iterable[tuple[str, int]]) -> None:
        """Lay out members of known sizes at the end of the tar; fill each with `region(name, digest)`."""
        position = self._file.tell()
        for name, size in members:
            if name in self._names or name in self._regions:
                continue
            header = self._header_bytes(name, size)
            self._file.seek(position)
            self._file.write(header)
            self._regions[name] = (position + len(header), size)
            position += len(header) + size + (-size % _BLOCK)
        self._file.truncate(position)  # the holes read as zeros: the padding is in place already
        self._file.seek(position)
        self._file.flush()

    @contextmanager
    def region(self, name: str, digest: str) -> Iterator[_BlobSink]:
        """Write one reserved member (its digest is checked when the block ends); thread-safe."""
        offset, size = self._regions[name]
        fd = os.open(self.partial, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "wb") as file:
            if not os.path.samestat(os.fstat(fd), os.fstat(self._file.fileno())):
                raise UnsafePathError(
                    f"{self.partial} was replaced while it was written; {self.path} is unchanged"
                )
            file.seek(offset)
            sink = _BlobSink(file, size, digest)
            yield sink
            sink.finish()
        self._names.add(name)

    def _pad(self, size: int) -> None:
        remainder = size % _BLOCK
        if remainder:
            self._file.write(b"\0" * (_BLOCK - remainder))

    def has(self, name: str) -> bool:
        return name in self._names

    def add_bytes(self, name: str, data: bytes) -> None:
        if name in self._names:
            return
        self._names.add(name)
        self._header(name, len(data))
        self._file.write(data)
        self._pad(len(data))

    @contextmanager
    def blob(self, name: str, size: int, digest: str) -> Iterator[_BlobSink]:
        """Stream one member of known `size`; its digest is checked when the block ends."""
        self._names.add(name)
        self._header(name, size)
        sink = _BlobSink(self._file, size, digest)
        yield sink
        sink.finish()
        self._pad(size)

    def commit(self) -> None:
        unfilled = sorted(set(self._regions) - self._names)
        if unfilled:
            raise ArchiveError(f"{self.path}: members {', '.join(unfilled)} were reserved but not written")
        self._file.write(b"\0" * (_BLOCK * 2))
        commit_partial(self._file, str(self.partial), str(self.path))

    def abort(self) -> None:
        discard_partial(self._file, str(self.partial))


class _BlobSink:
    def __init__(self, file: IO[bytes], size: int, digest: str) -> None:
        self._file, self._size, self._digest = file, size, digest
        self._hasher = Hasher(digest.partition(":")[0])
        self.written = 0

    def write(self, chunk: bytes) -> None:
        self.written += len(chunk)
        if self.written > self._size:
            raise DigestValidationError(
                f"blob {self._digest} is larger than its descriptor's {self._size} bytes"
            )
        self._hasher.update(chunk)
        self._file.write(chunk)

    def finish(self) -> None:
        if self.written != self._size or self._hasher.digest != self._digest:
            raise DigestValidationError(
                f"blob {self._digest}: got {self.written} bytes with digest {self._hasher.digest}",
                expected=self._digest,
            )
