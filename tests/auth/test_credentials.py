"""Credentials: reprs without secrets, docker config.json parsing, credential helpers."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

import containerregistry.auth as auth_pkg
import containerregistry.credentials as credentials_module
from containerregistry.credentials import (
    BasicCredential,
    DockerConfigCredential,
    RefreshTokenCredential,
    RegistryTokenCredential,
)
from containerregistry.exceptions import RegistryError


def test_public_names() -> None:
    assert sorted(credentials_module.__all__) == sorted(
        [
            "BasicCredential",
            "DockerConfigCredential",
            "RefreshTokenCredential",
            "RegistryTokenCredential",
            # The types for annotations (tests/auth/test_credential_types.py).
            "AccessTokenLike",
            "AsyncCredential",
            "AsyncTokenCredential",
            "Credential",
            "TokenCredential",
        ]
    )
    # pytest's assertion rewriting (the package ships a pytest plugin) adds "@py_*" names: not identifiers.
    public = {n for n in dir(auth_pkg) if n.isidentifier() and not n.startswith("_")} - {"annotations"}
    assert set(auth_pkg.__all__) == public


def test_reprs_hide_secrets() -> None:
    assert "s3cret" not in repr(BasicCredential("me", "s3cret"))
    assert "me" in repr(BasicCredential("me", "s3cret"))
    assert "tok123" not in repr(RefreshTokenCredential("tok123"))
    assert "tok456" not in repr(RegistryTokenCredential("tok456"))
    assert "s3cret" not in str(BasicCredential("me", "s3cret"))


def write_config(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_auths_entries(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "auths": {
                "registry.example.com": {"auth": b64("alice:pa:ss")},
                "https://other.example.com/v1/": {"username": "bob", "password": "pw"},
                "myregistry.azurecr.io": {
                    "auth": b64("00000000-0000-0000-0000-000000000000:"),
                    "identitytoken": "idtok",
                },
                "tokens.example.com": {"registrytoken": "bearer-tok"},
                "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpw")},
                "localhost:5000": {"auth": b64("local:pw")},
            }
        },
    )
    config = DockerConfigCredential(path)
    assert config.resolve("registry.example.com") == BasicCredential("alice", "pa:ss")
    assert config.resolve("other.example.com") == BasicCredential("bob", "pw")
    assert config.resolve("myregistry.azurecr.io") == RefreshTokenCredential("idtok")
    assert config.resolve("tokens.example.com") == RegistryTokenCredential("bearer-tok")
    for hub in ("registry-1.docker.io", "docker.io", "index.docker.io"):
        assert config.resolve(hub) == BasicCredential("hubuser", "hubpw")
    assert config.resolve("localhost:5000") == BasicCredential("local", "pw")
    assert config.resolve("localhost:5001") is None
    assert config.resolve("unknown.example.com") is None
    assert "pa:ss" not in repr(config)


def test_docker_config_env_and_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, {"auths": {"r.example.com": {"auth": b64("u:p")}}})
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert DockerConfigCredential().resolve("r.example.com") == BasicCredential("u", "p")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nowhere"))
    assert DockerConfigCredential().resolve("r.example.com") is None
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert DockerConfigCredential().config_path == tmp_path / ".docker" / "config.json"


def test_broken_config_errors_name_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"auths": {"r": {"auth": "secretvalue"')
    with pytest.raises(RegistryError) as caught:
        DockerConfigCredential(path).resolve("r")
    assert "secretvalue" not in str(caught.value)
    assert str(path) in str(caught.value)
    path.write_text(json.dumps({"auths": {"r.example.com": {"auth": b64("nocolonsecret")}}}))
    with pytest.raises(RegistryError) as caught:
        DockerConfigCredential(path).resolve("r.example.com")
    assert "nocolonsecret" not in str(caught.value)


HELPER = """#!{python}
import json, sys
server = sys.stdin.read().strip()
with open({log!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + " " + server + "\\n")
answers = {{
    "helped.example.com": {{"ServerURL": server, "Username": "helper-user", "Secret": "helper-secret"}},
    "store.example.com": {{"ServerURL": server, "Username": "<token>", "Secret": "identity-from-store"}},
    "https://index.docker.io/v1/": {{"ServerURL": server, "Username": "hub", "Secret": "hub-secret"}},
}}
if server == "broken.example.com":
    print("helper-secret-leak boom", file=sys.stderr)
    sys.exit(3)
if server not in answers:
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps(answers[server]))
"""


@pytest.fixture
def helper_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "helper.log"
    script = bindir / "docker-credential-test"
    script.write_text(HELPER.format(python=sys.executable, log=str(log)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def test_cred_helpers_and_store(tmp_path: Path, helper_on_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "auths": {"store.example.com": {}},
            "credHelpers": {
                "helped.example.com": "test",
                "broken.example.com": "test",
                "gone.example.com": "missing",
            },
            "credsStore": "test",
        },
    )
    config = DockerConfigCredential(path)
    assert config.resolve("helped.example.com") == BasicCredential("helper-user", "helper-secret")
    # An empty auths entry falls through to the store; "<token>" means an identity token.
    assert config.resolve("store.example.com") == RefreshTokenCredential("identity-from-store")
    assert config.resolve("docker.io") == BasicCredential("hub", "hub-secret")
    assert config.resolve("nothing.example.com") is None  # "credentials not found" -> anonymous
    with pytest.raises(RegistryError) as caught:
        config.resolve("broken.example.com")
    assert "helper-secret" not in str(caught.value)
    assert "exit status 3" in str(caught.value)
    with pytest.raises(RegistryError, match="docker-credential-missing"):
        config.resolve("gone.example.com")
    calls = helper_on_path.read_text().splitlines()
    assert calls[0] == "get helped.example.com"
    assert "get https://index.docker.io/v1/" in calls
