"""The public surface is deliberate: `__all__` lists exactly the public names, and sync and async match."""

from __future__ import annotations

import subprocess
import sys

import containerregistry
import containerregistry.aio as aio


def test_all_matches_public_names() -> None:
    modules = {"aio", "auth", "exceptions", "protocol", "transport", "credentials", "images"}
    modules |= {
        "emulator",
        "testing",
        "cli",
        "annotations",
    }  # subpackages; `from __future__ import annotations`
    # pytest rewrites asserts in plugin packages (ours registers one), adding `@py_*` names: not ours.
    public = {name for name in vars(containerregistry) if not name.startswith(("_", "@"))} - modules
    assert set(containerregistry.__all__) == public
    assert containerregistry.__all__ == sorted(containerregistry.__all__)


def test_sync_and_async_share_client_names() -> None:
    for name in (
        "ContainerRegistryClient",
        "ContainerRepository",
        "RegistryArtifact",
        "ContainerRegistryContentClient",
        "BlobStream",
    ):
        sync_cls, async_cls = getattr(containerregistry, name), getattr(aio, name)
        assert sync_cls is not async_cls
        sync_methods = {m for m in vars(sync_cls) if not m.startswith("_")}
        async_methods = {m for m in vars(async_cls) if not m.startswith("_")}
        assert sync_methods == async_methods, name


def test_import_is_light() -> None:
    """Importing the library loads neither azure-identity nor the emulator or the CLI.

    (click and rich may appear: httpx imports its own command line when they are installed.)
    """
    code = "import sys, containerregistry, containerregistry.aio; print(sorted(m for m in sys.modules if m.startswith(('azure', 'containerregistry.emulator', 'containerregistry.cli', 'aiohttp.web'))))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_unsupported_operation_error_is_exported() -> None:
    """Raised when a registry has no API for an operation (a delete on Distribution): never a success."""
    from containerregistry.exceptions import RegistryError, UnsupportedOperationError

    assert containerregistry.UnsupportedOperationError is UnsupportedOperationError
    assert "UnsupportedOperationError" in containerregistry.exceptions.__all__
    assert issubclass(UnsupportedOperationError, RegistryError)
    # Not an HTTP error subclass: `except ResourceNotFoundError` must not swallow it.
    assert not issubclass(UnsupportedOperationError, containerregistry.HttpResponseError)
