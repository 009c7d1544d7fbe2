"""The local registry emulator: an ACR-compatible, OCI Distribution v1.1 registry on aiohttp.web.

Start it with `python -m containerregistry.emulator [--host H] [--port P] [--data DIR]`, or in-process::

    with run_emulator() as registry:
        print(registry.endpoint)   # http://127.0.0.1:PORT

Blobs are content-addressed files under the data directory; metadata is in SQLite (WAL).
"""

from __future__ import annotations

from ._app import create_app
from ._runner import RunningEmulator, arun_emulator, run_emulator

__all__ = ["RunningEmulator", "arun_emulator", "create_app", "run_emulator"]
