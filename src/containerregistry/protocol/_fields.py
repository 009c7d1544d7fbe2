"""Typed reads of JSON object fields: the one field reader of the OCI models and ACR's metadata. Pure.

A `FieldReader` checks that a field has the JSON type the model needs and raises its `error` class with
the field's path (`manifests[2].platform.os must be a string, got number`). Its two policies are the
two wire formats' own: OCI manifests (`protocol.models`) raise `ManifestFormatError` and treat an
explicit `null` as a wrong type, since the image spec has no nullable field; ACR's `/acr/v1` answers
(`protocol.acr`) raise `ValueError` and read `null` as absent, as the Azure SDK does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FieldReader", "type_name", "where"]


def where(path: str, key: str) -> str:
    """The path of `key` inside the object at `path` (`config.size`, or `size` at the top)."""
    return f"{path}.{key}" if path else key


def type_name(value: Any) -> str:
    """The JSON name of a value's type, for messages (`null`, `boolean`, `number`, `string`, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class FieldReader:
    """Reads the fields of JSON objects, raising `error` with the field's path.

    Args:
        error: the exception class raised (a `ValueError` subclass).
        null_is_absent: read `"key": null` as an absent key (else it is a value of the wrong type).
    """

    __slots__ = ("error", "null_is_absent")

    def __init__(self, error: type[ValueError] = ValueError, *, null_is_absent: bool = False) -> None:
        self.error = error
        self.null_is_absent = null_is_absent

    def _present(self, d: Mapping[str, Any], key: str, path: str, required: bool) -> bool:
        if key in d and not (self.null_is_absent and d[key] is None):
            return True
        if required:
            raise self.error(f"{where(path, key)} is required but missing")
        return False

    def require(self, d: Mapping[str, Any], key: str, path: str = "") -> None:
        """Raise unless `key` is present (whatever its type)."""
        self._present(d, key, path, True)

    def object(self, value: Any, what: str) -> Mapping[str, Any]:
        """`value` itself when it is a JSON object; `what` names it in the error (`config`, `the tag`)."""
        if not isinstance(value, Mapping):
            raise self.error(f"{what or 'document'} must be a JSON object, got {type_name(value)}")
        return value

    def string(self, d: Mapping[str, Any], key: str, path: str = "", *, required: bool = False) -> str | None:
        """The string at `key`; None when absent (unless `required`)."""
        if not self._present(d, key, path, required):
            return None
        value = d[key]
        if not isinstance(value, str):
            raise self.error(f"{where(path, key)} must be a string, got {type_name(value)}")
        return value

    def strings(self, d: Mapping[str, Any], key: str, path: str = "") -> list[str] | None:
        """A copy of the array of strings at `key`; None when absent."""
        if not self._present(d, key, path, False):
            return None
        value = d[key]
        if not isinstance(value, list):
            raise self.error(f"{where(path, key)} must be an array of strings, got {type_name(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"{where(path, key)}[{i}] must be a string, got {type_name(item)}")
        return list(value)

    def integer(
        self,
        d: Mapping[str, Any],
        key: str,
        path: str = "",
        *,
        required: bool = False,
        non_negative: bool = False,
    ) -> int | None:
        """The integer at `key` (`true` is not one, nor is `1.0`); None when absent (unless `required`)."""
        if not self._present(d, key, path, required):
            return None
        value = d[key]
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(f"{where(path, key)} must be an integer, got {type_name(value)}")
        if non_negative and value < 0:
            raise self.error(f"{where(path, key)} must not be negative, got {value}")
        return value

    def boolean(self, d: Mapping[str, Any], key: str, path: str = "") -> bool | None:
        """`true` or `false` at `key`; None when absent."""
        if not self._present(d, key, path, False):
            return None
        value = d[key]
        if not isinstance(value, bool):
            raise self.error(f"{where(path, key)} must be true or false, got {type_name(value)}")
        return value

    def array(
        self, d: Mapping[str, Any], key: str, path: str = "", *, required: bool = False, of: str = ""
    ) -> list[Any] | None:
        """The array at `key` (not copied); `of` names its items in the error (`descriptors`)."""
        if not self._present(d, key, path, required):
            return None
        value = d[key]
        if not isinstance(value, list):
            items = f" of {of}" if of else ""
            raise self.error(f"{where(path, key)} must be an array{items}, got {type_name(value)}")
        return value
