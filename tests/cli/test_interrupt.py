"""Ctrl-C during `creg push|pull|copy`: a real creg subprocess, a throttled loopback proxy in front of
the emulator, SIGINT in the middle of the transfer. It must stop within a second or two at any
concurrency (in-flight blobs cancelled, not drained), exit 130 and say what it left; a re-run resumes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import CREG, OCI_MANIFEST, _put_blob, run_cli, unique

#: Bytes per second per connection and direction through the proxy: 4 layers of 3 MB take >= 3 s.
_RATE = 1_000_000
_LAYERS = 4
_LAYER_SIZE = 3_000_000


class ThrottledProxy:
    """A TCP proxy on 127.0.0.1 to `upstream` that moves at most `_RATE` bytes/s per direction and connection."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.bytes = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.upstream, timeout=30)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        chunk = 16_384
        try:
            while not self._stop.is_set():
                data = source.recv(chunk)
                if not data:
                    break
                sink.sendall(data)
                with self._lock:
                    self.bytes += len(data)
                time.sleep(len(data) / _RATE)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self.server.close()
        for sock in self._sockets:
            sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def slow_registry(registry_emulator: Any) -> Iterator[ThrottledProxy]:
    host, port = registry_emulator.endpoint.split("://")[1].rsplit(":", 1)
    proxy = ThrottledProxy((host, int(port)))
    yield proxy
    proxy.close()


def _big_layout(root: Path) -> Path:
    (root / "blobs" / "sha256").mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    blobs: dict[str, bytes] = {}
    config = _put_blob(root, b'{"architecture":"amd64","os":"linux"}', blobs)
    layers = [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            **_put_blob(root, os.urandom(_LAYER_SIZE), blobs),
        }
        for _ in range(_LAYERS)
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": layers,
    }
    top = _put_blob(root, json.dumps(manifest).encode(), blobs)
    entry = {"mediaType": OCI_MANIFEST, **top, "annotations": {"org.opencontainers.image.ref.name": "v1"}}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return root


def _interrupt(args: list[str], proxy: ThrottledProxy) -> tuple[int, float, str]:
    """Start creg, wait until the transfer is under way, SIGINT it; (exit status, seconds to exit, stderr)."""
    process = subprocess.Popen([*CREG, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        # Under way: more than one layer's worth of the total has crossed the proxy.
        while proxy.bytes < _LAYER_SIZE // 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        return process.returncode, time.monotonic() - started, stderr.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _landed(stderr: str) -> int:
    match = re.search(r"interrupted: (\d+) of (\d+) blobs are complete at ", stderr)
    assert match, stderr
    return int(match.group(1))


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_ctrl_c_stops_a_pull_at_once(
    registry_emulator: Any, slow_registry: ThrottledProxy, tmp_path: Path, concurrency: str
) -> None:
    repo = unique("interrupt")
    pushed = run_cli(
        "-r", registry_emulator.endpoint, "push", f"oci:{_big_layout(tmp_path / 'src')}:v1", f"{repo}:v1"
    )
    assert pushed.exit_code == 0, pushed.stderr
    target = tmp_path / "out"
    slow = f"http://127.0.0.1:{slow_registry.port}"
    code, seconds, stderr = _interrupt(
        ["-r", slow, "pull", f"{repo}:v1", f"oci:{target}:v1", "--concurrency", concurrency], slow_registry
    )
    assert code == 130, stderr
    assert seconds < 2.0, (seconds, stderr)
    assert "Traceback" not in stderr and "Aborted" not in stderr
    assert "run the same command again to resume" in stderr
    landed = _landed(stderr)
    assert landed < _LAYERS + 1  # it did stop before the end
    # No image was written, and a re-run (straight to the emulator) resumes: what landed is skipped.
    index = target / "index.json"
    assert not index.exists() or json.loads(index.read_text())["manifests"] == []
    again = run_cli("-r", registry_emulator.endpoint, "pull", f"{repo}:v1", f"oci:{target}:v1")
    assert again.exit_code == 0, again.stderr
    assert f"{landed} skipped" in again.stderr


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_ctrl_c_stops_a_push_at_once(
    registry_emulator: Any, slow_registry: ThrottledProxy, tmp_path: Path, concurrency: str
) -> None:
    repo = unique("interrupt")
    source = f"oci:{_big_layout(tmp_path / 'src')}:v1"
    slow = f"http://127.0.0.1:{slow_registry.port}"
    code, seconds, stderr = _interrupt(
        ["-r", slow, "push", source, f"{repo}:v1", "--concurrency", concurrency], slow_registry
    )
    assert code == 130, stderr
    assert seconds < 2.0, (seconds, stderr)
    assert "Traceback" not in stderr
    landed = _landed(stderr)
    shown = run_cli("-r", registry_emulator.endpoint, "manifest", "get", f"{repo}:v1")
    assert shown.exit_code == 1  # no manifest was written
    again = run_cli("-r", registry_emulator.endpoint, "push", source, f"{repo}:v1")
    assert again.exit_code == 0, again.stderr
    assert f"{landed} skipped" in again.stderr


def test_ctrl_c_stops_a_copy_at_once(
    registry_emulator: Any, slow_registry: ThrottledProxy, tmp_path: Path
) -> None:
    repo = unique("interrupt")
    pushed = run_cli(
        "-r", registry_emulator.endpoint, "push", f"oci:{_big_layout(tmp_path / 'src')}:v1", f"{repo}:v1"
    )
    assert pushed.exit_code == 0, pushed.stderr
    slow = f"127.0.0.1:{slow_registry.port}"
    code, seconds, stderr = _interrupt(
        ["copy", f"{slow}/{repo}:v1", f"oci:{tmp_path / 'copy'}:v1"], slow_registry
    )
    assert code == 130, stderr
    assert seconds < 2.0, (seconds, stderr)
    assert "run the same command again to resume" in stderr


def test_ctrl_c_stops_a_sync_at_once(
    registry_emulator: Any, slow_registry: ThrottledProxy, tmp_path: Path
) -> None:
    """`creg sync` stops as copy does: exit 130 at once, no tag written, and a re-run finishes the mirror."""
    repo = unique("interrupt")
    pushed = run_cli(
        "-r", registry_emulator.endpoint, "push", f"oci:{_big_layout(tmp_path / 'src')}:v1", f"{repo}:v1"
    )
    assert pushed.exit_code == 0, pushed.stderr
    direct = registry_emulator.endpoint.split("://")[1]
    config = tmp_path / "sync.json"
    config.write_text(
        json.dumps(
            {"sync": [{"source": f"127.0.0.1:{slow_registry.port}/{repo}", "target": f"{direct}/{repo}-m"}]}
        )
    )
    code, seconds, stderr = _interrupt(["sync", str(config)], slow_registry)
    assert code == 130, stderr
    assert seconds < 2.0, (seconds, stderr)
    assert "Traceback" not in stderr and "Aborted" not in stderr
    shown = run_cli("-r", registry_emulator.endpoint, "manifest", "get", f"{repo}-m:v1")
    assert shown.exit_code == 1  # the interrupted tag was not written
    config.write_text(json.dumps({"sync": [{"source": f"{direct}/{repo}", "target": f"{direct}/{repo}-m"}]}))
    again = run_cli("sync", str(config))
    assert again.exit_code == 0, again.stderr
    assert run_cli("-r", registry_emulator.endpoint, "manifest", "get", f"{repo}-m:v1").exit_code == 0
