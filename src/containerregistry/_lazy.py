"""PEP 562 lazy names for the package facades (`containerregistry.aio`, `containerregistry._sync`,
`containerregistry.images`, `containerregistry.aio.images`).

Each facade keeps its own table: `_LAZY_MODULES` (module, relative to the facade's package -> the public
names it provides), `_MODULE_OF` (the reverse) and `__all__`, next to the `TYPE_CHECKING` imports type
checkers read (tests/tooling/test_lazy_imports.py keeps the three equal). `lazy_attributes` gives it the
module-level `__getattr__` and `__dir__`: the first use of a name imports its module and binds every name
that module provides in the facade's namespace, where it then stays (`vars()` lists it). The top-level
package binds all its names at once instead (`containerregistry/__init__.py`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`(__getattr__, __dir__)` for the facade whose `globals()` is `namespace`."""

    def __getattr__(name: str) -> Any:
        """PEP 562: a public name not loaded yet; binds the names of its module."""
        module_name = namespace["_MODULE_OF"].get(name)
        if module_name is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        module = importlib.import_module(module_name, namespace["__package__"])
        for each in namespace["_LAZY_MODULES"][module_name]:
            namespace[each] = getattr(module, each)
        return namespace[name]

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]})

    return __getattr__, __dir__
