"""Local files created safely: `open_partial` opens `<path>.partial` without following links.

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

import os
import stat
from typing import BinaryIO

from .exceptions import UnsafePathError

__all__ = ["commit_partial", "open_partial"]

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


def open_partial(partial: str) -> BinaryIO:
    """Create `partial` exclusively, never following a symlink; returns it open for binary writing.

    Raises:
        UnsafePathError: `partial` exists and is not a regular file (a symlink, FIFO, directory...),
            or something was planted again after a stale regular file was removed.
    """
    try:
        fd = os.open(partial, _CREATE_FLAGS, 0o666)
    except FileExistsError:
        mode = os.lstat(partial).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(partial, _describe(mode)) from None
        # A leftover of an interrupted download: drop the name (a hard link's other names keep their
        # content) and create a fresh file.
        os.unlink(partial)
        try:
            fd = os.open(partial, _CREATE_FLAGS, 0o666)
        except FileExistsError:
            raise _refuse(partial, "re-created by someone else while we replaced it") from None
    except OSError:
        # O_NOFOLLOW on a symlink: ELOOP (Linux) or EMLINK/EFTYPE elsewhere.
        if os.path.islink(partial):
            raise _refuse(partial, "a symbolic link") from None
        raise
    return os.fdopen(fd, "wb")


def commit_partial(file: BinaryIO, partial: str, path: str) -> None:
    """Flush and fsync `file` (opened by `open_partial`), close it and rename `partial` to `path`.

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
        raise UnsafePathError(f"{partial} was removed while the download ran; {path} is unchanged") from None
    if (current.st_dev, current.st_ino) != (written.st_dev, written.st_ino):
        raise UnsafePathError(
            f"{partial} was replaced while the download ran; refusing to rename it to {path}"
        )
    os.replace(partial, path)
