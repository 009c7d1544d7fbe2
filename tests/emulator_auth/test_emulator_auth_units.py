"""Pure parts of the emulator's auth: scope parsing, token claims, reprs, `__all__`."""

from __future__ import annotations

import inspect
import time

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from containerregistry.emulator import auth as auth_module
from containerregistry.emulator.auth import (
    ACR_AUDIENCE,
    REPOSITORY_ACTIONS,
    AuthConfig,
    EmulatorAuth,
    Scope,
    ScopeError,
    User,
    mint_entra_token,
    parse_scopes,
)

from .conftest import LONG_SECRET


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repository:app:pull", Scope("repository", "app", ("pull",))),
        ("repository:team/app:pull,push", Scope("repository", "team/app", ("pull", "push"))),
        ("repository:a.b-c/d__e:delete", Scope("repository", "a.b-c/d__e", ("delete",))),
        ("repository:app:push,pull,push", Scope("repository", "app", ("push", "pull"))),
        ("repository:app:*", Scope("repository", "app", REPOSITORY_ACTIONS)),
        ("registry:catalog:*", Scope("registry", "catalog", ("*",))),
        (
            "repository:app:metadata_read,metadata_write",
            Scope("repository", "app", ("metadata_read", "metadata_write")),
        ),
    ],
)
def test_scope_parse_good(text: str, expected: Scope) -> None:
    assert Scope.parse(text) == expected


def test_scope_str_round_trips() -> None:
    assert str(Scope.parse("repository:team/app:pull,push")) == "repository:team/app:pull,push"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("repository", "malformed"),
        ("repository:app", "malformed"),
        ("repository::pull", "malformed"),
        ("repository:app:", "malformed"),
        ("repository:app:pull,,push", "empty action"),
        ("repository:APP:pull", "invalid repository name"),
        ("repository:app:fly", "unknown action"),
        ("registry:catalog:pull", "registry:catalog:*"),
        ("registry:tags:*", "registry:catalog:*"),
        ("repository(plugin):app:pull", "unknown resource type"),
        # The name ends at the last ':', so a host:port inside it stays in the name (and is refused there).
        ("repository:localhost:5000/app:pull", "'localhost:5000/app'"),
    ],
)
def test_scope_parse_bad(text: str, fragment: str) -> None:
    with pytest.raises(ScopeError, match=None) as info:
        Scope.parse(text)
    assert fragment in str(info.value)


def test_parse_scopes_merges_space_separated_and_repeated() -> None:
    scopes = parse_scopes(
        ["repository:a:pull repository:b:push", "repository:a:push,pull", "registry:catalog:*"]
    )
    assert scopes == [
        Scope("repository", "a", ("pull", "push")),
        Scope("repository", "b", ("push",)),
        Scope("registry", "catalog", ("*",)),
    ]
    assert parse_scopes([]) == []
    assert parse_scopes(["  "]) == []
    with pytest.raises(ScopeError, match="too many"):
        parse_scopes(["repository:a:pull"] * 51)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_scope_parse_only_raises_scope_error(text: str) -> None:
    try:
        scope = Scope.parse(text)
    except ScopeError:
        return
    assert scope.type in ("repository", "registry")
    assert Scope.parse(str(scope)) == scope


def test_user_and_config_reprs_hide_secrets() -> None:
    user = User("alice", "hunter2-password", frozenset({"pull"}))
    config = AuthConfig(
        users={"alice": user},
        entra_secret="entra-shh-secret",
        signing_key=b"signing-key-bytes-0123456789abcdef",
    )
    text = repr(config) + repr(user) + str(config)
    assert "alice" in text
    for secret in ("hunter2-password", "entra-shh-secret", "signing-key-bytes"):
        assert secret not in text


def test_user_rejects_unknown_roles() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        User("bob", "pw", frozenset({"pull", "superuser"}))


def test_mint_entra_token_claims() -> None:
    token = mint_entra_token(LONG_SECRET, subject="carol", ttl=60, tenant="tenant-1")
    claims = jwt.decode(token, LONG_SECRET, algorithms=["HS256"], audience=ACR_AUDIENCE)
    assert claims["sub"] == claims["oid"] == "carol"
    assert claims["tid"] == "tenant-1"
    assert 55 <= claims["exp"] - time.time() <= 61
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "x" * 40, algorithms=["HS256"], audience=ACR_AUDIENCE)


def test_signing_key_is_random_per_instance_unless_given() -> None:
    # Two emulators without a configured key must not accept each other's tokens.
    first = EmulatorAuth(AuthConfig(login_server="r"))
    second = EmulatorAuth(AuthConfig(login_server="r"))
    assert first._key != second._key
    assert len(first._key) >= 32
    assert EmulatorAuth(AuthConfig(signing_key=b"z" * 32))._key == b"z" * 32


def test_load_or_create_signing_key(tmp_path) -> None:
    path = tmp_path / "keys" / "signing.key"
    key = auth_module.load_or_create_signing_key(path)
    assert len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert auth_module.load_or_create_signing_key(path) == key


def test_all_is_deliberate() -> None:
    defined = {
        name
        for name, value in vars(auth_module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == auth_module.__name__
    }
    assert defined <= set(auth_module.__all__)
    assert all(hasattr(auth_module, name) for name in auth_module.__all__)
