"""Typed access to decoded JSON that refuses wrong types with the field's path."""

from __future__ import annotations

import math
from typing import Any

from libs.common.errors import InvalidInput

_TYPE_NAMES: dict[type, str] = {str: "string", dict: "object", list: "array", bool: "boolean"}


def invalid(field: str, expected: str) -> InvalidInput:
    """The refusal for a field that is missing or of the wrong type."""
    return InvalidInput(f"{field} must be {expected}", code="invalid_field", field=field, expected=expected)


def required(obj: dict[str, Any], key: str, kind: type, *, path: str = "") -> Any:
    """A field that must be present and of `kind`."""
    value = obj.get(key)
    if value is None:
        raise invalid(_join(path, key), _TYPE_NAMES.get(kind, kind.__name__))
    return _checked(value, kind, _join(path, key))


def optional(obj: dict[str, Any], key: str, kind: type, *, path: str = "") -> Any:
    """A field that may be absent or null, else of `kind`."""
    value = obj.get(key)
    if value is None:
        return None
    return _checked(value, kind, _join(path, key))


def number(obj: dict[str, Any], key: str, *, path: str = "") -> float | None:
    """An optional finite JSON number (not a boolean); digit strings count, some vendors quote numbers.

    "nan", "inf" and 1e400 (which the JSON parser reads as infinity) are refused here, naming the field: the
    contract's models refuse them too, but later and without saying which result of a post held them.
    """
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid(_join(path, key), "number")
    try:
        found = float(value)  # an integer of 400 digits overflows rather than giving infinity
    except (ValueError, OverflowError):
        raise invalid(_join(path, key), "number") from None
    if not math.isfinite(found):
        raise invalid(_join(path, key), "finite number")
    return found


def objects(obj: dict[str, Any], key: str, *, path: str = "") -> list[dict[str, Any]]:
    """An optional array whose items must all be objects."""
    items = optional(obj, key, list, path=path) or []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"{_join(path, key)}[{index}]", "object")
    return items


def _checked(value: Any, kind: type, field: str) -> Any:
    if (kind is not bool and isinstance(value, bool)) or not isinstance(value, kind):
        raise invalid(field, _TYPE_NAMES.get(kind, kind.__name__))
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
