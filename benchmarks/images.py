"""Push an image of 32 layers x 8 MiB from an OCI layout to the emulator: ours (concurrency 4 and 1) vs skopeo.

    .venv/bin/python benchmarks/images.py [--layers 32] [--layer-mib 8]

The emulator runs as a separate process (`python -m containerregistry.emulator`), so it does not share
the client's GIL; each run pushes into a fresh repository of it. Prints seconds and MiB/s per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from containerregistry import ContainerRegistryContentClient
from containerregistry.aio import images as aimages
from containerregistry.images import push_image
from containerregistry.images._layout import OciLayout
from containerregistry.protocol.digest import compute_digest


def build_layout(root: Path, layers: int, layer_size: int) -> None:
    layout = OciLayout(root, create=True)
    descriptors = []
    for _ in range(layers):
        data = os.urandom(layer_size)
        digest = compute_digest(data)
        layout.write_blob(digest, data)
        descriptors.append(
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": len(data)}
        )
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    layout.write_blob(compute_digest(config), config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": compute_digest(config),
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    layout.write_blob(compute_digest(manifest), manifest)
    from containerregistry.protocol.models import OciDescriptor

    layout.add_to_index(
        [
            (
                OciDescriptor(
                    "application/vnd.oci.image.manifest.v1+json", compute_digest(manifest), len(manifest)
                ),
                "bench",
            )
        ]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "containerregistry.emulator", "--port", str(port), "--data", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                return process, f"127.0.0.1:{port}"
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the emulator did not start")


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--layer-mib", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="each case runs this many times; best counts")
    args = parser.parse_args()
    total = args.layers * args.layer_mib << 20
    with tempfile.TemporaryDirectory(prefix="creg-bench-") as tmp:
        root = Path(tmp)
        build_layout(root / "layout", args.layers, args.layer_mib << 20)
        source = f"oci:{root / 'layout'}:bench"
        print(
            f"pushing {args.layers} layers x {args.layer_mib} MiB = {total >> 20} MiB, each push into a fresh "
            f"emulator (subprocess), best of {args.rounds} rounds with the cases interleaved"
        )
        # skopeo remembers which registries hold which blobs (and would mount instead of pushing): give
        # it an empty home so every run really uploads.
        skopeo_env = {**os.environ, "HOME": str(root / "skopeo-home")}
        cases: dict[str, Callable[[str], object]] = {
            "ours, sync, concurrency 4": lambda host: push_image(source, f"{host}/app:bench", concurrency=4),
            "ours, async, concurrency 4": lambda host: asyncio.run(
                aimages.push_image(source, f"{host}/app:bench", concurrency=4)
            ),
            "ours, sync, concurrency 1": lambda host: push_image(source, f"{host}/app:bench", concurrency=1),
            "ours, async, concurrency 1": lambda host: asyncio.run(
                aimages.push_image(source, f"{host}/app:bench", concurrency=1)
            ),
        }
        if shutil.which("skopeo"):
            cases["skopeo copy oci: -> docker://"] = lambda host: subprocess.run(
                ["skopeo", "copy", "--dest-tls-verify=false", source, f"docker://{host}/app:bench"],
                check=True,
                capture_output=True,
                env=skopeo_env,
            )
        samples: dict[str, list[float]] = {name: [] for name in cases}
        runs = iter(range(1_000_000))
        for _ in range(args.rounds):
            for name, run in cases.items():
                process, host = start_emulator(root / f"emulator-{next(runs)}")
                try:
                    # Warm the emulator (database, directories) with a tiny push, untimed.
                    with ContainerRegistryContentClient(f"http://{host}", "warmup") as client:
                        client.upload_blob(b"warm up")
                    samples[name].append(timed(lambda run=run, host=host: run(host)))  # type: ignore[misc]
                finally:
                    process.terminate()
                    process.wait(10)
        results = {name: min(times) for name, times in samples.items()}
        for name, seconds in results.items():
            spread = ", ".join(f"{t:.2f}" for t in samples[name])
            print(f"{name:<34} {seconds:7.2f} s  {total / seconds / (1 << 20):8.1f} MiB/s   ({spread})")
        best4 = min(results["ours, sync, concurrency 4"], results["ours, async, concurrency 4"])
        others = {k: v for k, v in results.items() if "concurrency 4" not in k}
        verdict = "beats" if all(best4 < v for v in others.values()) else "does NOT beat"
        print(f"concurrency 4 ({best4:.2f} s) {verdict} concurrency 1 and skopeo")


if __name__ == "__main__":
    main()
