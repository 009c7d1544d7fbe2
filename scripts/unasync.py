#!/usr/bin/env python3
"""Generate the sync clients from the async sources (the async code is the source of truth).

    python scripts/unasync.py          # rewrite the generated files
    python scripts/unasync.py --check  # exit 1 when a generated file differs from what is committed

Every async source folder of `FOLDERS` (`aio/` -> `_sync/`, `images/_async/` -> `images/_sync/`: each
`_*.py` module, except the hand-written shim) and `transport/_async_retry.py` becomes its sync twin by a
fixed table of textual substitutions (plus the folder's own, e.g. `images/_async/` imports the async
clients from `...aio` and its twin the sync ones from `..._sync`), then ruff sorts imports and formats the
result, so the generated files pass lint like the rest. A substitution that no source uses is an error in
both modes: the table holds only rules that do something (KEPT_UNUSED names the few kept on purpose, with
why). A generated file whose source is gone (its header names a source that no longer exists) is an
error in both modes; it is reported, never deleted.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "containerregistry"

#: Async source folder -> its generated sync folder (relative to the package), with the substitutions
#: that only that folder's sources need. Every `_*.py` module of a source folder is generated, except
#: `__init__.py` and HAND_WRITTEN.
FOLDERS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "aio": ("_sync", []),
    # The image engines sit above the clients: they import the async clients from `...aio`, and their
    # sync twins the sync clients from `..._sync`.
    "images/_async": ("images/_sync", [(r"^(\s*from \.\.\.)aio\b", r"\1_sync")]),
}
#: Single async source files outside those folders -> their sync twins.
FILES: dict[str, str] = {"transport/_async_retry.py": "transport/_sync_retry.py"}
#: Modules of a source folder that are hand-written on both sides (by name).
HAND_WRITTEN = {"_shim.py"}
GENERATED_HEADER = "# This file is generated from "


def sources() -> list[tuple[Path, Path]]:
    """(async source, sync target) for every generated module."""
    pairs = [
        (path, PACKAGE / target / path.name)
        for folder, (target, _extra) in FOLDERS.items()
        for path in sorted((PACKAGE / folder).glob("_*.py"))
        if path.name not in HAND_WRITTEN and path.name != "__init__.py"
    ]
    pairs += [(PACKAGE / src, PACKAGE / dst) for src, dst in FILES.items()]
    return [(src, dst) for src, dst in pairs if src.exists()]


def folder_substitutions(source: Path) -> list[tuple[str, str]]:
    """The substitutions of the folder `source` is in (none for a source outside FOLDERS)."""
    for folder, (_target, extra) in FOLDERS.items():
        if source.parent == PACKAGE / folder:
            return extra
    return []


def orphans() -> list[Path]:
    """Generated files in a target folder whose async source (named in their header) is gone.

    Reported, never deleted: removing a generated file is left to the author (`git rm`), so that a
    wrong table can never delete a file.
    """
    found = []
    for target, _extra in FOLDERS.values():
        for path in sorted((PACKAGE / target).glob("*.py")):
            with path.open(encoding="utf-8") as handle:
                first = handle.readline()
            if not first.startswith(GENERATED_HEADER):
                continue
            named = first.removeprefix(GENERATED_HEADER).split(" by scripts/unasync.py")[0]
            if not (PACKAGE.parent / named).is_file():
                found.append(path)
    return found


def all_substitutions() -> list[tuple[str, str]]:
    """The shared table and every folder's own rules: each must be used by some source."""
    return [*SUBSTITUTIONS, *(rule for _target, extra in FOLDERS.values() for rule in extra)]


_ASYNC_WAIVER = r"  # noqa: ASYNC\d+(?:, ASYNC\d+)*(?:  # [^\n]*)?$"

SUBSTITUTIONS: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait\s+", ""),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncClient\b", "Client"),
    (r"\bAsyncBaseTransport\b", "BaseTransport"),
    (r"\bAsync([A-Z]\w*)", r"\1"),  # AsyncPipeline -> Pipeline, AsyncItemPaged -> ItemPaged, ...
    (r"\bhandle_async_request\b", "handle_request"),
    (r"\bcreate_async_transport\b", "create_transport"),
    (r"\bget_refresh_token_async\b", "get_refresh_token"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\baclose\b", "close"),
    (r"\baread_response\b", "read_response"),
    (r"\baiter_raw\b", "iter_raw"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"^import asyncio$", "import time"),
    # An async-only lint waiver (ruff's ASYNC rules: blocking I/O inside `async def`) and its reason mean
    # nothing in the sync twin, where blocking I/O is the point.
    (_ASYNC_WAIVER, ""),
]

#: Substitutions that stay in the table while no source uses them, each with the reason.
KEPT_UNUSED: dict[str, str] = {
    _ASYNC_WAIVER: "the documented way to keep a blocking call in `async def` (docs/ARCHITECTURE.md, checks)",
}


def _strip_awaitable(text: str) -> str:
    """`Awaitable[X]` -> `X` (bracket-aware), then drop the unused import."""
    out, i = [], 0
    while True:
        j = text.find("Awaitable[", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        k, depth = j + len("Awaitable["), 1
        start = k
        while depth:
            depth += {"[": 1, "]": -1}.get(text[k], 0)
            k += 1
        out.append(text[start : k - 1])
        i = k
    text = "".join(out)
    text = re.sub(r"\bAwaitable, ", "", text)
    text = re.sub(r", Awaitable\b", "", text)
    return text


def transform(text: str, source: Path, used: dict[str, int] | None = None) -> str:
    """The sync twin of `text`; `used` counts how often each substitution's pattern matched."""
    text = _strip_awaitable(text)
    for pattern, replacement in [*SUBSTITUTIONS, *folder_substitutions(source)]:
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        if used is not None:
            used[pattern] = used.get(pattern, 0) + count
    header = (
        f"{GENERATED_HEADER}{source.relative_to(ROOT / 'src')} by scripts/unasync.py.\n"
        "# Do not edit it: edit the async source and run `python scripts/unasync.py`.\n"
    )
    return header + text


def _ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        raise SystemExit("ruff is needed to format the generated files (pip install ruff)")
    return [exe]


def polish(text: str, target: Path) -> str:
    ruff = _ruff()
    name = str(target.relative_to(ROOT))
    fixed = (
        subprocess.run(
            [*ruff, "check", "--fix-only", "--select", "I,F401", "--stdin-filename", name, "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        ).stdout
        or text
    )
    formatted = subprocess.run(
        [*ruff, "format", "--stdin-filename", name, "-"],
        input=fixed,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    return formatted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail when generated files drift")
    args = parser.parse_args(argv)
    drift = 0
    used: dict[str, int] = {}
    for src, dst in sources():
        expected = polish(transform(src.read_text(), src, used), dst)
        current = dst.read_text() if dst.exists() else ""
        if expected == current:
            continue
        if args.check:
            drift += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    expected.splitlines(keepends=True),
                    str(dst.relative_to(ROOT)),
                    f"generated from {src.relative_to(ROOT)}",
                )
            )
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(expected)
            print(f"wrote {dst.relative_to(ROOT)}")
    stale = orphans()
    for path in stale:
        print(f"{path.relative_to(ROOT)} is generated, but its async source is gone: remove it (git rm)")
    dead = [
        pattern for pattern, _ in all_substitutions() if not used.get(pattern) and pattern not in KEPT_UNUSED
    ]
    if dead:
        print("substitution(s) that no async source uses; remove them from SUBSTITUTIONS:")
        for pattern in dead:
            print(f"  {pattern!r}")
        return 1
    if drift or stale:
        print(
            f"\n{drift + len(stale)} generated file(s) drifted from their async source: run `python scripts/unasync.py`"
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
