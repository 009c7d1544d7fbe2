"""A small Docker token server (``docs/spec/auth/token.md`` and ``oauth.md``) for Distribution's ``auth: token``.

Runs ``http.server`` in a thread on 127.0.0.1. Issues ES256 JWTs whose header carries an ``x5c`` chain
(one self-signed certificate that is also the registry's ``rootcertbundle``), which is what
Distribution 2.8.2 verifies. Supports:

- ``GET /token?service=&scope=`` with Basic credentials or anonymously (anonymous gets no access);
- ``POST /token`` form ``grant_type=password`` (``username``/``password``) or ``grant_type=refresh_token``;
  both return a ``refresh_token``.

Everything is counted in `TokenServerStats` so tests can assert how many token requests a flow cost.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["TokenRecord", "TokenServer", "TokenServerStats", "run_token_server"]


@dataclass(frozen=True)
class TokenRecord:
    """One request the token server answered."""

    method: str
    grant_type: str  # "get" for GET requests
    scopes: tuple[str, ...]
    status: int
    authenticated: bool


@dataclass
class TokenServerStats:
    """Counters of the token server (reset with `reset`)."""

    records: list[TokenRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def requests(self) -> int:
        return len(self.records)

    @property
    def gets(self) -> int:
        return sum(1 for r in self.records if r.method == "GET")

    @property
    def posts(self) -> int:
        return sum(1 for r in self.records if r.method == "POST")

    def by_grant(self, grant_type: str) -> int:
        return sum(1 for r in self.records if r.grant_type == grant_type)

    def reset(self) -> None:
        with self.lock:
            self.records.clear()


class TokenServer:
    """State of one token server: signing key, users, issued refresh tokens, counters.

    Attributes:
        realm: URL of the token endpoint (``http://127.0.0.1:PORT/token``).
        service, issuer: what the registry config must name.
        bundle_path: the PEM certificate bundle for the registry's ``rootcertbundle``.
        users: username -> password.
        expires_in: lifetime of access tokens, seconds.
        post_enabled: when False, POST answers 404 (a GET-only token server, to test the fallback).
        stats: request counters.
    """

    def __init__(self, workdir: Path, *, users: dict[str, str], service: str, issuer: str) -> None:
        self.service = service
        self.issuer = issuer
        self.users = dict(users)
        self.expires_in = 300
        self.post_enabled = True
        self.stats = TokenServerStats()
        self.refresh_tokens: dict[str, str] = {}  # token -> subject
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "creg test token signer")])
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.bundle_path = workdir / "token-signer.pem"
        self.bundle_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()
        self.realm = ""

    def issue(self, subject: str, scopes: list[str]) -> str:
        """Sign an access token for `subject` granting every requested action (none when anonymous)."""
        access: list[dict[str, Any]] = []
        if subject:
            for scope in scopes:
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind and name:
                    access.append(
                        {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}
                    )
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"x5c": [self._x5c]})


def _split_scopes(values: list[str]) -> list[str]:
    return [s for value in values for s in value.split(" ") if s]


def _make_handler(server_state: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stats instead
            pass

        def _reply(self, status: int, body: dict[str, Any], record: TokenRecord) -> None:
            with server_state.stats.lock:
                server_state.stats.records.append(record)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _basic_user(self) -> tuple[str | None, bool]:
            """(subject, credentials_were_sent); subject None means bad credentials."""
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return "", False
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None, True
            if server_state.users.get(user) == password and user:
                return user, True
            return None, True

        def _grant(self, subject: str, scopes: list[str], method: str, grant: str, offline: bool) -> None:
            body: dict[str, Any] = {
                "token": server_state.issue(subject, scopes),
                "expires_in": server_state.expires_in,
                "issued_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            }
            if method == "POST":
                body["access_token"] = body.pop("token")
            if offline and subject:
                refresh = secrets.token_urlsafe(24)
                server_state.refresh_tokens[refresh] = subject
                body["refresh_token"] = refresh
            self._reply(200, body, TokenRecord(method, grant, tuple(scopes), 200, bool(subject)))

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            scopes = _split_scopes(query.get("scope", []))
            if query.get("service", [""])[0] != server_state.service:
                self._reply(
                    400, {"details": "unknown service"}, TokenRecord("GET", "get", tuple(scopes), 400, False)
                )
                return
            subject, sent = self._basic_user()
            if subject is None:
                self._reply(
                    401, {"details": "bad credentials"}, TokenRecord("GET", "get", tuple(scopes), 401, sent)
                )
                return
            offline = query.get("offline_token", [""])[0] == "true"
            self._grant(subject, scopes, "GET", "get", offline)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            grant = form.get("grant_type", [""])[0]
            scopes = _split_scopes(form.get("scope", []))
            if not server_state.post_enabled:
                self._reply(
                    404, {"details": "not found"}, TokenRecord("POST", grant, tuple(scopes), 404, False)
                )
                return
            if form.get("service", [""])[0] != server_state.service:
                self._reply(
                    400, {"details": "unknown service"}, TokenRecord("POST", grant, tuple(scopes), 400, False)
                )
                return
            subject: str | None
            if grant == "password":
                user = form.get("username", [""])[0]
                ok = bool(user) and server_state.users.get(user) == form.get("password", [""])[0]
                subject = user if ok else None
            elif grant == "refresh_token":
                subject = server_state.refresh_tokens.get(form.get("refresh_token", [""])[0])
            else:
                self._reply(
                    400,
                    {"error": "unsupported_grant_type"},
                    TokenRecord("POST", grant, tuple(scopes), 400, False),
                )
                return
            if subject is None:
                self._reply(
                    401, {"error": "invalid_grant"}, TokenRecord("POST", grant, tuple(scopes), 401, True)
                )
                return
            self._grant(subject, scopes, "POST", grant, offline=True)

    return Handler


@contextmanager
def run_token_server(
    workdir: Path,
    *,
    users: dict[str, str],
    service: str = "creg-test-registry",
    issuer: str = "creg-test-issuer",
) -> Iterator[TokenServer]:
    """Run a `TokenServer` on a free 127.0.0.1 port in a daemon thread; stop it at exit."""
    state = TokenServer(workdir, users=users, service=service, issuer=issuer)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    httpd.daemon_threads = True
    state.realm = f"http://127.0.0.1:{httpd.server_address[1]}/token"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
