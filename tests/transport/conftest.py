"""Fixtures for the transport tests: a real CNCF Distribution registry on a free loopback port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REGISTRY_BINARY = "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_distribution(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start docker-registry storing under `root`; return the process and its base URL."""
    port = free_port()
    storage = root / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    proc = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    # Never go through a proxy to reach our own loopback registry.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 15
    for _ in range(300):
        if proc.poll() is not None:
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"docker-registry exited with {proc.returncode}: {stderr[-2000:]}")
        try:
            with opener.open(f"{base}/v2/", timeout=1) as resp:
                if resp.status == 200:
                    return proc, base
        except OSError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    stop_process(proc)
    raise RuntimeError("docker-registry did not answer GET /v2/ within 15 s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    if proc.stderr is not None:
        proc.stderr.close()


@pytest.fixture(scope="session")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (`http://127.0.0.1:PORT`) of a docker-registry started for this test session."""
    if shutil.which(REGISTRY_BINARY) is None:
        pytest.fail(f"{REGISTRY_BINARY} is not installed (apt-get install docker-registry)")
    proc, base = start_distribution(tmp_path_factory.mktemp("distribution"))
    try:
        yield base
    finally:
        stop_process(proc)
