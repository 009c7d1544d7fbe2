"""The Distribution fixtures start real registries that answer on loopback."""

from __future__ import annotations

import httpx


def test_open_distribution_answers(distribution) -> None:
    assert distribution.endpoint == f"http://{distribution.host}"
    response = httpx.get(f"{distribution.endpoint}/v2/", timeout=5)
    assert response.status_code == 200
    assert distribution.root.is_dir()


def test_basic_distribution_requires_the_password(distribution_basic) -> None:
    url = f"{distribution_basic.endpoint}/v2/"
    assert httpx.get(url, timeout=5).status_code == 401
    assert httpx.get(url, auth=(distribution_basic.username, "wrong"), timeout=5).status_code == 401
    ok = httpx.get(url, auth=(distribution_basic.username, distribution_basic.password), timeout=5)
    assert ok.status_code == 200


def test_token_distribution_accepts_tokens_from_the_token_server(distribution_token) -> None:
    server = distribution_token.token_server
    url = f"{distribution_token.endpoint}/v2/app/tags/list"
    challenge = httpx.get(url, timeout=5)
    assert challenge.status_code == 401
    assert f'realm="{server.realm}"' in challenge.headers["WWW-Authenticate"]
    token = httpx.get(
        server.realm,
        params={"service": server.service, "scope": "repository:app:pull"},
        auth=(distribution_token.username, distribution_token.password),
        timeout=5,
    ).json()["token"]
    answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    # Authorized (the repository does not exist yet): the registry trusted the x5c-signed token.
    assert answer.status_code == 404, answer.text
    anonymous = httpx.get(
        server.realm, params={"service": server.service, "scope": "repository:app:pull"}, timeout=5
    )
    denied = httpx.get(url, headers={"Authorization": f"Bearer {anonymous.json()['token']}"}, timeout=5)
    assert denied.status_code == 401
    assert server.stats.gets == 2
