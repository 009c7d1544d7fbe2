"""authorize() and the token service over real sockets: challenges, token dance, access matrix, bad input."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from typing import Any

import httpx
import jwt
import pytest

from containerregistry.emulator.auth import (
    REFRESH_TOKEN_USERNAME,
    REPOSITORY_ACTIONS,
    AuthConfig,
    User,
    entra_audiences_for,
    mint_entra_token,
)

from .conftest import KEY, LONG_SECRET, Server, basic, bearer, make_config, parse_challenge, serve

ALL_SCOPES = ["repository:app:" + ",".join(REPOSITORY_ACTIONS), "registry:catalog:*"]


async def get_token(server: Server, scopes: list[str], creds: tuple[str, str] | None = None) -> str:
    headers = basic(*creds) if creds else {}
    params = (("service", server.login_server), *(("scope", s) for s in scopes))
    response = await server.client.get("/oauth2/token", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"]
    return str(body["access_token"])


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def assert_challenge(
    server: Server, response: httpx.Response, scope: str | None, error: str | None = None
) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    params = parse_challenge(response.headers["www-authenticate"])
    expected = {"realm": f"{server.endpoint}/oauth2/token", "service": server.login_server}
    if scope is not None:
        expected["scope"] = scope
    if error is not None:
        expected["error"] = error
    assert params == expected
    entry = response.json()["errors"][0]
    assert entry["code"] == "UNAUTHORIZED"
    if scope is not None:
        rtype, rest = scope.split(":", 1)
        name, actions = rest.rsplit(":", 1)
        assert entry["detail"] == [{"Type": rtype, "Name": name, "Action": a} for a in actions.split(",")]


# (path, scope string the challenge must name, roles that allow it)
CHECKS = [
    *[
        (f"/check/repository/{action}/app", f"repository:app:{action}", {action, "admin"})
        for action in REPOSITORY_ACTIONS
    ],
    ("/check/registry/*/catalog", "registry:catalog:*", {"pull", "metadata_read", "admin"}),
]


async def test_access_matrix() -> None:
    async with serve(make_config()) as server:
        tokens: dict[str, str | None] = {"anonymous": None}
        for role in (*REPOSITORY_ACTIONS, "admin"):
            tokens[role] = await get_token(server, ALL_SCOPES, (role, f"pw-{role}"))
        now = int(time.time())
        full_access = [
            {"type": "repository", "name": "app", "actions": list(REPOSITORY_ACTIONS)},
            {"type": "registry", "name": "catalog", "actions": ["*"]},
        ]
        base = {
            "iss": "containerregistry-emulator",
            "sub": "admin",
            "aud": server.login_server,
            "iat": now - 100,
            "nbf": now - 100,
            "jti": "x",
            "grant_type": "access_token",
            "access": full_access,
        }
        tokens["expired"] = jwt.encode({**base, "exp": now - 1}, KEY, algorithm="HS256")
        tokens["forged"] = jwt.encode({**base, "exp": now + 300}, b"f" * 32, algorithm="HS256")
        tokens["other-repo"] = await get_token(
            server, ["repository:other:" + ",".join(REPOSITORY_ACTIONS)], ("admin", "pw-admin")
        )
        # Sanity: the hand-made token is accepted when signed with the real key, so "expired" and
        # "forged" fail for the reason they are named after.
        good = jwt.encode({**base, "exp": now + 300}, KEY, algorithm="HS256")
        assert (
            await server.client.get("/check/repository/pull/app", headers=bearer(good))
        ).status_code == 200

        for identity, token in tokens.items():
            for path, scope, allowed_roles in CHECKS:
                headers = bearer(token) if token else {}
                response = await server.client.get(path, headers=headers)
                if identity in allowed_roles:
                    assert response.status_code == 200, (identity, path, response.text)
                else:
                    # A valid token that lacks the scope says so; no, an expired or a forged one does not.
                    valid = identity not in ("anonymous", "expired", "forged")
                    assert_challenge(server, response, scope, "insufficient_scope" if valid else None)
        assert server.auth.stats.challenges > 0


async def test_challenge_token_retry_dance() -> None:
    async with serve(make_config()) as server:
        client = server.client
        first = await client.get("/check/repository/pull,push/app")
        assert_challenge(server, first, "repository:app:pull,push")
        params = parse_challenge(first.headers["www-authenticate"])
        token_response = await client.get(
            params["realm"],
            params={"service": params["service"], "scope": params["scope"]},
            headers=basic("admin", "pw-admin"),
        )
        assert token_response.status_code == 200
        body = token_response.json()
        assert body["expires_in"] == 300
        assert body["issued_at"].endswith("Z")
        assert "refresh_token" not in body
        retry = await client.get("/check/repository/pull,push/app", headers=bearer(body["token"]))
        assert retry.status_code == 200
        assert server.auth.stats.token_requests == 1
        assert server.auth.stats.by_grant_type["basic"] == 1
        claims = claims_of(body["token"])
        assert claims["access"] == [{"type": "repository", "name": "app", "actions": ["pull", "push"]}]
        assert claims["aud"] == server.login_server
        assert claims["grant_type"] == "access_token"
        assert {"iss", "sub", "exp", "iat", "nbf", "jti"} <= set(claims)
        assert claims["exp"] - claims["iat"] >= 300


async def test_token_too_narrow_gets_challenge_then_wider_token() -> None:
    async with serve(make_config()) as server:
        user = User("dev", "pw-dev", frozenset({"pull", "push"}))
        server.config.users["dev"] = user
        pull_token = await get_token(server, ["repository:app:pull"], ("dev", "pw-dev"))
        response = await server.client.get("/check/repository/push/app", headers=bearer(pull_token))
        assert_challenge(server, response, "repository:app:push", "insufficient_scope")
        wider = await get_token(server, ["repository:app:pull,push"], ("dev", "pw-dev"))
        assert (
            await server.client.get("/check/repository/push/app", headers=bearer(wider))
        ).status_code == 200


async def test_grants_are_intersection_with_roles() -> None:
    async with serve(make_config()) as server:
        token = await get_token(
            server, ["repository:app:pull,push,delete", "repository:team/x:pull"], ("pull", "pw-pull")
        )
        assert claims_of(token)["access"] == [
            {"type": "repository", "name": "app", "actions": ["pull"]},
            {"type": "repository", "name": "team/x", "actions": ["pull"]},
        ]
        # A user restricted to team/*: nothing for app, nothing for the catalog.
        token = await get_token(
            server,
            ["repository:app:pull", "repository:team/x:pull,push,delete", "registry:catalog:*"],
            ("scoped", "pw-scoped"),
        )
        assert claims_of(token)["access"] == [
            {"type": "repository", "name": "team/x", "actions": ["pull", "push"]}
        ]
        # An admin restricted to one repository is admin there only, and cannot use Basic directly.
        token = await get_token(
            server, ["repository:app:*", "repository:lib:pull"], ("scoped-admin", "pw-scoped-admin")
        )
        assert claims_of(token)["access"] == [
            {"type": "repository", "name": "app", "actions": list(REPOSITORY_ACTIONS)}
        ]
        response = await server.client.get(
            "/check/repository/pull/app", headers=basic("scoped-admin", "pw-scoped-admin")
        )
        assert_challenge(server, response, "repository:app:pull")
        # Scopes given space-separated in one parameter and repeated are merged per resource.
        token = await get_token(
            server, ["repository:app:pull repository:app:push", "repository:app:pull"], ("admin", "pw-admin")
        )
        assert claims_of(token)["access"] == [
            {"type": "repository", "name": "app", "actions": ["pull", "push"]}
        ]


async def test_admin_basic_directly_and_non_admin_basic_refused() -> None:
    async with serve(make_config()) as server:
        client = server.client
        assert (await client.get("/v2/", headers=basic("admin", "pw-admin"))).status_code == 200
        ok = await client.get("/check/repository/delete/app", headers=basic("admin", "pw-admin"))
        assert ok.status_code == 200
        assert (
            await client.get("/check/registry/*/catalog", headers=basic("admin", "pw-admin"))
        ).status_code == 200
        wrong = await client.get("/check/repository/pull/app", headers=basic("admin", "nope"))
        assert_challenge(server, wrong, "repository:app:pull")
        assert "nope" not in wrong.text
        non_admin = await client.get("/check/repository/pull/app", headers=basic("pull", "pw-pull"))
        assert_challenge(server, non_admin, "repository:app:pull")
        assert_challenge(server, await client.get("/v2/", headers=basic("pull", "pw-pull")), None)
        garbage = await client.get("/v2/", headers={"Authorization": "Basic !!!notbase64"})
        assert_challenge(server, garbage, None)
        unknown = await client.get("/v2/", headers={"Authorization": "Negotiate abc"})
        assert_challenge(server, unknown, None)


async def test_v2_ping_needs_any_valid_token() -> None:
    async with serve(make_config(anonymous_pull=True)) as server:
        client = server.client
        assert_challenge(server, await client.get("/v2/"), None)
        # An anonymous token with no access at all is enough for the ping.
        token = await get_token(server, [])
        assert claims_of(token)["access"] == []
        assert (await client.get("/v2/", headers=bearer(token))).status_code == 200
        assert_challenge(server, await client.get("/v2/", headers=bearer("not.a.jwt")), None)


async def test_anonymous_pull_enabled() -> None:
    async with serve(make_config(anonymous_pull=True)) as server:
        client = server.client
        assert (await client.get("/check/repository/pull/app")).status_code == 200
        assert (await client.get("/check/repository/metadata_read/app")).status_code == 200
        assert (await client.get("/check/repository/pull,metadata_read/app")).status_code == 200
        assert_challenge(
            server, await client.get("/check/repository/pull,push/app"), "repository:app:pull,push"
        )
        # As on ACR with anonymous pull: the catalog is readable anonymously.
        assert (await client.get("/check/registry/*/catalog")).status_code == 200
        # Docker-style anonymous GET and ACR-style anonymous password grant: pull/metadata_read and
        # the catalog, nothing else.
        token = await get_token(server, ALL_SCOPES)
        expected = [
            {"type": "repository", "name": "app", "actions": ["pull", "metadata_read"]},
            {"type": "registry", "name": "catalog", "actions": ["*"]},
        ]
        assert claims_of(token)["access"] == expected
        response = await client.post(
            "/oauth2/token",
            data={"grant_type": "password", "service": server.login_server, "scope": " ".join(ALL_SCOPES)},
        )
        assert response.status_code == 200
        assert claims_of(response.json()["access_token"])["access"] == expected
        assert server.auth.stats.by_grant_type["anonymous"] == 2


async def test_anonymous_pull_disabled() -> None:
    async with serve(make_config()) as server:
        assert_challenge(server, await server.client.get("/check/repository/pull/app"), "repository:app:pull")
        token = await get_token(server, ALL_SCOPES)
        assert claims_of(token)["access"] == []
        response = await server.client.post(
            "/oauth2/token", data={"grant_type": "password", "scope": ALL_SCOPES[0]}
        )
        assert claims_of(response.json()["access_token"])["access"] == []


async def test_password_grant_offline_refresh_and_refresh_grant() -> None:
    async with serve(make_config()) as server:
        client = server.client
        response = await client.post(
            "/oauth2/token",
            data={
                "grant_type": "password",
                "username": "push",
                "password": "pw-push",
                "service": server.login_server,
                "scope": "repository:app:push",
                "access_type": "offline",
                "client_id": "test",
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        refresh = body["refresh_token"]
        assert claims_of(refresh)["grant_type"] == "refresh_token"
        assert claims_of(refresh)["exp"] - claims_of(refresh)["iat"] >= 3 * 3600
        assert (
            await client.get("/check/repository/push/app", headers=bearer(body["access_token"]))
        ).status_code == 200
        # Refresh token grant, scopes repeated.
        pairs = [
            ("grant_type", "refresh_token"),
            ("service", server.login_server),
            ("refresh_token", refresh),
            ("scope", "repository:app:push"),
            ("scope", "repository:lib:push,pull"),
        ]
        response = await client.post(
            "/oauth2/token",
            content=urllib.parse.urlencode(pairs).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        access = response.json()["access_token"]
        assert claims_of(access)["access"] == [
            {"type": "repository", "name": "app", "actions": ["push"]},
            {"type": "repository", "name": "lib", "actions": ["push"]},
        ]
        # A refresh token is not an access token, and an access token is not a refresh token.
        assert_challenge(
            server,
            await client.get("/check/repository/push/app", headers=bearer(refresh)),
            "repository:app:push",
        )
        misuse = await client.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": access, "scope": "repository:app:push"},
        )
        assert misuse.status_code == 401
        assert misuse.json()["errors"][0]["code"] == "UNAUTHORIZED"
        # Without offline access there is no refresh token.
        response = await client.post(
            "/oauth2/token", data={"grant_type": "password", "username": "push", "password": "pw-push"}
        )
        assert "refresh_token" not in response.json()
        wrong = await client.post(
            "/oauth2/token", data={"grant_type": "password", "username": "push", "password": "wrong-pw"}
        )
        assert wrong.status_code == 401
        assert "wrong-pw" not in wrong.text
        assert server.auth.stats.by_grant_type["password"] == 3
        assert server.auth.stats.by_grant_type["refresh_token"] == 2


async def test_docker_offline_token_and_refresh_token_username() -> None:
    async with serve(make_config()) as server:
        response = await server.client.get(
            "/oauth2/token",
            params={"service": server.login_server, "scope": "repository:app:pull", "offline_token": "true"},
            headers=basic("pull", "pw-pull"),
        )
        refresh = response.json()["refresh_token"]
        # `docker login -u 00000000-0000-0000-0000-000000000000 -p <refresh token>`.
        token = await get_token(server, ["repository:app:pull,push"], (REFRESH_TOKEN_USERNAME, refresh))
        assert claims_of(token)["access"] == [{"type": "repository", "name": "app", "actions": ["pull"]}]
        assert claims_of(token)["sub"] == "pull"
        bad = await server.client.get(
            "/oauth2/token",
            params={"scope": "repository:app:pull"},
            headers=basic(REFRESH_TOKEN_USERNAME, "x.y.z"),
        )
        assert bad.status_code == 401


async def test_entra_exchange_then_refresh_then_access() -> None:
    async with serve(make_config(entra_roles=frozenset({"pull", "metadata_read"}))) as server:
        client = server.client
        entra = mint_entra_token(LONG_SECRET, subject="alice")
        response = await client.post(
            "/oauth2/exchange",
            data={
                "grant_type": "access_token",
                "service": server.login_server,
                "tenant": "t",
                "access_token": entra,
            },
        )
        assert response.status_code == 200, response.text
        refresh = response.json()["refresh_token"]
        claims = claims_of(refresh)
        assert claims["sub"] == "alice"
        assert claims["grant_type"] == "refresh_token"
        assert claims["exp"] - claims["iat"] >= 3 * 3600
        response = await client.post(
            "/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "service": server.login_server,
                "refresh_token": refresh,
                "scope": "repository:app:pull,push",
            },
        )
        access = response.json()["access_token"]
        assert claims_of(access)["access"] == [{"type": "repository", "name": "app", "actions": ["pull"]}]
        assert (await client.get("/check/repository/pull/app", headers=bearer(access))).status_code == 200
        assert server.auth.stats.exchanges == 1
        assert server.auth.stats.by_grant_type["access_token"] == 1


@pytest.mark.parametrize(
    ("cloud", "audience", "ok"),
    [
        ("public", "https://containerregistry.azure.net", True),
        ("public", "https://management.azure.com/", True),
        ("public", "https://management.chinacloudapi.cn", False),
        ("public", "https://management.usgovcloudapi.net", False),
        ("public", "https://storage.azure.com", False),
        ("china", "https://containerregistry.azure.net", True),
        ("china", "https://management.chinacloudapi.cn", True),
        ("china", "https://management.azure.com", False),
        ("usgov", "https://management.usgovcloudapi.net/", True),
        ("usgov", "https://management.chinacloudapi.cn", False),
    ],
)
async def test_entra_audiences(cloud: str, audience: str, ok: bool) -> None:
    """Only ACR's own audience and the registry's cloud's Resource Manager audience, as real ACR."""
    async with serve(make_config(cloud=cloud)) as server:
        token = mint_entra_token(LONG_SECRET, audience=audience)
        response = await server.client.post(
            "/oauth2/exchange",
            data={"grant_type": "access_token", "service": server.login_server, "access_token": token},
        )
        if ok:
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 401
            message = response.json()["errors"][0]["message"]
            assert "https://containerregistry.azure.net" in message
            assert entra_audiences_for(cloud)[1] in message


async def test_entra_expired_forged_and_untrusted() -> None:
    async with serve(make_config()) as server:

        async def exchange(token: str) -> httpx.Response:
            return await server.client.post(
                "/oauth2/exchange", data={"grant_type": "access_token", "access_token": token}
            )

        expired = await exchange(mint_entra_token(LONG_SECRET, ttl=-10))
        assert expired.status_code == 401
        assert "expired" in expired.json()["errors"][0]["message"]
        forged = await exchange(mint_entra_token("another-secret-of-sufficient-length-123456"))
        assert forged.status_code == 401
        assert (await exchange("garbage")).status_code == 401
        # An emulator refresh token is not an Entra token either.
        refresh_like = jwt.encode(
            {"aud": "https://containerregistry.azure.net", "exp": time.time() + 60}, KEY
        )
        assert (await exchange(refresh_like)).status_code == 401
    async with serve(make_config(entra_secret=None)) as server:
        token = mint_entra_token(LONG_SECRET)
        response = await server.client.post(
            "/oauth2/exchange", data={"grant_type": "access_token", "access_token": token}
        )
        assert response.status_code == 401


async def test_trust_any_entra_token() -> None:
    config = make_config(entra_secret=None, trust_any_entra_token=True)
    async with serve(config) as server:

        async def exchange(token: str) -> httpx.Response:
            return await server.client.post(
                "/oauth2/exchange", data={"grant_type": "access_token", "access_token": token}
            )

        anything = mint_entra_token("whatever-key-nobody-configured-0123456789", subject="bob")
        response = await exchange(anything)
        assert response.status_code == 200
        assert claims_of(response.json()["refresh_token"])["sub"] == "bob"
        assert (await exchange("not-a-jwt")).status_code == 401
        assert (
            await exchange(mint_entra_token("whatever-key-nobody-configured-0123456789", ttl=-5))
        ).status_code == 401
        wrong_aud = mint_entra_token("whatever-key-nobody-configured-0123456789", audience="api://other")
        assert (await exchange(wrong_aud)).status_code == 401


async def test_exchange_bad_requests() -> None:
    async with serve(make_config()) as server:
        client = server.client
        for data in (
            {"grant_type": "password", "access_token": "x"},
            {"access_token": "x"},
            {"grant_type": "access_token"},
        ):
            response = await client.post("/oauth2/exchange", data=data)
            assert response.status_code == 400, data
            assert response.headers["content-type"].startswith("application/json")
            assert response.json()["errors"][0]["code"]


@pytest.mark.parametrize(
    "scope",
    [
        "repository:app",
        "repository:App:pull",
        "repository:app:fly",
        "repository:app:",
        "repository::pull",
        "registry:catalog:pull",
        "registry:other:*",
        "plugin:app:pull",
        "repository:localhost:5000/app:pull",
        ":app:pull",
    ],
)
async def test_malformed_scopes_are_400(scope: str) -> None:
    async with serve(make_config()) as server:
        response = await server.client.get(
            "/oauth2/token", params={"scope": scope}, headers=basic("admin", "pw-admin")
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "SCOPE_INVALID"
        response = await server.client.post(
            "/oauth2/token",
            data={"grant_type": "password", "username": "admin", "password": "pw-admin", "scope": scope},
        )
        assert response.status_code == 400


async def test_bad_token_requests_never_500() -> None:
    async with serve(make_config()) as server:
        client = server.client
        huge = await client.post(
            "/oauth2/token",
            content=b"a=" + b"x" * (70 * 1024),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert huge.status_code == 413
        assert huge.json()["errors"][0]["code"] == "SIZE_INVALID"

        async def chunks():
            for _ in range(100):
                yield b"x" * 1024

        streamed = await client.post(
            "/oauth2/token", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert streamed.status_code == 413
        bad_utf8 = await client.post(
            "/oauth2/token",
            content=b"grant_type=\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert bad_utf8.status_code == 400
        as_json = await client.post("/oauth2/token", json={"grant_type": "password"})
        assert as_json.status_code == 400
        many = await client.post(
            "/oauth2/token",
            content="&".join(f"f{i}=1" for i in range(500)).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert many.status_code == 400
        unsupported = await client.post("/oauth2/token", data={"grant_type": "client_credentials"})
        assert unsupported.status_code == 400
        assert unsupported.json()["errors"][0]["code"] == "UNSUPPORTED"
        missing = await client.post("/oauth2/token", data={"grant_type": "refresh_token"})
        assert missing.status_code == 400
        half = await client.post("/oauth2/token", data={"grant_type": "password", "username": "admin"})
        assert half.status_code == 400
        bearer_on_token = await client.get("/oauth2/token", headers=bearer("abc"))
        assert bearer_on_token.status_code == 401
        bad_basic = await client.get("/oauth2/token", headers=basic("admin", "wrong-password-xyz"))
        assert bad_basic.status_code == 401
        assert "wrong-password-xyz" not in bad_basic.text
        too_many_scopes = await client.get("/oauth2/token", params=[("scope", "repository:a:pull")] * 60)
        assert too_many_scopes.status_code == 400
        for response in (huge, streamed, bad_utf8, as_json, many, unsupported, missing, half):
            assert response.headers["content-type"].startswith("application/json")
            json.loads(response.text)


async def test_access_token_expires() -> None:
    async with serve(make_config(token_ttl=1)) as server:
        token = await get_token(server, ["repository:app:pull"], ("pull", "pw-pull"))
        assert (
            await server.client.get("/check/repository/pull/app", headers=bearer(token))
        ).status_code == 200
        exp = int(claims_of(token)["exp"])
        await asyncio.sleep(max(0.0, exp - time.time()) + 0.2)
        assert_challenge(
            server,
            await server.client.get("/check/repository/pull/app", headers=bearer(token)),
            "repository:app:pull",
        )


async def test_token_for_another_login_server_is_refused() -> None:
    async with serve(make_config(login_server="registry-a.example:443")) as server:
        token = await get_token(server, ["repository:app:pull"], ("pull", "pw-pull"))
        assert claims_of(token)["aud"] == "registry-a.example:443"
        assert (
            await server.client.get("/check/repository/pull/app", headers=bearer(token))
        ).status_code == 200
        server.config.login_server = "registry-b.example:443"
        response = await server.client.get("/check/repository/pull/app", headers=bearer(token))
        assert response.status_code == 401
        assert parse_challenge(response.headers["www-authenticate"])["service"] == "registry-b.example:443"


async def test_open_auth_allows_everything_and_serves_tokens() -> None:
    async with serve(AuthConfig(), open_mode=True) as server:
        client = server.client
        assert (await client.get("/v2/")).status_code == 200
        assert (await client.get("/check/repository/delete/app")).status_code == 200
        token = await get_token(server, ["repository:app:pull,push"], ("anyone", "anything"))
        assert claims_of(token)["access"] == [
            {"type": "repository", "name": "app", "actions": ["pull", "push"]}
        ]
        response = await client.post(
            "/oauth2/exchange",
            data={"grant_type": "access_token", "access_token": mint_entra_token("s" * 32)},
        )
        assert response.status_code == 200
        refresh = response.json()["refresh_token"]
        response = await client.post(
            "/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh, "scope": "repository:x:pull"},
        )
        assert response.status_code == 200
        assert (await client.post("/oauth2/token", data={"grant_type": "nope"})).status_code == 400


async def test_too_narrow_token_is_challenged_with_insufficient_scope() -> None:
    """RFC 6750 section 3.1: a valid token lacking the scope gets `error="insufficient_scope"` (podman
    re-authenticates on it); a request without credentials gets no error code (section 3)."""
    async with serve(make_config()) as server:
        token = await get_token(server, ["repository:app:pull"], ("push", "pw-push"))
        assert claims_of(token)["access"] == []  # the push role has no pull
        response = await server.client.get("/check/repository/pull,push/app", headers=bearer(token))
        assert response.status_code == 401
        params = parse_challenge(response.headers["www-authenticate"])
        assert params["error"] == "insufficient_scope"
        assert params["scope"] == "repository:app:pull,push"
        anonymous = await server.client.get("/check/repository/pull,push/app")
        assert "error" not in parse_challenge(anonymous.headers["www-authenticate"])
        forged = await server.client.get("/check/repository/pull/app", headers=bearer("not.a.jwt"))
        assert parse_challenge(forged.headers["www-authenticate"]).get("error") != "insufficient_scope"
