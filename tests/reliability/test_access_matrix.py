"""Access control on the REAL emulator: every endpoint x every identity, and every lock x every path.

Identities: anonymous, users with ACR-like roles (pull = {pull}; push = {pull, push}; delete = {delete};
metadata-read = {metadata_read}; metadata-write = {metadata_read, metadata_write}; admin), an expired
token, a token for another repository, and a token with a forged signature. Each user gets a token for
exactly the scope the endpoint needs (the token service grants `asked ∩ roles`); the request is allowed
exactly when the roles cover the needed actions, else 401 with a Bearer challenge naming realm, service
and that exact scope (403 would also be accepted; the emulator, like ACR, answers 401).
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import jwt
import pytest

from containerregistry.emulator import run_emulator
from containerregistry.emulator.auth import AuthConfig, User
from containerregistry.protocol.challenge import parse_www_authenticate
from tests.reliability._emu_common import OCI_MANIFEST, assert_oci_error, image_manifest, push_blob, sha256

pytestmark = pytest.mark.reliability

KEY = b"k" * 32
ROLES: dict[str, frozenset[str]] = {
    "pull": frozenset({"pull"}),
    "push": frozenset({"pull", "push"}),
    "delete": frozenset({"delete"}),
    "metadata-read": frozenset({"metadata_read"}),
    "metadata-write": frozenset({"metadata_read", "metadata_write"}),
    "admin": frozenset({"admin"}),
}
SPECIAL = ("anonymous", "expired", "other-repo", "forged")
_unique = itertools.count()


@dataclass
class Env:
    http: httpx.Client  # no credentials
    admin: httpx.Client  # admin Basic (allowed directly)
    login_server: str
    endpoint: str


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    users = {name: User(name, f"pw-{name}", roles) for name, roles in ROLES.items()}
    with run_emulator(auth=AuthConfig(users=users, signing_key=KEY)) as registry:
        basic = base64.b64encode(b"admin:pw-admin").decode()
        with (
            httpx.Client(base_url=registry.endpoint, timeout=10) as http,
            httpx.Client(
                base_url=registry.endpoint, timeout=10, headers={"Authorization": f"Basic {basic}"}
            ) as admin,
        ):
            yield Env(http, admin, registry.login_server, registry.endpoint)


def _image(admin: httpx.Client, repo: str = "app") -> tuple[str, str, str]:
    """Push a unique image tagged t<N>; returns (tag, manifest digest, a blob digest)."""
    n = next(_unique)
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": n}).encode()
    layer = f"layer {n}".encode()
    push_blob(admin, repo, config)
    push_blob(admin, repo, layer)
    body = image_manifest(config, [layer])
    tag = f"t{n}"
    response = admin.put(f"/v2/{repo}/manifests/{tag}", content=body, headers={"Content-Type": OCI_MANIFEST})
    assert response.status_code == 201, response.text
    return tag, sha256(body), sha256(layer)


def _session(admin: httpx.Client) -> str:
    response = admin.post("/v2/app/blobs/uploads/")
    assert response.status_code == 202
    return response.headers["Location"].split("?")[0]


# (name, method, path builder, scope needed, body builder)
Case = tuple[str, str, Callable[[httpx.Client], str], str, bytes | None, dict[str, str]]


def _cases() -> list[Case]:
    def manifest_body() -> bytes:
        return image_manifest(b'{"architecture":"amd64","os":"linux"}', [])

    pp = "repository:app:pull,push"
    return [
        ("ping", "GET", lambda a: "/v2/", "", None, {}),
        ("catalog", "GET", lambda a: "/v2/_catalog", "registry:catalog:*", None, {}),
        ("acr catalog", "GET", lambda a: "/acr/v1/_catalog", "registry:catalog:*", None, {}),
        ("blob GET", "GET", lambda a: f"/v2/app/blobs/{_image(a)[2]}", "repository:app:pull", None, {}),
        ("blob HEAD", "HEAD", lambda a: f"/v2/app/blobs/{_image(a)[2]}", "repository:app:pull", None, {}),
        (
            "blob DELETE",
            "DELETE",
            lambda a: f"/v2/app/blobs/{_image(a)[2]}",
            "repository:app:delete",
            None,
            {},
        ),
        ("upload start", "POST", lambda a: "/v2/app/blobs/uploads/", pp, None, {}),
        ("upload status", "GET", _session, pp, None, {}),
        ("upload PATCH", "PATCH", _session, pp, b"abc", {}),
        ("upload PUT", "PUT", lambda a: _session(a) + f"?digest={sha256(b'')}", pp, b"", {}),
        ("upload cancel", "DELETE", _session, pp, None, {}),
        (
            "mount",
            "POST",
            lambda a: f"/v2/app/blobs/uploads/?mount={_image(a, 'other')[2]}&from=other",
            pp,
            None,
            {},
        ),
        (
            "manifest GET",
            "GET",
            lambda a: f"/v2/app/manifests/{_image(a)[0]}",
            "repository:app:pull",
            None,
            {},
        ),
        (
            "manifest HEAD",
            "HEAD",
            lambda a: f"/v2/app/manifests/{_image(a)[0]}",
            "repository:app:pull",
            None,
            {},
        ),
        (
            "manifest PUT",
            "PUT",
            lambda a: (
                push_blob(a, "app", b'{"architecture":"amd64","os":"linux"}'),
                "/v2/app/manifests/put",
            )[1],
            pp,
            manifest_body(),
            {"Content-Type": OCI_MANIFEST},
        ),
        (
            "manifest DELETE",
            "DELETE",
            lambda a: f"/v2/app/manifests/{_image(a)[1]}",
            "repository:app:delete",
            None,
            {},
        ),
        ("tags list", "GET", lambda a: "/v2/app/tags/list", "repository:app:pull", None, {}),
        ("referrers", "GET", lambda a: f"/v2/app/referrers/{_image(a)[1]}", "repository:app:pull", None, {}),
        ("acr repo GET", "GET", lambda a: "/acr/v1/app", "repository:app:metadata_read", None, {}),
        ("acr repo PATCH", "PATCH", lambda a: "/acr/v1/app", "repository:app:metadata_write", b"{}", {}),
        (
            "acr repo DELETE",
            "DELETE",
            lambda a: (_image(a, f"gone{next(_unique)}"), "/acr/v1/app")[1],
            "repository:app:delete",
            None,
            {},
        ),
        ("acr tags", "GET", lambda a: "/acr/v1/app/_tags", "repository:app:metadata_read", None, {}),
        (
            "acr tag GET",
            "GET",
            lambda a: f"/acr/v1/app/_tags/{_image(a)[0]}",
            "repository:app:metadata_read",
            None,
            {},
        ),
        (
            "acr tag PATCH",
            "PATCH",
            lambda a: f"/acr/v1/app/_tags/{_image(a)[0]}",
            "repository:app:metadata_write",
            b"{}",
            {},
        ),
        (
            "acr tag DELETE",
            "DELETE",
            lambda a: f"/acr/v1/app/_tags/{_image(a)[0]}",
            "repository:app:delete",
            None,
            {},
        ),
        (
            "acr manifests",
            "GET",
            lambda a: "/acr/v1/app/_manifests",
            "repository:app:metadata_read",
            None,
            {},
        ),
        (
            "acr manifest GET",
            "GET",
            lambda a: f"/acr/v1/app/_manifests/{_image(a)[1]}",
            "repository:app:metadata_read",
            None,
            {},
        ),
        (
            "acr manifest PATCH",
            "PATCH",
            lambda a: f"/acr/v1/app/_manifests/{_image(a)[1]}",
            "repository:app:metadata_write",
            b"{}",
            {},
        ),
        (
            "acr manifest DELETE",
            "DELETE",
            lambda a: f"/acr/v1/app/_manifests/{_image(a)[1]}",
            "repository:app:delete",
            None,
            {},
        ),
    ]


def _token(env: Env, identity: str, scope: str, extra: tuple[str, ...] = ()) -> str | None:
    if identity == "anonymous":
        return None
    now = int(time.time())
    claims = {
        "iss": "containerregistry-emulator",
        "sub": "admin",
        "aud": env.login_server,
        "iat": now - 100,
        "nbf": now - 100,
        "exp": now + 300,
        "jti": "x",
        "grant_type": "access_token",
        "idp": "user",
        "access": [
            {
                "type": "repository",
                "name": "app",
                "actions": ["pull", "push", "delete", "metadata_read", "metadata_write"],
            },
            {"type": "registry", "name": "catalog", "actions": ["*"]},
        ],
    }
    if identity == "expired":
        return jwt.encode({**claims, "exp": now - 1}, KEY, algorithm="HS256")
    if identity == "forged":
        return jwt.encode(claims, b"f" * 32, algorithm="HS256")
    if identity == "other-repo":
        user, scopes = "admin", ["repository:other:pull,push,delete,metadata_read,metadata_write"]
    else:
        user, scopes = identity, ([scope] if scope else []) + list(extra)
    response = env.http.post(
        "/oauth2/token",
        data={
            "grant_type": "password",
            "username": user,
            "password": f"pw-{user}",
            "scope": scopes,
            "service": env.login_server,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _allowed(identity: str, scope: str) -> bool:
    if not scope and identity == "other-repo":
        return True  # GET /v2/ needs only a valid token, whatever it grants
    if identity in SPECIAL:
        return False
    roles = ROLES[identity]
    if not scope:
        return True  # GET /v2/: any valid token
    if "admin" in roles:
        return True
    if scope == "registry:catalog:*":
        return bool(roles & {"pull", "metadata_read"})
    needed = set(scope.rsplit(":", 1)[1].split(","))
    return needed <= roles


def test_sanity_real_key_token_is_accepted(env: Env) -> None:
    """The hand-made tokens fail only for the reason they are named after."""
    now = int(time.time())
    good = jwt.encode(
        {
            "iss": "containerregistry-emulator",
            "sub": "admin",
            "aud": env.login_server,
            "iat": now,
            "nbf": now,
            "exp": now + 60,
            "grant_type": "access_token",
            "access": [{"type": "registry", "name": "catalog", "actions": ["*"]}],
        },
        KEY,
        algorithm="HS256",
    )
    assert env.http.get("/v2/_catalog", headers={"Authorization": f"Bearer {good}"}).status_code == 200


IDENTITIES = [*ROLES, *SPECIAL]
RESULTS: dict[str, int] = {"allowed": 0, "refused": 0}


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_endpoint_x_identity(env: Env, case: Case, identity: str) -> None:
    name, method, path_of, scope, body, headers = case
    path = path_of(env.admin)
    # A cross-repository mount also needs pull on the source repository.
    extra = ("repository:other:pull",) if name == "mount" else ()
    token = _token(env, identity, scope, extra)
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    response = env.http.request(method, path, content=body, headers={**headers, **auth})
    if _allowed(identity, scope):
        RESULTS["allowed"] += 1
        assert response.status_code not in (401, 403), (name, identity, response.status_code, response.text)
        assert response.status_code < 500
        return
    RESULTS["refused"] += 1
    assert response.status_code in (401, 403), (name, identity, response.status_code, response.text)
    if response.status_code == 401:
        challenges = parse_www_authenticate(response.headers["WWW-Authenticate"])
        assert len(challenges) == 1 and challenges[0].scheme.lower() == "bearer"
        params = challenges[0].params
        assert params["realm"] == f"{env.endpoint}/oauth2/token"
        assert params["service"] == env.login_server
        if scope:
            # A mount is challenged once for both scopes (as Distribution), so one token covers it.
            wanted = " ".join((scope, *extra))
            assert params.get("scope") == wanted, (name, identity, params)
        else:
            assert "scope" not in params
    if method != "HEAD":
        assert_oci_error(response, (401, 403))


# -- locks ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_http() -> Iterator[httpx.Client]:
    with run_emulator() as registry, httpx.Client(base_url=registry.endpoint, timeout=10) as http:
        yield http


def _fresh(http: httpx.Client) -> tuple[str, str, str, str]:
    """A new repository with one tagged image; returns (repo, tag, manifest digest, layer digest)."""
    repo = f"lock/r{next(_unique)}"
    tag, digest, layer = _image(http, repo)
    return repo, tag, digest, layer


def _lock(http: httpx.Client, target: str, attribute: str) -> None:
    response = http.patch(target, json={attribute: False})
    assert response.status_code == 200, response.text


def _target(level: str, repo: str, tag: str, digest: str) -> str:
    return {
        "repository": f"/acr/v1/{repo}",
        "manifest": f"/acr/v1/{repo}/_manifests/{digest}",
        "tag": f"/acr/v1/{repo}/_tags/{tag}",
    }[level]


# Each write/delete path: (name, levels it is blocked by, action(http, repo, tag, digest, layer) -> response)
Action = Callable[[httpx.Client, str, str, str, str], httpx.Response]


def _put(http: httpx.Client, repo: str, ref: str, body: bytes) -> httpx.Response:
    return http.put(f"/v2/{repo}/manifests/{ref}", content=body, headers={"Content-Type": OCI_MANIFEST})


def _retag(http: httpx.Client, repo: str, tag: str, digest: str, layer: str) -> httpx.Response:
    # Another manifest built only from blobs the repository already has (no push needed).
    size = int(http.head(f"/v2/{repo}/blobs/{layer}").headers["Content-Length"])
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.example.config+json", "digest": layer, "size": size},
        "layers": [],
        "annotations": {"n": str(next(_unique))},
    }
    return _put(http, repo, tag, json.dumps(doc).encode())


def _repush_same(http: httpx.Client, repo: str, tag: str, digest: str, layer: str) -> httpx.Response:
    return _put(http, repo, digest, http.get(f"/v2/{repo}/manifests/{digest}").content)


WRITE_PATHS: list[tuple[str, set[str], Action]] = [
    (
        "blob upload",
        {"repository"},
        lambda h, r, t, d, lay: h.post(
            f"/v2/{r}/blobs/uploads/", params={"digest": sha256(b"n")}, content=b"n"
        ),
    ),
    ("blob upload session", {"repository"}, lambda h, r, t, d, lay: h.post(f"/v2/{r}/blobs/uploads/")),
    (
        "manifest PUT new tag",
        {"repository", "manifest"},
        lambda h, r, t, d, lay: _put(h, r, f"new{next(_unique)}", h.get(f"/v2/{r}/manifests/{d}").content),
    ),
    ("manifest re-PUT same digest", {"repository", "manifest"}, _repush_same),
    ("tag moved to another manifest", {"repository", "tag"}, _retag),
]
DELETE_PATHS: list[tuple[str, set[str], Action]] = [
    ("OCI delete blob", {"repository"}, lambda h, r, t, d, lay: h.delete(f"/v2/{r}/blobs/{lay}")),
    (
        "OCI delete manifest",
        {"repository", "manifest", "tag"},
        lambda h, r, t, d, lay: h.delete(f"/v2/{r}/manifests/{d}"),
    ),
    ("OCI delete tag", {"repository", "tag"}, lambda h, r, t, d, lay: h.delete(f"/v2/{r}/manifests/{t}")),
    ("ACR delete tag", {"repository", "tag"}, lambda h, r, t, d, lay: h.delete(f"/acr/v1/{r}/_tags/{t}")),
    (
        "ACR delete manifest",
        {"repository", "manifest", "tag"},
        lambda h, r, t, d, lay: h.delete(f"/acr/v1/{r}/_manifests/{d}"),
    ),
    (
        "ACR delete repository",
        {"repository", "manifest", "tag"},
        lambda h, r, t, d, lay: h.delete(f"/acr/v1/{r}"),
    ),
]
READ_PATHS: list[tuple[str, set[str], Action]] = [
    (
        "manifest GET by tag",
        {"repository", "manifest", "tag"},
        lambda h, r, t, d, lay: h.get(f"/v2/{r}/manifests/{t}"),
    ),
    (
        "manifest HEAD by tag",
        {"repository", "manifest", "tag"},
        lambda h, r, t, d, lay: h.head(f"/v2/{r}/manifests/{t}"),
    ),
    (
        "manifest GET by digest",
        {"repository", "manifest"},
        lambda h, r, t, d, lay: h.get(f"/v2/{r}/manifests/{d}"),
    ),
    ("blob GET", {"repository"}, lambda h, r, t, d, lay: h.get(f"/v2/{r}/blobs/{lay}")),
    ("blob HEAD", {"repository"}, lambda h, r, t, d, lay: h.head(f"/v2/{r}/blobs/{lay}")),
    ("tags list", {"repository"}, lambda h, r, t, d, lay: h.get(f"/v2/{r}/tags/list")),
]
LOCK_CASES = [
    (attribute, level, name, level in blocked, action)
    for attribute, paths in (
        ("writeEnabled", WRITE_PATHS + DELETE_PATHS),
        ("deleteEnabled", DELETE_PATHS + WRITE_PATHS),
        ("readEnabled", READ_PATHS),
    )
    for level in ("repository", "manifest", "tag")
    for name, blocked, action in paths
]


def _blocked_by(attribute: str, name: str, level: str, blocked: bool) -> bool:
    if not blocked:
        return False
    if attribute == "deleteEnabled":
        return name in {p[0] for p in DELETE_PATHS}
    return True


@pytest.mark.parametrize(
    ("attribute", "level", "name", "blocked", "action"),
    LOCK_CASES,
    ids=[f"{a}-{lv}-{n}" for a, lv, n, _, _ in LOCK_CASES],
)
def test_lock_x_path(
    open_http: httpx.Client, attribute: str, level: str, name: str, blocked: bool, action: Action
) -> None:
    http = open_http
    repo, tag, digest, layer = _fresh(http)
    _lock(http, _target(level, repo, tag, digest), attribute)
    response = action(http, repo, tag, digest, layer)
    if _blocked_by(attribute, name, level, blocked):
        assert_oci_error(
            response, 405, None if response.request.method == "HEAD" else "REGISTRY_DISALLOWED_OPERATION"
        )
    else:
        assert response.status_code < 300, (attribute, level, name, response.status_code, response.text)


@pytest.mark.parametrize("level", ["repository", "manifest", "tag"])
def test_list_lock_hides_from_every_listing(open_http: httpx.Client, level: str) -> None:
    http = open_http
    repo, tag, digest, _ = _fresh(http)
    _lock(http, _target(level, repo, tag, digest), "listEnabled")
    catalogs = [
        http.get("/v2/_catalog").json()["repositories"],
        http.get("/acr/v1/_catalog").json()["repositories"],
    ]
    tags = [
        http.get(f"/v2/{repo}/tags/list").json()["tags"],
        [t["name"] for t in http.get(f"/acr/v1/{repo}/_tags").json()["tags"]],
    ]
    manifests = [m["digest"] for m in http.get(f"/acr/v1/{repo}/_manifests").json()["manifests"]]
    assert all((repo in c) == (level != "repository") for c in catalogs), catalogs
    if level == "tag":
        assert all(tag not in t for t in tags), tags
    if level == "manifest":
        assert digest not in manifests
    if level != "repository":
        # Hidden from listings only: still readable by name.
        assert http.get(f"/v2/{repo}/manifests/{tag}").status_code == 200


def test_write_lock_applies_to_open_upload_sessions(open_http: httpx.Client) -> None:
    http = open_http
    repo, _, _, _ = _fresh(http)
    location = http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    _lock(http, f"/acr/v1/{repo}", "writeEnabled")
    response = http.put(location, params={"digest": sha256(b"late")}, content=b"late")
    assert_oci_error(response, 405, "REGISTRY_DISALLOWED_OPERATION")
