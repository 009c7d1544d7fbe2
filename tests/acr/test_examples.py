"""The seed's samples, in Python, run as they are (each starts an embedded emulator when REGISTRY_ENDPOINT is unset)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "REGISTRY_ENDPOINT"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120, env=environment
    )


@pytest.mark.parametrize("name", ["list_repositories.py", "list_repositories_async.py"])
def test_list_repositories(name: str) -> None:
    result = _run(name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["library/hello-world", "samples/app"]


@pytest.mark.parametrize("name", ["list_tags_anonymous.py", "list_tags_anonymous_async.py"])
def test_list_tags_anonymously(name: str) -> None:
    result = _run(name)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"127\.0\.0\.1:\d+/library/hello-world:latest has the following aliases:", lines[0])
    assert [line.strip().split("/", 1)[1] for line in lines[1:]] == [
        "library/hello-world:latest",
        "library/hello-world:v2",
    ]


@pytest.mark.parametrize("name", ["set_artifact_properties.py", "set_artifact_properties_async.py"])
def test_set_artifact_properties(name: str) -> None:
    result = _run(name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("library/hello-world:latest: can_write=False, can_delete=False")


@pytest.mark.parametrize("name", ["delete_old_images.py", "delete_old_images_async.py"])
def test_delete_images_older_than_newest_three(name: str) -> None:
    result = _run(name)
    assert result.returncode == 0, result.stderr
    deleted = re.findall(r"Deleting image with digest (sha256:[0-9a-f]{64})\.", result.stdout)
    tags = re.findall(r"^\s+(\S+:\S+)$", result.stdout, flags=re.MULTILINE)
    # samples/app has five images (newest first: 2.1, 2.0, 1.2, 1.1, 1.0); hello-world only two.
    assert len(deleted) == 2
    assert tags == ["samples/app:1.1", "samples/app:1.0"]


@pytest.mark.parametrize("name", ["delete_old_images.py", "delete_old_images_async.py"])
def test_delete_example_asks_before_touching_a_real_registry(name: str) -> None:
    result = _run(name, REGISTRY_ENDPOINT="https://127.0.0.1:9")
    assert result.returncode != 0
    assert "CONFIRM_DELETE=1" in result.stderr
    assert "Deleting" not in result.stdout
