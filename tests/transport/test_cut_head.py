"""A response head cut by the connection closing is an error, never a shorter but complete-looking head."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from containerregistry.transport import AiohttpTransport, Urllib3Transport

HEADS = [
    # Content-Length came first, then the connection died inside Location: http.client alone would
    # keep "Location: /v2/app/blo" and report a complete 202 with an empty body.
    b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nLocation: /v2/app/blo",
    # Cut right after a complete header line: no blank line ever came.
    b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nLocation: /v2/app/blobs/uploads/1\r\n",
]


@pytest.fixture(params=range(len(HEADS)))
def cutting_server(request: pytest.FixtureRequest) -> Iterator[str]:
    head = HEADS[request.param]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(10)
    stop = threading.Event()

    def serve() -> None:
        for _ in range(8):  # bounded: each test makes at most a few connections
            if stop.is_set():
                return
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(head)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    # Wake the accept() so the thread sees `stop` (closing the socket does not interrupt it).
    with socket.create_connection(listener.getsockname(), timeout=2):
        pass
    thread.join(5)
    listener.close()


def test_sync_transport_refuses_a_cut_head(cutting_server: str) -> None:
    with httpx.Client(transport=Urllib3Transport()) as client, pytest.raises(httpx.TransportError):
        client.post(f"{cutting_server}/v2/app/blobs/uploads/")


async def test_async_transport_refuses_a_cut_head(cutting_server: str) -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.TransportError):
            await client.post(f"{cutting_server}/v2/app/blobs/uploads/")


def test_a_garbage_status_line_is_a_transport_error_not_a_closed_file() -> None:
    """http.client closes the connection itself on a bad status line; the next use must not see a
    closed file (ValueError) but a clean transport error."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(10)

    def serve() -> None:
        for _ in range(2):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(b"garbage that is no status line\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with httpx.Client(transport=Urllib3Transport()) as client:
            for _ in range(2):
                with pytest.raises(httpx.TransportError):
                    client.get(f"http://127.0.0.1:{listener.getsockname()[1]}/v2/")
    finally:
        thread.join(5)
        listener.close()
