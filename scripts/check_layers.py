#!/usr/bin/env python3
"""Check the layer contract (docs/layers.toml) against the imports of src/containerregistry.

    python scripts/check_layers.py            # exit 1 and name each violation when the contract is broken
    python scripts/check_layers.py --graph    # also print which component imports which

Every module is parsed (never imported) and every import of the package is collected: module-level,
inside functions and under `if TYPE_CHECKING:`, with relative imports (`from . import x`,
`from ..protocol.http import y`) resolved to absolute module names. Each import that crosses from one
component to another must go to a lower layer (and, for a component with an `[only]` list, to one of
the listed components); the component graph must have no cycle; and the members of each
`[[independent]]` group (modules or subpackages, which may sit inside one component) never import
each other. Known debts are listed in the contract
as `[[exceptions]]` and `[[allowed_cycles]]`; an entry that no longer occurs is an error too, so the
contract can only get stricter. The rules themselves are written at the top of docs/layers.toml.

Dynamic imports (`importlib.import_module("...")`) are not seen: a lazy public name keeps a
`TYPE_CHECKING` import beside it (as `transport/__init__.py` does), which mypy needs anyway.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dev venv runs 3.11+
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONTRACT = ROOT / "docs" / "layers.toml"
DEFAULT_SRC = ROOT / "src"
PACKAGE = "containerregistry"


@dataclass(frozen=True)
class Import:
    """One import statement's edge: `importer` (a module) imports `imported` (a module) at `path:line`."""

    importer: str
    imported: str
    path: str
    line: int

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Contract:
    layers: list[tuple[str, list[str]]]
    only: dict[str, list[str]] = field(default_factory=dict)
    exceptions: dict[tuple[str, str], str] = field(default_factory=dict)
    allowed_cycles: list[tuple[frozenset[str], str]] = field(default_factory=list)
    # Groups of modules or packages that must not import each other, even inside one component.
    independent: list[list[str]] = field(default_factory=list)

    def components(self) -> list[str]:
        return [c for _, comps in self.layers for c in comps]

    def layer_of(self, component: str) -> int:
        for index, (_, comps) in enumerate(self.layers):
            if component in comps:
                return index
        raise KeyError(component)


class ContractError(Exception):
    """The contract file itself is malformed."""


def load_contract(path: Path) -> Contract:
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        layers = [(str(layer["name"]), [str(c) for c in layer["components"]]) for layer in data["layers"]]
        only = {str(k): [str(c) for c in v] for k, v in data.get("only", {}).items()}
        exceptions: dict[tuple[str, str], str] = {}
        for entry in data.get("exceptions", []):
            key = (str(entry["importer"]), str(entry["imported"]))
            if key in exceptions:
                raise ContractError(f"{path}: exception {key[0]} -> {key[1]} is listed twice")
            exceptions[key] = str(entry["issue"])
        cycles = [
            (frozenset(str(c) for c in e["components"]), str(e["issue"]))
            for e in data.get("allowed_cycles", [])
        ]
        independent = [[str(m) for m in group["members"]] for group in data.get("independent", [])]
    except (KeyError, TypeError) as exc:
        raise ContractError(f"{path}: malformed contract ({exc!r}); see the rules at its top") from exc
    for members in independent:
        if len(members) < 2:
            raise ContractError(f"{path}: an [[independent]] group needs two members or more: {members}")
        for a in members:
            for b in members:
                if a != b and a.startswith(b + "."):
                    raise ContractError(f"{path}: [[independent]] member {a} is inside member {b}")
    return Contract(
        layers=layers, only=only, exceptions=exceptions, allowed_cycles=cycles, independent=independent
    )


def discover_modules(src: Path, package: str) -> dict[str, Path]:
    """Module name -> file, for every .py file of `package` under `src` (packages as their __init__.py)."""
    modules: dict[str, Path] = {}
    for path in sorted((src / package).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _longest_known(name: str, known: set[str]) -> str | None:
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def collect_imports(src: Path, package: str) -> tuple[dict[str, Path], list[Import]]:
    """Every import of `package` made by a module of `package`, resolved to a module of `package`."""
    modules = discover_modules(src, package)
    known = set(modules)
    edges: list[Import] = []
    seen: set[Import] = set()
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        rel = path.relative_to(src.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = module.split(".") if is_package else module.split(".")[:-1]
                    up = node.level - 1
                    if up > len(base_parts) - 1:
                        raise ContractError(f"{rel}:{node.lineno}: relative import goes above the package")
                    base_parts = base_parts[: len(base_parts) - up] if up else base_parts
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in known else base)
            else:
                continue
            for target in targets:
                if target != package and not target.startswith(package + "."):
                    continue
                resolved = _longest_known(target, known)
                if resolved is None or resolved == module:
                    continue
                edge = Import(module, resolved, rel, node.lineno)
                if edge not in seen:
                    seen.add(edge)
                    edges.append(edge)
    return modules, edges


def component_of(module: str, components: Iterable[str], package: str) -> str | None:
    best: str | None = None
    for component in components:
        if component == package:
            matches = module == package
        else:
            matches = module == component or module.startswith(component + ".")
        if matches and (best is None or len(component) > len(best)):
            best = component
    return best


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            members: set[str] = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                members.add(top)
                if top == node:
                    break
            if len(members) > 1:
                found.append(frozenset(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _member_of(module: str, group: list[str]) -> str | None:
    for member in group:
        if module == member or module.startswith(member + "."):
            return member
    return None


def _independent_members(edge: Import, groups: list[list[str]]) -> tuple[str, str] | None:
    """The two members of an `[[independent]]` group that `edge` connects, if it connects any."""
    for group in groups:
        source, target = _member_of(edge.importer, group), _member_of(edge.imported, group)
        if source is not None and target is not None and source != target:
            return source, target
    return None


@dataclass
class Report:
    errors: list[str]
    modules: int
    imports: int
    graph: dict[str, set[str]]


def check(src: Path, contract_path: Path, package: str = PACKAGE) -> Report:
    """Check the tree under `src` against the contract; the report's `errors` is empty when it holds."""
    contract = load_contract(contract_path)
    modules, edges = collect_imports(src, package)
    errors: list[str] = []

    components = contract.components()
    seen: set[str] = set()
    for component in components:
        if component in seen:
            errors.append(f"contract: {component} is in more than one layer")
        seen.add(component)
        if component not in modules:
            errors.append(f"contract: component {component} names no module or package under {src}")
    for holder, permitted in contract.only.items():
        for name in [holder, *permitted]:
            if name not in seen:
                errors.append(f"contract: [only] names {name}, which is in no layer")
    for members, _ in contract.allowed_cycles:
        for name in sorted(members - seen):
            errors.append(f"contract: [[allowed_cycles]] names {name}, which is in no layer")
    for group in contract.independent:
        for name in group:
            if name not in modules:
                errors.append(
                    f"contract: [[independent]] names {name}, which is no module or package under {src}"
                )

    owner_of: dict[str, str] = {}
    for module in modules:
        owner = component_of(module, components, package)
        if owner is None:
            errors.append(f"{module}: belongs to no component of {contract_path.name}; give it a layer")
        else:
            owner_of[module] = owner
    if errors:
        return Report(errors, len(modules), len(edges), {})

    graph: dict[str, set[str]] = {c: set() for c in components}
    witnesses: dict[tuple[str, str], Import] = {}
    used_exceptions: set[tuple[str, str]] = set()
    for edge in edges:
        apart = _independent_members(edge, contract.independent)
        if apart is not None:
            key = (edge.importer, edge.imported)
            if key in contract.exceptions:
                used_exceptions.add(key)
            else:
                errors.append(
                    f"{edge.where()}: {edge.importer} imports {edge.imported}: {apart[0]} and {apart[1]} "
                    "are independent ([[independent]])"
                )
            continue
        source, target = owner_of[edge.importer], owner_of[edge.imported]
        if source == target:
            continue
        graph[source].add(target)
        witnesses.setdefault((source, target), edge)
        source_layer, target_layer = contract.layer_of(source), contract.layer_of(target)
        if target_layer < source_layer:
            why = f"layer {contract.layers[target_layer][0]!r} is above {contract.layers[source_layer][0]!r}"
        elif target_layer == source_layer:
            why = f"both are in layer {contract.layers[source_layer][0]!r}, whose components are independent"
        elif source in contract.only and target not in contract.only[source]:
            why = f"{source} may import only {', '.join(contract.only[source])}"
        else:
            continue
        key = (edge.importer, edge.imported)
        if key in contract.exceptions:
            used_exceptions.add(key)
            continue
        errors.append(f"{edge.where()}: {edge.importer} imports {edge.imported}: {why}")

    for key in sorted(set(contract.exceptions) - used_exceptions):
        errors.append(
            f"contract: stale exception {key[0]} -> {key[1]} (no such violating import any more); "
            "remove it from the contract"
        )

    cycles = _cycles(graph)
    allowed = {members for members, _ in contract.allowed_cycles}
    for cycle in cycles:
        if cycle in allowed:
            continue
        links = [
            f"{a} -> {b} ({witnesses[a, b].where()})" for a in sorted(cycle) for b in sorted(graph[a] & cycle)
        ]
        errors.append(f"import cycle between {', '.join(sorted(cycle))}: {'; '.join(links)}")
    for members in sorted(allowed - set(cycles), key=sorted):
        errors.append(
            f"contract: stale allowed cycle {', '.join(sorted(members))} (it no longer occurs); "
            "remove it from the contract"
        )
    return Report(errors, len(modules), len(edges), graph)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contract", type=Path, default=DEFAULT_CONTRACT)
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC)
    parser.add_argument("--package", default=PACKAGE)
    parser.add_argument("--graph", action="store_true", help="print the component import graph")
    args = parser.parse_args(argv)
    try:
        report = check(args.src, args.contract, args.package)
    except ContractError as exc:
        print(f"check_layers: {exc}", file=sys.stderr)
        return 1
    if args.graph:
        for component, targets in sorted(report.graph.items()):
            print(f"{component} -> {', '.join(sorted(targets)) or '(nothing)'}")
    for error in report.errors:
        print(error, file=sys.stderr)
    if report.errors:
        print(f"check_layers: {len(report.errors)} violation(s) of {args.contract}", file=sys.stderr)
        return 1
    contract = load_contract(args.contract)
    print(
        f"check_layers: {report.modules} modules, {report.imports} imports: the contract holds "
        f"({len(contract.exceptions)} listed exceptions, {len(contract.allowed_cycles)} listed cycles)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
