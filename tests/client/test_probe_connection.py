"""The scheme probe's connection is the one the first request uses (a plain-http loopback registry)."""

from __future__ import annotations

from typing import Any

import pytest
import urllib3.connection

from containerregistry import ContainerRegistryContentClient
from containerregistry.emulator import RunningEmulator


def test_a_probed_endpoint_keeps_its_connection(
    registry_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`host:port` with no scheme: the TLS check (a bare socket), then `GET /v2/` over http and the request
    itself on one HTTP connection: reading the probe's small body lets its connection back into the pool."""
    connects: list[str] = []
    connect = urllib3.connection.HTTPConnection.connect

    def counting(self: Any) -> None:
        connects.append(f"{self.host}:{self.port}")
        connect(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", counting)
    host = registry_emulator.endpoint.split("://", 1)[1]
    with ContainerRegistryContentClient(host, "probe/connection") as client:
        client.upload_blob(b"{}")
        client.upload_blob(b"[]")
    assert connects == [host]
