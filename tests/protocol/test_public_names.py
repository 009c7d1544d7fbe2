"""Each protocol module's `__all__` lists exactly the public names it defines, so the API is deliberate.

A module split along a seam keeps exporting what it exported before: those names are defined in the new
module (which exports them too) and re-exported, so `__all__` may also name objects defined in another
protocol module that lists them.
"""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

import containerregistry.exceptions as exceptions

MODULES = [
    "containerregistry.protocol.acr",
    "containerregistry.protocol.acr_values",
    "containerregistry.protocol.descriptors",
    "containerregistry.protocol.digest",
    "containerregistry.protocol.http",
    "containerregistry.protocol.manifests",
    "containerregistry.protocol.media_types",
    "containerregistry.protocol.models",
    "containerregistry.protocol.reference",
    "containerregistry.protocol.results",
    "containerregistry.protocol.scopes",
    "containerregistry.protocol.timestamps",
    "containerregistry.protocol.upload",
]
# Module-level names deliberately not exported (internal limits).
INTERNAL = {"SUPPORTED_ALGORITHMS", "MAX_NAME_LENGTH"}


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
    reexported = set(module.__all__) - defined
    for exported in reexported:
        home = importlib.import_module(getattr(module, exported).__module__)
        assert home is not module, exported
        if home is exceptions:
            continue  # an error of the one exception tree, re-exported where it was always imported from
        assert home.__name__.startswith("containerregistry.protocol."), exported
        assert exported in home.__all__, (
            f"{exported} is re-exported from {home.__name__}, which does not export it"
        )
    assert set(module.__all__) - reexported == defined - INTERNAL
    assert len(set(module.__all__)) == len(module.__all__)
    for exported in module.__all__:
        assert hasattr(module, exported)
