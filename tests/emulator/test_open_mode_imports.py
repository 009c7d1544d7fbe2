"""What the emulator loads: open mode loads neither PyJWT nor cryptography; token mode loads PyJWT up front.

Each check runs in a fresh interpreter (its own `sys.modules`), serves real requests over loopback, and
prints which of the watched top-level packages it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

WATCHED = ("jwt", "cryptography")

PROBE = """
import json, sys, tempfile
import httpx
{body}
watched = {watched!r}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules if m.split(".")[0] in watched}})))
"""


def loaded(body: str) -> list[str]:
    code = PROBE.format(body=textwrap.dedent(body), watched=WATCHED)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_open_mode_loads_neither_pyjwt_nor_cryptography() -> None:
    # What `creg serve` does without auth or TLS options, then a running emulator serving a push.
    body = """
    from containerregistry.emulator.__main__ import build_parser
    from containerregistry.emulator import create_app, run_emulator
    from containerregistry.emulator.auth import AuthConfig, OpenAuth
    from containerregistry.emulator.tls import tls_files_from_args
    from containerregistry.emulator.users import auth_config_from_args

    args = build_parser().parse_args([])
    assert auth_config_from_args(args) is None
    assert tls_files_from_args(args, tempfile.mkdtemp()) is None
    create_app(tempfile.mkdtemp(), auth=None)
    with run_emulator() as registry:
        base = registry.endpoint
        assert httpx.get(base + "/v2/").status_code == 200
        put = httpx.post(base + "/v2/light/blobs/uploads/?digest=sha256:" + "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", content=b"hello")
        assert put.status_code == 201, put.text
        assert httpx.get(base + "/v2/light/blobs/sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824").content == b"hello"
    """
    assert loaded(body) == []


def test_open_mode_token_service_still_answers() -> None:
    # The token endpoints of the open mode load PyJWT when first used, and hand out a token.
    body = """
    from containerregistry.emulator import run_emulator

    with run_emulator() as registry:
        reply = httpx.get(registry.endpoint + "/oauth2/token", params={"scope": "repository:app:pull"})
        assert reply.status_code == 200, reply.text
        assert reply.json()["access_token"].count(".") == 2
    """
    assert loaded(body) == ["cryptography", "jwt"]


def test_token_mode_loads_pyjwt_when_built() -> None:
    # EmulatorAuth imports PyJWT at construction, so its event loop never blocks on that import.
    body = """
    from containerregistry.emulator.auth import AuthConfig, EmulatorAuth

    EmulatorAuth(AuthConfig())
    """
    assert "jwt" in loaded(body)
