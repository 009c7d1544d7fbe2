"""Edge cases a real registry rarely produces (MockTransport), and import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from containerregistry import aio
from containerregistry._sync import ContainerRegistryClient
from containerregistry.exceptions import PermissionDeniedError, RegistryProtocolError

ENDPOINT = "https://registry.example"


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> ContainerRegistryClient:
    return ContainerRegistryClient(ENDPOINT, transport=httpx.MockTransport(handler))


def test_link_to_another_origin_is_not_followed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200,
            json={"repositories": ["a", "b"]},
            headers={"Link": '<https://evil.example/acr/v1/_catalog?last=b&n=2>; rel="next"'},
        )

    assert list(_client(handler).list_repository_names(results_per_page=2)) == ["a", "b"]
    assert seen == [f"{ENDPOINT}/acr/v1/_catalog?api-version=2021-07-01&n=2"]


def test_relative_link_is_followed_with_api_version() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if "last" not in request.url.params:
            return httpx.Response(
                200,
                json={"repositories": ["a"]},
                headers={"Link": '</acr/v1/_catalog?last=a&n=1&orderby=>; rel="next"'},
            )
        return httpx.Response(200, json={"repositories": ["b"]})

    assert list(_client(handler).list_repository_names(results_per_page=1)) == ["a", "b"]
    assert [u.params.get("api-version") for u in seen] == ["2021-07-01", "2021-07-01"]
    assert seen[1].params.get("last") == "a"


@pytest.mark.parametrize(
    ("content", "headers", "match"),
    [
        (b"<html>proxy error</html>", {}, "invalid JSON"),
        (json.dumps({"repositories": "a"}).encode(), {}, "malformed response"),
        (b"{}", {"Content-Length": str(64 * 1024 * 1024)}, "limit"),
    ],
)
def test_bad_bodies_are_protocol_errors(content: bytes, headers: dict[str, str], match: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers=headers)

    with pytest.raises(RegistryProtocolError, match=match) as caught:
        list(_client(handler).list_repository_names())
    assert "list repositories of registry.example" in str(caught.value)


def test_forbidden_names_the_scope() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]},
        )

    with pytest.raises(PermissionDeniedError, match="repository:team/app:metadata_write") as caught:
        _client(handler).get_repository("team/app").update_properties(can_write=False)
    assert caught.value.status_code == 403
    assert "update properties of repository registry.example/team/app" in str(caught.value)


def test_delete_repository_with_empty_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "DELETE"
        return httpx.Response(202)

    result = _client(handler).delete_repository("app")
    assert (result.deleted_manifests, result.deleted_tags) == ([], [])


async def test_async_client_with_mock_transport() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/acr/v1/app/_tags/v1"
        body = {
            "registry": "registry.example",
            "imageName": "app",
            "tag": {"name": "v1", "digest": "sha256:" + "a" * 64},
        }
        return httpx.Response(200, json=body)

    async with aio.ContainerRegistryClient(ENDPOINT, transport=httpx.MockTransport(handler)) as client:
        tag = await client.get_artifact("app", "v1").get_tag_properties("v1")
    assert tag.digest == "sha256:" + "a" * 64


def test_importing_the_package_never_imports_azure_identity() -> None:
    code = (
        "import sys\n"
        "import containerregistry, containerregistry.aio, containerregistry._sync, containerregistry.protocol.acr\n"
        "from containerregistry._sync import ContainerRegistryClient\n"
        "from containerregistry import aio\n"
        "ContainerRegistryClient('https://example.azurecr.io').close()\n"
        "loaded = sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.'))\n"
        "print(','.join(loaded) or 'none')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "none", result.stdout
