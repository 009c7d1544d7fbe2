"""Each protocol module's `__all__` lists exactly the public names it defines, so the API is deliberate."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

import containerregistry.exceptions as exceptions

MODULES = [
    "containerregistry.protocol.digest",
    "containerregistry.protocol.http",
    "containerregistry.protocol.manifests",
    "containerregistry.protocol.media_types",
    "containerregistry.protocol.models",
    "containerregistry.protocol.reference",
    "containerregistry.protocol.results",
    "containerregistry.protocol.upload",
]
# Module-level names deliberately not exported (internal limits).
INTERNAL = {"SUPPORTED_ALGORITHMS", "MAX_NAME_LENGTH"}
# Errors a protocol module raises and re-exports from the one error tree, where they are defined.
REEXPORTED_ERRORS = {"containerregistry.protocol.models": {"ManifestFormatError"}}


def _defined_at_top_level(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_") and n != "__all__"}


@pytest.mark.parametrize("name", MODULES)
def test_all_matches_public_definitions(name: str) -> None:
    module = importlib.import_module(name)
    defined = _defined_at_top_level(inspect.getsource(module))
    reexported = REEXPORTED_ERRORS.get(name, set())
    for error in reexported:
        assert getattr(module, error) is getattr(exceptions, error)
    assert set(module.__all__) == (defined - INTERNAL) | reexported
    assert len(set(module.__all__)) == len(module.__all__)
    for exported in module.__all__:
        assert hasattr(module, exported)
