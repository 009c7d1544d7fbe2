"""creg against real registries: deletes that say what happened, TLS without `https://`, Docker v2 pulls.

CliRunner in-process against CNCF Distribution and the emulator (plain and TLS), plus end-to-end runs
of the real `creg` process.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from containerregistry.emulator.tls import generate_self_signed, server_ssl_context
from tests.images.docker_v2 import push_docker_v2_image

from .conftest import run_cli, run_creg, unique


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


# -- deletes ------------------------------------------------------------------------------------


def test_tag_rm_on_distribution_fails_and_says_what_to_do(
    distribution: Any, push_manifest: Callable[..., str]
) -> None:
    r = distribution.endpoint
    repo = unique("tagrm")
    digest = push_manifest(r, repo, "v1")
    refused = run_cli("-r", r, "tag", "rm", f"{repo}:v1")
    assert refused.exit_code == 1
    line = _one_error_line(refused.stderr)
    assert "cannot delete a tag alone" in line and f"creg manifest rm {repo}@{digest}" in line
    assert "deleted tag" not in refused.output
    assert json.loads(run_cli("-r", r, "-o", "json", "tag", "ls", "--plain", repo).stdout) == ["v1"]

    absent = run_cli("-r", r, "tag", "rm", f"{repo}:absent")
    assert absent.exit_code == 1
    assert "no tag" in _one_error_line(absent.stderr) and "nothing deleted" in absent.stderr


def test_repo_rm_on_distribution_fails_and_says_what_to_do(
    distribution: Any, push_manifest: Callable[..., str]
) -> None:
    r = distribution.endpoint
    repo = unique("reporm")
    push_manifest(r, repo, "v1")
    refused = run_cli("-r", r, "repo", "rm", repo)
    assert refused.exit_code == 1
    assert "no API to delete a repository" in _one_error_line(refused.stderr)
    assert refused.stdout == ""
    assert json.loads(run_cli("-r", r, "-o", "json", "tag", "ls", "--plain", repo).stdout) == ["v1"]
    absent = run_cli("-r", r, "repo", "rm", unique("never"))
    assert absent.exit_code == 1 and "no repository" in _one_error_line(absent.stderr)


def test_rm_of_absent_tag_and_repository_on_the_emulator(
    registry_emulator: Any, push_manifest: Callable[..., str]
) -> None:
    r = registry_emulator.endpoint
    repo = unique("absent")
    push_manifest(r, repo, "v1")
    tag = run_cli("-r", r, "tag", "rm", f"{repo}:nope")
    assert tag.exit_code == 1 and "no tag" in _one_error_line(tag.stderr)
    assert "deleted" not in tag.stderr.replace("nothing deleted", "")
    missing_repo = run_cli("-r", r, "repo", "rm", unique("never"))
    assert missing_repo.exit_code == 1 and "no repository" in _one_error_line(missing_repo.stderr)
    # What exists is still deleted, and says so.
    done = run_cli("-r", r, "tag", "rm", f"{repo}:v1")
    assert done.exit_code == 0 and "deleted tag" in done.stderr


def test_end_to_end_tag_rm_on_distribution(distribution: Any, push_manifest: Callable[..., str]) -> None:
    repo = unique("e2e-tagrm")
    push_manifest(distribution.endpoint, repo, "v1")
    done = run_creg("-r", distribution.endpoint, "tag", "rm", f"{repo}:v1")
    assert done.returncode == 1
    assert b"cannot delete a tag alone" in done.stderr and b"Traceback" not in done.stderr
    done = run_creg("-r", distribution.endpoint, "tag", "rm", f"{repo}:absent")
    assert done.returncode == 1 and b"no tag" in done.stderr


# -- TLS on loopback without https:// --------------------------------------------------------------


def test_tls_registry_on_loopback_without_scheme(registry_emulator_factory: Any, tmp_path: Path) -> None:
    cert, key, ca = generate_self_signed(["127.0.0.1"], tmp_path / "tls")
    registry = registry_emulator_factory(ssl_context=server_ssl_context(cert, key), ca_cert=ca)
    host = f"127.0.0.1:{registry.port}"
    # A reference naming the host, and --registry without a scheme.
    pushed = run_cli("-v", "--ca-cert", str(ca), "blob", "push", f"{host}/tls-bare", "-", input=b"tls")
    assert pushed.exit_code == 0, pushed.stderr
    assert f"{host}: using https" in pushed.stderr
    listed = run_cli("-r", host, "--ca-cert", str(ca), "-o", "json", "repo", "ls")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == ["tls-bare"]
    # Untrusted certificate: an error about it, never a silent downgrade to plain http.
    untrusted = run_cli("-v", "-r", host, "repo", "ls")
    assert untrusted.exit_code == 1
    assert "using plain http" not in untrusted.stderr
    assert "certificate" in untrusted.stderr.lower()


def test_plain_loopback_registry_without_scheme_falls_back_to_http(registry_emulator: Any) -> None:
    host = f"127.0.0.1:{registry_emulator.port}"
    pushed = run_cli("-v", "-r", host, "blob", "push", unique("plain"), "-", input=b"plain")
    assert pushed.exit_code == 0, pushed.stderr
    assert f"{host}: using plain http" in pushed.stderr


def test_end_to_end_tls_without_scheme(registry_emulator_factory: Any, tmp_path: Path) -> None:
    cert, key, ca = generate_self_signed(["127.0.0.1"], tmp_path / "tls")
    registry = registry_emulator_factory(ssl_context=server_ssl_context(cert, key), ca_cert=ca)
    host = f"127.0.0.1:{registry.port}"
    done = run_creg("-v", "--ca-cert", str(ca), "blob", "push", f"{host}/e2e-tls", "-", input=b"e2e")
    assert done.returncode == 0, done.stderr
    assert b"using https" in done.stderr


# -- Docker Hub names ------------------------------------------------------------------------------


def test_docker_hub_names_in_the_cli() -> None:
    from containerregistry.cli._app import AppContext

    for registry in ("docker.io", "index.docker.io", "https://docker.io"):
        ref = AppContext(registry=registry).reference("alpine:3")
        assert (ref.client_endpoint.rsplit("://", 1)[-1], ref.repository, ref.tag) == (
            "registry-1.docker.io",
            "library/alpine",
            "3",
        )
    app = AppContext()  # the local emulator: no library/ there
    assert app.reference("alpine:3").repository == "alpine"
    ref = app.reference("docker.io/alpine:3")
    assert (ref.client_endpoint, ref.repository) == ("registry-1.docker.io", "library/alpine")
    assert app.reference("index.docker.io/bitnami/redis").repository == "bitnami/redis"


# -- pull of a Docker v2 image into an OCI layout -----------------------------------------------


def test_pull_docker_v2_image_into_layout_readable_by_skopeo(distribution: Any, tmp_path: Path) -> None:
    repo = unique("dockerv2")
    original = push_docker_v2_image(distribution.endpoint, repo, "v1")
    layout = tmp_path / "layout"
    pulled = run_cli("-r", distribution.endpoint, "-o", "json", "pull", f"{repo}:v1", f"oci:{layout}:v1")
    assert pulled.exit_code == 0, pulled.stderr
    result = json.loads(pulled.stdout)
    assert result["converted_from"] == original and result["digest"] != original
    assert "converted Docker v2 media types to OCI" in pulled.stderr and original in pulled.stderr
    inspect = subprocess.run(
        ["skopeo", "inspect", f"oci:{layout}:v1"], capture_output=True, timeout=60, check=False
    )
    assert inspect.returncode == 0, inspect.stderr
    assert json.loads(inspect.stdout)["Digest"] == result["digest"]

    kept = tmp_path / "kept"
    preserved = run_cli(
        "-r",
        distribution.endpoint,
        "-o",
        "json",
        "pull",
        "--preserve-digests",
        f"{repo}:v1",
        f"oci:{kept}:v1",
    )
    assert preserved.exit_code == 0, preserved.stderr
    assert json.loads(preserved.stdout)["digest"] == original
    assert json.loads(preserved.stdout)["converted_from"] is None
    assert "converted" not in preserved.stderr
