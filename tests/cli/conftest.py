"""Helpers for the CLI tests: run `creg` in-process (CliRunner) or as a subprocess, build OCI layouts."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from containerregistry.cli import cli

CREG = [sys.executable, "-m", "containerregistry.cli"]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def run_cli(*args: str, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Result:
    """Invoke creg in-process; stdout and stderr are kept apart (click >= 8.2)."""
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=True)


def run_creg(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run creg as a real subprocess (bounded by `timeout`)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*CREG, *args], input=input, capture_output=True, timeout=timeout, env=full_env, check=False
    )


def unique(prefix: str) -> str:
    """A repository name no other test uses (the session emulator is shared)."""
    return f"{prefix}-{secrets.token_hex(4)}"


@dataclass
class Layout:
    """An OCI layout written by `make_layout`: its path, the index digest and the blobs it holds."""

    path: Path
    tag: str
    digest: str
    blobs: dict[str, bytes]


def _put_blob(root: Path, content: bytes, blobs: dict[str, bytes]) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    (root / "blobs" / "sha256" / digest[7:]).write_bytes(content)
    blobs[digest] = content
    return {"digest": digest, "size": len(content)}


def make_layout(root: Path, tag: str = "v1") -> Layout:
    """A two-platform OCI index (linux/amd64, linux/arm64) whose images share a layer."""
    (root / "blobs" / "sha256").mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    blobs: dict[str, bytes] = {}
    shared = _put_blob(root, secrets.token_bytes(40_000), blobs)
    manifests = []
    for arch in ("amd64", "arm64"):
        config = _put_blob(root, json.dumps({"architecture": arch, "os": "linux"}).encode(), blobs)
        own = _put_blob(root, secrets.token_bytes(20_000), blobs)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", **shared},
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", **own},
            ],
        }
        descriptor = _put_blob(root, json.dumps(manifest).encode(), blobs)
        manifests.append(
            {"mediaType": OCI_MANIFEST, **descriptor, "platform": {"architecture": arch, "os": "linux"}}
        )
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    top = _put_blob(root, json.dumps(index).encode(), blobs)
    entry = {"mediaType": OCI_INDEX, **top, "annotations": {"org.opencontainers.image.ref.name": tag}}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return Layout(root, tag, str(top["digest"]), blobs)


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return make_layout(tmp_path / "layout")


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, private DOCKER_CONFIG for this test, so no test reads or writes the user's."""
    directory = tmp_path / "docker"
    directory.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    return directory / "config.json"


@pytest.fixture
def push_manifest() -> Callable[..., str]:
    """Push a one-layer image with creg itself (blob push + manifest put); returns the manifest digest."""

    def push(endpoint: str, repository: str, tag: str) -> str:
        layer = run_cli("-r", endpoint, "blob", "push", repository, "-", input=secrets.token_bytes(1000))
        assert layer.exit_code == 0, layer.stderr
        config = run_cli("-r", endpoint, "blob", "push", repository, "-", input=b"{}")
        assert config.exit_code == 0, config.stderr
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": config.stdout.strip(),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer.stdout.strip(),
                    "size": 1000,
                }
            ],
        }
        result = run_cli(
            "-r", endpoint, "manifest", "put", f"{repository}:{tag}", "-", input=json.dumps(manifest).encode()
        )
        assert result.exit_code == 0, result.stderr
        return result.stdout.strip()

    return push


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
