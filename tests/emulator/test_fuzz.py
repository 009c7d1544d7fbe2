"""Hypothesis drives the HTTP endpoints with generated bad input: never a 500, always an OCI error body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.emulator.emulator_helpers import OCI_MANIFEST, Reg

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)

_SEGMENT_CHARS = "abcAZ09._-:@~+%"
segment = st.one_of(
    st.sampled_from(
        [
            "blobs",
            "uploads",
            "manifests",
            "tags",
            "list",
            "referrers",
            "_catalog",
            "_tags",
            "_manifests",
            "fuzz",
            "r",
            "latest",
            "sha256:" + "a" * 64,
            "sha256:",
            "..",
            ".",
            "%2F",
            "00000000-0000-0000-0000-000000000000",
        ]
    ),
    st.text(alphabet=_SEGMENT_CHARS, min_size=0, max_size=12),
)
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip)
methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def http(registry_emulator: Any) -> Iterator[httpx.Client]:
    reg = Reg(registry_emulator.endpoint)
    reg.push_image("fuzz/r", "latest")
    yield reg.http
    reg.close()


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.method, response.request.url, response.text)
    if response.status_code >= 400 and response.request.method != "HEAD":
        body = response.json()
        assert body["errors"] and all("code" in e and "message" in e for e in body["errors"])
        assert "Traceback" not in response.text


@SETTINGS
@given(
    prefix=st.sampled_from(["/v2/", "/acr/v1/", "/v2/fuzz/r/", "/acr/v1/fuzz/r/"]),
    segments=st.lists(segment, min_size=0, max_size=5),
    method=methods,
    query=st.dictionaries(
        st.sampled_from(["n", "last", "digest", "mount", "from", "orderby", "artifactType", "_state"]),
        header_text,
        max_size=3,
    ),
    headers=st.dictionaries(
        st.sampled_from(
            ["Range", "Content-Range", "Content-Type", "Accept", "If-None-Match", "Authorization"]
        ),
        header_text,
        max_size=3,
    ),
    body=st.binary(max_size=200),
)
def test_random_requests_never_500(
    http: httpx.Client,
    prefix: str,
    segments: list[str],
    method: str,
    query: dict[str, str],
    headers: dict[str, str],
    body: bytes,
) -> None:
    url = prefix + "/".join(segments)
    content = body if method in ("POST", "PUT", "PATCH") else None
    _check(http.request(method, url, params=query, headers=headers, content=content))


@SETTINGS
@given(
    document=json_values,
    content_type=st.one_of(
        st.none(), st.sampled_from([OCI_MANIFEST, "application/json", "text/plain"]), header_text
    ),
    reference=st.sampled_from(["fuzzed", "sha256:" + "0" * 64]),
)
def test_random_manifests_never_500(
    http: httpx.Client, document: Any, content_type: str | None, reference: str
) -> None:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    response = http.put(
        f"/v2/fuzz/m/manifests/{reference}", content=json.dumps(document).encode(), headers=headers
    )
    _check(response)
    assert response.status_code != 201 or isinstance(document, dict)


@SETTINGS
@given(
    manifest=st.fixed_dictionaries(
        {"schemaVersion": st.sampled_from([2, 1, "2", None])},
        optional={
            "mediaType": st.sampled_from(
                [OCI_MANIFEST, "application/vnd.oci.image.index.v1+json", "x/y", ""]
            ),
            "config": json_values
            | st.fixed_dictionaries(
                {"mediaType": st.text(max_size=5), "digest": st.text(max_size=70), "size": json_values}
            ),
            "layers": st.lists(json_values, max_size=3),
            "manifests": st.lists(json_values, max_size=3),
            "subject": json_values,
            "annotations": json_values,
            "artifactType": json_values,
        },
    )
)
def test_structured_bad_manifests_never_500(http: httpx.Client, manifest: dict[str, Any]) -> None:
    response = http.put(
        "/v2/fuzz/m/manifests/structured",
        content=json.dumps(manifest).encode(),
        headers={"Content-Type": OCI_MANIFEST},
    )
    _check(response)


@SETTINGS
@given(body=json_values, target=st.sampled_from(["/acr/v1/fuzz/r", "/acr/v1/fuzz/r/_tags/latest"]))
def test_random_patch_bodies(http: httpx.Client, body: Any, target: str) -> None:
    response = http.patch(target, content=json.dumps(body).encode())
    _check(response)
    if response.status_code == 200:
        # Whatever was accepted, restore the defaults so other examples see an unlocked repository.
        http.patch(
            target,
            json={"deleteEnabled": True, "writeEnabled": True, "readEnabled": True, "listEnabled": True},
        )
