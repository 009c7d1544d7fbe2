#!/usr/bin/env python3
"""CLI start-up time (issue 14: `creg --help` <= 0.12 s and `creg tag ls` <= 0.2 s over `python -c pass`).

    .venv/bin/python benchmarks/startup.py [--runs 10] [--json FILE]

Runs `python -c pass`, `creg --help`, `creg tag ls 127.0.0.1:PORT/startup/app` (against the emulator,
open, on loopback, one tag; no scheme given, so it includes the scheme probe) and `python -c "import
containerregistry"` `--runs` times each, interleaved, and prints the best and the median wall time, the
overhead over `python -c pass` (same interpreter, the venv's) of the best runs (the goal's measure) and
of the medians, and the best CPU time (user + system) over that of `python -c pass`, which a loaded
machine inflates less than wall time. `tag ls` includes its requests to a loopback registry (a few
ms). A last row imports only the third-party modules `tag ls` cannot do without: the floor it sits on. Also lists which heavy modules each command imported (the lazy-import goal:
the sync client never imports aiohttp; rich and the emulator load only when used).

Every process runs with compiled bytecode, as an installed package does (pip compiles it at install):
the `.pyc` files go to a temporary `PYTHONPYCACHEPREFIX` (nothing is written into the tree), a warm-up
round fills it, and `PYTHONDONTWRITEBYTECODE` is dropped from the environment. `--source` runs them the
other way, compiling every module of an editable install from source on each start, as a checkout does
under `PYTHONDONTWRITEBYTECODE=1`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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

HEAVY = (
    "aiohttp",
    "asyncio",
    "azure",
    "click",
    "containerregistry.emulator",
    "cryptography",
    "httpx",
    "jwt",
    "pygments",
    "rich",
    "urllib3",
)
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('MODULES', sorted(m for m in {heavy!r} if sys.modules.get(m)), file=sys.stderr))\n"
)
#: The third-party imports `creg tag ls` needs (HTTP models, the sync transport, a table, the CLI).
FLOOR = (
    "import sys; sys.modules['httpx._main'] = None; import click, httpx, urllib3, rich.console, rich.table"
)
#: What the `creg` console script runs.
CREG = "from containerregistry.cli import main\nsys.argv = ['creg', *{argv!r}]\nmain()\n"


def _children_cpu() -> float:
    """CPU seconds (user + system) used by finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--source", action="store_true", help="no bytecode: compile every module on each start"
    )
    args = parser.parse_args()
    creg = str(Path(sys.executable).parent / "creg")
    results: dict[str, Any] = {
        "command": " ".join(["python", *sys.argv]),
        "load_average": os.getloadavg(),
        "bytecode": not args.source,
    }
    with (
        tempfile.TemporaryDirectory(prefix="creg-startup-") as tmp,
        wan.emulator(Path(tmp), tls=False) as emu,
    ):
        layout = wan.build_layout(Path(tmp) / "layout", [1024])
        wan.push_direct(layout.path, f"127.0.0.1:{emu.port}/startup/app:v1")
        reference = f"127.0.0.1:{emu.port}/startup/app"
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": f"{tmp}/config", "NO_COLOR": "1"}
        if args.source:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = f"{tmp}/pycache"
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "creg --help": [creg, "--help"],
            "creg tag ls": [creg, "tag", "ls", reference],
            "import containerregistry": [sys.executable, "-c", "import containerregistry"],
            # What bounds `tag ls`: the third-party modules it cannot do without (httpx's own CLI
            # blocked, as creg does), imported and nothing else.
            "floor: tag ls's deps": [sys.executable, "-c", FLOOR],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(args.runs + 1):  # round 0 warms up (and writes the bytecode): not counted
            for name, argv in commands.items():
                used = _children_cpu()
                start = time.perf_counter()
                done = subprocess.run(argv, capture_output=True, env=env, timeout=60)
                if round_:
                    times[name].append(time.perf_counter() - start)
                    cpu[name].append(_children_cpu() - used)
                if done.returncode != 0:
                    print(f"{name} failed: {done.stderr.decode(errors='replace')[-500:]}", file=sys.stderr)
                    return 1
        modules = {}
        probes = {
            "creg --help": CREG.format(argv=["--help"]),
            "creg tag ls": CREG.format(argv=["tag", "ls", reference]),
            "import containerregistry": "import containerregistry\n",
        }
        for name, body in probes.items():
            code = PROBE.format(heavy=HEAVY) + body
            probe = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
            )
            line = [x for x in probe.stderr.splitlines() if x.startswith("MODULES")]
            modules[name] = line[-1].removeprefix("MODULES ") if line else "?"
    # The goal is best of N (the run least disturbed by the rest of the machine); medians are shown too.
    best_base, median_base = min(times["python -c pass"]), statistics.median(times["python -c pass"])
    cpu_base = min(cpu["python -c pass"])
    mode = "modules compiled from source on each start" if args.source else "with bytecode"
    print(
        f"CLI start-up, best of {args.runs} runs each, interleaved, {mode}"
        f" (load average {os.getloadavg()[0]:.2f}); overheads over python -c pass:"
    )
    print(
        f"  {'':<24} {'best s':>7} {'median s':>9} {'overhead s':>11} {'goal':>5}  {'status':<8}"
        f" {'median overhead s':>17} {'cpu overhead s':>14}"
    )
    goals = {"creg --help": 0.12, "creg tag ls": 0.2}
    for name, values in times.items():
        best, median = min(values), statistics.median(values)
        overhead, median_overhead = best - best_base, median - median_base
        cpu_overhead = min(cpu[name]) - cpu_base
        goal = goals.get(name)
        status = "" if goal is None else ("met" if overhead <= goal else "not met")
        base = name == "python -c pass"
        print(
            f"  {name:<24} {best:7.3f} {median:9.3f} {'' if base else f'{overhead:.3f}':>11}"
            f" {'' if goal is None else f'{goal:g}':>5}  {status:<8}"
            f" {'' if base else f'{median_overhead:.3f}':>17} {'' if base else f'{cpu_overhead:.3f}':>14}"
        )
        results[name] = {
            "seconds": values,
            "best": best,
            "median": median,
            "overhead": overhead,
            "median_overhead": median_overhead,
            "cpu_seconds": cpu[name],
            "cpu_overhead": cpu_overhead,
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
