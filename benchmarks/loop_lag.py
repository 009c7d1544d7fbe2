#!/usr/bin/env python3
"""Event-loop lag of the async API during big transfers (issue 14: p99 < 5 ms, max < 20 ms).

    .venv/bin/python benchmarks/loop_lag.py [--size-mib 1024] [--layers 32] [--layer-mib 8] [--json FILE] [--stacks N]
    .venv/bin/python benchmarks/loop_lag.py --quick      # 256 MiB blob, 32 x 1 MiB layers
    .venv/bin/python benchmarks/loop_lag.py markdown FILE  # the README's table from a --json file

Against Debian's `docker-registry` on this machine, a ticker task sleeps 1 ms in a loop on the same event
loop and records how late each wake-up is. Reported: p50, p99 and max of that lateness while
- `download_blob_to(path)` of one blob (1 GiB by default) runs, and
- `pull_image` of an image with 32 layers (8 MiB each by default) into an OCI layout runs,
each twice: straight to the registry on loopback (unshaped: the fastest link loads the loop most), and
through `wan_proxy.py` with the `cloud` profile of wan.py (20 ms RTT, 25 MB/s per connection, 200 MB/s
aggregate: a link users have); and, as the floor, while the loop runs nothing else for 2 s.

What the lateness is made of, so that a slow wake-up can be told apart from code that holds the loop:
- `cpu wait ms`: the time the loop's thread was ready to run but waiting for a core (the kernel's run-queue
  wait for that thread, `/proc/thread-self/schedstat`), in total over the case;
- `own p99/max`: each wake-up's lateness minus the run-queue wait that thread accrued during that tick:
  the part spent running (our callbacks, the transport's) or waiting for the GIL;
- `machine cpu`: the share of all cores busy during the case (`/proc/stat`): registry, proxy, client and
  its worker threads together. At 100% every runnable thread, the loop's included, waits its turn.
`loop cpu` is the CPU time of the loop's thread during the case. `--stacks N` adds a watchdog thread that
samples the loop thread's stack whenever a wake-up is over 3 ms late and prints the N most frequent places.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import wan  # type: ignore[import-not-found]  # noqa: E402  (the benchmark's content builders and registry starters)

TICK = 0.001
#: With --stacks: a wake-up later than this is a stall whose stack the watchdog samples.
STALL = 0.003


class Watchdog:
    """A thread that samples the loop thread's stack whenever the ticker has not woken for `STALL`.

    `sys._current_frames` names the code the loop thread is in (the last frame of ours, and the
    innermost frame) while a wake-up is late; the counts say which code the stalls are spent in.
    """

    def __init__(self) -> None:
        self.beat = time.perf_counter()
        self.samples: Counter[str] = Counter()
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.0005):
            if time.perf_counter() - self.beat < STALL:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            ours = [f for f in stack if "containerregistry" in f.filename or "benchmarks" in f.filename]
            key = " <- ".join(
                f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in [*stack[-3:][::-1], *ours[-2:][::-1]]
            )
            self.samples[key] += 1

    def report(self, top: int) -> None:
        for key, count in self.samples.most_common(top):
            print(f"    {count:5d} x {key}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _RunQueue:
    """The loop thread's run-queue wait so far, in seconds (`/proc/thread-self/schedstat`, Linux only).

    Opened on the thread it measures (`thread-self` names the opener); 0.0 where there is no such file."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None

    def wait(self) -> float:
        if self._fd is None:
            return 0.0
        return int(os.pread(self._fd, 128, 0).split()[1]) / 1e9

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


def _busy_cpu() -> tuple[float, float]:
    """(busy, total) jiffies over all cores so far (`/proc/stat`); (0, 0) where there is none."""
    try:
        with open("/proc/stat") as stat:
            fields = [float(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


async def measure(work: Callable[[], Awaitable[Any]], watchdog: Watchdog | None = None) -> dict[str, float]:
    lags: list[float] = []
    own: list[float] = []
    done = asyncio.Event()
    runq = _RunQueue()

    async def ticker() -> None:
        while not done.is_set():
            start = time.perf_counter()
            waited = runq.wait()
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            lag = now - start - TICK
            lags.append(lag)
            own.append(max(0.0, lag - (runq.wait() - waited)))
            if watchdog is not None:
                watchdog.beat = now

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    start = time.perf_counter()
    cpu = time.thread_time()
    waited = runq.wait()
    busy, total = _busy_cpu()
    try:
        await work()
    finally:
        seconds = time.perf_counter() - start
        cpu = time.thread_time() - cpu
        waited = runq.wait() - waited
        busy_after, total_after = _busy_cpu()
        done.set()
        await task
        runq.close()
    ms = [lag * 1000 for lag in lags]
    own_ms = [lag * 1000 for lag in own]
    return {
        "seconds": seconds,
        "loop_cpu_seconds": cpu,
        "samples": len(ms),
        "p50_ms": percentile(ms, 0.50),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms),
        "cpu_wait_ms": waited * 1000,
        "own_p99_ms": percentile(own_ms, 0.99),
        "own_max_ms": max(own_ms),
        "machine_cpu": (busy_after - busy) / (total_after - total) if total_after > total else 0.0,
    }


COLUMNS = (
    ("seconds", "seconds", "{:.2f}"),
    ("loop cpu", "loop_cpu_seconds", "{:.2f}"),
    ("samples", "samples", "{:d}"),
    ("p50 ms", "p50_ms", "{:.2f}"),
    ("p99 ms", "p99_ms", "{:.2f}"),
    ("max ms", "max_ms", "{:.2f}"),
    ("cpu wait ms", "cpu_wait_ms", "{:.0f}"),
    ("own p99", "own_p99_ms", "{:.2f}"),
    ("own max", "own_max_ms", "{:.2f}"),
    ("machine cpu", "machine_cpu", "{:.0%}"),
)


def _cells(result: dict[str, Any]) -> list[str]:
    return [fmt.format(result[key]) if key in result else "" for _, key, fmt in COLUMNS]


def _goal(result: dict[str, Any]) -> bool:
    return bool(result["p99_ms"] < 5 and result["max_ms"] < 20)


def markdown(path: Path) -> str:
    """The README's table (and goal lines) from a `--json` file."""
    results = json.loads(path.read_text())
    lines = [
        "| while the loop runs | " + " | ".join(name for name, _, _ in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    cases = [name for name, value in results.items() if isinstance(value, dict)]
    for name in cases:
        lines.append(f"| {name} | " + " | ".join(_cells(results[name])) + " |")
    lines.append("")
    for group, label in (
        ("loopback", "straight to the registry on loopback"),
        ("cloud", "over the cloud link"),
    ):
        names = [n for n in cases if n.endswith(f"({group})")]
        if names:
            met = all(_goal(results[n]) for n in names)
            lines.append(f"- goal (p99 < 5 ms, max < 20 ms) {label}: {'met' if met else 'not met'}")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "markdown":
        print(markdown(Path(sys.argv[2])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size-mib", type=int, default=None, help="blob size (default 1024; 256 with --quick)"
    )
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument(
        "--layer-mib", type=float, default=None, help="layer size (default 8; 1 with --quick)"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--stacks", type=int, default=0, metavar="N", help="print the N stacks the loop stalled in most"
    )
    args = parser.parse_args()
    size = (args.size_mib or (256 if args.quick else 1024)) * wan.MIB
    layer = int((args.layer_mib or (1 if args.quick else 8)) * wan.MIB)

    from containerregistry import ContainerRegistryContentClient
    from containerregistry.aio import ContainerRegistryContentClient as AsyncContentClient
    from containerregistry.aio.images import pull_image

    results: dict[str, Any] = {"command": " ".join(["python", *sys.argv]), "load_average": os.getloadavg()}
    with (
        tempfile.TemporaryDirectory(prefix="creg-lag-") as tmp,
        wan.distribution() as port,
        wan.proxy(port, wan.PROFILES["cloud"]) as shaped,
    ):
        work = Path(tmp)
        print(
            f"setup: {size // wan.MIB} MiB blob, {args.layers} x {layer / wan.MIB:g} MiB image",
            file=sys.stderr,
        )
        blob_path = work / "blob.bin"
        with open(blob_path, "wb") as out:
            for _ in range(size // (8 * wan.MIB)):
                out.write(os.urandom(8 * wan.MIB))
            out.write(os.urandom(size % (8 * wan.MIB)))
        with ContainerRegistryContentClient(f"http://127.0.0.1:{port}", "lag/blob") as client:
            digest = client.upload_blob(blob_path).digest
        blob_path.unlink()
        image = wan.build_layout(work / "image", [layer] * args.layers)
        wan.push_direct(image.path, f"127.0.0.1:{port}/lag/image:v1")

        async def idle() -> None:
            await asyncio.sleep(2)

        def download(at: int) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                async with AsyncContentClient(f"http://127.0.0.1:{at}", "lag/blob") as client:
                    await client.download_blob_to(digest, work / "download.bin")

            return run

        def pull(at: int) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                await pull_image(f"127.0.0.1:{at}/lag/image:v1", f"oci:{work / 'pulled'}:v1")

            return run

        blob_name = f"download_blob_to, {size // wan.MIB} MiB"
        pull_name = f"pull_image, {args.layers} x {layer / wan.MIB:g} MiB layers"
        cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [("idle loop (floor)", idle)]
        for at, where in ((port, "loopback"), (shaped, "cloud")):
            cases += [(f"{blob_name} ({where})", download(at)), (f"{pull_name} ({where})", pull(at))]
        print(f"event-loop lag, 1 ms ticker (load average {os.getloadavg()[0]:.2f}):")
        print(f"  {'':<46} " + " ".join(f"{name:>8}" for name, _, _ in COLUMNS))
        for name, case in cases:
            watchdog = Watchdog() if args.stacks else None
            with watchdog or contextlib.nullcontext():
                r = asyncio.run(measure(case, watchdog))
            results[name] = r
            print(f"  {name:<46} " + " ".join(f"{cell:>8}" for cell in _cells(r)))
            if watchdog is not None:
                watchdog.report(args.stacks)
            (work / "download.bin").unlink(missing_ok=True)
            shutil.rmtree(work / "pulled", ignore_errors=True)
        for where in ("loopback", "cloud"):
            ok = all(_goal(results[n]) for n, _ in cases if n.endswith(f"({where})"))
            print(
                f"goal (p99 < 5 ms and max < 20 ms during both transfers, {where}): {'met' if ok else 'not met'}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
