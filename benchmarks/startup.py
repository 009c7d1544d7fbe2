#!/usr/bin/env python3
"""CLI start-up time (issue 14: `creg --help` <= 0.12 s and `creg tag ls` <= 0.2 s over `python -c pass`).

    .venv/bin/python benchmarks/startup.py [--runs 10] [--json FILE]

Runs `python -c pass`, `creg --help` and `creg tag ls 127.0.0.1:PORT/startup/app` (against the emulator,
open, on loopback, one tag) `--runs` times each, interleaved, and prints min and median wall time and the
median overhead over `python -c pass` (same interpreter, the venv's). `tag ls` includes its requests to a
loopback registry (a few ms). Also lists which heavy modules each command imported (the lazy-import goal:
the sync client never imports aiohttp; rich and the emulator load only when used).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import wan  # type: ignore[import-not-found]  # noqa: E402

HEAVY = ("aiohttp", "rich", "containerregistry.emulator", "httpx", "urllib3", "cryptography", "jwt", "click")
MODULES = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('MODULES', sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr))\n"
    "from containerregistry.cli import main\n"
    "sys.argv = ['creg', *{argv!r}]\n"
    "main()\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    creg = str(Path(sys.executable).parent / "creg")
    results: dict[str, Any] = {"command": " ".join(["python", *sys.argv]), "load_average": os.getloadavg()}
    with (
        tempfile.TemporaryDirectory(prefix="creg-startup-") as tmp,
        wan.emulator(Path(tmp), tls=False) as emu,
    ):
        layout = wan.build_layout(Path(tmp) / "layout", [1024])
        wan.push_direct(layout.path, f"127.0.0.1:{emu.port}/startup/app:v1")
        reference = f"127.0.0.1:{emu.port}/startup/app"
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": f"{tmp}/config", "NO_COLOR": "1"}
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "creg --help": [creg, "--help"],
            "creg tag ls": [creg, "tag", "ls", reference],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                start = time.perf_counter()
                done = subprocess.run(argv, capture_output=True, env=env, timeout=60)
                times[name].append(time.perf_counter() - start)
                if done.returncode != 0:
                    print(f"{name} failed: {done.stderr.decode(errors='replace')[-500:]}", file=sys.stderr)
                    return 1
        modules = {}
        for name, argv in (("creg --help", ["--help"]), ("creg tag ls", ["tag", "ls", reference])):
            code = MODULES.format(heavy=HEAVY, argv=argv)
            probe = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
            )
            line = [x for x in probe.stderr.splitlines() if x.startswith("MODULES")]
            modules[name] = line[-1].removeprefix("MODULES ") if line else "?"
    base = statistics.median(times["python -c pass"])
    print(f"CLI start-up, {args.runs} runs each, interleaved (load average {os.getloadavg()[0]:.2f}):")
    print(f"  {'':<16} {'min s':>7} {'median s':>9} {'overhead s':>11} {'goal':>6}  status")
    goals = {"creg --help": 0.12, "creg tag ls": 0.2}
    for name, values in times.items():
        median = statistics.median(values)
        overhead = median - base
        goal = goals.get(name)
        status = "" if goal is None else ("met" if overhead <= goal else "not met")
        shown = "" if goal is None else f"{goal:g}"
        over = "" if name == "python -c pass" else f"{overhead:11.3f}"
        print(f"  {name:<16} {min(values):7.3f} {median:9.3f} {over:>11} {shown:>6}  {status}")
        results[name] = {
            "seconds": values,
            "median": median,
            "overhead": overhead,
            "goal": goal,
            "status": status,
        }
    for name, mods in modules.items():
        print(f"  {name} imports: {mods}")
        results[name]["heavy_modules"] = mods
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
