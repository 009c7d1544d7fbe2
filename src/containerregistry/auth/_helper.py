"""Running a Docker credential helper safely: a deadline, a cap on its output, and no stray processes.

`subprocess.run(..., capture_output=True, timeout=...)` buffers whatever the program writes, and on a
timeout kills only the direct child, then waits for its pipes to close: a helper whose grandchild
keeps stdout open (a shell script running a slow command) hangs the caller well past the deadline.
Here the helper starts in its own session (POSIX) or process group (Windows); its output is read by
two threads, at most `MAX_HELPER_OUTPUT` bytes per stream; on the deadline or an overflow the whole
group is killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["MAX_HELPER_OUTPUT", "HelperOutputTooLarge", "HelperResult", "HelperTimeout", "run_helper"]

#: A helper's answer is a small JSON object; more than this on stdout or stderr is refused.
MAX_HELPER_OUTPUT = 1024 * 1024
_READ = 64 * 1024


class HelperTimeout(Exception):
    """The helper did not finish (and close its output) before the deadline; its group was killed."""


class HelperOutputTooLarge(Exception):
    """The helper wrote more than `MAX_HELPER_OUTPUT` bytes on one stream; its group was killed."""


@dataclass(frozen=True)
class HelperResult:
    returncode: int
    stdout: bytes
    stderr: bytes


class _Reader(threading.Thread):
    def __init__(self, pipe: IO[bytes], overflow: threading.Event) -> None:
        super().__init__(daemon=True, name="credential-helper-reader")
        self._pipe = pipe
        self._overflow = overflow
        self.data = bytearray()

    def run(self) -> None:
        read: Any = getattr(self._pipe, "read1", self._pipe.read)
        try:
            while True:
                piece = read(_READ)
                if not piece:
                    return
                self.data += piece
                if len(self.data) > MAX_HELPER_OUTPUT:
                    self._overflow.set()
                    return
        except (OSError, ValueError):  # the pipe was closed under us after a kill
            return


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)  # the session leader's pid is the group's id
        else:
            process.kill()
    with contextlib.suppress(OSError):
        process.kill()


def run_helper(argv: list[str], stdin: bytes, *, timeout: float) -> HelperResult:
    """Run `argv`, feed it `stdin`, and collect its output within `timeout` seconds.

    Raises:
        HelperTimeout: still running (or its output still open) at the deadline.
        HelperOutputTooLarge: over `MAX_HELPER_OUTPUT` bytes on stdout or stderr.
        OSError: it could not be started.
    """
    options: dict[str, Any] = {}
    if os.name == "posix":
        options["start_new_session"] = True
    else:  # pragma: no cover - exercised on Windows only
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    overflow = threading.Event()
    readers = [_Reader(process.stdout, overflow), _Reader(process.stderr, overflow)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    try:
        with contextlib.suppress(OSError):  # a helper may exit without reading its input
            process.stdin.write(stdin)
            process.stdin.close()
        while True:
            if overflow.is_set():
                _kill_group(process)
                raise HelperOutputTooLarge()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill_group(process)
                raise HelperTimeout()
            if process.poll() is not None and not any(r.is_alive() for r in readers):
                break
            # Wake up often enough to notice an overflow quickly; a finished reader ends the wait early.
            alive = next((r for r in readers if r.is_alive()), None)
            if alive is not None:
                alive.join(min(remaining, 0.05))
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(min(remaining, 0.05))
    finally:
        if process.poll() is None:
            _kill_group(process)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        for reader, stream in zip(readers, (process.stdout, process.stderr), strict=True):
            # A reader still blocked (a process that left the group holds the pipe) keeps its stream:
            # closing it would wait for that read.
            reader.join(1.0)
            if not reader.is_alive():
                with contextlib.suppress(OSError):
                    stream.close()
    return HelperResult(process.returncode, bytes(readers[0].data), bytes(readers[1].data))
