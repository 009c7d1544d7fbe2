"""`creg serve`: its own one-line usage errors, a bad or busy port refused before anything is created,
and a banner that says where it listens, how to try it and how to stop it."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import CREG, run_creg


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--port", "abc"], "creg serve: error: argument --port: 'abc' is not a port number"),
        (["--port", "99999"], "creg serve: error: argument --port: 99999 is not a port: 0-65535"),
        (["--bogus"], "creg serve: error: unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_are_one_line_and_create_nothing(tmp_path: Path, args: list[str], expected: str) -> None:
    data = tmp_path / "data"
    done = run_creg("serve", *args, "--data", str(data))
    stderr = done.stderr.decode()
    assert done.returncode == 2
    assert stderr.strip().splitlines() == [stderr.strip()], stderr  # one line, no argparse usage block
    assert stderr.startswith(expected), stderr
    assert "python -m containerregistry.emulator" not in stderr
    assert not data.exists()


def test_a_busy_port_is_refused_before_the_data_directory_is_made(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_creg("serve", "--port", str(port), "--data", str(tmp_path / "data"))
    stderr = done.stderr.decode()
    assert done.returncode == 1
    assert stderr.strip() == f"error: cannot listen on 127.0.0.1:{port}: address already in use"
    assert not (tmp_path / "data").exists()


def test_the_banner_says_how_to_use_and_stop_it(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*CREG, "serve", "--port", "0", "--data", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        text = b""
        deadline = time.monotonic() + 30
        while b"stop:" not in text and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 0.5)
            if ready:
                chunk = os.read(process.stderr.fileno(), 65536)  # not readline: select cannot see its buffer
                if not chunk:
                    break
                text += chunk
        banner = text.decode()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
        assert match, banner
        assert f"try:  creg -r {match.group(1)} repo ls" in banner
        assert "stop: Ctrl-C" in banner
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
