"""--ca-cert and --insecure against an emulator serving TLS; progress bars only on a terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from containerregistry.cli._progress import TransferBar
from containerregistry.emulator.tls import generate_self_signed, server_ssl_context
from containerregistry.images import TransferProgress

from .conftest import run_cli


def test_ca_cert_and_insecure(registry_emulator_factory: Any, tmp_path: Path) -> None:
    cert, key, ca = generate_self_signed(["127.0.0.1"], tmp_path / "tls")
    registry = registry_emulator_factory(ssl_context=server_ssl_context(cert, key), ca_cert=ca)
    assert registry.endpoint.startswith("https://")

    untrusted = run_cli("-r", registry.endpoint, "repo", "ls")
    assert untrusted.exit_code == 1
    assert untrusted.stderr.startswith("error: ") and len(untrusted.stderr.strip().splitlines()) == 1

    trusted = run_cli("-r", registry.endpoint, "--ca-cert", str(ca), "-o", "json", "repo", "ls")
    assert trusted.exit_code == 0, trusted.stderr
    assert json.loads(trusted.stdout) == []

    insecure = run_cli("-r", registry.endpoint, "--insecure", "blob", "push", "tls", "-", input=b"over tls")
    assert insecure.exit_code == 0, insecure.stderr

    missing = run_cli("--ca-cert", str(tmp_path / "absent.pem"), "repo", "ls")
    assert missing.exit_code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _event(done: int) -> TransferProgress:
    return TransferProgress("sha256:" + "a" * 64, "transferring", done, 1000, done, 1000, 0, 2)


def test_progress_bar_draws_on_a_terminal(monkeypatch: Any) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with TransferBar("push") as bar:
        assert bar.enabled
        bar.event(_event(500))
        bar.event(_event(1000))
    drawn = terminal.getvalue()
    assert "1.0 kB" in drawn and "0/2 blobs" in drawn


def test_progress_bar_is_silent_in_a_pipe(monkeypatch: Any) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr("sys.stderr", pipe)
    with TransferBar("pull", 1000) as bar:
        assert not bar.enabled
        bar.bytes(1000, 1000)
    assert pipe.getvalue() == ""
