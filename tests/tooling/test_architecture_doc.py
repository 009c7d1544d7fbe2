"""docs/ARCHITECTURE.md names every module of the package, and no module file that does not exist.

The rule, on the page's `##` / `###` sections (fenced code blocks left out), with paths relative to
`src/containerregistry`:

- A module is named when its path appears in backticks anywhere (`auth/_drive.py`; a top-level module is
  its file name, `_files.py`), or when its file name appears in backticks in a section whose heading
  names its package folder in backticks (a `_drive.py` row under "### `auth/`: ...").
- So a section headed by two folders names a module of either: the one table under "`aio/` and
  `_sync/`" (or "`images/_async/` and `images/_sync/`") covers each async source and its generated sync
  twin. A package's `__init__.py` is named by a heading that names its folder.
- Every `*.py` in backticks exists: a path with a `/` under `src/containerregistry` or the repository
  root (`scripts/unasync.py`); a bare file name in one of its section heading's folders, or, in a
  section whose heading names none, as the file name of some module of the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "containerregistry"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"

_FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_SECTION = re.compile(r"^(?=#{2,3} )", re.MULTILINE)
_PY_NAME = re.compile(r"`([^`\s*]+\.py)`")
_FOLDER = re.compile(r"`([^`\s]+/)`")


@dataclass
class Coverage:
    named: set[str] = field(default_factory=set)
    stale: list[tuple[str, str]] = field(default_factory=list)  # (section heading, name)


def coverage(text: str, modules: set[str], exists: set[str]) -> Coverage:
    """What `text` names of `modules` (paths relative to the package), and which of its names are stale.

    `exists` holds the other files a path may name (relative to the repository root)."""
    result = Coverage()
    file_names = {module.rsplit("/", 1)[-1] for module in modules}
    for section in _SECTION.split(_FENCE.sub("", text)):
        heading = section.split("\n", 1)[0]
        folders = _FOLDER.findall(heading)
        result.named.update(f"{folder}__init__.py" for folder in folders if f"{folder}__init__.py" in modules)
        for name in _PY_NAME.findall(section):
            if "/" in name:
                if name in modules:
                    result.named.add(name)
                elif name not in exists:
                    result.stale.append((heading, name))
            elif folders:
                hits = {f"{folder}{name}" for folder in folders} & modules
                result.named.update(hits)
                if not hits:
                    result.stale.append((heading, name))
            elif name in modules:
                result.named.add(name)
            elif name not in file_names:
                result.stale.append((heading, name))
    return result


def _modules() -> set[str]:
    return {path.relative_to(SRC).as_posix() for path in SRC.rglob("*.py")}


def _other_files() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for folder in ("scripts", "tests", "benchmarks", "examples")
        for path in (ROOT / folder).rglob("*.py")
    }


def test_every_module_is_named_and_every_named_module_exists() -> None:
    modules = _modules()
    assert len(modules) > 100  # a wrong SRC would make this pass on nothing
    found = coverage(ARCHITECTURE.read_text(encoding="utf-8"), modules, _other_files())
    missing = sorted(modules - found.named)
    assert missing == [], f"docs/ARCHITECTURE.md has no row for: {missing}"
    assert found.stale == [], f"docs/ARCHITECTURE.md names module files that do not exist: {found.stale}"


MODULES = {"_files.py", "aio/__init__.py", "aio/_pipeline.py", "_sync/_pipeline.py", "auth/_drive.py"}
PAGE = """# Map

```
aio/ | _sync/   `not_a_row.py` inside a code block counts for nothing
```

### `_files.py`: safe files

### `aio/` and `_sync/`: the clients
| `_pipeline.py` | the pipeline |

### `auth/`: auth
Runs through `auth/_drive.py`.
"""


def test_the_rule_on_a_small_page() -> None:
    found = coverage(PAGE, MODULES, set())
    assert found.named == MODULES  # the twin by its folder's heading, `__init__.py` by the heading alone
    assert found.stale == []


def test_a_missing_row_and_a_stale_one_are_found() -> None:
    page = PAGE.replace("| `_pipeline.py` | the pipeline |", "| `_old_pipeline.py` | moved away |")
    found = coverage(page, MODULES, set())
    assert MODULES - found.named == {"aio/_pipeline.py", "_sync/_pipeline.py"}
    assert found.stale == [("### `aio/` and `_sync/`: the clients", "_old_pipeline.py")]
    gone = coverage(PAGE + "\nSee `auth/_gone.py` and `_nowhere.py`.\n", MODULES, set())
    assert [name for _, name in gone.stale] == ["auth/_gone.py", "_nowhere.py"]
