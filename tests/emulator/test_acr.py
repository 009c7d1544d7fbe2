"""ACR metadata API `/acr/v1` and ACR-style locks."""

from __future__ import annotations

import re
import time

import httpx

from tests.emulator.emulator_helpers import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, Reg, errors_of, sha256

_RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
ALL_TRUE = {"deleteEnabled": True, "writeEnabled": True, "readEnabled": True, "listEnabled": True}
DISALLOWED = {
    "errors": [
        {
            "code": "REGISTRY_DISALLOWED_OPERATION",
            "message": "The operation is disallowed on this registry, repository or image.",
        }
    ]
}


def _link_path(response: httpx.Response) -> str:
    return response.headers["Link"][1:].split(">")[0]


def test_repository_attributes(reg: Reg, repo: str) -> None:
    reg.push_image(repo, "v1")
    reg.push_image(repo, "v2")
    response = reg.http.get(f"/acr/v1/{repo}", params={"api-version": "2021-07-01"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "registry",
        "imageName",
        "createdTime",
        "lastUpdateTime",
        "manifestCount",
        "tagCount",
        "changeableAttributes",
    }
    assert body["registry"] == reg.endpoint.split("://")[1]
    assert body["imageName"] == repo
    assert body["manifestCount"] == 2 and body["tagCount"] == 2
    assert _RFC3339_Z.fullmatch(body["createdTime"]) and _RFC3339_Z.fullmatch(body["lastUpdateTime"])
    assert body["changeableAttributes"] == ALL_TRUE
    missing = reg.http.get(f"/acr/v1/{repo}-none")
    assert missing.status_code == 404 and errors_of(missing) == ["NAME_UNKNOWN"]


def test_patch_is_partial_and_returns_full_object(reg: Reg, repo: str) -> None:
    digest, _ = reg.push_image(repo, "v1")
    response = reg.http.patch(f"/acr/v1/{repo}", json={"deleteEnabled": False})
    assert response.status_code == 200
    assert response.json()["changeableAttributes"] == {**ALL_TRUE, "deleteEnabled": False}
    response = reg.http.patch(f"/acr/v1/{repo}", json={"listEnabled": False, "teleportEnabled": False})
    assert response.json()["changeableAttributes"] == {
        **ALL_TRUE,
        "deleteEnabled": False,
        "listEnabled": False,
    }
    tag = reg.http.patch(f"/acr/v1/{repo}/_tags/v1", json={"writeEnabled": False})
    assert tag.status_code == 200
    assert tag.json()["tag"]["changeableAttributes"] == {**ALL_TRUE, "writeEnabled": False}
    manifest = reg.http.patch(f"/acr/v1/{repo}/_manifests/{digest}", json={"readEnabled": False})
    assert manifest.status_code == 200
    assert manifest.json()["manifest"]["changeableAttributes"] == {**ALL_TRUE, "readEnabled": False}
    for bad in ({"deleteEnabled": "no"}, [1], "x"):
        response = reg.http.patch(f"/acr/v1/{repo}", json=bad)
        assert response.status_code == 400, bad
        assert errors_of(response)
    response = reg.http.patch(f"/acr/v1/{repo}", content=b"{not json")
    assert response.status_code == 400 and errors_of(response)
    response = reg.http.patch(f"/acr/v1/{repo}", content=b"x" * (1 << 20))
    assert response.status_code == 413 and errors_of(response)


def test_tags_listing_order_filter_paging(reg: Reg, repo: str) -> None:
    first, body = reg.push_image(repo, "c")
    time.sleep(0.002)
    reg.put_manifest(repo, "a", body)
    time.sleep(0.002)
    second, _ = reg.push_image(repo, "b")
    listing = reg.http.get(f"/acr/v1/{repo}/_tags").json()
    assert listing["registry"] == reg.endpoint.split("://")[1] and listing["imageName"] == repo
    assert [t["name"] for t in listing["tags"]] == ["a", "b", "c"]
    tag = listing["tags"][0]
    assert set(tag) == {"name", "digest", "createdTime", "lastUpdateTime", "signed", "changeableAttributes"}
    assert tag["digest"] == first and tag["signed"] is False
    desc = reg.http.get(f"/acr/v1/{repo}/_tags", params={"orderby": "timedesc"}).json()
    assert [t["name"] for t in desc["tags"]] == ["b", "a", "c"]
    asc = reg.http.get(f"/acr/v1/{repo}/_tags", params={"orderby": "timeasc"}).json()
    assert [t["name"] for t in asc["tags"]] == ["c", "a", "b"]
    by_digest = reg.http.get(f"/acr/v1/{repo}/_tags", params={"digest": first}).json()
    assert [t["name"] for t in by_digest["tags"]] == ["a", "c"]
    page1 = reg.http.get(f"/acr/v1/{repo}/_tags", params={"n": 2, "orderby": "timedesc"})
    assert [t["name"] for t in page1.json()["tags"]] == ["b", "a"]
    assert page1.headers["Link"] == f'</acr/v1/{repo}/_tags?last=a&n=2&orderby=timedesc>; rel="next"'
    page2 = reg.http.get(_link_path(page1))
    assert [t["name"] for t in page2.json()["tags"]] == ["c"] and "Link" not in page2.headers
    bad = reg.http.get(f"/acr/v1/{repo}/_tags", params={"orderby": "sideways"})
    assert bad.status_code == 400 and errors_of(bad)
    bad = reg.http.get(f"/acr/v1/{repo}/_tags", params={"n": "many"})
    assert bad.status_code == 400 and errors_of(bad) == ["PAGINATION_NUMBER_INVALID"]
    bad = reg.http.get(f"/acr/v1/{repo}/_tags", params={"digest": "sha256:x"})
    assert bad.status_code == 400 and errors_of(bad) == ["DIGEST_INVALID"]
    single = reg.http.get(f"/acr/v1/{repo}/_tags/b").json()
    assert single["tag"]["digest"] == second and single["imageName"] == repo
    missing = reg.http.get(f"/acr/v1/{repo}/_tags/zzz")
    assert missing.status_code == 404 and errors_of(missing)


def test_manifests_listing(reg: Reg, repo: str) -> None:
    amd, amd_body = reg.push_image(repo, "amd", [b"1", b"22"], arch="amd64")
    time.sleep(0.002)
    arm, arm_body = reg.push_image(repo, "arm", arch="arm64")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": amd,
                "size": len(amd_body),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": arm,
                "size": len(arm_body),
                "platform": {"architecture": "arm64", "os": "linux"},
            },
        ],
    }
    time.sleep(0.002)
    response = reg.put_manifest(repo, "multi", index, media_type=OCI_INDEX)
    index_digest = response.headers["Docker-Content-Digest"]
    listing = reg.http.get(f"/acr/v1/{repo}/_manifests").json()
    assert listing["imageName"] == repo
    by_digest = {m["digest"]: m for m in listing["manifests"]}
    assert set(by_digest) == {amd, arm, index_digest}
    leaf = by_digest[amd]
    assert leaf["architecture"] == "amd64" and leaf["os"] == "linux"
    assert leaf["mediaType"] == OCI_MANIFEST and leaf["configMediaType"] == OCI_CONFIG
    assert leaf["tags"] == ["amd"] and leaf["references"] == []
    assert leaf["imageSize"] > len(amd_body) + 3
    assert leaf["changeableAttributes"] == ALL_TRUE
    for key in ("digest", "imageSize", "createdTime", "lastUpdateTime", "mediaType", "tags", "references"):
        assert key in leaf
    assert by_digest[index_digest]["references"][1] == {"digest": arm, "architecture": "arm64", "os": "linux"}
    desc = reg.http.get(f"/acr/v1/{repo}/_manifests", params={"orderby": "timedesc", "n": 2})
    assert [m["digest"] for m in desc.json()["manifests"]] == [index_digest, arm]
    rest = reg.http.get(_link_path(desc))
    assert [m["digest"] for m in rest.json()["manifests"]] == [amd]
    one = reg.http.get(f"/acr/v1/{repo}/_manifests/{amd}").json()
    assert one["manifest"]["digest"] == amd and one["registry"] and one["imageName"] == repo
    missing = reg.http.get(f"/acr/v1/{repo}/_manifests/{sha256(b'none')}")
    assert missing.status_code == 404 and errors_of(missing) == ["MANIFEST_UNKNOWN"]


def test_acr_catalog_and_list_enabled(reg_fresh: Reg) -> None:
    reg = reg_fresh
    for name in ("b", "a", "c/d"):
        reg.push_image(name, "v1")
    first = reg.http.get("/acr/v1/_catalog", params={"n": 2})
    assert first.json() == {"repositories": ["a", "b"]}
    assert first.headers["Link"] == '</acr/v1/_catalog?last=b&n=2&orderby=>; rel="next"'
    assert reg.http.get(_link_path(first)).json() == {"repositories": ["c/d"]}
    reg.http.patch("/acr/v1/b", json={"listEnabled": False})
    assert reg.http.get("/acr/v1/_catalog").json() == {"repositories": ["a", "c/d"]}
    assert reg.http.get("/v2/_catalog").json() == {"repositories": ["a", "c/d"]}
    # Hidden tags and manifests vanish from listings but can still be read directly.
    digest, body = reg.push_image("a", "v2")
    reg.http.patch("/acr/v1/a/_tags/v2", json={"listEnabled": False})
    assert reg.http.get("/v2/a/tags/list").json()["tags"] == ["v1"]
    assert [t["name"] for t in reg.http.get("/acr/v1/a/_tags").json()["tags"]] == ["v1"]
    reg.http.patch(f"/acr/v1/a/_manifests/{digest}", json={"listEnabled": False})
    assert digest not in [m["digest"] for m in reg.http.get("/acr/v1/a/_manifests").json()["manifests"]]
    assert reg.http.get("/v2/a/manifests/v2").content == body


def test_write_lock_blocks_overwrite_and_delete(reg: Reg, repo: str) -> None:
    digest, body = reg.push_image(repo, "v1")
    reg.http.patch(f"/acr/v1/{repo}/_tags/v1", json={"writeEnabled": False})
    other, _ = reg.push_image(repo, None)
    other_body = reg.http.get(f"/v2/{repo}/manifests/{other}").content
    overwrite = reg.put_manifest(repo, "v1", other_body)
    assert overwrite.status_code == 405 and overwrite.json() == DISALLOWED
    # Pushing the same content to the locked tag changes nothing and is fine.
    assert reg.put_manifest(repo, "v1", body).status_code == 201
    for response in (
        reg.http.delete(f"/v2/{repo}/manifests/v1"),
        reg.http.delete(f"/acr/v1/{repo}/_tags/v1"),
        reg.http.delete(f"/v2/{repo}/manifests/{digest}"),  # would delete the locked tag with it
    ):
        assert response.status_code == 405 and response.json() == DISALLOWED
    reg.http.patch(f"/acr/v1/{repo}/_tags/v1", json={"writeEnabled": True})
    assert reg.http.delete(f"/acr/v1/{repo}/_tags/v1").status_code == 202
    # A locked manifest cannot be pushed again or deleted.
    reg.http.patch(f"/acr/v1/{repo}/_manifests/{digest}", json={"writeEnabled": False})
    assert reg.put_manifest(repo, "v9", body).status_code == 405
    assert reg.http.delete(f"/v2/{repo}/manifests/{digest}").status_code == 405


def test_delete_lock(reg: Reg, repo: str) -> None:
    digest, _ = reg.push_image(repo, "v1")
    reg.http.patch(f"/acr/v1/{repo}/_manifests/{digest}", json={"deleteEnabled": False})
    response = reg.http.delete(f"/v2/{repo}/manifests/{digest}")
    assert response.status_code == 405 and response.json() == DISALLOWED
    response = reg.http.delete(f"/acr/v1/{repo}/_manifests/{digest}")
    assert response.status_code == 405
    # Deleting the tag alone is allowed: the tag is not locked.
    assert reg.http.delete(f"/acr/v1/{repo}/_tags/v1").status_code == 202
    reg.http.patch(f"/acr/v1/{repo}/_manifests/{digest}", json={"deleteEnabled": True})
    assert reg.http.delete(f"/acr/v1/{repo}/_manifests/{digest}").status_code == 202
    assert reg.http.get(f"/v2/{repo}/manifests/{digest}").status_code == 404


def test_repository_locks_apply_to_everything(reg: Reg, repo: str) -> None:
    digest, _ = reg.push_image(repo, "v1")
    blob = reg.push_blob(repo, b"a blob")
    reg.http.patch(f"/acr/v1/{repo}", json={"readEnabled": False})
    assert reg.http.get(f"/v2/{repo}/manifests/v1").status_code == 405
    assert reg.http.get(f"/v2/{repo}/blobs/{blob}").status_code == 405
    reg.http.patch(f"/acr/v1/{repo}", json={"readEnabled": True, "writeEnabled": False})
    assert reg.http.get(f"/v2/{repo}/manifests/v1").status_code == 200
    assert reg.http.post(f"/v2/{repo}/blobs/uploads/").status_code == 405
    assert reg.http.delete(f"/v2/{repo}/blobs/{blob}").status_code == 405
    assert reg.http.delete(f"/v2/{repo}/manifests/{digest}").status_code == 405
    assert reg.http.delete(f"/acr/v1/{repo}").status_code == 405
    reg.http.patch(f"/acr/v1/{repo}", json={"writeEnabled": True, "deleteEnabled": False})
    assert reg.http.delete(f"/acr/v1/{repo}").status_code == 405
    reg.http.patch(f"/acr/v1/{repo}", json={"deleteEnabled": True})


def test_read_lock_on_manifest_and_tag(reg: Reg, repo: str) -> None:
    digest, _ = reg.push_image(repo, "v1")
    reg.http.patch(f"/acr/v1/{repo}/_tags/v1", json={"readEnabled": False})
    assert reg.http.get(f"/v2/{repo}/manifests/v1").status_code == 405
    assert reg.http.get(f"/v2/{repo}/manifests/{digest}").status_code == 200
    reg.http.patch(f"/acr/v1/{repo}/_manifests/{digest}", json={"readEnabled": False})
    response = reg.http.get(f"/v2/{repo}/manifests/{digest}")
    assert response.status_code == 405 and response.json() == DISALLOWED


def test_delete_repository(reg: Reg, repo: str) -> None:
    first, _ = reg.push_image(repo, "v1")
    second, _ = reg.push_image(repo, "v2")
    blob = reg.push_blob(repo, b"unique to this repo " + repo.encode())
    response = reg.http.delete(f"/acr/v1/{repo}")
    assert response.status_code == 202
    body = response.json()
    assert sorted(body["manifestsDeleted"]) == sorted([first, second])
    assert sorted(body["tagsDeleted"]) == ["v1", "v2"]
    assert reg.http.get(f"/acr/v1/{repo}").status_code == 404
    assert reg.http.get(f"/v2/{repo}/tags/list").status_code == 404
    assert reg.http.get(f"/v2/{repo}/blobs/{blob}").status_code == 404
    assert repo not in reg.http.get("/v2/_catalog").json()["repositories"]
    again = reg.http.delete(f"/acr/v1/{repo}")
    assert again.status_code == 404 and errors_of(again) == ["NAME_UNKNOWN"]


def test_acr_errors_and_routing(reg: Reg, repo: str) -> None:
    reg.push_image(repo, "v1")
    cases = [
        ("GET", "/acr/v1/BAD", 400, "NAME_INVALID"),
        ("GET", f"/acr/v1/{repo}/_tags/-bad", 400, "TAG_INVALID"),
        ("GET", f"/acr/v1/{repo}/_manifests/sha256:1", 400, "DIGEST_INVALID"),
        ("POST", f"/acr/v1/{repo}", 405, "UNSUPPORTED"),
        ("PATCH", f"/acr/v1/{repo}/_tags", 405, "UNSUPPORTED"),
        ("DELETE", "/acr/v1/_catalog", 405, "UNSUPPORTED"),
        ("GET", f"/acr/v1/{repo}/_manifests", 200, None),
    ]
    for method, path, status, code in cases:
        response = reg.http.request(method, path)
        assert response.status_code == status, (method, path)
        if code:
            assert errors_of(response) == [code], (method, path)
