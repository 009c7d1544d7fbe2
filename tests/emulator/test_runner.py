"""Starting the emulator: in-process runners, the public surface, `python -m` options, TLS."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

import containerregistry.emulator as emulator_package
from containerregistry.emulator import arun_emulator, run_emulator
from containerregistry.emulator.__main__ import build_parser, main


def test_public_names() -> None:
    assert emulator_package.__all__ == sorted(
        ["RunningEmulator", "arun_emulator", "create_app", "run_emulator"]
    )
    for name in emulator_package.__all__:
        assert getattr(emulator_package, name).__module__.startswith("containerregistry.emulator")


def test_run_emulator_attributes_and_cleanup() -> None:
    with run_emulator() as registry:
        assert registry.host == "127.0.0.1" and registry.port > 0
        assert registry.endpoint == f"http://127.0.0.1:{registry.port}"
        assert registry.login_server == f"127.0.0.1:{registry.port}"
        assert registry.data_dir.is_dir()
        assert registry.ca_cert is None
        assert httpx.get(registry.endpoint + "/v2/").status_code == 200
        data_dir, endpoint = registry.data_dir, registry.endpoint
    assert not data_dir.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(endpoint + "/v2/", timeout=5)


def test_run_emulator_keeps_given_data_dir(tmp_path: Path) -> None:
    with run_emulator(data_dir=tmp_path / "data") as registry:
        assert registry.data_dir == tmp_path / "data"
    assert (tmp_path / "data" / "metadata.db").exists()


def test_port_in_use_raises() -> None:
    with run_emulator() as registry, pytest.raises(OSError), run_emulator(port=registry.port):
        pass


async def test_arun_emulator() -> None:
    async with (
        arun_emulator(data_dir=":memory:") as registry,
        httpx.AsyncClient(base_url=registry.endpoint) as http,
    ):
        assert (await http.get("/v2/")).status_code == 200
        data = b"async"
        response = await http.post(
            "/v2/a/blobs/uploads/",
            params={"digest": "sha256:" + hashlib.sha256(data).hexdigest()},
            content=data,
        )
        assert response.status_code == 201


def test_plugin_fixtures(registry_emulator: Any, registry_emulator_factory: Any) -> None:
    assert httpx.get(registry_emulator.endpoint + "/v2/").status_code == 200
    first = registry_emulator_factory()
    second = registry_emulator_factory()
    assert len({registry_emulator.port, first.port, second.port}) == 3


def test_parser_defaults_and_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.data) == ("127.0.0.1", 5000, None)
    # Half a TLS pair is refused with exit code 1 and a message, before binding anything.
    code = main(["--port", "0", "--data", str(tmp_path), "--tls-cert", str(tmp_path / "c.pem")])
    assert code == 1
    assert "--tls-key" in capsys.readouterr().err


def test_tls(tmp_path: Path) -> None:
    from containerregistry.emulator.tls import generate_self_signed, server_ssl_context

    cert, key, ca = generate_self_signed(["127.0.0.1"], tmp_path / "tls")
    with run_emulator(ssl_context=server_ssl_context(cert, key), ca_cert=ca) as registry:
        assert registry.endpoint.startswith("https://127.0.0.1:")
        assert registry.ca_cert == ca
        assert (
            httpx.get(
                registry.endpoint + "/v2/", verify=ssl.create_default_context(cafile=str(ca))
            ).status_code
            == 200
        )


def test_contract_options_auth_users_tls_and_entra_tokens() -> None:
    with run_emulator(auth=True, users=["admin:pw-123:admin"], tls=True) as registry:
        assert registry.endpoint.startswith("https://") and registry.ca_cert is not None
        with httpx.Client(
            base_url=registry.endpoint, verify=ssl.create_default_context(cafile=str(registry.ca_cert))
        ) as http:
            assert http.get("/v2/").status_code == 401
            token = http.get(
                "/oauth2/token",
                params={"service": registry.login_server, "scope": "registry:catalog:*"},
                auth=("admin", "pw-123"),
            )
            assert token.status_code == 200
            exchanged = http.post(
                "/oauth2/exchange",
                data={
                    "grant_type": "access_token",
                    "service": registry.login_server,
                    "access_token": registry.mint_entra_token(),
                },
            )
            assert exchanged.status_code == 200, exchanged.text
            assert exchanged.json()["refresh_token"]
    with run_emulator() as registry, pytest.raises(RuntimeError):
        registry.mint_entra_token()
