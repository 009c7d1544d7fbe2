#!/usr/bin/env python3
# mypy: disable-error-code="misc, arg-type"
# (the peers driven here, azure-containerregistry and python-dxf, are typed more narrowly than the duck-typed
# credential and lambdas the benchmark hands them)
"""Registry clients over an emulated WAN link: ours vs curl, skopeo, the Azure SDK and python-dxf (issue 14).

    .venv/bin/pip install azure-containerregistry==1.2.0 python-dxf   # peers, or: pip install -e '.[bench]'
    .venv/bin/python benchmarks/wan.py                    # cloud profile, best of 3, ~15 minutes (link-bound)
    .venv/bin/python benchmarks/wan.py --quick            # smaller sizes, 1 round, ~3 minutes
    .venv/bin/python benchmarks/wan.py --profile all --upload-cap both --only 1,3,5 --json wan.json
    .venv/bin/python benchmarks/wan.py markdown wan.json  # the README's tables from a --json file

Every registry sits behind `wan_proxy.py`, a userspace shaping TCP proxy on 127.0.0.1 (this machine has
no netem): RTT/2 of delay on data in flight in each direction, a token bucket per connection on
downloads and an aggregate bucket per direction over all connections. Uploads are capped only by the
aggregate, except in the rows marked "upload cap" of scenarios 3 and 5 (`--upload-cap on|both`; one
blob's upload is sequential by protocol, so a per-connection upload cap bounds every client alike). Profiles: `cloud` (20 ms RTT, 25 MB/s per
connection, 200 MB/s aggregate) and `far` (80 ms RTT, 10 MB/s, 100 MB/s). The proxy's own ceiling
(no delay, no caps) is measured first and printed.

Registries: Debian's `docker-registry` (CNCF Distribution 2.8, plain HTTP) and the emulator
(`python -m containerregistry.emulator`, plain HTTP, and a second one with TLS and token auth whose
Entra ID exchange trusts a test secret; the Azure SDK only talks to that one). Scenarios, each client
run in its own process (CLIs timed as a whole process; Python clients timed from constructing the
client, after imports), rounds interleaved, best of N:

1. one blob (256 MiB) to a file, from Distribution: ours (sync `download_blob_to`, async
   `download_blob_to`) vs `curl -o`, skopeo (a one-layer image to `oci:`), python-dxf `pull_blob`;
   and from the TLS emulator: ours (sync) vs azure-containerregistry `download_blob`.
2. an image of 1 x 192 MiB + 15 x 4 MiB layers from Distribution into an OCI layout:
   `pull_image` vs `skopeo copy docker:// oci:`.
3. that image from the emulator to a fresh Distribution each run (no mounts for anyone):
   `copy_image` vs `skopeo copy docker:// docker://`.
4. "delete all but the newest 3" of 100 manifests on the TLS emulator with Entra exchange:
   `prune(keep=3)` vs the Azure SDK's sample loop (list newest first, skip 3, `delete_manifest` each).
5. push of that image from an OCI layout to a fresh Distribution: `push_image` vs `skopeo copy oci: docker://`.

Ratios are "ours/peer" as speed (peer seconds / our seconds: 2.00x = we take half the time). Library
functions are called with their defaults (only what says where and who: endpoint, credential, CA).
The peers write files without fsync (their default); ours fsyncs. The machine may be shared: absolute
figures are noisy, ratios within one run are what to compare.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # tests.support.distribution starts docker-registry

PY = sys.executable
MIB = 1 << 20
SECRET = "wan-benchmark-entra-secret-long-enough-for-hs256"
AUDIENCE = "https://containerregistry.azure.net"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class Profile:
    name: str
    rtt_ms: float
    per_connection: float  # bytes/s, downloads (and uploads with the upload cap)
    aggregate: float  # bytes/s per direction over all connections


PROFILES = {
    "cloud": Profile("cloud", 20.0, 25e6, 200e6),
    "far": Profile("far", 80.0, 10e6, 100e6),
}


@dataclass
class Sizes:
    blob: int = 256 * MIB
    big_layer: int = 192 * MIB
    small_layers: int = 15
    small_layer: int = 4 * MIB
    manifests: int = 100
    keep: int = 3

    @property
    def image(self) -> int:
        return self.big_layer + self.small_layers * self.small_layer


QUICK = Sizes(blob=32 * MIB, big_layer=24 * MIB, small_layers=15, small_layer=512 * 1024, manifests=40)


# --- processes -------------------------------------------------------------------------------------------


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def proxy(upstream_port: int, profile: Profile | None, *, upload_cap: bool = False) -> Iterator[int]:
    """A `wan_proxy.py` process in front of 127.0.0.1:`upstream_port`; yields its port (None = unshaped)."""
    argv = [PY, str(HERE / "wan_proxy.py"), "--upstream", f"127.0.0.1:{upstream_port}"]
    if profile is not None:
        argv += ["--rtt-ms", str(profile.rtt_ms), "--down-rate", str(profile.per_connection)]
        argv += ["--aggregate-rate", str(profile.aggregate)]
        if upload_cap:
            argv += ["--up-rate", str(profile.per_connection)]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the shaping proxy did not start")
        yield int(json.loads(line)["port"])
    finally:
        _stop(process)


@dataclass
class Emulator:
    port: int
    ca: str | None

    @property
    def endpoint(self) -> str:
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"


@contextlib.contextmanager
def emulator(work: Path, *, tls: bool) -> Iterator[Emulator]:
    """`python -m containerregistry.emulator` on a free port; with `tls`, HTTPS + token auth + Entra exchange."""
    data = Path(tempfile.mkdtemp(prefix="emu-", dir=work))
    argv = [
        PY,
        "-m",
        "containerregistry.emulator",
        "--port",
        "0",
        "--data",
        str(data),
        "--log-level",
        "ERROR",
    ]
    if tls:
        argv += ["--auth", "--entra-secret", SECRET, "--tls-self-signed"]
    log = data / "emulator.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            text = log.read_text(errors="replace")
            if "listening on" in text:
                port = int(text.split("listening on", 1)[1].split()[0].rsplit(":", 1)[1])
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start: {text[-2000:]}")
            time.sleep(0.05)
        yield Emulator(port, str(data / "tls" / "ca.pem") if tls else None)
    finally:
        _stop(process)
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def distribution() -> Iterator[int]:
    from tests.support.distribution import run_distribution

    with run_distribution() as registry:
        yield registry.port


class RunFailed(RuntimeError):
    pass


def timed_command(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise RunFailed(f"timed out after {timeout:.0f} s: {' '.join(argv)}") from exc
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RunFailed(f"exit {done.returncode}: {' '.join(argv)}\n{(done.stderr or done.stdout)[-1500:]}")
    return seconds


def timed_client(kind: str, timeout: float, **args: Any) -> float:
    """Run `CLIENTS[kind](**args)` in a fresh interpreter (`wan.py _client`); its own timing, in seconds."""
    argv = [PY, str(Path(__file__).resolve()), "_client", kind, json.dumps(args)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise RunFailed(f"{kind} timed out after {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise RunFailed(f"{kind} failed (exit {done.returncode}):\n{done.stderr[-1500:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])


def skopeo(*args: str, timeout: float, home: Path) -> float:
    # A private HOME: no user config, and skopeo's blob-info cache starts empty (mounts need one).
    env = {**os.environ, "HOME": str(home)}
    env.pop("XDG_DATA_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    return timed_command(["skopeo", "--insecure-policy", *args], timeout, env)


# --- content ---------------------------------------------------------------------------------------------


def _gzip_blob(path: Path, size: int) -> tuple[str, int]:
    """Write a gzip stream (stored blocks: fast, incompressible) of `size` random bytes; (digest, size)."""
    digest = hashlib.sha256()
    compressor = zlib.compressobj(0, zlib.DEFLATED, 31)
    total = 0
    with open(path, "wb") as out:
        left = size
        while left:
            piece = compressor.compress(os.urandom(min(left, 4 * MIB)))
            left -= min(left, 4 * MIB)
            out.write(piece)
            digest.update(piece)
            total += len(piece)
        tail = compressor.flush()
        out.write(tail)
        digest.update(tail)
        total += len(tail)
    return "sha256:" + digest.hexdigest(), total


@dataclass
class Layout:
    """An OCI image layout on disk with one tagged image (`v1`)."""

    path: Path
    manifest_digest: str
    blobs: list[tuple[str, int]] = field(default_factory=list)


def build_layout(path: Path, layer_sizes: list[int]) -> Layout:
    blobs_dir = path / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True)
    layers = []
    for i, size in enumerate(layer_sizes):
        tmp = path / f"layer{i}.tmp"
        digest, length = _gzip_blob(tmp, size)
        tmp.rename(blobs_dir / digest.split(":")[1])
        layers.append({"mediaType": OCI_LAYER, "digest": digest, "size": length})

    def put(data: bytes) -> tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        (blobs_dir / digest.split(":")[1]).write_bytes(data)
        return digest, len(data)

    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
    }
    config_digest, config_size = put(json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": layers,
    }
    manifest_digest, manifest_size = put(json.dumps(manifest).encode())
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": "v1"},
            }
        ],
    }
    (path / "index.json").write_text(json.dumps(index))
    return Layout(path, manifest_digest, [(layer["digest"], layer["size"]) for layer in layers])


def push_direct(layout: Path, target: str, **kwargs: Any) -> None:
    """Seed a registry (unshaped) with the layout's image."""
    from containerregistry.images import push_image

    push_image(f"oci:{layout}:v1", target, **kwargs)


def seed_manifests(endpoint: str, ca: str, repository: str, count: int) -> None:
    """`count` small tagged manifests, oldest first, sharing one config blob (unshaped, on the TLS emulator)."""
    from containerregistry import ContainerRegistryContentClient

    with ContainerRegistryContentClient(endpoint, repository, EntraCredential(), verify=ca) as client:
        config = client.upload_blob(b'{"architecture":"amd64","os":"linux"}')
        for i in range(count):
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config.digest, "size": config.size},
                "layers": [],
                "annotations": {"org.example.build": str(i)},
            }
            client.set_manifest(manifest, tag=f"build-{i:03d}")


def count_manifests(endpoint: str, ca: str, repository: str) -> int:
    from containerregistry import ContainerRegistryClient

    with ContainerRegistryClient(endpoint, EntraCredential(), verify=ca) as client:
        return sum(1 for _ in client.get_repository(repository).list_manifest_properties())


def manifest_exists(port: int, repository: str, tag: str) -> bool:
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": OCI_MANIFEST},
    )
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def start_upload(port: int, repository: str) -> str:
    """POST an upload session on 127.0.0.1:`port`; its absolute upload URL."""
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/v2/{repository}/blobs/uploads/", method="POST")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as response:
        location = str(response.headers["Location"])
    return f"http://127.0.0.1:{port}{location}" if location.startswith("/") else location


def check_file(path: Path, digest: str) -> None:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    if "sha256:" + h.hexdigest() != digest:
        raise RunFailed(f"{path} does not match {digest}")


def check_layout(path: Path, blobs: list[tuple[str, int]]) -> None:
    for digest, size in blobs:
        blob = path / "blobs" / "sha256" / digest.split(":")[1]
        if not blob.is_file() or blob.stat().st_size != size:
            raise RunFailed(f"{path} lacks {digest}")


# --- clients (run in a child process by `wan.py _client KIND ARGS`) ---------------------------------------


class _Token:
    def __init__(self, token: str, expires_on: int) -> None:
        self.token, self.expires_on = token, expires_on


class EntraCredential:
    """Stands in for azure-identity: Entra ID tokens signed with the secret the TLS emulator trusts."""

    def get_token(self, *scopes: str, **kwargs: Any) -> _Token:
        from containerregistry.emulator.auth import mint_entra_token

        audience = scopes[0].removesuffix("/.default") if scopes else AUDIENCE
        return _Token(mint_entra_token(SECRET, audience=audience), int(time.time()) + 3600)


def _ours_blob_sync(
    endpoint: str, repository: str, digest: str, dest: str, ca: str | None = None
) -> Callable[[], Any]:
    from containerregistry import ContainerRegistryContentClient

    def run() -> None:
        credential = EntraCredential() if ca else None
        kwargs: dict[str, Any] = {"verify": ca} if ca else {}
        with ContainerRegistryContentClient(endpoint, repository, credential, **kwargs) as client:
            client.download_blob_to(digest, dest)

    return run


def _ours_blob_async(endpoint: str, repository: str, digest: str, dest: str) -> Callable[[], Any]:
    import asyncio

    from containerregistry.aio import ContainerRegistryContentClient

    async def main() -> None:
        async with ContainerRegistryContentClient(endpoint, repository) as client:
            await client.download_blob_to(digest, dest)

    return lambda: asyncio.run(main())


def _sdk_blob(endpoint: str, repository: str, digest: str, dest: str, ca: str) -> Callable[[], Any]:
    from azure.containerregistry import ContainerRegistryClient

    def run() -> None:
        with ContainerRegistryClient(
            endpoint, EntraCredential(), audience=AUDIENCE, connection_verify=ca
        ) as c:
            stream = c.download_blob(repository, digest)
            with open(dest, "wb") as f:
                for chunk in stream:
                    f.write(chunk)

    return run


def _dxf_blob(host: str, repository: str, digest: str, dest: str) -> Callable[[], Any]:
    from dxf import DXF

    def run() -> None:
        client = DXF(host, repository, insecure=True)
        with open(dest, "wb") as f:
            for chunk in client.pull_blob(digest):
                f.write(chunk)

    return run


def _ours_image(function: str, source: str, target: str) -> Callable[[], Any]:
    from containerregistry import images

    return lambda: getattr(images, function)(source, target)


def _ours_prune(endpoint: str, repository: str, ca: str, keep: int) -> Callable[[], Any]:
    from containerregistry.images import prune

    return lambda: prune(endpoint, repository, keep=keep, credential=EntraCredential(), verify=ca)


def _sdk_prune(endpoint: str, repository: str, ca: str, keep: int) -> Callable[[], Any]:
    from azure.containerregistry import ArtifactManifestOrder, ContainerRegistryClient

    def run() -> None:
        # The SDK's sample (samples/sample_delete_images.py), for one repository.
        with ContainerRegistryClient(
            endpoint, EntraCredential(), audience=AUDIENCE, connection_verify=ca
        ) as c:
            manifests = c.list_manifest_properties(
                repository, order_by=ArtifactManifestOrder.LAST_UPDATED_ON_DESCENDING
            )
            for count, manifest in enumerate(manifests, start=1):
                if count > keep:
                    c.delete_manifest(repository, manifest.digest)

    return run


CLIENTS: dict[str, Callable[..., Callable[[], Any]]] = {
    "ours-blob-sync": _ours_blob_sync,
    "ours-blob-async": _ours_blob_async,
    "sdk-blob": _sdk_blob,
    "dxf-blob": _dxf_blob,
    "ours-image": _ours_image,
    "ours-prune": _ours_prune,
    "sdk-prune": _sdk_prune,
}


def client_main(kind: str, args: str) -> int:
    run = CLIENTS[kind](**json.loads(args))  # imports happen here, outside the timing
    start = time.perf_counter()
    run()
    print(json.dumps({"seconds": time.perf_counter() - start}))
    return 0


# --- the benchmark ---------------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    client: str
    seconds: list[float] = field(default_factory=list)
    nbytes: int = 0
    error: str = ""

    @property
    def best(self) -> float | None:
        return min(self.seconds) if self.seconds else None


@dataclass
class Goal:
    scenario: str
    ours: str
    peer: str
    target: float


GOALS = [
    Goal("1", "ours sync", "curl -o", 4.0),
    Goal("1", "ours async", "curl -o", 4.0),
    Goal("1", "ours sync", "skopeo oci:", 4.0),
    Goal("1", "ours async", "skopeo oci:", 4.0),
    Goal("1", "ours sync (TLS)", "azure-containerregistry", 4.0),
    Goal("2", "pull_image", "skopeo", 2.0),
    Goal("3", "copy_image", "skopeo", 1.5),
    Goal("4", "prune", "azure-containerregistry loop", 5.0),
    Goal("5", "push_image", "skopeo", 1.5),
]
# Which of ours each peer row is compared with, per scenario (peer client -> our clients).
COMPARE = {
    "1": {
        "curl -o": ["ours sync", "ours async"],
        "skopeo oci:": ["ours sync", "ours async"],
        "python-dxf": ["ours sync", "ours async"],
        "azure-containerregistry": ["ours sync (TLS)"],
    },
    "2": {"skopeo": ["pull_image"]},
    "3": {"skopeo": ["copy_image"], "skopeo (upload cap)": ["copy_image (upload cap)"]},
    "4": {"azure-containerregistry loop": ["prune"]},
    "5": {"skopeo": ["push_image"], "skopeo (upload cap)": ["push_image (upload cap)"]},
}
TITLES = {
    "1": "one {blob} blob to a file",
    "2": "image 1 x {big} + {n} x {small} into an OCI layout",
    "3": "that image emulator -> Distribution (fresh target each run)",
    "4": "delete all but the newest {keep} of {manifests} manifests (TLS, Entra exchange)",
    "5": "push that image from an OCI layout (fresh target each run)",
}


class Bench:
    def __init__(self, args: argparse.Namespace, sizes: Sizes, work: Path) -> None:
        self.args, self.sizes, self.work = args, sizes, work
        self.stack = contextlib.ExitStack()
        self.rows: dict[tuple[str, str, str], Row] = {}
        self.counter = 0
        self.caps = {"off": [False], "on": [True], "both": [False, True]}[args.upload_cap]

    def fresh(self, name: str) -> Path:
        self.counter += 1
        return self.work / f"{name}-{self.counter}"

    def timeout(self, nbytes: int, profile: Profile) -> float:
        return 60 + 6 * nbytes / profile.per_connection

    def record(self, profile: str, scenario: str, client: str, nbytes: int, run: Callable[[], float]) -> None:
        row = self.rows.setdefault((profile, scenario, client), Row(scenario, client, nbytes=nbytes))
        if row.error:
            return  # failed before: do not spend the time again
        try:
            row.seconds.append(run())
        except RunFailed as exc:
            row.error = str(exc).strip()
            print(f"    {client}: FAILED {row.error.splitlines()[0]}", file=sys.stderr)
            return
        print(f"    {client:<34} {row.seconds[-1]:7.2f} s", file=sys.stderr)

    # --- setup

    def setup(self) -> None:
        s = self.sizes
        print(f"setup: content ({s.blob // MIB} MiB blob, {s.image / MIB:.0f} MiB image)", file=sys.stderr)
        self.blob_layout = build_layout(self.work / "blob-layout", [s.blob])
        self.blob_digest, self.blob_size = self.blob_layout.blobs[0]
        self.image = build_layout(
            self.work / "image-layout", [s.big_layer] + [s.small_layer] * s.small_layers
        )
        self.distribution = self.stack.enter_context(distribution())
        self.plain = self.stack.enter_context(emulator(self.work, tls=False))
        self.secure = self.stack.enter_context(emulator(self.work, tls=True))
        assert self.secure.ca is not None
        self.ca = self.secure.ca
        push_direct(self.blob_layout.path, f"127.0.0.1:{self.distribution}/bench/blob:v1")
        push_direct(self.image.path, f"127.0.0.1:{self.distribution}/bench/image:v1")
        push_direct(self.image.path, f"127.0.0.1:{self.plain.port}/bench/image:v1")
        push_direct(
            self.blob_layout.path,
            f"https://127.0.0.1:{self.secure.port}/bench/blob:v1",
            credential=EntraCredential(),
            verify=self.ca,
        )

    def ceiling(self) -> dict[str, float]:
        """curl to and from Distribution, straight and through an unshaped proxy (1 and 8 connections), MB/s.

        Downloads: GETs of the blob to /dev/null, at least 256 MiB per connection (one keep-alive
        connection per curl). Uploads: one monolithic PUT of the blob per connection.
        """
        url = f"/v2/bench/blob/blobs/{self.blob_digest}"
        blob_file = self.blob_layout.path / "blobs" / "sha256" / self.blob_digest.split(":")[1]
        repeat = -(-256 * MIB // self.blob_size)

        def parallel(argvs: list[list[str]], nbytes: int) -> float:
            start = time.perf_counter()
            procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL) for argv in argvs]
            codes = [p.wait(timeout=300) for p in procs]
            if any(codes):
                raise RunFailed(f"curl exit codes {codes}")
            return nbytes / (time.perf_counter() - start) / 1e6

        def downloads(port: int, n: int) -> float:
            argv = ["curl", "-sS", "-f"] + ["-o", "/dev/null", f"http://127.0.0.1:{port}{url}"] * repeat
            return parallel([argv] * n, n * repeat * self.blob_size)

        def uploads(port: int, n: int) -> float:
            argvs = []
            for _ in range(n):
                self.counter += 1
                location = start_upload(port, f"bench/ceiling-{self.counter}")
                target = f"{location}{'&' if '?' in location else '?'}digest={self.blob_digest}"
                argvs.append(["curl", "-sS", "-f", "-X", "PUT", "-T", str(blob_file), target])
            return parallel(argvs, n * self.blob_size)

        result = {
            "download, direct, 1 connection": downloads(self.distribution, 1),
            "upload, direct, 1 connection": uploads(self.distribution, 1),
        }
        with proxy(self.distribution, None) as port:
            result["download, through the proxy, 1 connection"] = downloads(port, 1)
            result["download, through the proxy, 8 connections"] = downloads(port, 8)
            result["upload, through the proxy, 1 connection"] = uploads(port, 1)
            result["upload, through the proxy, 8 connections"] = uploads(port, 8)
        return result

    # --- scenarios (one round each)

    def scenario1(self, profile: Profile) -> None:
        p, n = profile.name, self.blob_size
        t = self.timeout(n, profile)
        repo, digest = "bench/blob", self.blob_digest
        with proxy(self.distribution, profile) as port, proxy(self.secure.port, profile) as tls_port:
            endpoint = f"http://127.0.0.1:{port}"
            tls_endpoint = f"https://127.0.0.1:{tls_port}"

            def blob(kind: str, **kw: Any) -> Callable[[], float]:
                def run() -> float:
                    dest = self.fresh("blob")
                    try:
                        seconds = timed_client(kind, t, repository=repo, digest=digest, dest=str(dest), **kw)
                        check_file(dest, digest)
                        return seconds
                    finally:
                        dest.unlink(missing_ok=True)

                return run

            def curl() -> float:
                dest = self.fresh("curl")
                try:
                    argv = ["curl", "-sS", "-f", "-o", str(dest), f"{endpoint}/v2/{repo}/blobs/{digest}"]
                    seconds = timed_command(argv, t)
                    check_file(dest, digest)
                    return seconds
                finally:
                    dest.unlink(missing_ok=True)

            def skopeo_pull() -> float:
                dest, home = self.fresh("skopeo-oci"), self.fresh("home")
                try:
                    src = f"docker://127.0.0.1:{port}/{repo}:v1"
                    seconds = skopeo(
                        "copy", "--src-tls-verify=false", src, f"oci:{dest}:v1", timeout=t, home=home
                    )
                    check_file(dest / "blobs" / "sha256" / digest.split(":")[1], digest)
                    return seconds
                finally:
                    shutil.rmtree(dest, ignore_errors=True)
                    shutil.rmtree(home, ignore_errors=True)

            self.record(p, "1", "ours sync", n, blob("ours-blob-sync", endpoint=endpoint))
            self.record(p, "1", "ours async", n, blob("ours-blob-async", endpoint=endpoint))
            self.record(p, "1", "curl -o", n, curl)
            self.record(p, "1", "skopeo oci:", n, skopeo_pull)
            self.record(p, "1", "python-dxf", n, blob("dxf-blob", host=f"127.0.0.1:{port}"))
            self.record(
                p, "1", "ours sync (TLS)", n, blob("ours-blob-sync", endpoint=tls_endpoint, ca=self.ca)
            )
            self.record(
                p, "1", "azure-containerregistry", n, blob("sdk-blob", endpoint=tls_endpoint, ca=self.ca)
            )

    def scenario2(self, profile: Profile) -> None:
        p, n = profile.name, self.sizes.image
        t = self.timeout(n, profile)
        with proxy(self.distribution, profile) as port:
            src = f"127.0.0.1:{port}/bench/image:v1"

            def ours() -> float:
                dest = self.fresh("pull")
                try:
                    seconds = timed_client(
                        "ours-image", t, function="pull_image", source=src, target=f"oci:{dest}:v1"
                    )
                    check_layout(dest, self.image.blobs)
                    return seconds
                finally:
                    shutil.rmtree(dest, ignore_errors=True)

            def peer() -> float:
                dest, home = self.fresh("skopeo-pull"), self.fresh("home")
                try:
                    seconds = skopeo(
                        "copy",
                        "--src-tls-verify=false",
                        f"docker://{src}",
                        f"oci:{dest}:v1",
                        timeout=t,
                        home=home,
                    )
                    check_layout(dest, self.image.blobs)
                    return seconds
                finally:
                    shutil.rmtree(dest, ignore_errors=True)
                    shutil.rmtree(home, ignore_errors=True)

            self.record(p, "2", "pull_image", n, ours)
            self.record(p, "2", "skopeo", n, peer)

    def _to_fresh_distribution(
        self, profile: Profile, upload_cap: bool, source: str, ours: bool, timeout: float
    ) -> float:
        """Copy/push `source` into a new Distribution behind its own proxy; checks the manifest arrived."""
        home = self.fresh("home")
        try:
            with distribution() as target, proxy(target, profile, upload_cap=upload_cap) as port:
                dest = f"127.0.0.1:{port}/bench/image:v1"
                if ours:
                    function = "push_image" if source.startswith("oci:") else "copy_image"
                    seconds = timed_client(
                        "ours-image", timeout, function=function, source=source, target=dest
                    )
                else:
                    src = source if source.startswith("oci:") else f"docker://{source}"
                    seconds = skopeo(
                        "copy", "--src-tls-verify=false", "--dest-tls-verify=false", src, f"docker://{dest}",
                        timeout=timeout, home=home,
                    )  # fmt: skip
                if not manifest_exists(target, "bench/image", "v1"):
                    raise RunFailed("the target has no manifest after the copy")
                return seconds
        finally:
            shutil.rmtree(home, ignore_errors=True)

    def scenario3(self, profile: Profile) -> None:
        p, n = profile.name, self.sizes.image
        t = self.timeout(n, profile)
        with proxy(self.plain.port, profile) as source_port:
            src = f"127.0.0.1:{source_port}/bench/image:v1"
            for cap in self.caps:
                suffix = " (upload cap)" if cap else ""
                self.record(
                    p,
                    "3",
                    "copy_image" + suffix,
                    n,
                    lambda c=cap: self._to_fresh_distribution(profile, c, src, True, t),
                )
                self.record(
                    p,
                    "3",
                    "skopeo" + suffix,
                    n,
                    lambda c=cap: self._to_fresh_distribution(profile, c, src, False, t),
                )

    def scenario4(self, profile: Profile) -> None:
        p, s = profile.name, self.sizes
        t = 120 + s.manifests * 10 * profile.rtt_ms / 1000
        with proxy(self.secure.port, profile) as port:
            endpoint = f"https://127.0.0.1:{port}"

            def run(kind: str) -> Callable[[], float]:
                def go() -> float:
                    self.counter += 1
                    repo = f"bench/prune-{self.counter}"
                    seed_manifests(self.secure.endpoint, self.ca, repo, s.manifests)
                    seconds = timed_client(
                        kind, t, endpoint=endpoint, repository=repo, ca=self.ca, keep=s.keep
                    )
                    left = count_manifests(self.secure.endpoint, self.ca, repo)
                    if left != s.keep:
                        raise RunFailed(f"{kind} left {left} manifests, not {s.keep}")
                    return seconds

                return go

            self.record(p, "4", "prune", 0, run("ours-prune"))
            self.record(p, "4", "azure-containerregistry loop", 0, run("sdk-prune"))

    def scenario5(self, profile: Profile) -> None:
        p, n = profile.name, self.sizes.image
        t = self.timeout(n, profile)
        src = f"oci:{self.image.path}:v1"
        for cap in self.caps:
            suffix = " (upload cap)" if cap else ""
            self.record(
                p,
                "5",
                "push_image" + suffix,
                n,
                lambda c=cap: self._to_fresh_distribution(profile, c, src, True, t),
            )
            self.record(
                p,
                "5",
                "skopeo" + suffix,
                n,
                lambda c=cap: self._to_fresh_distribution(profile, c, src, False, t),
            )

    # --- report

    def title(self, scenario: str) -> str:
        s = self.sizes

        def mib(n: int) -> str:
            return f"{n / MIB:g} MiB"

        return TITLES[scenario].format(
            blob=mib(s.blob), big=mib(s.big_layer), n=s.small_layers, small=mib(s.small_layer),
            keep=s.keep, manifests=s.manifests,
        )  # fmt: skip

    def ratio(self, profile: str, scenario: str, ours: str, peer: str) -> float | None:
        a = self.rows.get((profile, scenario, ours))
        b = self.rows.get((profile, scenario, peer))
        if a is None or b is None or a.best is None or b.best is None:
            return None
        return b.best / a.best

    def report(
        self, profiles: list[Profile], scenarios: list[str], ceiling: dict[str, float]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "rounds": self.args.rounds,
            "sizes": self.sizes.__dict__,
            "load_average": os.getloadavg(),
            "proxy_ceiling_MBps": ceiling,
            "profiles": {},
        }
        print()
        print(
            "proxy ceiling (no delay, no caps; curl GETs to /dev/null, >= 256 MiB per connection; monolithic PUTs):"
        )
        for name, value in ceiling.items():
            print(f"  {name:<44} {value:7.0f} MB/s")
        for profile in profiles:
            p = profile.name
            print()
            print(
                f"== profile {p}: {profile.rtt_ms:g} ms RTT, {profile.per_connection / 1e6:g} MB/s per connection, "
                f"{profile.aggregate / 1e6:g} MB/s aggregate; best of {self.args.rounds}"
            )
            entry: dict[str, Any] = {"profile": profile.__dict__, "scenarios": {}, "goals": []}
            for scenario in scenarios:
                print(f"{scenario}. {self.title(scenario)}")
                rows = [r for (pp, ss, _), r in self.rows.items() if pp == p and ss == scenario]
                results = []
                for row in rows:
                    best = row.best
                    speed = f"{row.nbytes / best / 1e6:7.1f} MB/s" if best and row.nbytes else " " * 12
                    cmp = []
                    for ours in COMPARE[scenario].get(row.client, []):
                        r = self.ratio(p, scenario, ours, row.client)
                        if r is not None:
                            cmp.append(f"{ours} {r:.2f}x")
                    text = f"{best:7.2f} s  {speed}" if best else "FAILED: " + row.error.splitlines()[0][:90]
                    print(f"  {row.client:<32} {text}  {'ours/peer: ' + ', '.join(cmp) if cmp else ''}")
                    results.append(
                        {
                            "client": row.client,
                            "seconds": row.seconds,
                            "best": best,
                            "MBps": row.nbytes / best / 1e6 if best and row.nbytes else None,
                            "error": row.error or None,
                            "ours_over_peer": {
                                ours: self.ratio(p, scenario, ours, row.client)
                                for ours in COMPARE[scenario].get(row.client, [])
                            },
                        }
                    )
                entry["scenarios"][scenario] = {"title": self.title(scenario), "rows": results}
            goals = [g for g in GOALS if g.scenario in scenarios]
            if goals:
                print(f"goals ({p}):")
                print(f"  {'':<3} {'ours':<18} {'vs':<30} {'ratio':>7} {'goal':>6}  status")
                for g in goals:
                    r = self.ratio(p, g.scenario, g.ours, g.peer)
                    status = "n/a" if r is None else ("met" if r >= g.target else "not met")
                    shown = "-" if r is None else f"{r:.2f}x"
                    print(f"  {g.scenario:<3} {g.ours:<18} {g.peer:<30} {shown:>7} {g.target:>5g}x  {status}")
                    entry["goals"].append({**g.__dict__, "ratio": r, "status": status})
            out["profiles"][p] = entry
        return out


def markdown(path: Path) -> str:
    """The README tables from a `--json` file: one per profile, and the goals."""
    data = json.loads(path.read_text())
    lines = [f"`{data['command']}` (best of {data['rounds']})", ""]
    lines += ["| proxy ceiling (no delay, no caps) | MB/s |", "|---|---|"]
    lines += [f"| {name} | {value:.0f} |" for name, value in data["proxy_ceiling_MBps"].items()]
    for name, entry in data["profiles"].items():
        p = entry["profile"]
        lines += [
            "",
            f"**{name}**: {p['rtt_ms']:g} ms RTT, {p['per_connection'] / 1e6:g} MB/s per connection, "
            f"{p['aggregate'] / 1e6:g} MB/s aggregate",
            "",
            "| scenario | client | seconds | MB/s | ours/peer |",
            "|---|---|---|---|---|",
        ]
        for number, scenario in entry["scenarios"].items():
            for row in scenario["rows"]:
                best = "failed" if row["best"] is None else f"{row['best']:.2f}"
                speed = "" if row["MBps"] is None else f"{row['MBps']:.1f}"
                ratios = ", ".join(
                    f"{ours} {r:.2f}x" for ours, r in row["ours_over_peer"].items() if r is not None
                )
                lines.append(
                    f"| {number}. {scenario['title']} | {row['client']} | {best} | {speed} | {ratios} |"
                )
        lines += ["", "| goal | ours | vs | ratio | target | status |", "|---|---|---|---|---|---|"]
        for g in entry["goals"]:
            ratio = "-" if g["ratio"] is None else f"{g['ratio']:.2f}x"
            lines.append(
                f"| {g['scenario']} | {g['ours']} | {g['peer']} | {ratio} | {g['target']:g}x | {g['status']} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_client"]:
        return client_main(argv[1], argv[2])
    if argv[:1] == ["markdown"]:
        print(markdown(Path(argv[1])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=[*PROFILES, "all"], default="cloud")
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds, best of which counts (default 3; 1 with --quick)"
    )
    parser.add_argument("--only", default="1,2,3,4,5", help="scenarios to run, e.g. 1,4")
    parser.add_argument(
        "--size-mib", type=float, default=None, help="the blob of scenario 1 (default 256; 32 with --quick)"
    )
    parser.add_argument(
        "--upload-cap",
        choices=["off", "on", "both"],
        default="off",
        help="scenarios 3 and 5: uploads capped by the aggregate only (off), also per connection (on), or both",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and 1 round (for development)")
    parser.add_argument("--json", type=Path, default=None, help="write the results to this file")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.size_mib is not None:
        sizes.blob = int(args.size_mib * MIB)
    args.rounds = args.rounds or (1 if args.quick else 3)
    scenarios = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(scenarios) - set(TITLES):
        parser.error(f"unknown scenarios: {sorted(unknown)}")
    profiles = list(PROFILES.values()) if args.profile == "all" else [PROFILES[args.profile]]
    for tool in ("skopeo", "curl"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="creg-wan-") as tmp:
        bench = Bench(args, sizes, Path(tmp))
        with bench.stack:
            bench.setup()
            print("measuring the proxy's ceiling", file=sys.stderr)
            ceiling = bench.ceiling()
            for profile in profiles:
                for round_ in range(args.rounds):
                    for scenario in scenarios:
                        print(
                            f"[{profile.name}] round {round_ + 1}/{args.rounds}, scenario {scenario}",
                            file=sys.stderr,
                        )
                        getattr(bench, f"scenario{scenario}")(profile)
            result = bench.report(profiles, scenarios, ceiling)
    result["wall_seconds"] = time.monotonic() - started
    print(f"\n(wall time {result['wall_seconds']:.0f} s; load average at the end {os.getloadavg()[0]:.2f})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
