"""Global options anywhere on the command line (`creg tag ls app -o json`), as crane, oras and az allow;
a subcommand's own option of the same name stays the subcommand's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_cli, run_creg, unique


def test_output_and_registry_after_the_command(
    registry_emulator: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("globals")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    for args in (
        ["tag", "ls", repo, "-o", "json", "-r", registry_emulator.endpoint],
        ["tag", "ls", "-ojson", repo, f"--registry={registry_emulator.endpoint}"],
        ["-r", registry_emulator.endpoint, "tag", "ls", repo, "--output=json"],
        ["tag", "-r", registry_emulator.endpoint, "ls", repo, "-o", "json"],
    ):
        result = run_cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
        assert [t["name"] for t in json.loads(result.stdout)] == ["v1"], args


def test_flags_and_counts_after_the_command(
    registry_emulator: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("globals")
    push_manifest(registry_emulator.endpoint, repo, "v1")
    done = run_creg("repo", "ls", "-vv", "--anonymous", "-o", "json", "-r", registry_emulator.endpoint)
    assert done.returncode == 0, done.stderr
    assert repo in json.loads(done.stdout)
    assert b"HTTP Request: GET" in done.stderr  # -vv reached the root group: it logs


def test_on_distribution(distribution: Any, push_manifest: Callable[..., str]) -> None:
    repo = unique("globals")
    push_manifest(distribution.endpoint, repo, "v1")
    done = run_creg("tag", "ls", "--plain", repo, "-o", "json", "-r", distribution.endpoint)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["v1"]


def test_a_subcommands_own_option_stays_its_own(distribution_basic: Any, docker_config: Path) -> None:
    # `login -u NAME --password-stdin`: login's own options, not the global ones (which need the
    # password before the command runs).
    result = run_cli(
        "login",
        distribution_basic.host,
        "-u",
        distribution_basic.username,
        "--password-stdin",
        "-o",
        "json",
        input=f"{distribution_basic.password}\n",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["username"] == distribution_basic.username


@pytest.mark.parametrize("args", [["tag", "ls", "app", "--", "-o"], ["tag", "ls", "-o"]])
def test_misuse_is_still_a_usage_error(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.stderr
