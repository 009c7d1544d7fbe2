"""What only our side of the drop-in has to prove: azure-core costs no import, errors and pagers become
azure-core's only when it is loaded, and the SDK's client keywords are translated or refused clearly."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest
from azure.core import exceptions as azure_exceptions
from azure.core.paging import ItemPaged as AzureItemPaged
from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport

import containerregistry
from containerregistry import exceptions as ours
from containerregistry.aio import ContainerRegistryClient as AsyncClient

from .conftest import EntraCredential

_BLOCK_AZURE = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "azure" or name.startswith("azure."):
            raise ImportError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
"""


def _run(code: str, **env: str) -> str:
    import os

    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_azure_core_nothing_is_imported_and_the_classes_are_ours() -> None:
    out = _run(
        _BLOCK_AZURE
        + """
import containerregistry, containerregistry.aio
from containerregistry import ContainerRegistryClient, ItemPaged, ResourceNotFoundError
client = ContainerRegistryClient("https://registry.example", None)
paged = client.list_tag_properties("some/repo")
error = ResourceNotFoundError("gone", status_code=404)
print(type(error) is ResourceNotFoundError, type(paged) is ItemPaged, hasattr(client, "get_tag_properties"))
print(sorted(m for m in sys.modules if m.startswith("azure")))
"""
    )
    assert out.splitlines() == ["True True True", "[]"]


def test_importing_ours_does_not_import_azure_core_even_when_installed() -> None:
    code = "import sys, containerregistry, containerregistry.aio; print(sorted(m for m in sys.modules if m.startswith('azure')))"
    assert _run(code) == "[]"


def test_with_azure_core_loaded_errors_are_both_ours_and_azure_cores() -> None:
    cases = [
        (ours.ResourceNotFoundError("x", status_code=404), azure_exceptions.ResourceNotFoundError),
        (ours.ClientAuthenticationError("x", status_code=401), azure_exceptions.ClientAuthenticationError),
        (ours.PermissionDeniedError("x", status_code=403), azure_exceptions.HttpResponseError),
        (ours.OperationNotAllowedError("x", status_code=405), azure_exceptions.HttpResponseError),
        (ours.ServiceRequestError("x"), azure_exceptions.ServiceRequestError),
    ]
    for error, azure_class in cases:
        assert isinstance(error, azure_class) and isinstance(error, ours.RegistryError)
        assert type(error).__name__ == type(error).__mro__[1].__name__  # named like ours
        try:
            raise error
        except azure_class as caught:
            assert caught is error
        assert str(error) == "x" and getattr(error, "message", "x") == "x"
    assert cases[0][0].status_code == 404
    import pickle

    for error, azure_class in cases:  # a twin pickles (as ours; rebuilt as a twin where azure-core is loaded)
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and isinstance(copy, azure_class) and str(copy) == "x"
        assert getattr(copy, "status_code", None) == getattr(error, "status_code", None)
    assert not isinstance(ours.DigestValidationError("x"), azure_exceptions.AzureError)
    assert isinstance(ours.ManifestTooLargeError("x"), ValueError)  # the SDK raises ValueError there


def test_the_twins_can_be_turned_off() -> None:
    code = (
        "import azure.core.exceptions as a, containerregistry as c; "
        "print(isinstance(c.ResourceNotFoundError('x', status_code=404), a.ResourceNotFoundError))"
    )
    assert _run(code) == "True"
    assert _run(code, CONTAINERREGISTRY_AZURE_CORE="0") == "False"


def test_pagers_are_azure_core_pagers_when_it_is_loaded() -> None:
    client = containerregistry.ContainerRegistryClient("https://registry.example", None)
    paged = client.list_repository_names()
    assert isinstance(paged, AzureItemPaged) and isinstance(paged, containerregistry.ItemPaged)
    client.close()


def test_a_transport_of_the_wrong_kind_is_refused_with_what_to_pass() -> None:
    with pytest.raises(TypeError) as refused:
        containerregistry.ContainerRegistryClient(
            "https://registry.example", None, transport=AioHttpTransport()
        )
    message = str(refused.value)
    assert "httpx.HTTPTransport" in message and "AioHttpTransport" in message and "http_client=" in message
    with pytest.raises(TypeError, match=r"httpx\.AsyncHTTPTransport"):
        AsyncClient("https://registry.example", None, transport=RequestsTransport())
    with pytest.raises(TypeError, match="object"):
        containerregistry.ContainerRegistryClient("https://registry.example", None, transport=object())
    for transport in (httpx.HTTPTransport(), RequestsTransport()):
        containerregistry.ContainerRegistryClient(
            "https://registry.example", None, transport=transport
        ).close()


@pytest.mark.parametrize(
    ("keyword", "hint"),
    [
        ("policies", "http_client="),
        ("per_call_policies", "http_client="),
        ("proxies", "proxy="),
        ("headers", "headers="),
        ("session", "http_client="),
    ],
)
def test_keywords_without_equivalent_are_refused_with_a_hint(keyword: str, hint: str) -> None:
    with pytest.raises(TypeError) as refused:
        containerregistry.ContainerRegistryClient("https://registry.example", None, **{keyword: object()})
    assert keyword in str(refused.value) and hint in str(refused.value)


def test_unknown_keywords_are_refused() -> None:
    with pytest.raises(TypeError, match="conection_verify"):
        containerregistry.ContainerRegistryClient("https://registry.example", None, conection_verify=False)


def test_sdk_keywords_are_translated() -> None:
    client = containerregistry.ContainerRegistryClient(
        "https://registry.example",
        None,
        connection_timeout=3,
        read_timeout=7,
        retry_total=1,
        retry_backoff_factor=0.25,
        logging_enable=True,
        api_version="2021-07-01",
    )
    pipeline = client._session.pipeline
    assert (pipeline.retry.max_retries, pipeline.retry.backoff_factor) == (1, 0.25)
    assert (pipeline.client.timeout.connect, pipeline.client.timeout.read) == (3, 7)
    client.close()
    with pytest.raises(ValueError, match="credential_scopes"):
        containerregistry.ContainerRegistryClient("https://r.example", None, credential_scopes=["a", "b"])
    with pytest.raises(ValueError, match="contradict"):
        containerregistry.ContainerRegistryClient(
            "https://r.example",
            None,
            audience="https://a.example",
            credential_scopes=["https://b.example/.default"],
        )


def test_credential_scopes_choose_the_audience(entra_registry: Any) -> None:
    credential = EntraCredential(entra_registry)
    scope = "https://management.azure.com/.default"
    with (
        containerregistry.ContainerRegistryClient(
            entra_registry.endpoint,
            credential,
            credential_scopes=[scope],
            connection_verify=str(entra_registry.ca_cert),
        ) as client,
        pytest.raises(azure_exceptions.ResourceNotFoundError),
    ):
        client.get_repository_properties("compat/scopes")
    assert credential.scopes and all(s == (scope,) for s in credential.scopes)


async def test_async_client_takes_the_same_keywords(entra_registry: Any) -> None:
    async with AsyncClient(
        entra_registry.endpoint, None, connection_verify=str(entra_registry.ca_cert), retry_total=0
    ) as client:
        with pytest.raises(azure_exceptions.ClientAuthenticationError):
            await client.get_repository_properties("compat/keywords")
