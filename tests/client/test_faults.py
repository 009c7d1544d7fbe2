"""Cut connections mid-body between the client and a real registry: transfers resume and stay correct."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any
from urllib.parse import urlsplit

import pytest

from containerregistry.exceptions import ServiceRequestError
from tests.support.faults import PlannedFault, run_fault_proxy

SIZE = 8 * 1024 * 1024 + 3
CUT_AT = 3 * 1024 * 1024


def _port(endpoint: str) -> int:
    return int(urlsplit(endpoint).port or 80)


def test_download_resumes_with_range_after_a_cut(
    registry_endpoint: str, make_client: Any, repo_name: str
) -> None:
    data = os.urandom(SIZE)
    digest = make_client(registry_endpoint, repo_name).upload_blob(data).digest
    with run_fault_proxy(
        _port(registry_endpoint), connection_plan=[PlannedFault("cut_down", CUT_AT)]
    ) as proxy:
        client = make_client(proxy.endpoint, repo_name)
        assert client.download_blob_content(digest).content == data
    assert proxy.faults_injected == 1
    # Resumed from where it broke (Range), not restarted from zero.
    assert proxy.bytes_down < SIZE + CUT_AT // 2


def test_upload_survives_a_cut_mid_body(
    registry_endpoint: str, registry_kind: str, make_client: Any, repo_name: str
) -> None:
    data = os.urandom(SIZE)
    expected = "sha256:" + hashlib.sha256(data).hexdigest()
    with run_fault_proxy(_port(registry_endpoint), connection_plan=[PlannedFault("cut_up", CUT_AT)]) as proxy:
        client = make_client(proxy.endpoint, repo_name)
        result = client.upload_blob(data)
    assert proxy.faults_injected == 1
    assert result.digest == expected and result.size == SIZE
    assert make_client(registry_endpoint, repo_name).download_blob_content(expected).content == data
    if registry_kind == "emulator":
        # A registry that keeps the partial upload lets us resume: far fewer bytes than a restart.
        # (Distribution refuses a session whose size moved under it, so there we start over.)
        resent = proxy.bytes_up - SIZE
        assert resent < SIZE, f"re-sent {resent} bytes"


def test_chunked_upload_survives_a_cut(registry_endpoint: str, make_client: Any, repo_name: str) -> None:
    data = os.urandom(SIZE)
    with run_fault_proxy(_port(registry_endpoint), connection_plan=[PlannedFault("cut_up", CUT_AT)]) as proxy:
        client = make_client(proxy.endpoint, repo_name, chunk_size=2 * 1024 * 1024)
        result = client.upload_blob(io.BytesIO(data))
    assert proxy.faults_injected == 1
    assert result.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert make_client(registry_endpoint, repo_name).download_blob_content(result.digest).content == data


def test_chunked_upload_of_an_iterable_resumes_within_the_chunk_in_memory(
    registry_endpoint: str, registry_kind: str, make_client: Any, repo_name: str
) -> None:
    """A non-seekable source can resume only if the registry kept the session (the emulator does)."""
    data = os.urandom(SIZE)
    with run_fault_proxy(_port(registry_endpoint), connection_plan=[PlannedFault("cut_up", CUT_AT)]) as proxy:
        client = make_client(proxy.endpoint, repo_name, chunk_size=2 * 1024 * 1024)
        chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
        if registry_kind == "distribution":
            with pytest.raises(ServiceRequestError):
                client.upload_blob(chunks)
            return
        result = client.upload_blob(chunks)
    assert proxy.faults_injected == 1
    assert result.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert make_client(registry_endpoint, repo_name).download_blob_content(result.digest).content == data
