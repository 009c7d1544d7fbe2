"""An aborted PATCH settles before the upload's status is reported or the next PATCH is checked.

A client whose PATCH was cut asks the session's offset at once and resumes from it; the emulator must not
answer while it is still storing the cut request's bytes, or the offset moves on and the resumed PATCH is
refused with 416 (seen in tests/reliability/test_client_faults.py::test_upload_resumes_from_the_registry_offset).
"""

from __future__ import annotations

import random
import socket
from urllib.parse import urlsplit

import pytest

from tests.emulator.emulator_helpers import Reg, sha256

SIZE = 24 << 20
CUT_AT = 16 << 20


def _cut_patch(endpoint: str, location: str, data: bytes, cut_at: int) -> None:
    """PATCH `data` announcing all of it, send the first `cut_at` bytes, then drop the connection."""
    url = urlsplit(endpoint)
    path = urlsplit(location)
    target = path.path + (f"?{path.query}" if path.query else "")
    head = (
        f"PATCH {target} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Range: 0-{len(data) - 1}\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=30) as sock:
        sock.sendall(head)
        view = memoryview(data)[:cut_at]
        while view:
            view = view[sock.send(view[: 1 << 20]) :]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_status_after_a_cut_patch_is_final(reg: Reg, repo: str, method: str) -> None:
    data = random.Random(7).randbytes(SIZE)
    opened = reg.http.post(f"/v2/{repo}/blobs/uploads/")
    assert opened.status_code == 202, opened.text
    location = opened.headers["Location"]
    _cut_patch(reg.endpoint, location, data, CUT_AT)
    # Straight after the cut, as a resuming client does.
    status = reg.http.request(method, location)
    assert status.status_code == 204, status.text
    end = int(status.headers["Range"].split("-")[1])
    held = end + 1 if end else 0  # the emulator says "0-0" for an empty session
    assert 0 < held <= CUT_AT, (
        f"status {status.headers['Range']!r} while the cut PATCH was still being stored"
    )
    # The offset reported is final: a PATCH from it continues the upload.
    resumed = reg.http.patch(
        location,
        content=data[held:],
        headers={"Content-Type": "application/octet-stream", "Content-Range": f"{held}-{SIZE - 1}"},
    )
    assert resumed.status_code == 202, resumed.text
    done = reg.http.put(resumed.headers["Location"], params={"digest": sha256(data)})
    assert done.status_code == 201, done.text
    assert reg.http.get(f"/v2/{repo}/blobs/{sha256(data)}").content == data
