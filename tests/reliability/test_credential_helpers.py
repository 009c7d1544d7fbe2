"""Docker credential helpers cannot hang, flood or stall the client.

Real helper programs (small Python scripts named `docker-credential-*` on PATH) that:

* sleep past the deadline while a grandchild holds their stdout: the whole process group is killed
  and the caller gets a `RegistryError` at the deadline (with `subprocess.run` the caller waited for
  the grandchild);
* write 100 MB: refused (`RegistryProtocolError`) after at most the 1 MiB cap, memory bounded;
* take 2 s to answer: the async client keeps its event loop running (lag measured by a ticker task)
  and three concurrent first requests share one helper run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil
import pytest
from aiohttp import web

import containerregistry.aio
from containerregistry.auth import DockerConfigCredential
from containerregistry.exceptions import RegistryError, RegistryProtocolError
from tests.support.hostile import serve

pytestmark = pytest.mark.reliability

HELPER = """#!{python}
import os, subprocess, sys, time
sys.stdin.read()
with open({log!r}, "a") as log:
    log.write("get\\n")
{body}
"""

GRANDCHILD = """
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open({pidfile!r}, "w") as f:
    f.write(str(child.pid))
time.sleep(60)
"""

FLOOD = """
block = b"x" * (1 << 20)
for _ in range(100):
    sys.stdout.buffer.write(block)
sys.stdout.flush()
"""

SLOW = """
time.sleep(2)
sys.stdout.write('{"Username": "helper-user", "Secret": "helper-secret"}')
"""


def _install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, host: str) -> tuple[Path, Path]:
    """Put `docker-credential-evil` on PATH and a config using it for `host`; returns (config, log)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "helper.log"
    script = bindir / "docker-credential-evil"
    script.write_text(HELPER.format(python=sys.executable, log=str(log), body=body))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {host: "evil"}}))
    return config, log


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_helper_timeout_kills_the_whole_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "grandchild.pid"
    config, _ = _install(tmp_path, monkeypatch, GRANDCHILD.format(pidfile=str(pidfile)), "slow.example.com")
    credential = DockerConfigCredential(config, helper_timeout=1.0)
    outcome: dict[str, Any] = {}

    def resolve() -> None:
        started = time.monotonic()
        try:
            outcome["value"] = credential.resolve("slow.example.com")
        except Exception as exc:
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(15)
    grandchild = int(pidfile.read_text()) if pidfile.exists() else None
    try:
        print(
            f"\n[reliability] credential helper past its 1 s deadline (grandchild holding stdout): "
            f"{type(outcome.get('error')).__name__} after {outcome.get('elapsed', float('inf')):.2f}s"
        )
        assert not worker.is_alive(), "resolve() still waiting 15 s after a 1 s deadline"
        assert isinstance(outcome.get("error"), RegistryError), outcome
        assert "within 1 s" in str(outcome["error"])
        assert outcome["elapsed"] < 5
        assert grandchild is not None
        deadline = time.monotonic() + 5
        while _alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(grandchild), "the helper's grandchild survived the timeout"
    finally:
        if grandchild is not None and _alive(grandchild):
            os.kill(grandchild, 9)


def test_helper_output_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = _install(tmp_path, monkeypatch, FLOOD, "flood.example.com")
    credential = DockerConfigCredential(config, helper_timeout=20)
    tracemalloc.start()
    started = time.monotonic()
    try:
        try:
            credential.resolve("flood.example.com")
        except RegistryError as exc:
            error: RegistryError | None = exc
        else:
            error = None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    print(
        f"\n[reliability] credential helper writing 100 MB: {type(error).__name__} in {elapsed:.2f}s, "
        f"tracemalloc peak {peak / 1e6:.1f} MB"
    )
    assert isinstance(error, RegistryProtocolError), repr(error)
    assert "more than" in str(error)
    assert peak < 8 << 20


def _basic_registry(user: str, secret: str) -> Any:
    expected = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="registry"'})
        return web.json_response({"name": "evil/app", "tags": ["v1"]})

    return handler


def test_async_client_runs_a_slow_helper_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(_basic_registry("helper-user", "helper-secret")) as endpoint:
        host = endpoint.removeprefix("http://")
        config, log = _install(tmp_path, monkeypatch, SLOW, host)

        async def main() -> tuple[Any, float, float]:
            lag = 0.0
            stop = asyncio.Event()

            async def ticker() -> None:
                nonlocal lag
                loop = asyncio.get_running_loop()
                while not stop.is_set():
                    before = loop.time()
                    await asyncio.sleep(0.01)
                    lag = max(lag, loop.time() - before - 0.01)

            tick = asyncio.create_task(ticker())
            await asyncio.sleep(0.05)
            started = time.monotonic()
            async with containerregistry.aio.ContainerRegistryContentClient(
                endpoint, "evil/app", credential=DockerConfigCredential(config), timeout=10
            ) as client:

                async def tags() -> list[str]:
                    return [t async for t in client.list_tags()]

                results = await asyncio.wait_for(asyncio.gather(tags(), tags(), tags()), 30)
            elapsed = time.monotonic() - started
            stop.set()
            await tick
            return results, lag, elapsed

        results, lag, elapsed = asyncio.run(main())
    runs = log.read_text().splitlines()
    print(
        f"\n[reliability] async client, credential helper answering after 2 s: event loop lag {lag * 1000:.0f} ms, "
        f"3 concurrent requests in {elapsed:.2f}s, helper runs: {len(runs)}"
    )
    assert results == [["v1"], ["v1"], ["v1"]]
    assert lag < 0.5, f"the event loop stalled {lag:.2f}s while the helper ran"
    assert len(runs) == 1
