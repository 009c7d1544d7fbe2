"""Local files written safely: the one atomic-write helper of the package (downloads, layouts, configs, keys).

`open_partial` opens `<path>.partial` without following links; `commit_partial` fsyncs it, checks it and
renames it over `<path>`; `write_atomic` does both for bytes in memory, through a partial file of its own
(`.<name>.<random>.partial` beside the target, so concurrent writers never share one and the last rename
wins). A reader therefore sees the old file or the new one, never a truncated one, and nothing is ever
written through a planted link.

A download to `<path>` writes `<path>.partial` and renames it into place after the digest matched. The
directory may be shared (a download folder, /tmp), so another local user could plant a symlink named
`<path>.partial` pointing at a file of ours (`~/.bashrc`); opening it with a plain `open(..., "wb")`
would truncate and overwrite that file. `open_partial` creates the file with `O_CREAT | O_EXCL |
O_NOFOLLOW`, so an existing name is never written through; a regular file left by an interrupted
download of ours is unlinked (the name only: never a link's target) and created afresh, anything
else (a symlink, a FIFO, a directory, a device) is refused. `commit_partial` checks that the name
still refers to the file we wrote before renaming it into place.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import stat
import sys
from collections.abc import Callable
from typing import BinaryIO

from .exceptions import UnsafePathError

__all__ = ["commit_partial", "discard_partial", "open_partial", "unique_partial", "write_atomic"]

# Read and write: a download on several connections reads back what it wrote to hash it in order.
_CREATE_FLAGS = (
    os.O_RDWR
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def _refuse(partial: str, what: str) -> UnsafePathError:
    return UnsafePathError(
        f"{partial} already exists and is {what}; refusing to write through it "
        "(remove it if it is yours, or download to another directory)"
    )


def _describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def open_partial(partial: str, *, mode: int = 0o666) -> BinaryIO:
    """Create `partial` exclusively, never following a symlink; returns it open for binary writing.

    Args:
        partial: the file to create.
        mode: its permission bits (the umask applies); `0o600` for secrets.

    Raises:
        UnsafePathError: `partial` exists and is not a regular file (a symlink, FIFO, directory...),
            or something was planted again after a stale regular file was removed.
    """
    try:
        fd = os.open(partial, _CREATE_FLAGS, mode)
    except FileExistsError:
        mode = os.lstat(partial).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(partial, _describe(mode)) from None
        # A leftover of an interrupted download: drop the name (a hard link's other names keep their
        # content) and create a fresh file.
        os.unlink(partial)
        try:
            fd = os.open(partial, _CREATE_FLAGS, mode)
        except FileExistsError:
            raise _refuse(partial, "re-created by someone else while we replaced it") from None
    except OSError:
        # O_NOFOLLOW on a symlink: ELOOP (Linux) or EMLINK/EFTYPE elsewhere.
        if os.path.islink(partial):
            raise _refuse(partial, "a symbolic link") from None
        raise
    return os.fdopen(fd, "wb")


def commit_partial(file: BinaryIO, partial: str, path: str, *, sync_directory: bool = False) -> None:
    """Flush and fsync `file` (opened by `open_partial`), close it and rename `partial` to `path`.

    Args:
        file: the open partial file.
        partial: its name.
        path: the name it gets.
        sync_directory: also fsync the directory, so the rename itself survives a power loss (POSIX).

    Raises:
        UnsafePathError: `partial` no longer names the file that was written (replaced meanwhile).
    """
    file.flush()
    os.fsync(file.fileno())
    written = os.fstat(file.fileno())
    file.close()
    try:
        current = os.lstat(partial)
    except FileNotFoundError:
        raise UnsafePathError(f"{partial} was removed while it was written; {path} is unchanged") from None
    if (current.st_dev, current.st_ino) != (written.st_dev, written.st_ino):
        raise UnsafePathError(f"{partial} was replaced while it was written; refusing to rename it to {path}")
    os.replace(partial, path)
    if sync_directory and hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def unique_partial(path: str | os.PathLike[str]) -> str:
    """A fresh partial name beside `path`: `<dir>/.<name>.<random>.partial` (hidden, never shared)."""
    directory, name = os.path.split(os.fspath(path))
    return os.path.join(directory, f".{name}.{secrets.token_hex(8)}.partial")


def discard_partial(file: BinaryIO, partial: str) -> None:
    """Close `file` and remove `partial` (the name only); safe when either is already gone."""
    file.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(partial)


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, mode: int | None = None, sync_directory: bool = False
) -> None:
    """Replace `path` with `data` atomically: a partial file of its own, fsynced, checked, renamed.

    The partial file is created with `O_EXCL | O_NOFOLLOW` (`open_partial`), so a planted link is never
    written through; on any failure it is removed and `path` is unchanged.

    Args:
        path: the file to write (its directory must exist).
        data: its new content.
        mode: permission bits set on the new file regardless of the umask (`0o600` for secrets); None
            keeps the default (`0o666` less the umask).
        sync_directory: also fsync the directory after the rename.

    Raises:
        UnsafePathError: the partial file was tampered with while it was written.
        OSError: the file could not be written.
    """
    target = os.fspath(path)
    partial = unique_partial(target)
    # A private file is private from its creation on, not only after the chmod.
    private = mode is not None and mode & 0o077 == 0
    file = open_partial(partial, mode=0o600 if private else 0o666)
    try:
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(file.fileno(), mode)
        file.write(data)
        commit_partial(file, partial, target, sync_directory=sync_directory)
    except BaseException:
        discard_partial(file, partial)
        raise


#: SYNC_FILE_RANGE_* flags of Linux's sync_file_range(2).
SYNC_WAIT_BEFORE, SYNC_WRITE, SYNC_WAIT_AFTER = 1, 2, 4


def _load_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


#: sync_file_range(fd, offset, nbytes, flags) where the platform has it (Linux), else None: starts (and
#: waits for) writeback of part of a file, so a download or an upload is not one big fsync at its end.
sync_file_range = _load_sync_file_range()
