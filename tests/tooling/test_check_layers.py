"""scripts/check_layers.py on small fake package trees, and on the real tree with docs/layers.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts.check_layers import (
    DEFAULT_CONTRACT,
    DEFAULT_SRC,
    PACKAGE,
    ROOT,
    ContractError,
    Report,
    check,
    collect_imports,
    load_contract,
)

# top -> middle (a | b, independent) -> low; `side` may import only `low`.
CONTRACT = """
[[layers]]
name = "top"
components = ["pkg.top"]

[[layers]]
name = "side"
components = ["pkg.side"]

[[layers]]
name = "middle"
components = ["pkg.a", "pkg.b"]

[[layers]]
name = "low"
components = ["pkg.low", "pkg"]

[only]
"pkg.side" = ["pkg.low"]
"""

CLEAN = {
    "pkg/__init__.py": "",
    "pkg/low.py": "VALUE = 1\n",
    "pkg/a/__init__.py": "from . import impl\nfrom .impl import thing\n",
    "pkg/a/impl.py": "from ..low import VALUE\n\nthing = VALUE\n",
    "pkg/b.py": "import pkg.low\n",
    "pkg/side/__init__.py": "from pkg import low\n",
    "pkg/top/__init__.py": (
        "from typing import TYPE_CHECKING\n"
        "from .. import a, b\n"
        "if TYPE_CHECKING:\n"
        "    from ..side import low as side_low\n"
        "def later():\n"
        "    from pkg.a.impl import thing\n"
        "    return thing\n"
    ),
}


def make_tree(
    tmp_path: Path, files: dict[str, str], contract: str = CONTRACT, extra: str = ""
) -> tuple[Path, Path]:
    src = tmp_path / "src"
    for name, text in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    contract_path = tmp_path / "layers.toml"
    contract_path.write_text(contract + textwrap.dedent(extra))
    return src, contract_path


def run(tmp_path: Path, changes: dict[str, str], extra: str = "") -> Report:
    src, contract_path = make_tree(tmp_path, {**CLEAN, **changes}, extra=extra)
    return check(src, contract_path, package="pkg")


def test_relative_absolute_lazy_and_type_checking_imports_resolve_to_modules(tmp_path: Path) -> None:
    src, _ = make_tree(tmp_path, CLEAN)
    _, edges = collect_imports(src, "pkg")
    found = {(e.importer, e.imported) for e in edges}
    assert found == {
        ("pkg.a", "pkg.a.impl"),  # `from . import impl` names the submodule; `from .impl import thing` too
        ("pkg.a.impl", "pkg.low"),  # `from ..low import VALUE` from a module of a subpackage
        ("pkg.b", "pkg.low"),  # `import pkg.low`
        ("pkg.side", "pkg.low"),  # `from pkg import low`: a submodule, not the package
        ("pkg.top", "pkg.a"),  # `from .. import a, b` from a package's __init__
        ("pkg.top", "pkg.b"),
        ("pkg.top", "pkg.side"),  # under TYPE_CHECKING: counted
        ("pkg.top", "pkg.a.impl"),  # inside a function: counted
    }


def test_a_tree_that_keeps_the_contract_passes(tmp_path: Path) -> None:
    assert run(tmp_path, {}).errors == []


def test_an_upward_import_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    report = run(tmp_path, {"pkg/__init__.py": "VALUE = 1\n\n\ndef f():\n    from .a import impl\n"})
    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.startswith("src/pkg/__init__.py:5: pkg imports pkg.a.impl: ")
    assert "'middle' is above 'low'" in error


def test_components_of_one_layer_are_independent(tmp_path: Path) -> None:
    report = run(tmp_path, {"pkg/b.py": "from .a import thing\n"})
    assert len(report.errors) == 1
    assert "pkg.b imports pkg.a" in report.errors[0]
    assert "independent" in report.errors[0]


def test_an_only_list_narrows_what_a_component_may_import(tmp_path: Path) -> None:
    report = run(tmp_path, {"pkg/side/__init__.py": "from pkg import b\n"})
    assert len(report.errors) == 1
    assert "pkg.side imports pkg.b: pkg.side may import only pkg.low" in report.errors[0]


def test_the_root_package_stands_for_its_init_only(tmp_path: Path) -> None:
    # pkg/new.py would be swallowed by a prefix match on "pkg"; it must be given a component instead.
    report = run(tmp_path, {"pkg/new.py": ""})
    assert report.errors == ["pkg.new: belongs to no component of layers.toml; give it a layer"]


def test_a_component_that_names_nothing_is_a_contract_error(tmp_path: Path) -> None:
    src, contract_path = make_tree(
        tmp_path, CLEAN, contract=CONTRACT.replace('"pkg.b"]', '"pkg.b", "pkg.gone"]')
    )
    assert check(src, contract_path, package="pkg").errors == [
        f"contract: component pkg.gone names no module or package under {src}"
    ]


LISTED = """
[[exceptions]]
importer = "pkg"
imported = "pkg.a.impl"
issue = "issue 99: the root stops reaching up"
"""


def test_a_listed_exception_is_allowed_and_a_stale_one_fails(tmp_path: Path) -> None:
    upward = {"pkg/__init__.py": "def f():\n    from .a import impl\n"}
    assert run(tmp_path / "listed", upward, extra=LISTED).errors == []
    stale = run(tmp_path / "stale", {}, extra=LISTED).errors
    assert stale == [
        "contract: stale exception pkg -> pkg.a.impl (no such violating import any more); "
        "remove it from the contract"
    ]


def test_an_exception_covers_only_its_own_import(tmp_path: Path) -> None:
    upward = {"pkg/__init__.py": "def f():\n    from .a import impl\n    from . import b\n"}
    errors = run(tmp_path, upward, extra=LISTED).errors
    assert len(errors) == 1
    assert errors[0].startswith("src/pkg/__init__.py:3: pkg imports pkg.b: ")


CYCLE = {
    "pkg/low.py": "def f():\n    from .b import x\n",
    "pkg/b.py": "import pkg.low\nx = 1\n",
}
CYCLE_LISTED = """
[[exceptions]]
importer = "pkg.low"
imported = "pkg.b"
issue = "issue 99"

[[allowed_cycles]]
components = ["pkg.low", "pkg.b"]
issue = "issue 99"
"""


def test_a_cycle_between_components_fails_even_when_its_import_is_listed(tmp_path: Path) -> None:
    only_edge = CYCLE_LISTED.split("[[allowed_cycles]]")[0]
    errors = run(tmp_path, CYCLE, extra=only_edge).errors
    assert errors == [
        "import cycle between pkg.b, pkg.low: pkg.b -> pkg.low (src/pkg/b.py:1); pkg.low -> pkg.b (src/pkg/low.py:2)"
    ]


def test_a_listed_cycle_is_allowed_and_a_stale_one_fails(tmp_path: Path) -> None:
    assert run(tmp_path / "listed", CYCLE, extra=CYCLE_LISTED).errors == []
    errors = run(tmp_path / "stale", {}, extra=CYCLE_LISTED).errors
    assert (
        "contract: stale allowed cycle pkg.b, pkg.low (it no longer occurs); remove it from the contract"
        in errors
    )


def test_the_real_tree_keeps_docs_layers_toml() -> None:
    report = check(DEFAULT_SRC, DEFAULT_CONTRACT)
    assert report.errors == []
    assert report.modules > 50 and report.imports > 100  # it really read the package


def test_the_command_fails_on_a_violation(tmp_path: Path) -> None:
    src, contract_path = make_tree(tmp_path, {**CLEAN, "pkg/b.py": "from .a import thing\n"})
    script = ROOT / "scripts" / "check_layers.py"
    args = [
        sys.executable,
        str(script),
        "--src",
        str(src),
        "--contract",
        str(contract_path),
        "--package",
        "pkg",
    ]
    failed = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode == 1
    assert "pkg.b imports pkg.a" in failed.stderr
    (src / "pkg" / "b.py").write_text("import pkg.low\n")
    passed = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert passed.returncode == 0, passed.stderr


def test_architecture_md_has_a_section_for_every_component() -> None:
    """docs/ARCHITECTURE.md stays the map: each component of the contract has a `###` heading naming it."""
    headings = [
        line
        for line in (ROOT / "docs" / "ARCHITECTURE.md").read_text().splitlines()
        if line.startswith("### ")
    ]
    missing = []
    for component in load_contract(DEFAULT_CONTRACT).components():
        if component == PACKAGE:
            name = f"`{PACKAGE}`"
        else:
            relative = component.removeprefix(PACKAGE + ".").replace(".", "/")
            is_package = (DEFAULT_SRC / PACKAGE / relative).is_dir()
            name = f"`{relative}/`" if is_package else f"`{relative}.py`"
        if not any(name in heading for heading in headings):
            missing.append(name)
    assert missing == [], f"docs/ARCHITECTURE.md has no section for {missing}"


# A module component inside a package component, in a higher layer (as containerregistry.aio.images sits
# in the facade layer while the rest of containerregistry.aio is in the clients layer).
NESTED_CONTRACT = """
[[layers]]
name = "face"
components = ["pkg.a.face"]

[[layers]]
name = "engine"
components = ["pkg.engine"]

[[layers]]
name = "clients"
components = ["pkg.a"]

[[layers]]
name = "root"
components = ["pkg"]
"""
NESTED = {
    "pkg/__init__.py": "",
    "pkg/a/__init__.py": "from .client import X\n",
    "pkg/a/client.py": "X = 1\n",
    "pkg/a/face.py": "from ..engine import run\nfrom .client import X\n",
    "pkg/engine.py": "from .a.client import X\n\n\ndef run():\n    return X\n",
}


def test_a_module_component_inside_a_package_component_is_checked_in_its_own_layer(tmp_path: Path) -> None:
    src, contract_path = make_tree(tmp_path / "clean", NESTED, contract=NESTED_CONTRACT)
    report = check(src, contract_path, package="pkg")
    # pkg.a.face is owned by its own component (the longest name), not by pkg.a: its import of the engine
    # goes down a layer, and there is no pkg.a <-> pkg.engine cycle.
    assert report.errors == []
    assert report.graph["pkg.a.face"] == {"pkg.engine", "pkg.a"}
    assert report.graph["pkg.a"] == set()
    # The rest of the package may not reach up into it.
    upward = {**NESTED, "pkg/a/client.py": "X = 1\n\n\ndef f():\n    from . import face\n"}
    src, contract_path = make_tree(tmp_path / "upward", upward, contract=NESTED_CONTRACT)
    errors = check(src, contract_path, package="pkg").errors
    assert len(errors) == 2, errors
    assert errors[0].startswith("src/pkg/a/client.py:5: pkg.a.client imports pkg.a.face: ")
    assert "'face' is above 'clients'" in errors[0]
    assert errors[1].startswith("import cycle between pkg.a, pkg.a.face")


# Two subpackages inside one component that must not import each other (as images/_async and its
# generated twin images/_sync inside containerregistry.images).
INDEPENDENT = """
[[independent]]
members = ["pkg.a._async", "pkg.a._sync"]
"""
ENGINES = {
    "pkg/a/_async/__init__.py": "",
    "pkg/a/_async/engine.py": "from ..impl import thing\n",
    "pkg/a/_sync/__init__.py": "",
    "pkg/a/_sync/engine.py": "from ..impl import thing\n",
}


def test_independent_members_inside_one_component_may_not_import_each_other(tmp_path: Path) -> None:
    assert run(tmp_path / "clean", ENGINES, extra=INDEPENDENT).errors == []
    crossing = {**ENGINES, "pkg/a/_sync/engine.py": "from ..impl import thing\nfrom .._async import engine\n"}
    errors = run(tmp_path / "crossing", crossing, extra=INDEPENDENT).errors
    assert errors == [
        "src/pkg/a/_sync/engine.py:2: pkg.a._sync.engine imports pkg.a._async.engine: "
        "pkg.a._sync and pkg.a._async are independent ([[independent]])"
    ]
    # Without the group the same import is inside one component, and passes: the group is what sees it.
    assert run(tmp_path / "unlisted", crossing).errors == []
    # A listed exception excuses it, and goes stale like any other.
    listed = INDEPENDENT + (
        '[[exceptions]]\nimporter = "pkg.a._sync.engine"\nimported = "pkg.a._async.engine"\nissue = "issue 99"\n'
    )
    assert run(tmp_path / "listed", crossing, extra=listed).errors == []
    assert run(tmp_path / "stale", ENGINES, extra=listed).errors == [
        "contract: stale exception pkg.a._sync.engine -> pkg.a._async.engine (no such violating import any "
        "more); remove it from the contract"
    ]


def test_a_malformed_independent_group_is_a_contract_error(tmp_path: Path) -> None:
    nested = '[[independent]]\nmembers = ["pkg.a", "pkg.a._sync"]\n'
    with pytest.raises(ContractError, match=r"member pkg\.a\._sync is inside member pkg\.a"):
        run(tmp_path / "nested", ENGINES, extra=nested)
    alone = '[[independent]]\nmembers = ["pkg.a._sync"]\n'
    with pytest.raises(ContractError, match="two members or more"):
        run(tmp_path / "alone", ENGINES, extra=alone)
    gone = '[[independent]]\nmembers = ["pkg.a._sync", "pkg.a._gone"]\n'
    assert run(tmp_path / "gone", ENGINES, extra=gone).errors == [
        f"contract: [[independent]] names pkg.a._gone, which is no module or package under {tmp_path / 'gone' / 'src'}"
    ]


@pytest.mark.parametrize(
    ("module", "line"),
    [
        # The generated sync engine reaching into its async source ...
        ("images/_sync/_copy.py", "from .._async import _stores\n"),
        # ... the async engine into its sync twin, or into the sync clients ...
        ("images/_async/_copy.py", "from .._sync import _stores\n"),
        ("images/_async/_copy.py", "from ..._sync import ContainerRegistryClient\n"),
        # ... and the async whole-image API into a sync engine.
        ("aio/images.py", "from ..images._sync._prune import prune as sync_prune\n"),
    ],
)
def test_the_real_contract_keeps_the_engines_and_their_twins_apart(
    tmp_path: Path, module: str, line: str
) -> None:
    src = tmp_path / "src"
    shutil.copytree(DEFAULT_SRC / PACKAGE, src / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    path = src / PACKAGE / module
    path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    errors = check(src, DEFAULT_CONTRACT).errors
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"src/{PACKAGE}/{module}:")
    assert "are independent ([[independent]])" in errors[0]
