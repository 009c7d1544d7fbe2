"""The Distribution fixtures start real registries that answer on loopback."""

from __future__ import annotations

import httpx


def test_open_distribution_answers(distribution) -> None:
    assert distribution.endpoint == f"http://{distribution.host}"
    response = httpx.get(f"{distribution.endpoint}/v2/", timeout=5)
    assert response.status_code == 200
    assert distribution.root.is_dir()
