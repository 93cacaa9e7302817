"""What every setting's parser is made of: the refusal, and checks of JSON values by kind.

Each check takes the setting's key (or ``key.field``) so that a refusal names what was wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revaer.errors import UsageError

Json = Any


class ConfigValidationError(UsageError):
    """A setting value was refused; ``key`` names the setting (or ``key.field``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.reason = message


def show(value: Json) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


# JSON's names for its types, in the order they are tested (bool before int: True is an int too).
_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
    (dict, "an object"),
)


def kind(value: Json) -> str:
    if value is None:
        return "null"
    return next((name for t, name in _KINDS if isinstance(value, t)), type(value).__name__)


def expect_bool(key: str, value: Json) -> bool:
    if not isinstance(value, bool):
        raise ConfigValidationError(key, f"expected a boolean, got {kind(value)} {show(value)}")
    return value


def expect_int(key: str, value: Json, *, minimum: int, maximum: int = 2**31 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigValidationError(key, f"expected an integer, got {kind(value)} {show(value)}")
    if not minimum <= value <= maximum:
        raise ConfigValidationError(key, f"expected an integer from {minimum} to {maximum}, got {value}")
    return value


def expect_str(key: str, value: Json, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ConfigValidationError(key, f"expected a string, got {kind(value)} {show(value)}")
    if not allow_empty and not value.strip():
        raise ConfigValidationError(key, "expected a non-empty string")
    return value


def expect_object(key: str, value: Json, fields: Mapping[str, Json]) -> dict[str, Json]:
    """An object whose fields are a subset of ``fields`` (name -> default); missing ones get the default."""
    if not isinstance(value, dict):
        raise ConfigValidationError(key, f"expected an object, got {kind(value)} {show(value)}")
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ConfigValidationError(
            f"{key}.{unknown[0]}", f"unknown field (expected one of: {', '.join(sorted(fields))})"
        )
    return {name: value.get(name, default) for name, default in fields.items()}


def absolute_path(key: str, value: Json, *, allow_empty: bool) -> str:
    text = expect_str(key, value)
    if not text:
        if allow_empty:
            return text
        raise ConfigValidationError(key, "expected an absolute path, got an empty string")
    if not text.startswith("/"):
        raise ConfigValidationError(key, f"expected an absolute path, got {show(text)}")
    if ".." in text.split("/"):
        raise ConfigValidationError(key, f'expected a path without "..", got {show(text)}')
    if "\x00" in text:
        raise ConfigValidationError(key, "expected a path without NUL characters")
    return text
