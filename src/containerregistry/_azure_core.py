"""Optional azure-core interop, at no import cost: our errors and pagers are also azure-core's when it is loaded.

Code written for the Azure SDK catches `azure.core.exceptions.ResourceNotFoundError` and checks pagers
against `azure.core.paging.ItemPaged`. Such code has imported azure-core itself, so when one of our
errors or pagers is created while azure-core's module is loaded (`sys.modules`), `azure_twin` makes it an
instance of a subclass of both ours and azure-core's class of the same role (made once per class, named
like ours): `except azure.core.exceptions.ResourceNotFoundError` and `isinstance(pager, ItemPaged)` hold,
and so does everything true of our class. Nothing here imports azure-core; without it (or before it is
imported) our classes are used as they are. `CONTAINERREGISTRY_AZURE_CORE=0` turns the twins off.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TypeVar

__all__ = ["azure_twin"]

T = TypeVar("T", bound=type)

#: Our class name -> (azure-core module, class name). Looked up along our class's MRO: the first wins.
_COUNTERPARTS = {
    "ClientAuthenticationError": ("azure.core.exceptions", "ClientAuthenticationError"),
    "ResourceNotFoundError": ("azure.core.exceptions", "ResourceNotFoundError"),
    "ResourceExistsError": ("azure.core.exceptions", "ResourceExistsError"),
    "HttpResponseError": ("azure.core.exceptions", "HttpResponseError"),
    "ServiceRequestError": ("azure.core.exceptions", "ServiceRequestError"),
    "ItemPaged": ("azure.core.paging", "ItemPaged"),
    "AsyncItemPaged": ("azure.core.async_paging", "AsyncItemPaged"),
}
_twins: dict[tuple[type, type], type] = {}
_ENABLED = os.environ.get("CONTAINERREGISTRY_AZURE_CORE", "1") != "0"


def _counterpart(cls: type) -> type | None:
    for base in cls.__mro__:
        entry = _COUNTERPARTS.get(base.__name__)
        if entry is not None and base.__module__.startswith("containerregistry"):
            module = sys.modules.get(entry[0])
            found: Any = getattr(module, entry[1], None) if module is not None else None
            return found if isinstance(found, type) else None
    return None


#: What azure-core's `AzureError.__init__` records of the exception being handled: not for pickling.
_UNPICKLED = ("exc_type", "exc_value", "exc_traceback", "inner_exception")


def _reduce_error(error: BaseException) -> tuple[Any, ...]:
    """Pickle a twin as our own class (the twin is rebuilt on unpickling where azure-core is loaded)."""
    ours = type(error).__mro__[1]
    state = {k: (None if k in _UNPICKLED else v) for k, v in vars(error).items()}
    return _rebuild_error, (ours, error.args, state)


def _rebuild_error(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    error = BaseException.__new__(azure_twin(cls))
    error.args = args
    error.__dict__.update(state)
    return error


def azure_twin(cls: T) -> T:
    """`cls`, or (when azure-core's counterpart is loaded) a subclass of `cls` and that counterpart."""
    if not _ENABLED or "azure.core" not in sys.modules:
        return cls
    azure = _counterpart(cls)
    if azure is None or issubclass(cls, azure):
        return cls
    twin = _twins.get((cls, azure))
    if twin is None:
        namespace: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
        if issubclass(cls, BaseException):
            namespace["__reduce__"] = _reduce_error
        twin = type(cls.__name__, (cls, azure), namespace)
        _twins[(cls, azure)] = twin
    return twin  # type: ignore[return-value]
