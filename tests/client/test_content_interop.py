"""The content client with authentication, large blobs, and skopeo as the peer."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from containerregistry import BasicCredential
from containerregistry.exceptions import ClientAuthenticationError
from tests.client.test_content_client import push_image


def _sparse_file(path: Path, size: int) -> str:
    """A large file that costs no disk: sparse, with a few real bytes so the digest is not trivial."""
    with open(path, "wb") as file:
        file.truncate(size)
        for offset in (0, size // 3, size - 17):
            file.seek(offset)
            file.write(os.urandom(17))
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


@pytest.mark.slow
def test_300_mib_blob_round_trip(
    registry_endpoint: str, make_client: Any, repo_name: str, tmp_path: Path
) -> None:
    size = 300 * 1024 * 1024
    expected = _sparse_file(tmp_path / "big.bin", size)
    client = make_client(registry_endpoint, repo_name)
    result = client.upload_blob(tmp_path / "big.bin")
    assert (result.digest, result.size) == (expected, size)
    (tmp_path / "big.bin").unlink()
    out = client.download_blob_to(expected, tmp_path / "back.bin")
    assert out.size == size
    assert os.path.getsize(tmp_path / "back.bin") == size


def test_basic_auth(distribution_basic: Any, make_client: Any, repo_name: str) -> None:
    good = BasicCredential(distribution_basic.username, distribution_basic.password)
    client = make_client(distribution_basic.endpoint, repo_name, credential=good)
    digest, content = push_image(client, [b"basic layer"], tag="v1")
    assert client.get_manifest("v1").content == content
    wrong = BasicCredential(distribution_basic.username, "not-the-password")
    with pytest.raises(ClientAuthenticationError) as info:
        make_client(distribution_basic.endpoint, repo_name, credential=wrong).get_manifest("v1")
    assert "not-the-password" not in str(info.value)
    with pytest.raises(ClientAuthenticationError):
        make_client(distribution_basic.endpoint, repo_name).get_manifest(digest)


def test_token_auth_costs_few_token_requests(
    distribution_token: Any, make_client: Any, repo_name: str
) -> None:
    credential = BasicCredential(distribution_token.username, distribution_token.password)
    client = make_client(distribution_token.endpoint, repo_name, credential=credential)
    digest, content = push_image(client, [b"layer a", b"layer b", b"layer c"], tag="v1")
    for _ in range(5):
        assert client.get_manifest(digest).content == content
        assert client.download_blob_content(hashlib_digest(b"layer a")).content == b"layer a"
    # push scope once, then pull is covered by it (pull,push): no token per request.
    assert distribution_token.token_server.stats.requests <= 3


def hashlib_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_skopeo_copies_what_we_pushed(
    distribution: Any, make_client: Any, repo_name: str, tmp_path: Path
) -> None:
    client = make_client(distribution.endpoint, repo_name)
    layers = [os.urandom(100_000), os.urandom(50_000)]
    digest, content = push_image(client, layers, tag="v1")
    target = tmp_path / "layout"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            f"docker://{distribution.host}/{repo_name}:v1",
            f"oci:{target}:v1",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    index = json.loads((target / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest
    blobs = target / "blobs" / "sha256"
    assert (blobs / digest.split(":")[1]).read_bytes() == content
    for layer in layers:
        assert (blobs / hashlib.sha256(layer).hexdigest()).read_bytes() == layer
