"""OCI Distribution v1.1 endpoints of the emulator over real sockets: success and error paths."""

from __future__ import annotations

import json
import os
from typing import Any

from tests.emulator.emulator_helpers import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Reg,
    errors_of,
    raw_request,
    sha256,
)


def test_base_and_api_version_header(reg: Reg) -> None:
    response = reg.http.get("/v2/")
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert reg.http.get("/v2").status_code == 200
    bad = reg.http.get("/v2/nope")
    assert bad.status_code == 404
    assert errors_of(bad)
    assert bad.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


def test_monolithic_upload_and_blob_get_head(reg: Reg, repo: str) -> None:
    data = os.urandom(100_000)
    digest = sha256(data)
    response = reg.http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
    assert response.status_code == 201
    assert response.headers["Location"] == f"/v2/{repo}/blobs/{digest}"
    assert response.headers["Docker-Content-Digest"] == digest
    got = reg.http.get(f"/v2/{repo}/blobs/{digest}")
    assert got.status_code == 200 and got.content == data
    assert got.headers["Docker-Content-Digest"] == digest
    head = reg.http.head(f"/v2/{repo}/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(data))
    assert head.headers["Accept-Ranges"] == "bytes"
    assert head.content == b""


def test_monolithic_upload_with_wrong_digest_is_refused_and_invisible(reg: Reg, repo: str) -> None:
    data = b"some bytes"
    wrong = sha256(b"other bytes")
    response = reg.http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": wrong}, content=data)
    assert response.status_code == 400
    assert errors_of(response) == ["DIGEST_INVALID"]
    assert reg.http.head(f"/v2/{repo}/blobs/{wrong}").status_code == 404
    assert reg.http.head(f"/v2/{repo}/blobs/{sha256(data)}").status_code == 404


def test_blob_ranges(reg: Reg, repo: str) -> None:
    data = bytes(range(256)) * 40
    digest = reg.push_blob(repo, data)
    url = f"/v2/{repo}/blobs/{digest}"
    part = reg.http.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = reg.http.get(url, headers={"Range": "bytes=10000-"})
    assert tail.status_code == 206 and tail.content == data[10000:]
    assert tail.headers["Content-Range"] == f"bytes 10000-{len(data) - 1}/{len(data)}"
    suffix = reg.http.get(url, headers={"Range": "bytes=-5"})
    assert suffix.status_code == 206 and suffix.content == data[-5:]
    for bad in (f"bytes={len(data)}-", "bytes=5-2", "bytes=abc", "items=0-1", "bytes=0-1,4-5", "bytes=-0"):
        response = reg.http.get(url, headers={"Range": bad})
        assert response.status_code == 416, bad
        assert errors_of(response) == ["RANGE_INVALID"]
        assert response.headers["Content-Range"] == f"bytes */{len(data)}"


def test_blob_errors(reg: Reg, repo: str) -> None:
    missing = sha256(b"missing")
    response = reg.http.get(f"/v2/{repo}/blobs/{missing}")
    assert response.status_code == 404 and errors_of(response) == ["BLOB_UNKNOWN"]
    assert reg.http.head(f"/v2/{repo}/blobs/{missing}").status_code == 404
    for bad in ("sha256:abc", "md5:" + "0" * 32, "sha256:" + "A" * 64, "nodigest"):
        response = reg.http.get(f"/v2/{repo}/blobs/{bad}")
        assert response.status_code == 400, bad
        assert errors_of(response) == ["DIGEST_INVALID"]
    response = reg.http.get(f"/v2/Bad_Name/blobs/{missing}")
    assert response.status_code == 400 and errors_of(response) == ["NAME_INVALID"]


def test_chunked_upload_with_status_and_out_of_order_chunk(reg: Reg, repo: str) -> None:
    data = os.urandom(300_000)
    start = reg.http.post(f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
    assert start.status_code == 202
    location = start.headers["Location"]
    assert location.startswith(f"/v2/{repo}/blobs/uploads/") and "_state=" in location
    assert start.headers["Range"] == "0-0"
    assert start.headers["Docker-Upload-UUID"] in location
    first = reg.http.patch(
        location,
        content=data[:100_000],
        headers={"Content-Type": "application/octet-stream", "Content-Range": "0-99999"},
    )
    assert first.status_code == 202
    assert first.headers["Range"] == "0-99999"
    location = first.headers["Location"]
    # Out of order: the registry holds 100000 bytes, a chunk starting elsewhere is refused.
    skipped = reg.http.patch(
        location, content=data[150_000:200_000], headers={"Content-Range": "150000-199999"}
    )
    assert skipped.status_code == 416
    assert errors_of(skipped) == ["RANGE_INVALID"]
    assert skipped.headers["Range"] == "0-99999"
    status = reg.http.get(location)
    assert status.status_code == 204
    assert status.headers["Range"] == "0-99999"
    assert status.headers["Location"].startswith(f"/v2/{repo}/blobs/uploads/")
    second = reg.http.patch(
        location, content=data[100_000:200_000], headers={"Content-Range": "100000-199999"}
    )
    assert second.status_code == 202 and second.headers["Range"] == "0-199999"
    # Final bytes in the PUT itself.
    digest = sha256(data)
    done = reg.http.put(
        second.headers["Location"] + "&digest=" + digest,
        content=data[200_000:],
        headers={"Content-Range": f"200000-{len(data) - 1}"},
    )
    assert done.status_code == 201, done.text
    assert done.headers["Location"] == f"/v2/{repo}/blobs/{digest}"
    assert reg.http.get(f"/v2/{repo}/blobs/{digest}").content == data
    # The session is gone.
    assert reg.http.get(location).status_code == 404


def test_streamed_upload_then_put_without_body(reg: Reg, repo: str) -> None:
    data = os.urandom(5_000_000)
    location = reg.http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]

    def stream():
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    patched = reg.http.patch(location, content=stream())
    assert patched.status_code == 202
    assert patched.headers["Range"] == f"0-{len(data) - 1}"
    digest = sha256(data)
    done = reg.http.put(patched.headers["Location"], params={"digest": digest})
    assert done.status_code == 201
    assert reg.http.get(f"/v2/{repo}/blobs/{digest}").content == data


def test_upload_put_with_wrong_digest_keeps_session(reg: Reg, repo: str) -> None:
    location = reg.http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    reg.http.patch(location, content=b"abc")
    wrong = reg.http.put(location + "&digest=" + sha256(b"xyz"))
    assert wrong.status_code == 400 and errors_of(wrong) == ["DIGEST_INVALID"]
    missing = reg.http.put(location)
    assert missing.status_code == 400 and errors_of(missing) == ["DIGEST_INVALID"]
    bad = reg.http.put(location + "&digest=sha256:zz")
    assert bad.status_code == 400 and errors_of(bad) == ["DIGEST_INVALID"]
    right = reg.http.put(location + "&digest=" + sha256(b"abc"))
    assert right.status_code == 201


def test_upload_cancel_and_unknown_sessions(reg: Reg, repo: str) -> None:
    location = reg.http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    assert reg.http.delete(location).status_code == 204
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        response = reg.http.request(method, location)
        assert response.status_code == 404, method
        assert errors_of(response) == ["BLOB_UPLOAD_UNKNOWN"]
    response = reg.http.get(f"/v2/{repo}/blobs/uploads/not-a-uuid")
    assert response.status_code == 404 and errors_of(response) == ["BLOB_UPLOAD_UNKNOWN"]
    # A session belongs to its repository.
    other = reg.http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    upload_id = other.split("/uploads/")[1].split("?")[0]
    assert reg.http.get(f"/v2/{repo}-x/blobs/uploads/{upload_id}").status_code == 404


def test_malformed_content_range_is_416(reg: Reg, repo: str) -> None:
    location = reg.http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    for header in ("garbage", "5-1", "0-9"):  # the last: 10 bytes declared, 3 sent
        response = reg.http.patch(location, content=b"abc", headers={"Content-Range": header})
        assert response.status_code == 416, header
        assert errors_of(response) == ["RANGE_INVALID"]
    assert reg.http.get(location).headers["Range"] == "0-0"


def test_cross_repository_mount(reg: Reg, repo: str) -> None:
    data = os.urandom(1000)
    digest = reg.push_blob(repo, data)
    target = repo + "-mounted"
    assert reg.http.head(f"/v2/{target}/blobs/{digest}").status_code == 404
    mounted = reg.http.post(f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": repo})
    assert mounted.status_code == 201
    assert mounted.headers["Location"] == f"/v2/{target}/blobs/{digest}"
    assert reg.http.get(f"/v2/{target}/blobs/{digest}").content == data
    # Missing in the source: a new session instead.
    missing = sha256(b"not there")
    fallback = reg.http.post(f"/v2/{target}/blobs/uploads/", params={"mount": missing, "from": repo})
    assert fallback.status_code == 202
    assert "/blobs/uploads/" in fallback.headers["Location"]
    bad = reg.http.post(f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": "BAD"})
    assert bad.status_code == 400 and errors_of(bad) == ["NAME_INVALID"]
    bad = reg.http.post(f"/v2/{target}/blobs/uploads/", params={"mount": "sha256:1", "from": repo})
    assert bad.status_code == 400 and errors_of(bad) == ["DIGEST_INVALID"]


def test_delete_blob(reg: Reg, repo: str) -> None:
    digest = reg.push_blob(repo, b"to delete")
    assert reg.http.delete(f"/v2/{repo}/blobs/{digest}").status_code == 202
    assert reg.http.head(f"/v2/{repo}/blobs/{digest}").status_code == 404
    again = reg.http.delete(f"/v2/{repo}/blobs/{digest}")
    assert again.status_code == 404 and errors_of(again) == ["BLOB_UNKNOWN"]


def test_delete_blob_keeps_other_repositories_copy(reg: Reg, repo: str) -> None:
    data = b"shared between repos"
    digest = reg.push_blob(repo, data)
    reg.push_blob(repo + "-b", data)
    assert reg.http.delete(f"/v2/{repo}/blobs/{digest}").status_code == 202
    assert reg.http.get(f"/v2/{repo}-b/blobs/{digest}").content == data


def test_manifest_put_get_head_by_tag_and_digest(reg: Reg, repo: str) -> None:
    digest, body = reg.push_image(repo, "v1", [b"a", b"b"])
    for reference in ("v1", digest):
        got = reg.http.get(f"/v2/{repo}/manifests/{reference}", headers={"Accept": OCI_MANIFEST})
        assert got.status_code == 200
        assert got.content == body
        assert got.headers["Content-Type"] == OCI_MANIFEST
        assert got.headers["Docker-Content-Digest"] == digest
        head = reg.http.head(f"/v2/{repo}/manifests/{reference}")
        assert head.status_code == 200
        assert head.headers["Content-Length"] == str(len(body))
        assert head.headers["Docker-Content-Digest"] == digest
    missing = reg.http.get(f"/v2/{repo}/manifests/nope")
    assert missing.status_code == 404 and errors_of(missing) == ["MANIFEST_UNKNOWN"]
    assert reg.http.head(f"/v2/{repo}/manifests/{sha256(b'x')}").status_code == 404
    unknown_repo = reg.http.get(f"/v2/{repo}-none/manifests/v1")
    assert unknown_repo.status_code == 404 and errors_of(unknown_repo) == ["NAME_UNKNOWN"]


def test_manifest_get_head_by_invalid_tag_is_404_put_is_400(reg: Reg, repo: str) -> None:
    """The conformance suite probes `.INVALID_MANIFEST_NAME`: a manifest under a name that cannot be a
    tag cannot exist, and the spec's only failure status for GET/HEAD is 404 (Distribution agrees)."""
    _, body = reg.push_image(repo, "v1")
    for reference in (".INVALID_MANIFEST_NAME", "-bad", "x" * 129):
        got = reg.http.get(f"/v2/{repo}/manifests/{reference}")
        assert got.status_code == 404, (reference, got.text)
        assert errors_of(got) == ["MANIFEST_UNKNOWN"]
        assert reg.http.head(f"/v2/{repo}/manifests/{reference}").status_code == 404
        put = reg.put_manifest(repo, reference, body)
        assert put.status_code == 400 and errors_of(put) == ["TAG_INVALID"], reference
    assert reg.http.get(f"/v2/{repo}/manifests/v1").content == body


def test_manifest_exact_bytes_are_kept(reg: Reg, repo: str) -> None:
    config = reg.push_blob(repo, b"{}")
    # Odd whitespace and key order must survive byte for byte.
    body = (
        '{ "schemaVersion" :2,"mediaType": "' + OCI_MANIFEST + '",\n "config":{"mediaType":'
        '"application/vnd.oci.empty.v1+json","digest":"' + config + '","size":2},'
        '"layers":[],  "annotations":{"z":"1","a":"2"}}'
    ).encode()
    response = reg.put_manifest(repo, "exact", body)
    assert response.status_code == 201
    assert reg.http.get(f"/v2/{repo}/manifests/exact").content == body


def test_manifest_put_by_digest_verifies_digest(reg: Reg, repo: str) -> None:
    digest, body = reg.push_image(repo, None)
    again = reg.put_manifest(repo, digest, body)
    assert again.status_code == 201
    wrong = reg.put_manifest(repo, sha256(b"something else"), body)
    assert wrong.status_code == 400 and errors_of(wrong) == ["DIGEST_INVALID"]


def test_manifest_validation_errors(reg: Reg, repo: str) -> None:
    config = reg.push_blob(repo, b"{}")
    good = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 2},
        "layers": [],
    }
    cases = {
        b"not json": "MANIFEST_INVALID",
        b"[1, 2]": "MANIFEST_INVALID",
        json.dumps(
            {**good, "config": {"mediaType": OCI_CONFIG, "digest": "sha256:1", "size": 2}}
        ).encode(): "MANIFEST_INVALID",
        json.dumps(
            {**good, "config": {"mediaType": OCI_CONFIG, "digest": config, "size": -1}}
        ).encode(): "MANIFEST_INVALID",
        json.dumps({**good, "layers": "x"}).encode(): "MANIFEST_INVALID",
        json.dumps({**good, "schemaVersion": 1}).encode(): "MANIFEST_INVALID",
        json.dumps({k: v for k, v in good.items() if k != "layers"}).encode(): "MANIFEST_INVALID",
        json.dumps(
            {**good, "layers": [{"mediaType": OCI_LAYER, "digest": sha256(b"nope"), "size": 4}]}
        ).encode(): "MANIFEST_BLOB_UNKNOWN",
    }
    for body, code in cases.items():
        response = reg.put_manifest(repo, "bad", body)
        assert response.status_code == 400, body
        assert errors_of(response) == [code], body
    # Content-Type must equal mediaType.
    mismatch = reg.put_manifest(repo, "bad", good, media_type=OCI_INDEX)
    assert mismatch.status_code == 400 and errors_of(mismatch) == ["MANIFEST_INVALID"]
    bad_tag = reg.put_manifest(repo, "-bad", good)
    assert bad_tag.status_code == 400 and errors_of(bad_tag) == ["TAG_INVALID"]
    assert reg.http.get(f"/v2/{repo}/manifests/bad").status_code == 404
    # Content-Type with parameters and without a header at all are both fine.
    assert reg.put_manifest(repo, "ok1", good, media_type=OCI_MANIFEST + "; charset=utf-8").status_code == 201
    assert reg.put_manifest(repo, "ok2", good, media_type=None).status_code == 201


def test_manifest_size_limit(reg: Reg, repo: str) -> None:
    config = reg.push_blob(repo, b"{}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 2},
        "layers": [],
        "annotations": {"pad": "x" * (4 * 1024 * 1024 - 400)},
    }
    body = json.dumps(manifest).encode()
    assert len(body) <= 4 * 1024 * 1024
    assert reg.put_manifest(repo, "big", body).status_code == 201
    too_big = json.dumps({**manifest, "annotations": {"pad": "x" * (4 * 1024 * 1024)}}).encode()
    response = reg.put_manifest(repo, "toobig", too_big)
    assert response.status_code == 413 and errors_of(response)
    # Refused from Content-Length alone, without waiting for a body that never comes.
    status, raw = raw_request(
        reg.endpoint,
        f"PUT /v2/{repo}/manifests/huge HTTP/1.1\r\nHost: x\r\nContent-Type: {OCI_MANIFEST}\r\n"
        f"Content-Length: {1 << 40}\r\n\r\n{{".encode(),
    )
    assert status == 413
    assert b"SIZE_INVALID" in raw
    # A chunked body without Content-Length is cut off at the limit.
    chunks = (b"x" * 65536 for _ in range(100))
    response = reg.http.put(
        f"/v2/{repo}/manifests/chunked", content=chunks, headers={"Content-Type": OCI_MANIFEST}
    )
    assert response.status_code == 413


def test_index_children_must_exist_and_references_are_recorded(reg: Reg, repo: str) -> None:
    amd, amd_body = reg.push_image(repo, None, arch="amd64")
    arm, arm_body = reg.push_image(repo, None, arch="arm64")
    index: dict[str, Any] = {
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
    response = reg.put_manifest(repo, "multi", index, media_type=OCI_INDEX)
    assert response.status_code == 201, response.text
    got = reg.http.get(f"/v2/{repo}/manifests/multi")
    assert got.headers["Content-Type"] == OCI_INDEX
    missing = {
        **index,
        "manifests": [*index["manifests"], {"mediaType": OCI_MANIFEST, "digest": sha256(b"q"), "size": 1}],
    }
    response = reg.put_manifest(repo, "broken", missing, media_type=OCI_INDEX)
    assert response.status_code == 400 and errors_of(response) == ["MANIFEST_BLOB_UNKNOWN"]
    digest = sha256(json.dumps(index).encode())
    acr = reg.http.get(f"/acr/v1/{repo}/_manifests/{digest}").json()["manifest"]
    assert acr["references"] == [
        {"digest": amd, "architecture": "amd64", "os": "linux"},
        {"digest": arm, "architecture": "arm64", "os": "linux"},
    ]


def test_delete_manifest_by_tag_deletes_only_the_tag(reg: Reg, repo: str) -> None:
    digest, _ = reg.push_image(repo, "one")
    reg.put_manifest(repo, "two", reg.http.get(f"/v2/{repo}/manifests/one").content)
    assert reg.http.delete(f"/v2/{repo}/manifests/one").status_code == 202
    assert reg.http.get(f"/v2/{repo}/manifests/one").status_code == 404
    assert reg.http.get(f"/v2/{repo}/manifests/{digest}").status_code == 200
    assert reg.http.get(f"/v2/{repo}/tags/list").json()["tags"] == ["two"]
    assert reg.http.delete(f"/v2/{repo}/manifests/{digest}").status_code == 202
    assert reg.http.get(f"/v2/{repo}/manifests/{digest}").status_code == 404
    assert reg.http.get(f"/v2/{repo}/manifests/two").status_code == 404
    again = reg.http.delete(f"/v2/{repo}/manifests/{digest}")
    assert again.status_code == 404 and errors_of(again) == ["MANIFEST_UNKNOWN"]


def test_tags_list_paging(reg: Reg, repo: str) -> None:
    _, body = reg.push_image(repo, "b")
    for tag in ("d", "a", "c", "e"):
        assert reg.put_manifest(repo, tag, body).status_code == 201
    full = reg.http.get(f"/v2/{repo}/tags/list")
    assert full.json() == {"name": repo, "tags": ["a", "b", "c", "d", "e"]}
    assert "Link" not in full.headers
    first = reg.http.get(f"/v2/{repo}/tags/list", params={"n": 2})
    assert first.json()["tags"] == ["a", "b"]
    assert first.headers["Link"] == f'</v2/{repo}/tags/list?n=2&last=b>; rel="next"'
    link = first.headers["Link"][1:].split(">")[0]
    second = reg.http.get(link)
    assert second.json()["tags"] == ["c", "d"]
    third = reg.http.get(second.headers["Link"][1:].split(">")[0])
    assert third.json()["tags"] == ["e"] and "Link" not in third.headers
    assert reg.http.get(f"/v2/{repo}/tags/list", params={"last": "bb"}).json()["tags"] == ["c", "d", "e"]
    assert reg.http.get(f"/v2/{repo}/tags/list", params={"n": 0}).json()["tags"] == []
    for bad in ("abc", "-1", "1.5", "99999999999", ""):
        response = reg.http.get(f"/v2/{repo}/tags/list", params={"n": bad})
        assert response.status_code == 400, bad
        assert errors_of(response) == ["PAGINATION_NUMBER_INVALID"]
    missing = reg.http.get(f"/v2/{repo}-none/tags/list")
    assert missing.status_code == 404 and errors_of(missing) == ["NAME_UNKNOWN"]


def test_catalog_paging(reg_fresh: Reg) -> None:
    reg = reg_fresh
    for name in ("zeta", "alpha/one", "beta", "alpha"):
        reg.push_blob(name, name.encode())
    assert reg.http.get("/v2/_catalog").json() == {"repositories": ["alpha", "alpha/one", "beta", "zeta"]}
    first = reg.http.get("/v2/_catalog", params={"n": 3})
    assert first.json()["repositories"] == ["alpha", "alpha/one", "beta"]
    assert first.headers["Link"] == '</v2/_catalog?n=3&last=beta>; rel="next"'
    second = reg.http.get(first.headers["Link"][1:].split(">")[0])
    assert second.json()["repositories"] == ["zeta"] and "Link" not in second.headers
    bad = reg.http.get("/v2/_catalog", params={"n": "x"})
    assert bad.status_code == 400 and errors_of(bad) == ["PAGINATION_NUMBER_INVALID"]


def test_referrers(reg: Reg, repo: str) -> None:
    subject, subject_body = reg.push_image(repo, "app")
    empty = reg.push_blob(repo, b"{}")
    subject_descriptor = {"mediaType": OCI_MANIFEST, "digest": subject, "size": len(subject_body)}

    def artifact(artifact_type: str, note: str) -> str:
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
            "layers": [],
            "subject": subject_descriptor,
            "annotations": {"note": note},
        }
        response = reg.put_manifest(repo, sha256(json.dumps(manifest).encode()), manifest)
        assert response.status_code == 201
        assert response.headers["OCI-Subject"] == subject
        return response.headers["Docker-Content-Digest"]

    sbom = artifact("application/spdx+json", "sbom")
    sig = artifact("application/vnd.example.sig", "sig")
    response = reg.http.get(f"/v2/{repo}/referrers/{subject}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == OCI_INDEX
    assert "OCI-Filters-Applied" not in response.headers
    index = response.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    by_digest = {d["digest"]: d for d in index["manifests"]}
    assert set(by_digest) == {sbom, sig}
    assert by_digest[sbom]["artifactType"] == "application/spdx+json"
    assert by_digest[sbom]["annotations"] == {"note": "sbom"}
    filtered = reg.http.get(
        f"/v2/{repo}/referrers/{subject}", params={"artifactType": "application/vnd.example.sig"}
    )
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in filtered.json()["manifests"]] == [sig]
    # A subject that does not exist is accepted, and an unknown digest has no referrers (never 404).
    none = reg.http.get(f"/v2/{repo}/referrers/{sha256(b'none')}")
    assert none.status_code == 200 and none.json()["manifests"] == []
    bad = reg.http.get(f"/v2/{repo}/referrers/sha256:nothex")
    assert bad.status_code == 400 and errors_of(bad) == ["DIGEST_INVALID"]


def test_subject_may_be_missing(reg: Reg, repo: str) -> None:
    empty = reg.push_blob(repo, b"{}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/x-test",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": sha256(b"absent"), "size": 10},
    }
    assert reg.put_manifest(repo, "dangling", manifest).status_code == 201


def test_unsupported_methods_get_oci_errors(reg: Reg, repo: str) -> None:
    for method, path in (
        ("POST", f"/v2/{repo}/manifests/x"),
        ("PATCH", f"/v2/{repo}/tags/list"),
        ("PUT", "/v2/_catalog"),
        ("DELETE", "/v2/"),
        ("GET", f"/v2/{repo}/blobs/uploads/"),
    ):
        response = reg.http.request(method, path)
        assert response.status_code == 405, (method, path)
        assert errors_of(response)


def test_repository_named_like_endpoints_routes(reg: Reg) -> None:
    for name in ("x/blobs", "x/manifests/tags", "x/blobs/uploads"):
        digest = reg.push_blob(name, b"data " + name.encode())
        assert reg.http.get(f"/v2/{name}/blobs/{digest}").status_code == 200
        location = reg.http.post(f"/v2/{name}/blobs/uploads/").headers["Location"]
        assert location.startswith(f"/v2/{name}/blobs/uploads/")
        assert reg.http.get(location).status_code == 204


def test_large_bodies_on_bodyless_endpoints_are_refused_unread(reg: Reg, repo: str) -> None:
    for method, path in (
        ("GET", "/v2/"),
        ("POST", f"/v2/{repo}/blobs/uploads/"),
        ("DELETE", f"/v2/{repo}/manifests/latest"),
        ("GET", f"/acr/v1/{repo}"),
    ):
        status, raw = raw_request(
            reg.endpoint, f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {1 << 40}\r\n\r\n".encode()
        )
        assert status == 413, (method, path)
        assert b"SIZE_INVALID" in raw
    # A small body is tolerated (and ignored).
    assert reg.http.request("GET", "/v2/", content=b"{}").status_code == 200


def test_empty_blob_round_trip(reg: Reg, repo: str) -> None:
    for data in (b"", b"{}"):
        digest = reg.push_blob(repo, data)
        got = reg.http.get(f"/v2/{repo}/blobs/{digest}")
        assert got.status_code == 200 and got.content == data
        assert got.headers["Content-Length"] == str(len(data))
    location = reg.http.post(f"/v2/{repo}/blobs/uploads/").headers["Location"]
    done = reg.http.put(location, params={"digest": sha256(b"")})
    assert done.status_code == 201
