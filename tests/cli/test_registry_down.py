"""A registry that is down: one line at once (no seconds of retries, no urllib3 internals), a hint,
and a failed pull leaves no half-made layout (sync and async library, CLI in-process and subprocess)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from containerregistry.aio.images import pull_image as pull_image_async
from containerregistry.exceptions import RegistryError
from containerregistry.images import pull_image

from .conftest import run_cli, run_creg


def test_cli_fails_fast_with_a_hint(closed_port: int) -> None:
    started = time.monotonic()
    result = run_cli("-r", f"http://127.0.0.1:{closed_port}", "tag", "ls", "app")
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert "connection refused" in line and "creg serve" in line
    assert "HTTPConnection" not in line and "urllib3" not in line and "Errno" not in line
    assert elapsed < 1.5, elapsed  # before: 5 s of silent retries


def test_failed_pull_leaves_no_layout(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("-r", f"127.0.0.1:{closed_port}", "pull", "app:v1", "oci:./fresh:v1")
    assert result.exit_code == 1
    assert not (tmp_path / "fresh").exists()
    done = run_creg("-r", f"127.0.0.1:{closed_port}", "pull", "app:v1", f"oci:{tmp_path / 'fresh2'}:v1")
    assert done.returncode == 1 and b"creg serve" in done.stderr
    assert not (tmp_path / "fresh2").exists()


def test_library_pull_cleans_up_sync_and_async(closed_port: int, tmp_path: Path) -> None:
    with pytest.raises(RegistryError):
        pull_image(f"127.0.0.1:{closed_port}/app:v1", f"oci:{tmp_path / 'a'}:v1")
    assert not (tmp_path / "a").exists()
    with pytest.raises(RegistryError):
        asyncio.run(pull_image_async(f"127.0.0.1:{closed_port}/app:v1", f"oci:{tmp_path / 'b'}:v1"))
    assert not (tmp_path / "b").exists()
    # An existing layout is never removed.
    existing = tmp_path / "kept"
    existing.mkdir()
    with pytest.raises(RegistryError):
        pull_image(f"127.0.0.1:{closed_port}/app:v1", f"oci:{existing}:v1")
    assert existing.is_dir()
