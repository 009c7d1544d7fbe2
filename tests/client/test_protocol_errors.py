"""A registry that answers nonsense gets a `RegistryProtocolError` that says what was asked, where, and what
was wrong with the answer; sync and async.

The registry is a real HTTP server on 127.0.0.1 (`http.server`, in this file) whose routes answer exactly
the bytes each test needs: an upload session without `Location`, a tag list that is not JSON, a redirect
to `ftp://`, a resumed download that starts at the wrong byte. `RegistryProtocolError` is a
`ServiceRequestError`, so code that caught that before still does; the tests check both.
"""

from __future__ import annotations

import asyncio
import http.server
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from containerregistry import aio
from containerregistry._sync import ContainerRegistryClient
from containerregistry.exceptions import RegistryProtocolError, ServiceRequestError
from tests.client.adapter import Adapted

BLOB = b"0123456789"
BLOB_DIGEST = "sha256:84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Send only this many bytes of `body`, then close the connection (a cut mid-body).
    cut_at: int | None = None


@dataclass
class Nonsense:
    """The routes of the server: `(method, path) -> [answers]`, the last answer repeating."""

    url: str = ""
    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    ranges: list[str | None] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def answer(self, method: str, path: str) -> Answer:
        answers = self.routes.get((method, path))
        if not answers:
            body = b'{"errors":[{"code":"NAME_UNKNOWN","message":"no such route"}]}'
            return Answer(404, {"Content-Type": "application/json"}, body)
        return answers.pop(0) if len(answers) > 1 else answers[0]


def _handler(state: Nonsense) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10  # a client that goes quiet cannot hold a server thread

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            state.seen.append(f"{self.command} {path}")
            state.ranges.append(self.headers.get("Range"))
            if path == "/v2/":
                answer = Answer(200, {"Content-Type": "application/json"}, b"{}")
            else:
                answer = state.answer(self.command, path)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            if answer.cut_at is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body[: answer.cut_at])

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def nonsense() -> Iterator[Nonsense]:
    state = Nonsense()
    server = _Server(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert not server.errors, server.errors


class _Server(http.server.ThreadingHTTPServer):
    """Records what went wrong in a handler; a client that hangs up on a nonsense answer is expected."""

    errors: list[BaseException]

    def server_activate(self) -> None:
        self.errors = []
        super().server_activate()

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError):
            self.errors.append(error)


@pytest.fixture
def make_registry_client(flavour: str) -> Iterator[Callable[[str], Any]]:
    """`make_registry_client(endpoint)`: an anonymous `ContainerRegistryClient` (async behind `Adapted`)."""
    loop = asyncio.new_event_loop()
    made: list[Any] = []

    def make(endpoint: str) -> Any:
        client: Any
        if flavour == "sync":
            client = ContainerRegistryClient(endpoint)
        else:
            client = Adapted(aio.ContainerRegistryClient(endpoint), loop)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
    loop.close()


def _raises_protocol_error(call: Callable[[], Any]) -> str:
    """Run `call`; it must raise RegistryProtocolError (also a ServiceRequestError). Its message."""
    with pytest.raises(RegistryProtocolError) as caught:
        call()
    assert isinstance(caught.value, ServiceRequestError)
    return str(caught.value)


def test_upload_session_without_location(nonsense: Nonsense, make_client: Any) -> None:
    nonsense.routes[("POST", "/v2/app/blobs/uploads/")] = [Answer(202)]
    client = make_client(nonsense.url, "app")
    message = _raises_protocol_error(lambda: client.upload_blob(BLOB))
    assert message == (
        f"upload blob to {nonsense.host}/app failed: the registry's answer has no upload Location "
        f"(202 to POST {nonsense.url}/v2/app/blobs/uploads/)"
    )
    assert nonsense.seen.count("POST /v2/app/blobs/uploads/") == 1  # refused at once, nothing sent after it


def test_upload_session_with_an_ftp_location(nonsense: Nonsense, make_client: Any) -> None:
    nonsense.routes[("POST", "/v2/app/blobs/uploads/")] = [Answer(202, {"Location": "ftp://elsewhere/u/1"})]
    client = make_client(nonsense.url, "app")
    message = _raises_protocol_error(lambda: client.upload_blob(BLOB))
    assert f"upload blob to {nonsense.host}/app failed" in message
    assert "upload Location is not an http(s) URL" in message
    assert f"POST {nonsense.url}/v2/app/blobs/uploads/" in message
    assert not any(line.startswith(("PATCH", "PUT")) for line in nonsense.seen)


def test_tag_list_that_is_not_json(nonsense: Nonsense, make_client: Any) -> None:
    html = b"<html><body>502 Bad Gateway (but said 200)</body></html>"
    nonsense.routes[("GET", "/v2/app/tags/list")] = [Answer(200, {"Content-Type": "text/html"}, html)]
    client = make_client(nonsense.url, "app")
    message = _raises_protocol_error(lambda: list(client.list_tags()))
    assert message.startswith(
        f"list tags of {nonsense.host}/app failed: the registry sent invalid JSON "
        f"(GET {nonsense.url}/v2/app/tags/list): "
    )


def test_tag_list_of_the_wrong_shape(nonsense: Nonsense, make_client: Any) -> None:
    body = b'{"name": "app", "tags": "latest"}'
    nonsense.routes[("GET", "/v2/app/tags/list")] = [Answer(200, {"Content-Type": "application/json"}, body)]
    client = make_client(nonsense.url, "app")
    message = _raises_protocol_error(lambda: list(client.list_tags()))
    assert message == (
        f"list tags of {nonsense.host}/app failed: the registry sent a malformed tag list "
        f"(GET {nonsense.url}/v2/app/tags/list): 'tags' must be a list of strings, got a string"
    )


def test_redirect_to_a_non_http_url(nonsense: Nonsense, make_client: Any) -> None:
    nonsense.routes[("GET", "/v2/app/manifests/v1")] = [Answer(307, {"Location": "ftp://files.example/m"})]
    client = make_client(nonsense.url, "app")
    message = _raises_protocol_error(lambda: client.get_manifest("v1"))
    assert "redirected to a non-http(s) URL" in message
    assert f"(GET {nonsense.url}/v2/app/manifests/v1)" in message
    assert nonsense.host in message


def test_resumed_download_that_starts_at_the_wrong_byte(nonsense: Nonsense, make_client: Any) -> None:
    path = f"/v2/app/blobs/{BLOB_DIGEST}"
    nonsense.routes[("GET", path)] = [
        Answer(200, {"Content-Type": "application/octet-stream"}, BLOB, cut_at=4),
        # Asked for `bytes=4-`, it answers from byte 0 while calling it a partial answer.
        Answer(206, {"Content-Range": f"bytes 0-9/{len(BLOB)}"}, BLOB),
    ]
    client = make_client(nonsense.url, "app")
    message = _raises_protocol_error(lambda: client.download_blob_content(BLOB_DIGEST))
    assert message == (
        f"download blob {BLOB_DIGEST} from {nonsense.host}/app failed: asked to resume at byte 4, the "
        f"registry sent a 206 from byte 0 (GET {nonsense.url}{path})"
    )
    assert nonsense.ranges[-1] == "bytes=4-"


def test_resumed_download_with_a_malformed_content_range(nonsense: Nonsense, make_client: Any) -> None:
    path = f"/v2/app/blobs/{BLOB_DIGEST}"
    nonsense.routes[("GET", path)] = [
        Answer(200, {"Content-Type": "application/octet-stream"}, BLOB, cut_at=4),
        Answer(206, {"Content-Range": "bytes four-nine/10"}, BLOB[4:]),
    ]
    client = make_client(nonsense.url, "app")
    message = _raises_protocol_error(lambda: client.download_blob_content(BLOB_DIGEST))
    assert message.startswith(
        f"download blob {BLOB_DIGEST} from {nonsense.host}/app failed: the registry sent a malformed "
        f"Content-Range in its 206 answer (GET {nonsense.url}{path}): "
    )


def test_acr_listing_that_is_not_json(nonsense: Nonsense, make_registry_client: Any) -> None:
    nonsense.routes[("GET", "/acr/v1/_catalog")] = [
        Answer(200, {"Content-Type": "application/json"}, b"{nope")
    ]
    client = make_registry_client(nonsense.url)
    message = _raises_protocol_error(lambda: list(client.list_repository_names()))
    assert message.startswith(
        f"list repositories of {nonsense.host} failed: the registry sent invalid JSON (GET "
    )
    assert f"{nonsense.url}/acr/v1/_catalog" in message
