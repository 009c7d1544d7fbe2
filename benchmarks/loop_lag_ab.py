#!/usr/bin/env python3
"""Two source trees of containerregistry, interleaved: the event loop's CPU time, lag and syscalls (issue 14).

    .venv/bin/python benchmarks/loop_lag_ab.py BEFORE_SRC AFTER_SRC [--rounds 3] [--size-mib 256]
        [--layers 32] [--layer-mib 1] [--strace]

BEFORE_SRC and AFTER_SRC are `src` directories (e.g. `git archive HEAD~1 src | tar -x -C /tmp/before`).
One Distribution (`docker-registry`) on loopback serves both; each case runs in a child process of its own
with that tree first on `sys.path`, alternating trees round by round, so both see the same machine load.
Reported per case and tree: the median over the rounds of the loop thread's CPU seconds, p99 and max lag
of a 1 ms ticker (`loop_lag.measure`), with the idle floor of the same run. `--strace` runs one more round
of each under `strace -f -ff` and counts the syscalls of the loop's thread (the child's main thread) by
name, between two markers around the case (imports and start-up are left out): a count does not depend
on the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import wan  # type: ignore[import-not-found]  # noqa: E402

_CHILD = """
import asyncio, json, os, sys
sys.path.insert(0, {here!r})
from loop_lag import measure
import containerregistry
assert containerregistry.__file__.startswith({src!r}), containerregistry.__file__
from containerregistry.aio import ContainerRegistryContentClient
from containerregistry.aio.images import pull_image

async def idle():
    await asyncio.sleep(2)

async def download():
    async with ContainerRegistryContentClient({endpoint!r}, "lag/blob") as client:
        await client.download_blob_to({digest!r}, {dest!r})

async def pull():
    await pull_image({image!r}, "oci:" + {layout!r} + ":v1")

async def marked():
    # Markers for the syscall count: only what happens between them is the case's.
    os.path.exists("/creg-lag-mark-begin")
    await {case}()
    os.path.exists("/creg-lag-mark-end")

print(json.dumps(asyncio.run(measure(marked))))
"""

_GROUPS = {
    "lstat/stat": ("newfstatat", "lstat", "stat", "statx", "fstat"),
    "open": ("openat", "open"),
    "fsync": ("fsync", "fdatasync"),
    "rename": ("rename", "renameat", "renameat2"),
    "recv/read": ("recvfrom", "read", "recvmsg"),
    "write": ("write", "pwrite64", "sendto", "writev"),
    "futex": ("futex",),
    "epoll_wait": ("epoll_wait", "epoll_pwait"),
}


def run_child(src: str, case: str, work: Path, args: dict[str, str], strace: Path | None) -> dict[str, float]:
    code = _CHILD.format(here=str(HERE), src=str(Path(src).resolve()), case=case, **args)
    env = {**os.environ, "PYTHONPATH": src}
    argv = [sys.executable, "-c", code]
    if strace is not None:
        argv = ["strace", "-f", "-ff", "-o", str(strace), *argv]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    for leftover in (work / "download.bin", work / "pulled"):
        subprocess.run(["rm", "-rf", str(leftover)], check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def loop_thread_syscalls(prefix: Path) -> Counter[str]:
    """Syscalls of the child's main thread: the `strace -ff` file with the lowest pid among the child's
    (strace writes one file per thread; the first is the child, whose main thread runs the loop)."""
    files = sorted(prefix.parent.glob(prefix.name + ".*"), key=lambda p: int(p.suffix[1:]))
    counts: Counter[str] = Counter()
    inside = False
    for line in files[0].read_text(errors="replace").splitlines():
        if "/creg-lag-mark-" in line:
            inside = "mark-begin" in line
            continue
        name = line.split("(", 1)[0].strip()
        if inside and name and not name.startswith(("+++", "---", "<...")):
            counts[name] += 1
    for path in files:
        path.unlink()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--layer-mib", type=float, default=1)
    parser.add_argument("--strace", action="store_true")
    args = parser.parse_args()
    size = args.size_mib * wan.MIB
    layer = int(args.layer_mib * wan.MIB)
    trees = {"before": args.before, "after": args.after}

    from containerregistry import ContainerRegistryContentClient

    with tempfile.TemporaryDirectory(prefix="creg-lagab-") as tmp, wan.distribution() as port:
        work = Path(tmp)
        blob = work / "blob.bin"
        with open(blob, "wb") as out:
            for _ in range(size // (8 * wan.MIB)):
                out.write(os.urandom(8 * wan.MIB))
            out.write(os.urandom(size % (8 * wan.MIB)))
        endpoint = f"http://127.0.0.1:{port}"
        with ContainerRegistryContentClient(endpoint, "lag/blob") as client:
            digest = client.upload_blob(blob).digest
        blob.unlink()
        image = wan.build_layout(work / "image", [layer] * args.layers)
        wan.push_direct(image.path, f"127.0.0.1:{port}/lag/image:v1")
        child_args = {
            "endpoint": endpoint,
            "digest": digest,
            "dest": str(work / "download.bin"),
            "image": f"127.0.0.1:{port}/lag/image:v1",
            "layout": str(work / "pulled"),
        }
        cases = {
            "idle loop (floor)": "idle",
            f"download_blob_to {args.size_mib} MiB": "download",
            f"pull_image {args.layers} x {args.layer_mib:g} MiB": "pull",
        }
        results: dict[tuple[str, str], list[dict[str, float]]] = {}
        for round_ in range(args.rounds):
            order = list(trees.items()) if round_ % 2 == 0 else list(trees.items())[::-1]
            for name, case in cases.items():
                for tree, src in order:
                    results.setdefault((name, tree), []).append(run_child(src, case, work, child_args, None))
        print(f"loaded machine (load average {os.getloadavg()[0]:.2f}), median of {args.rounds} rounds:")
        print(f"  {'':<30} {'tree':<7} {'seconds':>8} {'loop cpu':>8} {'p99 ms':>7} {'max ms':>7}")
        for name in cases:
            for tree in trees:
                runs = results[(name, tree)]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                print(
                    f"  {name:<30} {tree:<7} {med['seconds']:8.2f} {med['loop_cpu_seconds']:8.3f} "
                    f"{med['p99_ms']:7.2f} {med['max_ms']:7.2f}"
                )
        if args.strace:
            print("syscalls on the loop thread (one run each, under strace):")
            for name, case in list(cases.items())[1:]:
                for tree, src in trees.items():
                    prefix = work / "strace" / "trace"
                    prefix.parent.mkdir(exist_ok=True)
                    run_child(src, case, work, child_args, prefix)
                    counts = loop_thread_syscalls(prefix)
                    grouped = {g: sum(counts[n] for n in names) for g, names in _GROUPS.items()}
                    shown = " ".join(f"{g}={c}" for g, c in grouped.items())
                    print(f"  {name:<30} {tree:<7} total={sum(counts.values())} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
