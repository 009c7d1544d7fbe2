"""Self-signed TLS: generation, reuse, and a real HTTPS round trip on 127.0.0.1."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from containerregistry.emulator.auth import AuthConfig, User
from containerregistry.emulator.tls import (
    add_tls_arguments,
    generate_self_signed,
    server_ssl_context,
    ssl_context_from_args,
    tls_files_from_args,
)

from .conftest import basic, parse_challenge, serve


def sans(path: Path) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)), {
        str(i) for i in ext.get_values_for_type(x509.IPAddress)
    }


def client_context(ca: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    # What Python 3.13 enables by default: catches certificates missing key identifiers or key usage.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    return context


def test_generate_self_signed_files_and_sans(tmp_path: Path) -> None:
    cert, key, ca = generate_self_signed(["registry.test", "10.1.2.3", "0.0.0.0"], tmp_path / "tls")
    assert {cert.name, key.name, ca.name} == {"server.pem", "server-key.pem", "ca.pem"}
    dns, ips = sans(cert)
    assert dns == {"registry.test", "localhost"}
    assert ips == {"10.1.2.3", "127.0.0.1", "::1"}
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls" / "ca-key.pem").stat().st_mode & 0o777 == 0o600
    ca_cert = x509.load_pem_x509_certificate(ca.read_bytes())
    x509.load_pem_x509_certificate(cert.read_bytes()).verify_directly_issued_by(ca_cert)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_generate_reuses_valid_files_and_keeps_the_ca(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    cert, _, ca = generate_self_signed(["a.test"], directory)
    first_cert, first_ca = cert.read_bytes(), ca.read_bytes()
    generate_self_signed(["a.test"], directory)
    assert cert.read_bytes() == first_cert
    assert ca.read_bytes() == first_ca
    # A new host name re-issues the server certificate but keeps the CA clients already trust.
    generate_self_signed(["b.test"], directory)
    assert cert.read_bytes() != first_cert
    assert ca.read_bytes() == first_ca
    assert "b.test" in sans(cert)[0]
    # A corrupt server certificate is replaced; a corrupt CA replaces everything.
    cert.write_text("garbage")
    generate_self_signed(["b.test"], directory)
    x509.load_pem_x509_certificate(cert.read_bytes())
    (directory / "ca.pem").write_text("garbage")
    generate_self_signed(["b.test"], directory)
    assert ca.read_bytes() != first_ca
    new_ca = x509.load_pem_x509_certificate(ca.read_bytes())
    x509.load_pem_x509_certificate(cert.read_bytes()).verify_directly_issued_by(new_ca)


async def test_https_round_trip_trusts_only_the_ca(tmp_path: Path) -> None:
    cert, key, ca = generate_self_signed([], tmp_path / "tls")
    config = AuthConfig(users={"admin": User("admin", "pw", frozenset({"admin"}))})
    async with serve(
        config, ssl_context=server_ssl_context(cert, key), client_verify=client_context(ca)
    ) as server:
        assert server.endpoint.startswith("https://127.0.0.1:")
        response = await server.client.get("/check/repository/pull/app")
        assert response.status_code == 401
        # The realm follows the scheme the request came in on.
        realm = parse_challenge(response.headers["www-authenticate"])["realm"]
        assert realm == f"{server.endpoint}/oauth2/token"
        ok = await server.client.get("/check/repository/pull/app", headers=basic("admin", "pw"))
        assert ok.status_code == 200
        port = server.endpoint.rsplit(":", 1)[1]
        async with httpx.AsyncClient(verify=client_context(ca), timeout=10) as by_name:
            assert (
                await by_name.get(f"https://localhost:{port}/v2/", headers=basic("admin", "pw"))
            ).status_code == 200
        # The system trust store does not know our CA.
        async with httpx.AsyncClient(verify=True, timeout=10) as system:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await system.get(f"{server.endpoint}/v2/")


def test_server_ssl_context_errors(tmp_path: Path) -> None:
    cert, _, ca = generate_self_signed([], tmp_path / "tls")
    with pytest.raises(ValueError, match="cannot load TLS certificate"):
        server_ssl_context(cert, ca)  # a certificate is not a key
    with pytest.raises(ValueError, match="cannot load TLS certificate"):
        server_ssl_context(tmp_path / "missing.pem", tmp_path / "missing-key.pem")


def _args(argv: list[str], host: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_tls_arguments(parser)
    args = parser.parse_args(argv)
    if host is not None:
        args.host = host
    return args


def test_tls_from_args(tmp_path: Path) -> None:
    assert ssl_context_from_args(_args([]), tmp_path) is None
    files = tls_files_from_args(
        _args(["--tls-self-signed", "--tls-hostname", "reg.test"], host="10.9.8.7"), tmp_path
    )
    assert files is not None and files.ca == tmp_path / "tls" / "ca.pem"
    dns, ips = sans(files.cert)
    assert "reg.test" in dns and "10.9.8.7" in ips
    context = ssl_context_from_args(
        _args(["--tls-cert", str(files.cert), "--tls-key", str(files.key)]), tmp_path
    )
    assert isinstance(context, ssl.SSLContext)
    given = tls_files_from_args(_args(["--tls-cert", str(files.cert), "--tls-key", str(files.key)]), tmp_path)
    assert given is not None and given.ca is None
    with pytest.raises(ValueError, match="go together"):
        ssl_context_from_args(_args(["--tls-cert", str(files.cert)]), tmp_path)
    with pytest.raises(ValueError, match="not both"):
        ssl_context_from_args(
            _args(["--tls-cert", str(files.cert), "--tls-key", str(files.key), "--tls-self-signed"]), tmp_path
        )


def _raw_exchange(port: int, request: bytes) -> bytes:
    """Send `request` over plain TCP to 127.0.0.1:port; return all the server sends before it closes."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if not request:
            return b""  # connect and close without a byte
        sock.sendall(request)
        chunks = []
        for _ in range(100):  # bounded: the answer is a few hundred bytes
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_plain_http_to_the_tls_port_gets_400_saying_use_https() -> None:
    """Like Go servers and Distribution: a plain-http request to the TLS port is told to use https
    instead of the connection closing without an answer; https keeps working on the same port."""
    from containerregistry.emulator import run_emulator

    with run_emulator(tls=True) as registry:
        assert registry.ca_cert is not None
        answer = _raw_exchange(registry.port, b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), answer[:200]
        assert body == b"Client sent an HTTP request to an HTTPS server.\n"
        with httpx.Client(timeout=10) as plain:
            response = plain.get(f"http://127.0.0.1:{registry.port}/v2/")
        assert response.status_code == 400
        assert "HTTPS server" in response.text
        with httpx.Client(verify=client_context(registry.ca_cert), timeout=10) as tls:
            for _ in range(3):
                assert tls.get(f"{registry.endpoint}/v2/").status_code == 200
        # A client that connects and closes without a byte costs nothing and breaks nothing.
        assert _raw_exchange(registry.port, b"") == b""
        with httpx.Client(verify=client_context(registry.ca_cert), timeout=10) as tls:
            assert tls.get(f"{registry.endpoint}/v2/").status_code == 200


async def test_plain_http_to_the_tls_port_gets_400_async_runner() -> None:
    from containerregistry.emulator import arun_emulator

    async with arun_emulator(tls=True) as registry:
        assert registry.ca_cert is not None
        async with httpx.AsyncClient(timeout=10) as plain:
            response = await plain.get(f"http://127.0.0.1:{registry.port}/v2/")
        assert response.status_code == 400
        assert response.text == "Client sent an HTTP request to an HTTPS server.\n"
        async with httpx.AsyncClient(verify=client_context(registry.ca_cert), timeout=10) as tls:
            assert (await tls.get(f"{registry.endpoint}/v2/")).status_code == 200
