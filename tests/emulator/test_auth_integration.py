"""The action each endpoint asks the auth layer for, token-mode challenges, and the 500 safety net."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from aiohttp import web

from containerregistry.emulator.auth import AuthConfig, User
from tests.emulator.emulator_helpers import Reg, errors_of, sha256


class RecordingAuth:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []

    async def authorize(
        self, request: web.Request, resource_type: str, resource_name: str, actions: tuple[str, ...]
    ) -> None:
        self.calls.append((resource_type, resource_name, tuple(actions)))


def test_action_map(registry_emulator_factory: Any) -> None:
    auth = RecordingAuth()
    registry = registry_emulator_factory(auth=auth)
    reg = Reg(registry.endpoint)
    digest, _ = reg.push_image("app", "v1")
    blob = reg.push_blob("app", b"blob")
    location = reg.http.post("/v2/app/blobs/uploads/").headers["Location"]
    Scopes = list[tuple[str, str, tuple[str, ...]]]
    pull: Scopes = [("repository", "app", ("pull",))]
    push: Scopes = [("repository", "app", ("pull", "push"))]
    delete: Scopes = [("repository", "app", ("delete",))]
    read: Scopes = [("repository", "app", ("metadata_read",))]
    write: Scopes = [("repository", "app", ("metadata_write",))]
    catalog: Scopes = [("registry", "catalog", ("*",))]
    cases: list[tuple[str, str, Scopes]] = [
        ("GET", "/v2/", [("", "", ())]),
        ("GET", "/v2/_catalog", catalog),
        ("GET", "/acr/v1/_catalog", catalog),
        ("GET", f"/v2/app/blobs/{blob}", pull),
        ("HEAD", f"/v2/app/blobs/{blob}", pull),
        ("GET", "/v2/app/manifests/v1", pull),
        ("HEAD", "/v2/app/manifests/v1", pull),
        ("GET", "/v2/app/tags/list", pull),
        ("GET", f"/v2/app/referrers/{digest}", pull),
        ("GET", location, push),
        ("PATCH", location, push),
        ("POST", "/v2/app/blobs/uploads/", push),
        (
            "POST",
            f"/v2/other/blobs/uploads/?mount={blob}&from=app",
            [("repository", "other", ("pull", "push")), *pull],
        ),
        ("DELETE", location, push),
        ("GET", "/acr/v1/app", read),
        ("GET", "/acr/v1/app/_tags", read),
        ("GET", "/acr/v1/app/_tags/v1", read),
        ("GET", "/acr/v1/app/_manifests", read),
        ("GET", f"/acr/v1/app/_manifests/{digest}", read),
        ("PATCH", "/acr/v1/app", write),
        ("PATCH", "/acr/v1/app/_tags/v1", write),
        ("PATCH", f"/acr/v1/app/_manifests/{digest}", write),
        ("DELETE", "/acr/v1/app/_tags/v1", delete),
        ("DELETE", f"/v2/app/blobs/{blob}", delete),
        ("DELETE", f"/v2/app/manifests/{digest}", delete),
        ("DELETE", "/acr/v1/app", delete),
    ]
    for method, path, expected in cases:
        auth.calls.clear()
        body = b"{}" if method == "PATCH" else None
        response = reg.http.request(method, path, content=body)
        assert response.status_code < 400, (method, path, response.text)
        assert auth.calls == expected, (method, path)
    auth.calls.clear()
    config = b'{"architecture":"amd64","os":"linux"}'
    reg.push_blob("app2", config)
    assert auth.calls == [("repository", "app2", ("pull", "push"))]
    auth.calls.clear()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": [],
    }
    assert reg.put_manifest("app2", "v1", manifest).status_code == 201
    assert auth.calls == [("repository", "app2", ("pull", "push"))]
    reg.close()


def test_token_mode_challenges_with_exact_scope(registry_emulator_factory: Any) -> None:
    users = {"admin": User("admin", "s3cret-pw", frozenset({"admin"}))}
    registry = registry_emulator_factory(auth=AuthConfig(users=users))
    with httpx.Client(base_url=registry.endpoint) as http:
        base = http.get("/v2/")
        assert base.status_code == 401
        assert base.headers["WWW-Authenticate"].startswith("Bearer realm=")
        response = http.get("/v2/app/tags/list")
        assert response.status_code == 401
        assert 'scope="repository:app:pull"' in response.headers["WWW-Authenticate"]
        assert errors_of(response) == ["UNAUTHORIZED"]
        response = http.get("/acr/v1/app/_tags")
        assert 'scope="repository:app:metadata_read"' in response.headers["WWW-Authenticate"]
        response = http.get("/v2/_catalog")
        assert 'scope="registry:catalog:*"' in response.headers["WWW-Authenticate"]
        token = http.get(
            "/oauth2/token",
            params={"service": registry.login_server, "scope": "repository:app:pull,push"},
            auth=("admin", "s3cret-pw"),
        )
        assert token.status_code == 200, token.text
        access = token.json().get("access_token") or token.json()["token"]
        headers = {"Authorization": f"Bearer {access}"}
        data = b"authorized bytes"
        pushed = http.post(
            "/v2/app/blobs/uploads/", params={"digest": sha256(data)}, content=data, headers=headers
        )
        assert pushed.status_code == 201
        assert http.get(f"/v2/app/blobs/{sha256(data)}", headers=headers).content == data
        # The pull,push token does not cover delete.
        assert http.delete(f"/v2/app/blobs/{sha256(data)}", headers=headers).status_code == 401
        assert "s3cret-pw" not in repr(registry)


def test_anonymous_pull_lists_the_catalog_as_acr_does(registry_emulator_factory: Any) -> None:
    """ACR with anonymous pull gives its anonymous token `registry:catalog:*`: both catalog routes
    answer 200, without credentials and with an anonymous token; pushes are still challenged."""
    users = {"admin": User("admin", "s3cret-pw", frozenset({"admin"}))}
    registry = registry_emulator_factory(auth=AuthConfig(users=users, anonymous_pull=True))
    with httpx.Client(base_url=registry.endpoint) as http:
        token = http.get(
            "/oauth2/token",
            params={"service": registry.login_server, "scope": "repository:app:pull,push"},
            auth=("admin", "s3cret-pw"),
        ).json()["access_token"]
        data = b"listed"
        pushed = http.post(
            "/v2/app/blobs/uploads/",
            params={"digest": sha256(data)},
            content=data,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert pushed.status_code == 201
        anonymous = http.post(
            "/oauth2/token",
            data={"grant_type": "password", "service": registry.login_server, "scope": "registry:catalog:*"},
        ).json()["access_token"]
        for headers in ({}, {"Authorization": f"Bearer {anonymous}"}):
            acr = http.get("/acr/v1/_catalog", headers=headers)
            assert acr.status_code == 200, acr.text
            assert acr.json() == {"repositories": ["app"]}
            oci = http.get("/v2/_catalog", headers=headers)
            assert oci.status_code == 200, oci.text
            assert oci.json() == {"repositories": ["app"]}
        assert http.post("/v2/other/blobs/uploads/").status_code == 401


def test_cross_repository_mount_is_challenged_once_with_both_scopes(registry_emulator_factory: Any) -> None:
    """As Distribution does: one 401 naming the target and the source scope, so a client that answers
    one challenge per request (python-dxf, the conformance suite's client) gets a token for both."""
    users = {"dev": User("dev", "s3cret-pw", frozenset({"pull", "push"}))}
    registry = registry_emulator_factory(auth=AuthConfig(users=users))

    def token_for(http: httpx.Client, scope: str) -> dict[str, str]:
        response = http.get(
            "/oauth2/token",
            params={"service": registry.login_server, "scope": scope},
            auth=("dev", "s3cret-pw"),
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    with httpx.Client(base_url=registry.endpoint) as http:
        data = b"mounted bytes"
        digest = sha256(data)
        pushed = http.post(
            "/v2/src/blobs/uploads/",
            params={"digest": digest},
            content=data,
            headers=token_for(http, "repository:src:pull,push"),
        )
        assert pushed.status_code == 201
        mount = f"/v2/dst/blobs/uploads/?mount={digest}&from=src"
        for headers in ({}, token_for(http, "repository:dst:pull,push")):
            first = http.post(mount, headers=headers)
            assert first.status_code == 401
            challenge = first.headers["WWW-Authenticate"]
            assert 'scope="repository:dst:pull,push repository:src:pull"' in challenge, challenge
        scope = challenge.split('scope="', 1)[1].split('"', 1)[0]
        retry = http.post(mount, headers=token_for(http, scope))
        assert retry.status_code == 201, retry.text
        assert retry.headers["Location"] == f"/v2/dst/blobs/{digest}"
        assert (
            http.get(f"/v2/dst/blobs/{digest}", headers=token_for(http, "repository:dst:pull")).content
            == data
        )


class ExplodingAuth:
    async def authorize(
        self, request: web.Request, resource_type: str, resource_name: str, actions: Any
    ) -> None:
        raise RuntimeError("boom: secret internals")


def test_unexpected_errors_become_500_without_traceback(
    registry_emulator_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    registry = registry_emulator_factory(auth=ExplodingAuth())
    with (
        caplog.at_level(logging.ERROR, logger="containerregistry.emulator"),
        httpx.Client(base_url=registry.endpoint) as http,
    ):
        response = http.get("/v2/app/tags/list")
    assert response.status_code == 500
    assert response.json() == {
        "errors": [{"code": "UNKNOWN", "message": "internal error in the registry emulator"}]
    }
    assert "boom" not in response.text and "Traceback" not in response.text
    assert any(
        "boom" in (r.exc_text or "") or (r.exc_info and "boom" in str(r.exc_info[1])) for r in caplog.records
    )
