"""`creg artifact push|pull|attach` and `creg referrers --tree`: CliRunner and subprocess, emulator and Distribution."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.images.test_artifacts_oras import _push_titled

from .conftest import run_cli, run_creg, unique


@pytest.fixture(params=["emulator", "distribution"])
def endpoint(request: pytest.FixtureRequest) -> str:
    name = "registry_emulator" if request.param == "emulator" else "distribution"
    return str(request.getfixturevalue(name).endpoint)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, bytes]:
    contents = {"sbom.json": b'{"spdxVersion": "SPDX-2.3"}', "blob.bin": secrets.token_bytes(50_000)}
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content)
    return contents


def test_push_then_pull(endpoint: str, tmp_path: Path, files: dict[str, bytes]) -> None:
    repo = unique("cli-art")
    pushed = run_cli(
        "-r",
        endpoint,
        "artifact",
        "push",
        f"{repo}:v1",
        f"{tmp_path / 'sbom.json'}:application/spdx+json",
        str(tmp_path / "blob.bin"),
        "--artifact-type",
        "application/vnd.example.bundle",
        "--annotation",
        "org.opencontainers.image.source=https://example.invalid",
    )
    assert pushed.exit_code == 0, pushed.stderr
    digest = pushed.stdout.strip()
    assert digest.startswith("sha256:") and "pushed 2 file(s) to" in pushed.stderr

    info = json.loads(run_cli("-r", endpoint, "-o", "json", "inspect", f"{repo}:v1").stdout)
    assert info["artifact_type"] == "application/vnd.example.bundle"
    assert info["config_media_type"] == "application/vnd.oci.empty.v1+json"
    assert [layer["media_type"] for layer in info["layers"]] == [
        "application/spdx+json",
        "application/vnd.oci.image.layer.v1.tar",
    ]

    out = tmp_path / "out"
    pulled = run_cli("-r", endpoint, "artifact", "pull", f"{repo}:v1", "-o", str(out))
    assert pulled.exit_code == 0, pulled.stderr
    assert sorted(pulled.stdout.split()) == sorted(str(out / n) for n in files)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    as_json = json.loads(
        run_cli("-r", endpoint, "-o", "json", "artifact", "pull", f"{repo}@{digest}", "-o", str(out)).stdout
    )
    assert as_json["digest"] == digest and len(as_json["files"]) == 2


def test_push_usage_errors(endpoint: str, tmp_path: Path, files: dict[str, bytes]) -> None:
    repo = unique("cli-art")
    missing = run_cli("-r", endpoint, "artifact", "push", f"{repo}:v1", str(tmp_path / "absent.txt"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    bad_annotation = run_cli(
        "-r", endpoint, "artifact", "push", f"{repo}:v1", str(tmp_path / "blob.bin"), "-a", "novalue"
    )
    assert bad_annotation.exit_code == 2 and "KEY=VALUE" in bad_annotation.stderr
    no_tag = run_cli("-r", endpoint, "artifact", "push", repo, str(tmp_path / "blob.bin"))
    assert no_tag.exit_code == 2
    no_type = run_cli("-r", endpoint, "artifact", "attach", f"{repo}:v1", str(tmp_path / "blob.bin"))
    assert no_type.exit_code == 2 and "--artifact-type" in no_type.stderr


def test_pull_refuses_an_escaping_title(endpoint: str, tmp_path: Path) -> None:
    repo = unique("cli-evil")
    _push_titled(endpoint, repo, ["fine.txt", "../../escaped.txt"])
    out = tmp_path / "deep" / "out"
    result = run_cli("-r", endpoint, "artifact", "pull", f"{repo}:evil", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "../../escaped.txt" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(out.iterdir()) == [] and not (tmp_path / "escaped.txt").exists()


def test_attach_and_tree(endpoint: str, tmp_path: Path, files: dict[str, bytes]) -> None:
    repo = unique("cli-tree")
    image = run_cli(
        "-r", endpoint, "artifact", "push", f"{repo}:v1", str(tmp_path / "blob.bin")
    ).stdout.strip()
    sbom = run_cli(
        "-r",
        endpoint,
        "artifact",
        "attach",
        f"{repo}:v1",
        str(tmp_path / "sbom.json"),
        "--artifact-type",
        "application/spdx+json",
    )
    assert sbom.exit_code == 0, sbom.stderr
    assert f"attached 1 file(s) to {repo}@{image}" in sbom.stderr
    sbom_digest = sbom.stdout.strip()
    sig = run_cli(
        "-r",
        endpoint,
        "artifact",
        "attach",
        f"{repo}@{sbom_digest}",
        str(tmp_path / "blob.bin"),
        "--artifact-type",
        "application/vnd.example.sig",
    )
    assert sig.exit_code == 0, sig.stderr
    sig_digest = sig.stdout.strip()

    flat = json.loads(run_cli("-r", endpoint, "-o", "json", "referrers", f"{repo}:v1").stdout)
    assert [d["digest"] for d in flat] == [sbom_digest]

    tree = run_cli("-r", endpoint, "referrers", f"{repo}:v1", "--tree")
    assert tree.exit_code == 0, tree.stderr
    lines = tree.stdout.splitlines()
    assert lines[0].endswith(f"/{repo}@{image}")
    assert lines[1] == f"└── application/spdx+json  {sbom_digest}"
    assert lines[2] == f"    └── application/vnd.example.sig  {sig_digest}"

    nested = json.loads(run_cli("-r", endpoint, "-o", "json", "referrers", f"{repo}:v1", "--tree").stdout)
    assert nested["referrers"][0]["referrers"][0]["digest"] == sig_digest


def test_end_to_end_subprocess(endpoint: str, tmp_path: Path, files: dict[str, bytes]) -> None:
    repo = unique("e2e-art")
    done = run_creg("-r", endpoint, "artifact", "push", f"{repo}:v1", str(tmp_path / "sbom.json"))
    assert done.returncode == 0, done.stderr
    attached = run_creg(
        "-r",
        endpoint,
        "artifact",
        "attach",
        f"{repo}:v1",
        str(tmp_path / "blob.bin"),
        "--artifact-type",
        "application/x-test",
    )
    assert attached.returncode == 0, attached.stderr
    pulled = run_creg("-r", endpoint, "artifact", "pull", f"{repo}:v1", "-o", str(tmp_path / "got"))
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "got" / "sbom.json").read_bytes() == files["sbom.json"]
    tree = run_creg("-r", endpoint, "referrers", f"{repo}:v1", "--tree")
    assert tree.returncode == 0 and attached.stdout.decode().strip() in tree.stdout.decode()
