"""`creg digest`, `config`, `inspect`, `tag add`: CliRunner and subprocess, on the emulator and Distribution; skopeo agrees."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from tests.images.test_inspect_and_tags import CONFIG, push_sample

from .conftest import run_cli, run_creg, unique


@pytest.fixture(params=["emulator", "distribution"])
def endpoint(request: pytest.FixtureRequest) -> str:
    name = "registry_emulator" if request.param == "emulator" else "distribution"
    return str(request.getfixturevalue(name).endpoint)


def test_digest_prints_the_digest_and_json(endpoint: str) -> None:
    repo = unique("cli-digest")
    sample = push_sample(endpoint, repo, "v1")
    plain = run_cli("-r", endpoint, "digest", f"{repo}:v1")
    assert plain.exit_code == 0, plain.stderr
    assert plain.stdout == sample["index"] + "\n"
    as_json = run_cli("-r", endpoint, "-o", "json", "digest", f"{repo}:v1-arm64")
    assert json.loads(as_json.stdout)["digest"] == sample["image"]
    missing = run_cli("-r", endpoint, "digest", f"{repo}:absent")
    assert missing.exit_code == 1 and missing.stderr.startswith("error: ")
    assert len(missing.stderr.strip().splitlines()) == 1
    no_tag = run_cli("-r", endpoint, "digest", repo)
    assert no_tag.exit_code == 2


def test_config_prints_the_exact_bytes(endpoint: str) -> None:
    repo = unique("cli-config")
    sample = push_sample(endpoint, repo, "v1")
    raw = run_cli("-r", endpoint, "config", f"{repo}:v1", "--platform", "linux/arm64")
    assert raw.exit_code == 0, raw.stderr
    assert raw.stdout_bytes == sample["config_bytes"] + b"\n"
    pretty = run_cli("-r", endpoint, "-o", "json", "config", f"{repo}:v1-arm64")
    assert json.loads(pretty.stdout) == CONFIG
    ambiguous = run_cli("-r", endpoint, "config", f"{repo}:v1")
    assert ambiguous.exit_code == 1
    assert "--platform" in ambiguous.stderr and "linux/arm/v7" in ambiguous.stderr


def test_inspect_table_and_json(endpoint: str) -> None:
    repo = unique("cli-inspect")
    sample = push_sample(endpoint, repo, "v1")
    index = run_cli("-r", endpoint, "inspect", f"{repo}:v1")
    assert index.exit_code == 0, index.stderr
    assert (
        sample["index"] in index.stdout
        and "linux/arm64/v8" in index.stdout
        and "linux/arm/v7" in index.stdout
    )

    image = run_cli("-r", endpoint, "inspect", f"{repo}:v1", "--platform", "linux/arm64")
    assert image.exit_code == 0, image.stderr
    for text in (
        sample["image"],
        sample["layer"],
        "3.0 kB",
        "org.example.team=platform",
        "2024-05-01 12:34:56",
    ):
        assert text in image.stdout

    data = json.loads(run_cli("-r", endpoint, "-o", "json", "inspect", f"{repo}:v1-arm64").stdout)
    assert data["digest"] == sample["image"] and data["architecture"] == "arm64" and data["os"] == "linux"
    assert data["layers"] == [
        {
            "digest": sample["layer"],
            "media_type": "application/vnd.oci.image.layer.v1.tar+gzip",
            "size": 3000,
            "annotations": None,
        }
    ]
    assert data["labels"] == {"org.example.team": "platform"}
    assert data["created"].startswith("2024-05-01T12:34:56")


def test_tag_add_moves_no_blobs_and_keeps_the_digest(endpoint: str) -> None:
    repo = unique("cli-tagadd")
    sample = push_sample(endpoint, repo, "v1.2.3")
    added = run_cli("-r", endpoint, "tag", "add", f"{repo}:v1.2.3", "v1.2", "latest")
    assert added.exit_code == 0, added.stderr
    assert f"tagged {repo}@{sample['index']} as v1.2, latest" in added.stderr
    for tag in ("v1.2", "latest"):
        assert run_cli("-r", endpoint, "digest", f"{repo}:{tag}").stdout.strip() == sample["index"]
    as_json = json.loads(
        run_cli("-r", endpoint, "-o", "json", "tag", "add", f"{repo}@{sample['index']}", "x").stdout
    )
    assert as_json == {"digest": sample["index"], "repository": repo, "tags": ["x"]}
    bad = run_cli("-r", endpoint, "tag", "add", f"{repo}:v1.2.3", "ok", "no good")
    assert bad.exit_code == 1 and "no good" in bad.stderr
    assert "ok" not in run_cli("-r", endpoint, "tag", "ls", "--plain", repo).stdout.split()
    assert run_cli("-r", endpoint, "tag", "add", f"{repo}:v1.2.3").exit_code == 2  # no tags given


def test_end_to_end_subprocess(endpoint: str) -> None:
    repo = unique("e2e-inspect")
    sample = push_sample(endpoint, repo, "v1")
    done = run_creg("-r", endpoint, "tag", "add", f"{repo}:v1", "stable")
    assert done.returncode == 0, done.stderr
    digest = run_creg("-r", endpoint, "digest", f"{repo}:stable")
    assert digest.returncode == 0 and digest.stdout.decode() == sample["index"] + "\n"
    out = run_creg("-r", endpoint, "-o", "json", "inspect", f"{repo}:stable", "--platform", "linux/arm/v7")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["variant"] == "v7"


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_inspect_json_agrees_with_skopeo_inspect(endpoint: str) -> None:
    repo = unique("skopeo-inspect")
    push_sample(endpoint, repo, "v1")
    host = endpoint.split("://", 1)[1]
    theirs = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", f"docker://{host}/{repo}:v1-arm64"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    )
    ours: dict[str, Any] = json.loads(
        run_cli("-r", endpoint, "-o", "json", "inspect", f"{repo}:v1-arm64").stdout
    )
    assert ours["digest"] == theirs["Digest"]
    assert ours["architecture"] == theirs["Architecture"] and ours["os"] == theirs["Os"]
    assert ours["labels"] == theirs["Labels"]
    assert ours["env"] == (theirs.get("Env") or ours["env"])  # older skopeo omits Env
    assert [layer["digest"] for layer in ours["layers"]] == theirs["Layers"]
    if "LayersData" in theirs:  # skopeo >= 1.10
        assert [(layer["digest"], layer["size"], layer["media_type"]) for layer in ours["layers"]] == [
            (layer["Digest"], layer["Size"], layer["MIMEType"]) for layer in theirs["LayersData"]
        ]
    assert ours["created"][:19] == theirs["Created"][:19]
