"""Users from flags and files, and the `creg serve` auth options."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from containerregistry.emulator.auth import ALL_ROLES
from containerregistry.emulator.users import (
    ENTRA_SECRET_ENV,
    add_auth_arguments,
    auth_config_from_args,
    load_users_file,
    parse_user_spec,
    users_from_json,
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_auth_arguments(parser)
    return parser.parse_args(argv)


def test_parse_user_spec() -> None:
    user = parse_user_spec("ci:s3cret:pull,push")
    assert (user.username, user.password, user.roles, user.repositories) == (
        "ci",
        "s3cret",
        frozenset({"pull", "push"}),
        None,
    )
    # Passwords may contain ':'; roles accept '-' for '_' and any case.
    user = parse_user_spec("ops:a:b:c:Metadata-Read,admin")
    assert user.password == "a:b:c"
    assert user.roles == {"metadata_read", "admin"}
    user = parse_user_spec("team:pw:pull@team/*,shared")
    assert user.repositories == frozenset({"team/*", "shared"})


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("justname", "expected NAME:PASSWORD:ROLE"),
        ("name:topsecretpw", "expected NAME:PASSWORD:ROLE"),
        ("name:topsecretpw:", "no roles"),
        ("name:topsecretpw:pull,root", "unknown role"),
        (":topsecretpw:pull", "invalid user name"),
        ("name::pull", "empty password"),
        ("name:topsecretpw:pull@", "empty repository list"),
        ("00000000-0000-0000-0000-000000000000:topsecretpw:pull", "reserved"),
    ],
)
def test_parse_user_spec_errors_never_show_the_password(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_user_spec(spec)
    assert fragment in str(info.value)
    assert "topsecretpw" not in str(info.value)


def test_users_file(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            {
                "users": [
                    {"username": "admin", "password": "pw1", "roles": ["admin"]},
                    {
                        "username": "ci",
                        "password": "pw2",
                        "roles": ["pull", "push"],
                        "repositories": ["app/*"],
                    },
                    {"username": "reader", "password": "pw3", "roles": "pull"},
                ]
            }
        )
    )
    users = load_users_file(path)
    assert sorted(users) == ["admin", "ci", "reader"]
    assert users["admin"].roles == {"admin"}
    assert users["ci"].repositories == frozenset({"app/*"})
    assert users["reader"].roles == {"pull"}
    assert users_from_json([{"username": "x", "password": "y", "roles": ["delete"]}])["x"].roles == {"delete"}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"users": [{"username": "a", "password": "hiddenpw", "roles": ["pull"]', "not valid JSON"),
        ('{"users": {}}', "expected"),
        ('{"users": [1]}', "not an object"),
        ('{"users": [{"username": "a", "roles": ["pull"]}]}', "'password'"),
        ('{"users": [{"username": "a", "password": "hiddenpw"}]}', "'roles'"),
        ('{"users": [{"username": "a", "password": "hiddenpw", "roles": ["fly"]}]}', "unknown role"),
        (
            '{"users": [{"username": "a", "password": "hiddenpw", "roles": ["pull"], "repositories": "x"}]}',
            "list",
        ),
        (
            '{"users": [{"username": "a", "password": "hiddenpw", "roles": ["pull"]},'
            ' {"username": "a", "password": "hiddenpw", "roles": ["pull"]}]}',
            "duplicate",
        ),
    ],
)
def test_users_file_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        load_users_file(path)
    assert fragment in str(info.value)
    assert "hiddenpw" not in str(info.value)


def test_missing_users_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read users file"):
        load_users_file(tmp_path / "nope.json")


def test_auth_config_from_args_open_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENTRA_SECRET_ENV, raising=False)
    assert auth_config_from_args(parse([])) is None
    # Anonymous pull alone does not switch auth on: open mode already allows everything.
    assert auth_config_from_args(parse(["--anonymous-pull"])) is None


def test_auth_config_from_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENTRA_SECRET_ENV, raising=False)
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": [{"username": "admin", "password": "pw", "roles": ["admin"]}]}))
    args = parse(
        [
            "--user",
            "ci:pw2:pull,push",
            "--users-file",
            str(path),
            "--anonymous-pull",
            "--token-ttl",
            "5",
            "--entra-secret",
            "flag-secret-value",
            "--trust-any-entra-token",
        ]
    )
    config = auth_config_from_args(args)
    assert config is not None
    assert sorted(config.users) == ["admin", "ci"]
    assert config.anonymous_pull and config.trust_any_entra_token
    assert config.token_ttl == 5
    assert config.refresh_token_ttl == 3 * 3600
    assert config.entra_secret == "flag-secret-value"
    assert config.entra_roles == ALL_ROLES
    assert "flag-secret-value" not in repr(config) and "pw2" not in repr(config)


def test_auth_config_from_args_env_secret_and_bare_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENTRA_SECRET_ENV, "env-secret-value")
    config = auth_config_from_args(parse(["--auth"]))
    assert config is not None
    assert config.users == {}
    assert config.entra_secret == "env-secret-value"


def test_auth_config_from_args_errors() -> None:
    with pytest.raises(ValueError, match="positive"):
        auth_config_from_args(parse(["--auth", "--token-ttl", "0"]))
    with pytest.raises(ValueError, match="defined twice"):
        auth_config_from_args(parse(["--user", "a:p:pull", "--user", "a:q:push"]))
