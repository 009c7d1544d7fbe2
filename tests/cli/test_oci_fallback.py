"""Commands that use the ACR API fall back to the OCI API where it can answer (`tag ls`, `tag show` on
CNCF Distribution), and say what is missing; the others say which API they need."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .conftest import run_cli, run_creg, unique


def test_tag_ls_on_distribution_lists_the_oci_tags(
    distribution: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("fallback")
    first = push_manifest(distribution.endpoint, repo, "v1")
    second = push_manifest(distribution.endpoint, repo, "v2")
    result = run_cli("-r", distribution.endpoint, "-o", "json", "tag", "ls", repo)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [{"name": "v1", "digest": first}, {"name": "v2", "digest": second}]
    assert f"/v2/{repo}/tags/list" in result.stderr and "without update times and locks" in result.stderr
    done = run_creg("-r", distribution.endpoint, "tag", "ls", repo, "-o", "plain")
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [f"v1\t{first}", f"v2\t{second}"]


def test_tag_show_on_distribution(distribution: Any, push_manifest: Callable[..., str]) -> None:
    repo = unique("fallback")
    digest = push_manifest(distribution.endpoint, repo, "v1")
    result = run_cli("-r", distribution.endpoint, "-o", "json", "tag", "show", f"{repo}:v1")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["digest"] == digest


def test_commands_that_need_the_acr_api_say_what_is_missing(
    distribution: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("fallback")
    push_manifest(distribution.endpoint, repo, "v1")
    for args in (["manifest", "ls", repo], ["tag", "update", f"{repo}:v1", "--no-write"]):
        result = run_cli("-r", distribution.endpoint, *args)
        assert result.exit_code == 1
        assert "has no ACR metadata API" in result.stderr and "locks" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_emulator_still_uses_the_acr_api(
    registry_emulator: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("fallback")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    result = run_cli("-r", registry_emulator.endpoint, "-o", "json", "tag", "ls", repo)
    assert result.exit_code == 0, result.stderr
    assert "last_updated_on" in json.loads(result.stdout)[0]
    assert "note:" not in result.stderr
