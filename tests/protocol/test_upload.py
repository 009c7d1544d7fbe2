"""Table tests of the upload state machine (protocol/upload.py): events in, next action out, no sockets."""

from __future__ import annotations

import pytest

from containerregistry.protocol.upload import (
    AskOffset,
    ChunkSend,
    Failure,
    GiveUp,
    Phase,
    Resume,
    StartOver,
    UploadMachine,
    is_out_of_step,
    is_resumable,
    is_session_lost,
    next_chunk,
    stream_headers,
)

NO_ANSWER = Failure()
LOST = Failure(404, ("BLOB_UPLOAD_UNKNOWN",))


@pytest.mark.parametrize(
    ("failure", "resumable", "lost"),
    [
        (NO_ANSWER, True, False),  # cut connection, timeout
        (Failure(404, ("BLOB_UPLOAD_INVALID",)), True, True),
        (Failure(404, ("BLOB_UPLOAD_UNKNOWN", "X")), True, True),
        (Failure(404, ("BLOB_UNKNOWN",)), False, False),  # a plain 404 is final
        (Failure(404), False, False),
        (Failure(400, ("BLOB_UPLOAD_INVALID",)), False, False),  # the codes count only on a 404
        (Failure(401), True, False),  # token expired mid-upload
        (Failure(403), False, False),
        (Failure(408), True, False),
        (Failure(429), True, False),
        (Failure(500), True, False),
        (Failure(503), True, False),
        (Failure(416), False, False),
    ],
)
def test_which_failures_resume(failure: Failure, resumable: bool, lost: bool) -> None:
    assert is_resumable(failure) is resumable
    assert is_session_lost(failure) is lost


@pytest.mark.parametrize(
    ("seekable", "chunked", "failure", "action"),
    [
        (True, False, NO_ANSWER, AskOffset()),
        (False, True, NO_ANSWER, AskOffset()),
        (False, False, NO_ANSWER, GiveUp()),  # one streamed request from a one-pass source: nothing to resend
        (True, False, LOST, StartOver()),
        (True, True, Failure(403), GiveUp()),
    ],
)
def test_first_failure(seekable: bool, chunked: bool, failure: Failure, action: object) -> None:
    machine = UploadMachine(attempts=5, seekable=seekable, chunked=chunked)
    assert machine.failed(failure, acknowledged=10) == action
    assert machine.failures == 1


def test_attempts_bound_the_failures() -> None:
    machine = UploadMachine(attempts=3, seekable=True, chunked=False)
    steps = []
    for _ in range(3):
        step = machine.failed(NO_ANSWER, acknowledged=0)
        steps.append(step)
        if isinstance(step, AskOffset):
            assert machine.offset_reported("0-4") == StartOver()  # 5 bytes held, none sent: nonsense
            assert machine.restarted() == Resume(0, rewind=True)
    assert steps == [AskOffset(), AskOffset(), GiveUp()]
    assert machine.phase is Phase.GAVE_UP


@pytest.mark.parametrize(
    ("seekable", "acknowledged", "pending", "range_header", "action"),
    [
        # A seekable source resumes from whatever consistent offset the registry holds.
        (True, 100, 0, "0-49", Resume(50, rewind=True)),
        (True, 100, 0, "0-99", Resume(100, rewind=True)),
        (True, 100, 0, "bytes=0-99", Resume(100, rewind=True)),
        (True, 1, 0, "0-0", Resume(1, rewind=True)),  # after exactly one byte, 0-0 means one byte
        # Answers that cannot be trusted start a new session.
        (True, 100, 0, None, StartOver()),
        (True, 100, 0, "junk", StartOver()),
        (True, 100, 0, "5-99", StartOver()),  # a start other than 0
        (True, 100, 0, "0-0", StartOver()),  # 0 or 1 byte held? ambiguous after 100
        (True, 100, 0, "0-100", StartOver()),  # more than was sent
        (True, 0, 0, "0-0", Resume(0, rewind=True)),  # an empty session
        # A one-pass source resumes only inside the chunk it still holds.
        (False, 100, 50, "0-99", Resume(100, rewind=False)),
        (False, 100, 50, "0-119", Resume(120, rewind=False)),
        (False, 100, 50, "0-149", Resume(150, rewind=False)),
        (False, 100, 50, "0-49", GiveUp()),  # behind the acknowledged bytes, which are gone
        (False, 100, 50, "0-150", StartOver()),  # beyond what was sent
    ],
)
def test_offset_reported(
    seekable: bool, acknowledged: int, pending: int, range_header: str | None, action: object
) -> None:
    machine = UploadMachine(attempts=5, seekable=seekable, chunked=True)
    assert machine.failed(NO_ANSWER, acknowledged=acknowledged, pending=pending) == AskOffset()
    assert machine.sent == acknowledged + pending
    assert machine.offset_reported(range_header) == action
    expected_phase = {Resume: Phase.SENDING, StartOver: Phase.STARTING_OVER, GiveUp: Phase.GAVE_UP}
    assert machine.phase is expected_phase[type(action)]


@pytest.mark.parametrize(
    ("seekable", "acknowledged", "pending", "action"),
    [
        (True, 500, 0, Resume(0, rewind=True)),
        (False, 0, 64, Resume(0, rewind=False)),  # still on the first chunk: it is all in memory
        (False, 64, 64, GiveUp()),  # the first chunk is gone
    ],
)
def test_new_session_starts_from_zero(
    seekable: bool, acknowledged: int, pending: int, action: object
) -> None:
    machine = UploadMachine(attempts=5, seekable=seekable, chunked=True)
    assert machine.failed(LOST, acknowledged=acknowledged, pending=pending) == StartOver()
    assert machine.restarted() == action


def test_unusable_status_request_starts_over() -> None:
    machine = UploadMachine(attempts=5, seekable=True, chunked=False)
    machine.failed(NO_ANSWER, acknowledged=7)
    assert machine.offset_unknown() == StartOver()
    assert machine.restarted() == Resume(0, rewind=True)
    assert machine.phase is Phase.SENDING
    # ... and the next failure counts on from the first.
    assert machine.failed(NO_ANSWER, acknowledged=3) == AskOffset()
    assert machine.failures == 2


@pytest.mark.parametrize(
    "drive",
    [
        lambda m: m.offset_reported("0-1"),  # no failure yet
        lambda m: m.restarted(),
        lambda m: m.offset_unknown(),
    ],
)
def test_events_out_of_phase_are_driver_bugs(drive) -> None:
    machine = UploadMachine(attempts=5, seekable=True, chunked=False)
    with pytest.raises(RuntimeError, match="phase sending"):
        drive(machine)


def test_a_failure_while_asking_is_out_of_phase() -> None:
    machine = UploadMachine(attempts=5, seekable=True, chunked=False)
    machine.failed(NO_ANSWER, acknowledged=0)
    with pytest.raises(RuntimeError, match="phase asking-offset"):
        machine.failed(NO_ANSWER, acknowledged=0)


@pytest.mark.parametrize(
    ("acknowledged", "pending", "resume_at", "chunk"),
    [
        (0, 10, None, ChunkSend(skip=0, first=0, last=9)),
        (30, 10, None, ChunkSend(skip=0, first=30, last=39)),
        (30, 10, 30, ChunkSend(skip=0, first=30, last=39)),
        (30, 10, 34, ChunkSend(skip=4, first=34, last=39)),
        (30, 10, 40, ChunkSend(skip=10, first=40, last=39)),  # the registry holds it all: send nothing
    ],
)
def test_chunk_boundaries(acknowledged: int, pending: int, resume_at: int | None, chunk: ChunkSend) -> None:
    assert next_chunk(acknowledged, pending, resume_at) == chunk
    assert chunk.length == pending - chunk.skip
    if chunk.length:
        assert chunk.content_range == f"{chunk.first}-{acknowledged + pending - 1}"


@pytest.mark.parametrize("resume_at", [29, 41])
def test_chunk_resume_outside_the_chunk_is_refused(resume_at: int) -> None:
    with pytest.raises(ValueError, match="outside the chunk"):
        next_chunk(30, 10, resume_at)


@pytest.mark.parametrize(
    ("offset", "size", "headers"),
    [
        (0, 10, {"Content-Type": "application/octet-stream", "Content-Length": "10"}),
        (4, 10, {"Content-Type": "application/octet-stream", "Content-Length": "6", "Content-Range": "4-9"}),
        (0, None, {"Content-Type": "application/octet-stream"}),  # unknown size: no length
        (10, 10, None),  # nothing left to send
        (0, 0, None),  # the empty blob: straight to the commit
    ],
)
def test_stream_headers(offset: int, size: int | None, headers: dict[str, str] | None) -> None:
    assert stream_headers(offset, size) == headers


REFUSED = Failure(416, ("RANGE_INVALID",))


@pytest.mark.parametrize(
    ("failure", "out_of_step"),
    [
        (REFUSED, True),
        (Failure(416), True),  # Distribution: 416 with no body codes
        (Failure(400, ("RANGE_INVALID",)), True),  # "does not continue the upload", whatever the status
        (Failure(400, ("BLOB_UPLOAD_INVALID",)), False),
        (NO_ANSWER, False),
        (Failure(500), False),
    ],
)
def test_which_failures_are_a_stale_offset(failure: Failure, out_of_step: bool) -> None:
    assert is_out_of_step(failure) is out_of_step


@pytest.mark.parametrize(
    ("seekable", "chunked", "acknowledged", "pending", "events", "actions"),
    [
        # Cut, resume from a stale offset (10), refused, ask again: the registry now holds 30 bytes.
        (
            True,
            False,
            40,
            0,
            [NO_ANSWER, "0-9", REFUSED, "0-29"],
            [AskOffset(), Resume(10, rewind=True), AskOffset(), Resume(30, rewind=True)],
        ),
        # Chunked, non-seekable source: the new offset is still inside the chunk held in memory.
        (
            False,
            True,
            8,
            32,
            [NO_ANSWER, "0-9", REFUSED, "0-29"],
            [AskOffset(), Resume(10, rewind=False), AskOffset(), Resume(30, rewind=False)],
        ),
        # One streamed request from a one-pass source cannot resend anything.
        (False, False, 40, 0, [REFUSED], [GiveUp()]),
        # Refused ranges are bounded: after RANGE_REFUSALS in a row the upload gives up.
        (
            True,
            False,
            40,
            0,
            [REFUSED, "0-9", REFUSED, "0-9", REFUSED, "0-9", REFUSED],
            [
                AskOffset(),
                Resume(10, rewind=True),
                AskOffset(),
                Resume(10, rewind=True),
                AskOffset(),
                Resume(10, rewind=True),
                GiveUp(),
            ],
        ),
        # ...in a row: a real failure in between resets the count.
        (
            True,
            False,
            40,
            0,
            [REFUSED, "0-9", REFUSED, "0-9", NO_ANSWER, "0-9", REFUSED, "0-19", REFUSED],
            [
                AskOffset(),
                Resume(10, rewind=True),
                AskOffset(),
                Resume(10, rewind=True),
                AskOffset(),
                Resume(10, rewind=True),
                AskOffset(),
                Resume(20, rewind=True),
                AskOffset(),
            ],
        ),
    ],
)
def test_a_refused_range_asks_the_offset_again(
    seekable: bool,
    chunked: bool,
    acknowledged: int,
    pending: int,
    events: list[Failure | str],
    actions: list[object],
) -> None:
    machine = UploadMachine(attempts=5, seekable=seekable, chunked=chunked)
    got: list[object] = []
    for event in events:
        if isinstance(event, Failure):
            got.append(machine.failed(event, acknowledged=acknowledged, pending=pending))
        else:
            got.append(machine.offset_reported(event))
    assert got == actions
    assert machine.failures == sum(1 for e in events if isinstance(e, Failure) and not is_out_of_step(e))


def test_refused_ranges_do_not_spend_the_failure_budget() -> None:
    machine = UploadMachine(attempts=2, seekable=True, chunked=False)
    assert machine.failed(NO_ANSWER, acknowledged=40) == AskOffset()
    assert machine.offset_reported("0-9") == Resume(10, rewind=True)
    for _ in range(3):
        assert machine.failed(REFUSED, acknowledged=40) == AskOffset()
        assert machine.retry_number >= 1
        assert machine.offset_reported("0-19") == Resume(20, rewind=True)
    assert machine.failed(NO_ANSWER, acknowledged=40) == GiveUp()  # the second real failure of 2
