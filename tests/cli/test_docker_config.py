"""Docker config credential helpers: a missing one never blocks an open registry and is a clear error
(with the fix) where credentials are needed; `creg login` stores into credsStore/credHelpers as docker does."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from containerregistry.emulator.auth import AuthConfig, User

from .conftest import run_cli, run_creg, unique

#: A docker-credential-* helper written in Python: `store`, `get`, `erase` against a JSON file.
_HELPER = """#!{python}
import json, sys
from pathlib import Path
db = Path({db!r})
data = json.loads(db.read_text()) if db.exists() else {{}}
action = sys.argv[1]
if action == "store":
    item = json.loads(sys.stdin.read())
    data[item["ServerURL"]] = item
    db.write_text(json.dumps(data))
elif action == "get":
    url = sys.stdin.read().strip()
    if url not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps(data[url]))
elif action == "erase":
    data.pop(sys.stdin.read().strip(), None); db.write_text(json.dumps(data))
"""


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    db = tmp_path / "helper-db.json"
    program = bin_dir / "docker-credential-creg-test"
    program.write_text(_HELPER.format(python=sys.executable, db=str(db)))
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return db


@pytest.fixture
def locked_registry(registry_emulator_factory: Callable[..., Any]) -> Any:
    users = {"admin": User("admin", "s3cret-admin", frozenset({"admin"}))}
    return registry_emulator_factory(auth=AuthConfig(users=users))


def test_a_missing_helper_does_not_block_an_open_registry(
    registry_emulator: Any, docker_config: Path, push_manifest: Callable[..., str]
) -> None:
    repo = unique("helper")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    docker_config.write_text(json.dumps({"auths": {}, "credsStore": "creg-test-not-installed"}))
    result = run_cli("-r", registry_emulator.endpoint, "-o", "json", "tag", "ls", repo)
    assert result.exit_code == 0, result.stderr
    assert [t["name"] for t in json.loads(result.stdout)] == ["v1"]


def test_a_missing_helper_is_a_clear_error_where_credentials_are_needed(
    locked_registry: Any, docker_config: Path
) -> None:
    docker_config.write_text(json.dumps({"auths": {}, "credsStore": "creg-test-not-installed"}))
    done = run_creg(
        "-r", locked_registry.endpoint, "repo", "ls", env={"DOCKER_CONFIG": str(docker_config.parent)}
    )
    stderr = done.stderr.decode()
    assert done.returncode == 1
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "docker-credential-creg-test-not-installed" in stderr and "not on PATH" in stderr
    assert "--anonymous" in stderr


@pytest.mark.parametrize("where", ["credsStore", "credHelpers"])
def test_login_stores_into_the_configured_helper(
    locked_registry: Any, docker_config: Path, helper: Path, where: str
) -> None:
    host = locked_registry.login_server
    config: dict[str, Any] = {"auths": {}}
    if where == "credsStore":
        config["credsStore"] = "creg-test"
    else:
        config["credHelpers"] = {host: "creg-test"}
    docker_config.write_text(json.dumps(config))
    result = run_cli("login", host, "-u", "admin", "--password-stdin", input="s3cret-admin\n")
    assert result.exit_code == 0, result.stderr
    written = json.loads(docker_config.read_text())
    assert written["auths"][host] == {}  # no secret in the file, as docker leaves it
    assert "s3cret-admin" not in docker_config.read_text()
    stored = json.loads(helper.read_text())[host]
    assert stored["Username"] == "admin" and stored["Secret"] == "s3cret-admin"
    # ... and creg reads it back through the helper.
    repo = unique("helper")
    pushed = run_cli("-r", locked_registry.endpoint, "blob", "push", repo, "-", input=b"x")
    assert pushed.exit_code == 0, pushed.stderr
