"""The rules of a blob upload, as a sans-I/O state machine: events in, the next action out.

This module owns every decision of an OCI blob upload that needs no socket: which failures resume and
which give up, when an upload session is lost and a new one must start from the beginning, which offset
to resume from given the registry's `Range` answer (and when that answer cannot be trusted), where each
chunk starts and ends, and the headers of a streamed rest-of-blob request. The upload engine
(`aio/_blob_upload.py` and its generated sync twin) performs the I/O and feeds what happened back in,
in the manner of h11: the engine never decides, the machine never sends.

A driver looks like this::

    machine = UploadMachine(attempts=5, seekable=source.seekable, chunked=chunk_size is not None)
    ... send the blob, commit ...
    on a failure:
        action = machine.failed(Failure(status, codes), acknowledged=..., pending=...)
        # GiveUp -> re-raise; otherwise wait the backoff of attempt `machine.failures`, then:
        # StartOver -> open a new session, then machine.restarted();
        # AskOffset -> GET the session, then machine.offset_reported(range) or machine.offset_unknown()
        # Resume -> continue sending from action.offset (Rewind the source, or skip inside the chunk)
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from .http import parse_upload_range

__all__ = [
    "SESSION_LOST_CODES",
    "Action",
    "AskOffset",
    "ChunkSend",
    "Failure",
    "RANGE_REFUSALS",
    "GiveUp",
    "Phase",
    "Resume",
    "StartOver",
    "UploadMachine",
    "is_out_of_step",
    "is_resumable",
    "is_session_lost",
    "next_chunk",
    "stream_headers",
]

#: OCI error codes with which a registry says it forgot or refused an upload session (Distribution does
#: so when a cut connection left its stored size ahead of the session state).
SESSION_LOST_CODES = frozenset({"BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN"})

#: How many refused ranges in a row (`is_out_of_step`) the machine re-asks the offset for before it gives
#: up. A registry still writing the bytes of a cut request reports an offset that then moves on (the
#: emulator before it settled aborted PATCHes; Distribution and ACR behind a proxy can do the same).
RANGE_REFUSALS = 3


# -- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """Event: a request of the upload failed.

    `status` is the HTTP status of an error answer, or None when no usable answer came (a cut
    connection, a timeout, a body that could not be sent). `codes` are the OCI error codes of the body.
    """

    status: int | None = None
    codes: Collection[str] = ()


# -- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GiveUp:
    """Action: stop and let the failure reach the caller."""


@dataclass(frozen=True)
class StartOver:
    """Action: open a new upload session, then report `restarted()`."""


@dataclass(frozen=True)
class AskOffset:
    """Action: GET the session's status, then report what it answered."""


@dataclass(frozen=True)
class Resume:
    """Action: continue sending from byte `offset`.

    `rewind` says how: True re-reads (and re-hashes) a seekable source from `offset`; False skips to
    `offset` inside the chunk still held in memory.
    """

    offset: int
    rewind: bool


Action = GiveUp | StartOver | AskOffset | Resume


class Phase(enum.Enum):
    """Where the machine is: sending (or committing), recovering from a failure, or stopped."""

    SENDING = "sending"
    ASKING_OFFSET = "asking-offset"
    STARTING_OVER = "starting-over"
    GAVE_UP = "gave-up"


# -- pure decisions ------------------------------------------------------------------------------


def is_session_lost(failure: Failure) -> bool:
    """True when the registry says the session is gone (404 with BLOB_UPLOAD_INVALID or _UNKNOWN)."""
    return failure.status == 404 and bool(SESSION_LOST_CODES.intersection(failure.codes))


def is_out_of_step(failure: Failure) -> bool:
    """True when the registry refused a request's `Content-Range` because its offset is elsewhere (416,
    or the RANGE_INVALID code): the session is fine, only the offset must be asked again."""
    return failure.status == 416 or "RANGE_INVALID" in failure.codes


def is_resumable(failure: Failure) -> bool:
    """True for a failure that another attempt may get past.

    No answer at all, a lost session, 401 (an access token expired mid-upload; the next request fetches a
    fresh one), 408, 429 and 5xx resume; any other status is final.
    """
    status = failure.status
    if status is None or is_session_lost(failure):
        return True
    return status >= 500 or status in (401, 408, 429)


@dataclass(frozen=True)
class ChunkSend:
    """One chunk's PATCH: send `pending[skip:]` as bytes `first`..`last` (inclusive) of the blob.

    `last < first` means nothing of the chunk is left to send (the registry already holds it all).
    """

    skip: int
    first: int
    last: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"{self.first}-{self.last}"


def next_chunk(acknowledged: int, pending: int, resume_at: int | None = None) -> ChunkSend:
    """Where the chunk in memory goes: it starts at `acknowledged` and holds `pending` bytes; after a
    resume inside it, the first `resume_at - acknowledged` bytes are already held and are skipped."""
    skip = 0 if resume_at is None else resume_at - acknowledged
    if not 0 <= skip <= pending:
        raise ValueError(f"resume offset {resume_at} is outside the chunk at {acknowledged}+{pending}")
    return ChunkSend(skip=skip, first=acknowledged + skip, last=acknowledged + pending - 1)


def stream_headers(offset: int, size: int | None) -> dict[str, str] | None:
    """The headers of the one PATCH that carries a blob from `offset` to its end, or None when nothing is
    left to send. A source of unknown size is streamed without `Content-Length`."""
    if size is not None and offset == size:
        return None
    headers = {"Content-Type": "application/octet-stream"}
    if size is not None:
        headers["Content-Length"] = str(size - offset)
        if offset:
            headers["Content-Range"] = f"{offset}-{size - 1}"
    return headers


# -- the machine ---------------------------------------------------------------------------------


class UploadMachine:
    """The resume rules of one blob upload.

    Args:
        attempts: how many failures end the upload (the last one is not resumed).
        seekable: the source can be re-read from any offset.
        chunked: the blob goes in chunks, of which the one in flight is held in memory; without it
            (one streamed request) only a seekable source can resume.

    Raises:
        RuntimeError: an event that does not fit the machine's phase (a driver bug).
    """

    def __init__(self, *, attempts: int, seekable: bool, chunked: bool) -> None:
        self.attempts = max(1, attempts)
        self.seekable = seekable
        self.chunked = chunked
        self.failures = 0
        self.refusals = 0  # refused ranges since the last other failure (see RANGE_REFUSALS)
        self.phase = Phase.SENDING
        self._acknowledged = 0
        self._pending = 0

    def _expect(self, *phases: Phase) -> None:
        if self.phase not in phases:
            raise RuntimeError(f"upload event in phase {self.phase.value}")

    def failed(self, failure: Failure, *, acknowledged: int, pending: int = 0) -> Action:
        """A request failed while sending or committing. Unless the answer is `GiveUp`, the driver waits
        the backoff of retry number `self.retry_number` before it acts.

        Args:
            failure: what happened.
            acknowledged: bytes the registry acknowledged (and that are hashed).
            pending: bytes of the chunk in flight, held in memory (chunked mode).
        """
        self._expect(Phase.SENDING)
        if is_out_of_step(failure):
            # Not a failure of the transfer: the offset we resumed from was stale. Ask it again, a
            # bounded number of times in a row; the `failures` budget is left for real failures.
            self.refusals += 1
            if self.refusals > RANGE_REFUSALS or not (self.seekable or self.chunked):
                self.phase = Phase.GAVE_UP
                return GiveUp()
            self._acknowledged, self._pending = acknowledged, pending
            self.phase = Phase.ASKING_OFFSET
            return AskOffset()
        self.refusals = 0
        self.failures += 1
        if not is_resumable(failure) or self.failures >= self.attempts or not (self.seekable or self.chunked):
            self.phase = Phase.GAVE_UP
            return GiveUp()
        self._acknowledged, self._pending = acknowledged, pending
        if is_session_lost(failure):
            self.phase = Phase.STARTING_OVER
            return StartOver()
        self.phase = Phase.ASKING_OFFSET
        return AskOffset()

    @property
    def retry_number(self) -> int:
        """The 1-based number of the retry about to happen, for its backoff."""
        return max(1, self.refusals or self.failures)

    @property
    def sent(self) -> int:
        """Bytes sent in the session being asked about: the acknowledged ones and the chunk in flight."""
        return self._acknowledged + self._pending

    def offset_reported(self, range_header: str | None) -> StartOver | Resume | GiveUp:
        """The session's status answered with this `Range` header (None when it had none).

        An absent or malformed range, `0-0` after more than one byte was sent (0 or 1 byte held?), or an
        offset beyond what was sent cannot be trusted: resuming from a wrong offset would corrupt the
        blob, so the upload starts over in a new session.
        """
        self._expect(Phase.ASKING_OFFSET)
        sent = self.sent
        held = parse_upload_range(range_header, sent=sent)
        if held is None or (held == 0 and sent > 1) or held > sent:
            self.phase = Phase.STARTING_OVER
            return StartOver()
        return self._resume(held)

    def offset_unknown(self) -> StartOver:
        """The status request itself failed: the session is unusable, so start over."""
        self._expect(Phase.ASKING_OFFSET)
        self.phase = Phase.STARTING_OVER
        return StartOver()

    def restarted(self) -> Resume | GiveUp:
        """A new session is open: resume from byte 0 (if the source can still give it)."""
        self._expect(Phase.STARTING_OVER)
        return self._resume(0)

    def _resume(self, offset: int) -> Resume | GiveUp:
        if self.seekable:
            self.phase = Phase.SENDING
            return Resume(offset, rewind=True)
        if self._acknowledged <= offset <= self._acknowledged + self._pending:
            self.phase = Phase.SENDING
            return Resume(offset, rewind=False)
        self.phase = Phase.GAVE_UP
        return GiveUp()
