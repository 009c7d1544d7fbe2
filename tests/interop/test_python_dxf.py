"""python-dxf (PyPI) against the emulator: push/pull blobs, aliases (tags), catalog, mount, deletes.

python-dxf authenticates only over https (over plain http it raises `DXFAuthInsecureError`), so its
token-auth cells run on the TLS emulator; it has no referrers API.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import requests
from dxf import DXF, DXFBase, exceptions  # ./dev setup installs it (.[interop])

from .conftest import ADMIN, READER
from .helpers import blob_of, client, manifest_of, tags_of


def _auth(creds: tuple[str, str] | None) -> Any:
    def auth(dxf: Any, response: Any) -> None:
        if creds is None:
            dxf.authenticate(response=response)
        else:
            dxf.authenticate(*creds, response=response)

    return auth


def _dxf(registry: Any, repo: str, creds: tuple[str, str] | None = ADMIN) -> Any:
    if registry.ca_cert is None:
        return DXF(registry.login_server, repo, insecure=True, timeout=30)
    return DXF(registry.login_server, repo, _auth(creds), tlsverify=str(registry.ca_cert), timeout=30)


@pytest.fixture(params=["open", "tls"])
def registry(request: pytest.FixtureRequest, open_registry: Any, tls_registry: Any) -> Any:
    return {"open": open_registry, "tls": tls_registry}[request.param]


def test_blobs_aliases_and_catalog(registry: Any) -> None:
    dxf = _dxf(registry, "dxf/app")
    data = b"python-dxf blob " + registry.login_server.encode()
    digest = dxf.push_blob(data=data, digest="sha256:" + hashlib.sha256(data).hexdigest())
    assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert dxf.blob_size(digest) == len(data)
    assert b"".join(dxf.pull_blob(digest)) == data
    assert blob_of(registry, "dxf/app", digest) == data  # our client reads the same bytes

    manifest_json = dxf.set_alias("v1", digest)
    assert dxf.get_alias("v1") == [digest]
    assert dxf.list_aliases() == ["v1"]
    ours_digest, manifest = manifest_of(registry, "dxf/app", "v1")
    assert dxf.get_digest("v1") == digest  # the config blob: dxf uses the first blob
    text, response = dxf.get_manifest_and_response("v1")
    assert response.headers["Docker-Content-Digest"] == ours_digest
    assert json.loads(text) == manifest
    assert manifest == json.loads(manifest_json)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"

    base = (
        DXFBase(registry.login_server, insecure=True, timeout=30)
        if registry.ca_cert is None
        else DXFBase(registry.login_server, _auth(ADMIN), tlsverify=str(registry.ca_cert), timeout=30)
    )
    assert "dxf/app" in base.list_repos()

    assert dxf.del_alias("v1") == [digest]
    assert tags_of(registry, "dxf/app") == []
    dxf.del_blob(digest)
    with pytest.raises(requests.HTTPError) as gone:
        dxf.blob_size(digest)
    assert gone.value.response is not None
    assert gone.value.response.status_code == 404


@pytest.mark.parametrize("mount_mode", ["open", "tls"])
def test_mount(open_registry: Any, tls_registry: Any, mount_mode: str) -> None:
    registry = {"open": open_registry, "tls": tls_registry}[mount_mode]
    source = _dxf(registry, "dxf/mount-src")
    data = b"mounted by python-dxf " + mount_mode.encode()
    digest = source.push_blob(data=data, digest="sha256:" + hashlib.sha256(data).hexdigest())
    target = _dxf(registry, "dxf/mount-dst")
    assert target.mount_blob("dxf/mount-src", digest) == digest
    assert b"".join(target.pull_blob(digest)) == data
    assert blob_of(registry, "dxf/mount-dst", digest) == data


def test_token_auth_over_plain_http_is_refused_by_dxf(auth_registry: Any) -> None:
    """python-dxf will not send credentials over http: what its user sees on the http auth emulator."""
    dxf = DXF(auth_registry.login_server, "dxf/app", _auth(ADMIN), insecure=True, timeout=30)
    with pytest.raises(exceptions.DXFAuthInsecureError):
        dxf.push_blob(data=[b"x"], digest="sha256:" + hashlib.sha256(b"x").hexdigest())


def test_wrong_password_and_pull_only_user(tls_registry: Any) -> None:
    wrong = _dxf(tls_registry, "dxf/private", (ADMIN[0], "wrong"))
    with pytest.raises(exceptions.DXFUnauthorizedError):
        wrong.push_blob(data=b"nope", digest="sha256:" + hashlib.sha256(b"nope").hexdigest())

    data = b"readable by the pull-only user"
    digest = _dxf(tls_registry, "dxf/private").push_blob(
        data=data, digest="sha256:" + hashlib.sha256(data).hexdigest()
    )
    reader = _dxf(tls_registry, "dxf/private", READER)
    assert b"".join(reader.pull_blob(digest)) == data
    with pytest.raises(exceptions.DXFUnauthorizedError):
        reader.push_blob(data=b"more", digest="sha256:" + hashlib.sha256(b"more").hexdigest())
    with client(tls_registry, "dxf/private") as ours:
        assert not ours.blob_exists("sha256:" + hashlib.sha256(b"more").hexdigest())


def test_anonymous_pull(anon_registry: Any) -> None:
    data = b"public blob for python-dxf"
    digest = _dxf(anon_registry, "dxf/public").push_blob(
        data=data, digest="sha256:" + hashlib.sha256(data).hexdigest()
    )
    _dxf(anon_registry, "dxf/public").set_alias("v1", digest)
    anonymous = _dxf(anon_registry, "dxf/public", None)
    assert b"".join(anonymous.pull_blob(digest)) == data
    assert anonymous.get_alias("v1") == [digest]
    assert anonymous.list_aliases() == ["v1"]
    with pytest.raises(exceptions.DXFUnauthorizedError):
        anonymous.push_blob(data=b"anon", digest="sha256:" + hashlib.sha256(b"anon").hexdigest())
    with client(anon_registry, "dxf/public") as ours:
        assert not ours.blob_exists("sha256:" + hashlib.sha256(b"anon").hexdigest())
