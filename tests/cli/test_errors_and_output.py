"""Exit codes, one-line errors without tracebacks, valid JSON, data on stdout only: in-process and as subprocesses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import run_cli, run_creg, unique


def _one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_unknown_tag_in_process(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    repo = unique("errors")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    result = run_cli("-r", registry_emulator.endpoint, "tag", "show", f"{repo}:nope")
    assert result.exit_code == 1
    line = _one_line_error(result.stderr)
    assert "nope" in line and "404" in line
    assert result.stdout == ""


def test_unknown_tag_as_a_subprocess(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    repo = unique("errors")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    done = run_creg("-r", registry_emulator.endpoint, "-o", "json", "manifest", "get", f"{repo}:nope")
    assert done.returncode == 1
    _one_line_error(done.stderr.decode())
    assert done.stdout == b""


def test_unreachable_registry_as_a_subprocess(closed_port: int) -> None:
    done = run_creg("-r", f"http://127.0.0.1:{closed_port}", "repo", "ls")
    assert done.returncode == 1
    line = _one_line_error(done.stderr.decode())
    assert f"127.0.0.1:{closed_port}" in line


def test_unreachable_registry_in_process(closed_port: int) -> None:
    result = run_cli("-r", f"127.0.0.1:{closed_port}", "-o", "json", "tag", "ls", "app")
    assert result.exit_code == 1
    _one_line_error(result.stderr)
    assert result.stdout == ""


def test_verbose_adds_logs_on_stderr_only(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    repo = unique("verbose")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    done = run_creg("-r", registry_emulator.endpoint, "-vv", "-o", "json", "tag", "ls", repo)
    assert done.returncode == 0
    assert [t["name"] for t in json.loads(done.stdout)] == ["v1"]
    assert b"DEBUG" in done.stderr or b"INFO" in done.stderr


def test_local_file_errors_are_one_line(registry_emulator: Any, tmp_path: Any) -> None:
    result = run_cli(
        "-r",
        registry_emulator.endpoint,
        "blob",
        "pull",
        f"app@sha256:{'b' * 64}",
        str(tmp_path / "no" / "such" / "dir"),
    )
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("repo", "ls"),
        ("tag", "ls", "{repo}"),
        ("tag", "show", "{repo}:v1"),
        ("manifest", "ls", "{repo}"),
        ("manifest", "get", "{repo}:v1", "--properties"),
        ("repo", "show", "{repo}"),
        ("referrers", "{repo}:v1"),
    ],
)
def test_json_output_parses(
    args: tuple[str, ...], registry_emulator: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("json")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    result = run_cli("-r", registry_emulator.endpoint, "-o", "json", *(a.format(repo=repo) for a in args))
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)


def test_registry_from_the_environment(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    repo = unique("env")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    done = run_creg(
        "-o", "json", "tag", "ls", "--plain", repo, env={"CREG_REGISTRY": registry_emulator.endpoint}
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["v1"]


def test_acr_commands_on_a_plain_oci_registry_say_why(distribution: Any) -> None:
    result = run_cli("-r", distribution.endpoint, "manifest", "ls", unique("dist"))
    assert result.exit_code == 1
    assert "has no ACR metadata API" in _one_line_error(result.stderr)


def test_a_real_404_from_acr_gets_no_such_hint(registry_emulator: Any) -> None:
    result = run_cli("-r", registry_emulator.endpoint, "tag", "ls", unique("absent"))
    assert result.exit_code == 1
    assert "ACR metadata API" not in _one_line_error(result.stderr)


def test_table_cells_print_data_as_it_is(registry_emulator: Any) -> None:
    """A label like `[beta] :smile:` is data: not rich markup (it would vanish) nor an emoji code."""
    from containerregistry import ContainerRegistryContentClient

    repo = unique("cells")
    label = "[beta] :smile: a[b]c"
    config = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"stage": label}}}
    with ContainerRegistryContentClient(registry_emulator.endpoint, repo) as content:
        blob = json.dumps(config).encode()
        digest = content.upload_blob(blob).digest
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest,
                "size": len(blob),
            },
            "layers": [],
        }
        content.set_manifest(manifest, tag="v1")
    for result in (
        run_cli("-r", registry_emulator.endpoint, "inspect", f"{repo}:v1"),
        run_creg("-r", registry_emulator.endpoint, "inspect", f"{repo}:v1"),
    ):
        stdout = result.stdout if isinstance(result.stdout, str) else result.stdout.decode()
        assert label in stdout, stdout
        assert "\N{SMILING FACE WITH SMILING EYES}" not in stdout
