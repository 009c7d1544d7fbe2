"""Where push/pull/copy write: `creg pull REF out3` must not copy into repository `out3` of the registry;
paths and archive files without a transport get a hint; transports creg does not know are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import Layout, run_cli, run_creg, unique


def _pushed(endpoint: str, layout: Layout) -> str:
    repo = unique("dest")
    result = run_cli("-r", endpoint, "push", f"oci:{layout.path}:{layout.tag}", f"{repo}:v1")
    assert result.exit_code == 0, result.stderr
    return repo


@pytest.mark.parametrize("registry", ["registry_emulator", "distribution"])
def test_pull_into_a_bare_name_is_refused_and_writes_nothing(
    request: pytest.FixtureRequest,
    registry: str,
    layout: Layout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = request.getfixturevalue(registry).endpoint
    repo = _pushed(endpoint, layout)
    target = unique("out")
    result = run_cli("-r", endpoint, "pull", f"{repo}:v1", target)
    assert result.exit_code == 2, result.stderr
    assert f"did you mean oci:./{target}" in result.stderr
    assert "pull writes to a local directory" in result.stderr
    # Nothing went to the registry under that name (before the fix: a whole copy into repository out3).
    listed = run_cli("-r", endpoint, "tag", "ls", "--plain", target)
    assert listed.exit_code == 1 or listed.stdout.strip() == "", listed.stdout
    # ... and a real subprocess says the same.
    done = run_creg("-r", endpoint, "pull", f"{repo}:v1", target)
    assert done.returncode == 2
    assert f"did you mean oci:./{target}" in done.stderr.decode()
    # The right spelling works.
    monkeypatch.chdir(tmp_path)
    ok = run_cli("-r", endpoint, "pull", f"{repo}:v1", f"oci:./{target}")
    assert ok.exit_code == 0, ok.stderr
    assert (tmp_path / target / "index.json").is_file()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["pull", "app:1", "./x"], "did you mean oci:./x"),
        (["pull", "app:1", "x.tar"], "x.tar"),
        (["push", "./build", "app:1"], "did you mean oci:./build"),
        (["push", "build.tar", "app:1"], "build.tar"),
        (["copy", "app:1", "/tmp/somewhere"], "did you mean oci:/tmp/somewhere"),
        (["copy", "app:1", "dir:./x"], "does not read or write the dir: transport"),
        (["copy", "containers-storage:app:1", "app:2"], "containers-storage: transport"),
        (["pull", "app:1", "foo:./x"], "unknown transport foo:"),
    ],
)
def test_paths_and_unknown_transports_get_a_hint(args: list[str], expected: str, closed_port: int) -> None:
    # A registry that is not there: each of these must be refused before anything is contacted.
    result = run_cli("-r", f"http://127.0.0.1:{closed_port}", *args)
    assert result.exit_code == 2, (result.stderr, result.stdout)
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_copy_between_registries_still_works(registry_emulator: Any, layout: Layout) -> None:
    repo = _pushed(registry_emulator.endpoint, layout)
    mirror = unique("mirror")
    result = run_cli("-r", registry_emulator.endpoint, "copy", f"{repo}:v1", f"{mirror}:v1")
    assert result.exit_code == 0, result.stderr
    shown = run_cli("-r", registry_emulator.endpoint, "manifest", "get", f"{mirror}:v1")
    assert shown.exit_code == 0, shown.stderr
