"""`ManifestSpool`: the manifests an image copy has read and will write, held within a memory budget.

A copy reads every manifest first (to plan) and writes them only after the blobs arrived, with the
exact bytes read. An index of hundreds of large children would otherwise keep all of them in memory
at once (300 children of 1 MiB: over 300 MB). The spool keeps up to `budget` bytes in memory and
appends the rest to one anonymous temporary file, read back one manifest at a time when written.
Thread-safe: the sync engine reads children from worker threads.
"""

from __future__ import annotations

import tempfile
import threading
from typing import IO

__all__ = ["DEFAULT_MANIFEST_BUDGET", "ManifestSpool"]

#: Manifest bytes a copy keeps in memory; the rest waits in a temporary file.
DEFAULT_MANIFEST_BUDGET = 8 * 1024 * 1024


class ManifestSpool:
    def __init__(self, budget: int = DEFAULT_MANIFEST_BUDGET) -> None:
        self.budget = budget
        self._memory: dict[str, bytes] = {}
        self._in_memory = 0
        self._spilled: dict[str, tuple[int, int]] = {}
        self._file: IO[bytes] | None = None
        self._end = 0
        self._lock = threading.Lock()

    def __contains__(self, digest: str) -> bool:
        return digest in self._memory or digest in self._spilled

    def put(self, digest: str, content: bytes) -> None:
        """Keep `content` under `digest` (a digest already held is kept as it is)."""
        with self._lock:
            if digest in self._memory or digest in self._spilled:
                return
            if self._in_memory + len(content) <= self.budget:
                self._memory[digest] = content
                self._in_memory += len(content)
                return
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            self._file.seek(self._end)
            self._file.write(content)
            self._spilled[digest] = (self._end, len(content))
            self._end += len(content)

    def get(self, digest: str) -> bytes:
        with self._lock:
            found = self._memory.get(digest)
            if found is not None:
                return found
            offset, size = self._spilled[digest]
            assert self._file is not None
            self._file.seek(offset)
            content = self._file.read(size)
        if len(content) != size:
            raise OSError(f"the manifest spool lost manifest {digest}")
        return content

    def close(self) -> None:
        with self._lock:
            self._memory.clear()
            self._spilled.clear()
            if self._file is not None:
                self._file.close()
                self._file = None
