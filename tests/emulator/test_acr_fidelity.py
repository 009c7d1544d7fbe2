"""Where the emulator behaves as ACR does (as ACR's own SDK sees it) rather than by the letter of the spec:
`sizeInBytes` descriptors, Docker v2 manifests without `mediaType`, and the Entra ID audiences of a cloud.
`--strict-oci` / `strict_oci=True` keeps the OCI spec's strictness."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from containerregistry.emulator import run_emulator
from tests.emulator.emulator_helpers import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, Reg, errors_of, sha256

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACR = "https://containerregistry.azure.net"
ARM = {
    "public": "https://management.azure.com",
    "china": "https://management.chinacloudapi.cn",
    "usgov": "https://management.usgovcloudapi.net",
}


def _size_in_bytes_manifest(reg: Reg, repo: str) -> bytes:
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = b"layer bytes"
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "digest": reg.push_blob(repo, config),
            "sizeInBytes": len(config),
        },
        "layers": [{"mediaType": OCI_LAYER, "digest": reg.push_blob(repo, layer), "sizeInBytes": len(layer)}],
    }
    return json.dumps(manifest).encode()


def test_size_in_bytes_descriptors_are_accepted_as_acr_does(registry_emulator_factory: Any) -> None:
    reg = Reg(registry_emulator_factory().endpoint)
    try:
        body = _size_in_bytes_manifest(reg, "acr/sizes")
        response = reg.put_manifest("acr/sizes", "v1", body)
        assert response.status_code == 201, response.text
        got = reg.http.get("/v2/acr/sizes/manifests/v1")
        assert got.status_code == 200 and got.content == body  # stored byte for byte
        properties = reg.http.get(f"/acr/v1/acr/sizes/_manifests/{sha256(body)}").json()
        assert properties["manifest"]["architecture"] == "amd64"
        # A descriptor with neither field, or a negative sizeInBytes, is still refused.
        doc = json.loads(body)
        del doc["layers"][0]["sizeInBytes"]
        assert errors_of(reg.put_manifest("acr/sizes", "v2", json.dumps(doc).encode())) == [
            "MANIFEST_INVALID"
        ]
        doc["layers"][0]["sizeInBytes"] = -1
        assert errors_of(reg.put_manifest("acr/sizes", "v2", json.dumps(doc).encode())) == [
            "MANIFEST_INVALID"
        ]
    finally:
        reg.close()


def test_strict_oci_refuses_size_in_bytes(registry_emulator_factory: Any) -> None:
    reg = Reg(registry_emulator_factory(strict_oci=True).endpoint)
    try:
        response = reg.put_manifest("acr/sizes", "v1", _size_in_bytes_manifest(reg, "acr/sizes"))
        assert response.status_code == 400
        assert errors_of(response) == ["MANIFEST_INVALID"]
        assert "size" in response.json()["errors"][0]["message"]
    finally:
        reg.close()


@pytest.mark.parametrize("strict", [False, True])
def test_docker_content_type_without_media_type_is_refused(
    registry_emulator_factory: Any, strict: bool
) -> None:
    """ACR (Distribution underneath) refuses a Docker v2 manifest without `mediaType`: 400 MANIFEST_INVALID."""
    reg = Reg(registry_emulator_factory(strict_oci=strict).endpoint)
    try:
        repo = "acr/docker"
        config = reg.push_blob(repo, b'{"architecture":"amd64","os":"linux"}')
        layer = reg.push_blob(repo, b"docker layer")
        oci_shaped = {
            "schemaVersion": 2,
            "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 37},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": 12}],
        }
        for content_type in (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST + "; charset=utf-8"):
            refused = reg.put_manifest(repo, "v1", oci_shaped, media_type=content_type)
            assert refused.status_code == 400, (content_type, refused.text)
            assert errors_of(refused) == ["MANIFEST_INVALID"]
            assert "mediaType" in refused.json()["errors"][0]["message"]
        assert reg.http.get(f"/v2/{repo}/manifests/v1").status_code == 404
        # The same body as OCI, and a Docker manifest that names its mediaType, are fine.
        assert reg.put_manifest(repo, "oci", oci_shaped, media_type=OCI_MANIFEST).status_code == 201
        docker = {**oci_shaped, "mediaType": DOCKER_MANIFEST}
        assert reg.put_manifest(repo, "docker", docker, media_type=DOCKER_MANIFEST).status_code == 201
    finally:
        reg.close()


def _exchange(http: httpx.Client, registry: Any, audience: str) -> httpx.Response:
    return http.post(
        "/oauth2/exchange",
        data={
            "grant_type": "access_token",
            "service": registry.login_server,
            "access_token": registry.mint_entra_token(audience=audience),
        },
    )


@pytest.mark.parametrize("cloud", [None, "public", "china", "usgov"])
def test_exchange_accepts_only_the_clouds_audiences(cloud: str | None) -> None:
    kwargs: dict[str, Any] = {} if cloud is None else {"cloud": cloud}
    own = cloud or "public"  # the default is the public cloud
    with (
        run_emulator(auth=True, users=["admin:pw-123:admin"], **kwargs) as registry,
        httpx.Client(base_url=registry.endpoint) as http,
    ):
        for audience in (ACR, ACR + "/", ARM[own], ARM[own] + "/"):
            response = _exchange(http, registry, audience)
            assert response.status_code == 200, (audience, response.text)
        for other in sorted(set(ARM) - {own}):
            refused = _exchange(http, registry, ARM[other])
            assert refused.status_code == 401, (other, refused.text)
            message = refused.json()["errors"][0]["message"]
            assert ACR in message and ARM[own] in message and ARM[other] not in message
        assert _exchange(http, registry, "https://storage.azure.com").status_code == 401


def test_unknown_cloud_is_refused() -> None:
    with pytest.raises(ValueError, match="cloud"), run_emulator(auth=True, cloud="mars"):
        pass


def test_cli_strict_oci_and_cloud(tmp_path: Path) -> None:
    """`python -m containerregistry.emulator --strict-oci --cloud china` starts an emulator that keeps
    the spec's strictness and trusts Azure China's Entra ID audience only."""
    log = tmp_path / "emulator.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "containerregistry.emulator", "--port", "0"),
                *("--data", str(tmp_path / "data"), "--strict-oci", "--cloud", "china"),
                *("--user", "admin:pw-123:admin", "--entra-secret", "s" * 40),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        endpoint = None
        deadline = time.monotonic() + 60
        while endpoint is None and time.monotonic() < deadline and process.poll() is None:
            match = re.search(r"listening on (http://\S+?:\d+) ", log.read_text())
            endpoint = match[1] if match else None
            time.sleep(0.1)
        assert endpoint is not None, log.read_text()
        from containerregistry.emulator.auth import mint_entra_token

        with httpx.Client(base_url=endpoint, timeout=10) as http:

            def exchange(audience: str) -> int:
                token = mint_entra_token("s" * 40, audience=audience)
                data = {"grant_type": "access_token", "access_token": token}
                return http.post("/oauth2/exchange", data=data).status_code

            assert exchange(ARM["china"]) == 200
            assert exchange(ACR) == 200
            assert exchange(ARM["public"]) == 401
            reg = Reg(endpoint)
            reg.http.auth = ("admin", "pw-123")
            try:
                response = reg.put_manifest("strict", "v1", _size_in_bytes_manifest(reg, "strict"))
                assert response.status_code == 400 and errors_of(response) == ["MANIFEST_INVALID"]
            finally:
                reg.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
