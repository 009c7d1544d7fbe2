"""What a fresh interpreter loads: sync use of the library never loads aiohttp, PyJWT or cryptography.

Each check runs in a subprocess (a fresh `sys.modules`) that does real work against the emulator over
loopback, then prints which of the watched top-level packages it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from containerregistry.emulator import RunningEmulator

#: Heavy or optional packages a sync client without tokens has no use for.
WATCHED = ("aiohttp", "jwt", "cryptography", "azure")

PROBE = """
import json, sys
{body}
watched = {watched!r}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in watched}})))
"""


def loaded(body: str, *args: str) -> list[str]:
    code = PROBE.format(body=textwrap.dedent(body), watched=WATCHED)
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_sync_use_of_the_library_does_not_import_aiohttp(registry_emulator: RunningEmulator) -> None:
    body = """
    import containerregistry
    import containerregistry.credentials, containerregistry.exceptions, containerregistry.images
    from containerregistry import ContainerRegistryClient, ContainerRegistryContentClient

    endpoint = sys.argv[1]
    with ContainerRegistryContentClient(endpoint, "tooling/light") as content:
        layer = content.upload_blob(b"hello")
        config = content.upload_blob(b"{}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.digest, "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.digest, "size": 5}],
        }
        content.set_manifest(manifest, tag="v1")
        assert content.download_blob_content(layer.digest).content == b"hello"
        assert list(content.list_tags()) == ["v1"]
    with ContainerRegistryClient(endpoint) as client:
        assert "tooling/light" in list(client.list_repository_names())
        assert client.get_artifact("tooling/light", "v1").get_manifest_properties().digest
    """
    assert loaded(body, registry_emulator.endpoint) == []


def test_the_async_api_loads_aiohttp_on_import(registry_emulator: RunningEmulator) -> None:
    # The probe sees what it watches. The async API loads aiohttp when it is imported, not when the first
    # client is made inside the running loop (an import there would block the loop).
    body = """
    import asyncio
    import containerregistry.aio
    assert "aiohttp" in sys.modules, "importing containerregistry.aio did not load aiohttp"

    async def main():
        async with containerregistry.aio.ContainerRegistryClient(sys.argv[1]) as client:
            return [name async for name in client.list_repository_names()]

    asyncio.run(main())
    """
    assert loaded(body, registry_emulator.endpoint) == ["aiohttp"]


def test_the_lazy_transport_name_still_imports() -> None:
    body = """
    from containerregistry.transport import AiohttpTransport, create_async_transport
    import containerregistry.transport as transport
    assert "AiohttpTransport" in dir(transport) and AiohttpTransport.__name__ == "AiohttpTransport"
    try:
        transport.NoSuchTransport
    except AttributeError as exc:
        assert "NoSuchTransport" in str(exc)
    else:
        raise AssertionError("a missing name must raise AttributeError")
    """
    assert loaded(body) == ["aiohttp"]


def test_the_cli_starts_without_aiohttp_or_the_emulator() -> None:
    body = """
    from click.testing import CliRunner
    from containerregistry.cli import cli
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "serve" in result.output, result.output
    assert "containerregistry.emulator" not in sys.modules
    """
    assert loaded(body) == []
