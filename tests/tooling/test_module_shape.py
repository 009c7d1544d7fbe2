"""The habits of issue 13 that keep the layout readable, checked on every module of the package.

- Each module opens with a docstring that says what it owns (docs/ARCHITECTURE.md points into them).
- No hand-written module is over ~650 lines: a module that grows past it is split along a real seam.
  Generated sync twins (`_sync/`, `images/_sync/`) follow their async source, so only the source counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "containerregistry"
MAX_LINES = 650
GENERATED = (SRC / "_sync", SRC / "images" / "_sync")

MODULES = sorted(SRC.rglob("*.py"))


def _is_generated(path: Path) -> bool:
    return any(path.is_relative_to(folder) for folder in GENERATED)


def test_the_package_has_modules() -> None:
    # A wrong SRC would make the checks below pass on nothing.
    assert len(MODULES) > 100
    assert sum(not _is_generated(p) for p in MODULES) > 80


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(SRC)) for p in MODULES])
def test_module_opens_with_a_docstring(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring and len(docstring.split()) >= 3, f"{path.relative_to(SRC)}: no opening docstring"


def test_no_hand_written_module_is_over_the_limit() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in MODULES
        if not _is_generated(p) and (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these along a real seam (over {MAX_LINES} lines): {long}"
