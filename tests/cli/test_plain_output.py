"""Output for scripts: `-o plain` / `-o tsv` (no box drawing, no padding, one record a line), digests
never wrapped in a table, and a closed pipe (`creg ... | head -1`) ends quietly with status 0."""

from __future__ import annotations

import fcntl
import os
import pty
import secrets
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import CREG, run_cli, unique

_BOX = set("│─┃━┏┓┗┛┡┩└┘├┤┼╇╈╋╭╮╯╰")


@pytest.mark.parametrize("registry", ["registry_emulator", "distribution"])
def test_tag_ls_plain(
    request: pytest.FixtureRequest, registry: str, push_manifest: Callable[..., str]
) -> None:
    endpoint = request.getfixturevalue(registry).endpoint
    repo = unique("plain")
    digest = push_manifest(endpoint, repo, "v1")
    push_manifest(endpoint, repo, "v2")
    args = ["tag", "ls", repo, "--plain"] if registry == "distribution" else ["tag", "ls", repo]
    result = run_cli("-r", endpoint, *args, "-o", "plain")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert not _BOX & set(result.stdout)
    for line in lines:
        assert line == line.strip() and "  " not in line
    if registry == "registry_emulator":
        fields = dict(line.split("\t", 1) for line in lines)
        assert fields["v1"].split("\t")[0] == digest


def test_tsv_has_a_header_and_records_have_no_padding(
    registry_emulator: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("plain")
    digest = push_manifest(registry_emulator.endpoint, repo, "v1")
    result = run_cli("-r", registry_emulator.endpoint, "-o", "tsv", "manifest", "ls", repo)
    assert result.exit_code == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert "\t" in header and header.split("\t")[0] == "digest"
    assert [row.split("\t")[0] for row in rows] == [digest]
    assert len(rows[0].split("\t")) == len(header.split("\t"))


def test_one_record_plain(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    repo = unique("plain")
    digest = push_manifest(registry_emulator.endpoint, repo, "v1")
    result = run_cli("-r", registry_emulator.endpoint, "tag", "show", f"{repo}:v1", "-o", "plain")
    assert result.exit_code == 0, result.stderr
    fields = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert fields["digest"] == digest
    assert fields["name"] == "v1"


def test_digests_are_never_wrapped_on_a_narrow_terminal(
    registry_emulator: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("narrow")
    digest = push_manifest(registry_emulator.endpoint, repo, "v1")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    env = {**os.environ, "COLUMNS": "60", "TERM": "dumb"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [*CREG, "-r", registry_emulator.endpoint, "tag", "ls", repo],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    text = output.decode(errors="replace")
    assert digest in text, text


def test_closed_pipe_exits_quietly_with_zero(registry_emulator: Any) -> None:
    repo = unique("pipe")
    content = secrets.token_bytes(4 << 20)
    pushed = run_cli("-r", registry_emulator.endpoint, "blob", "push", repo, "-", input=content)
    assert pushed.exit_code == 0, pushed.stderr
    digest = pushed.stdout.strip()
    for args in (["blob", "pull", f"{repo}@{digest}", "-"],):
        process = subprocess.Popen(
            [*CREG, "-r", registry_emulator.endpoint, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(10)  # `| head -c 10`
        process.stdout.close()
        code = process.wait(timeout=60)
        stderr = process.stderr.read().decode()
        assert code == 0, (args, stderr)
        assert stderr == "", (args, stderr)
