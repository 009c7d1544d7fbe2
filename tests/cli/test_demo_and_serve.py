"""`creg demo` and `creg serve` as real subprocesses."""

from __future__ import annotations

import json
import re
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from .conftest import CREG, run_cli, run_creg


def test_demo_exits_0_and_prints_results() -> None:
    started = time.monotonic()
    done = run_creg("demo", timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert time.monotonic() - started < 30
    err = done.stderr.decode()
    assert "[7/7]" in err and "FAILED" not in err and "Traceback" not in err
    assert "pushed" in done.stdout.decode() and "deleted" in done.stdout.decode()


def test_demo_json_is_one_object() -> None:
    done = run_creg("-o", "json", "demo", timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["ok"] is True and result["failures"] == []
    assert len(result["manifests_newest_first"]) == 5 and len(result["pruned"]) == 2
    assert result["pulled"]["digest"] == result["pushed"]["v5"]


def test_demo_against_a_given_registry(registry_emulator: Any) -> None:
    result = run_cli("-o", "json", "demo", "--registry", registry_emulator.endpoint)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["registry"] == registry_emulator.login_server
    # Against a given registry the demo cleans up after itself.
    listed = run_cli("-r", registry_emulator.endpoint, "-o", "json", "repo", "ls")
    assert summary["repository"] not in json.loads(listed.stdout)


def test_demo_fails_with_1_when_the_registry_is_unreachable(closed_port: int) -> None:
    result = run_cli("demo", "--registry", f"http://127.0.0.1:{closed_port}")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 demo step(s) failed")


def test_serve_runs_the_emulator_until_interrupted(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*CREG, "serve", "--port", "0", "--data", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        text = b""
        while b"listening on" not in text and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 0.5)
            if ready:
                chunk = process.stderr.readline()
                if not chunk:
                    break
                text += chunk
        match = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", text)
        assert match, text
        endpoint = match.group(1).decode()
        assert httpx.get(f"{endpoint}/v2/", timeout=10).status_code == 200
        assert run_cli("-r", endpoint, "blob", "push", "served", "-", input=b"x").exit_code == 0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert (tmp_path / "data").is_dir()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
