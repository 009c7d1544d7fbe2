"""Rich progress bars on stderr (bytes, speed, ETA) for transfers; hidden when stderr is not a terminal."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

__all__ = ["TransferBar"]


class TransferBar:
    """One progress bar for a transfer, fed either by byte callbacks or by image transfer events.

    Rich's `Progress` is thread-safe, which matters: the sync image API reports from worker threads.

    Args:
        description: what is moving (shown left of the bar).
        total: bytes expected, if known up front.
    """

    def __init__(self, description: str, total: int | None = None) -> None:
        console = Console(file=sys.stderr)
        # Progress bars are for people: in a pipe or a log file they would only be noise.
        self.enabled = console.is_terminal
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not self.enabled,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(description, total=total)
        #: Blobs that are complete at the target (copied, skipped because present, or mounted), by
        #: digest with their size: what an interrupted transfer leaves for a re-run to skip.
        self.landed: dict[str, int] = {}
        self.blobs_total = 0

    def __enter__(self) -> TransferBar:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def bytes(self, done: int, total: int | None) -> None:
        """A content-client progress callback: `(bytes_done, total_or_None)`."""
        self._progress.update(self._task, completed=done, total=total)

    def event(self, event: Any) -> None:
        """An image transfer event (`containerregistry.images.TransferProgress`): overall bytes."""
        self.blobs_total = event.blobs_total
        if event.status in ("done", "skipped", "mounted"):
            self.landed[event.digest] = event.blob_bytes_total
        self._progress.update(
            self._task,
            completed=event.bytes_done,
            total=event.bytes_total or None,
            description=f"{event.blobs_done}/{event.blobs_total} blobs",
        )
