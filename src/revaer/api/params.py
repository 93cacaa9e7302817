"""Request parsing shared by both APIs: one parser per kind of value.

The parsers raise ``ParamError`` (a ``ValueError``); each API turns it into its own dialect
(problem+json on ``/v1``, qBittorrent's plain-text 400 on ``/api/v2``). The lenient forms mirror
qBittorrent's own conversions (``QString::toInt``, ``Utils::String::parseBool``), where a value that
does not parse means "not given" rather than an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Final, Literal, TypeVar, overload

from revaer.errors import UsageError

INFO_HASH_RE: Final = re.compile(r"[0-9a-fA-F]{40}")
# A v1 info-hash in base32, as magnet links may carry it.
BASE32_INFO_HASH_RE: Final = re.compile(r"[A-Za-z2-7]{32}")
ALL: Final = "all"

N = TypeVar("N", int, float)


class ParamError(UsageError):
    """A request parameter that does not parse; ``field`` names it when the caller said which."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInfoHashError(ParamError):
    """A value that should be an info-hash and is not."""


def _subject(text: str | None, field: str | None) -> str:
    return f"field '{field}'" if field is not None else f"'{text}'"


def is_info_hash(text: str) -> bool:
    """40 hex characters, any case (the v1 hash, or a v2 hash truncated: qBittorrent's torrent id)."""
    return INFO_HASH_RE.fullmatch(text) is not None


def is_base32_info_hash(text: str) -> bool:
    """32 base32 characters: a v1 info-hash as some magnet links write it."""
    return BASE32_INFO_HASH_RE.fullmatch(text) is not None


def info_hash(text: str) -> str:
    """``text`` as a lower-case info-hash, else InvalidInfoHashError."""
    t = text.strip()
    if not is_info_hash(t):
        raise InvalidInfoHashError(f"'{text}' is not an info-hash (40 hex characters)")
    return t.lower()


@overload
def parse_bool(text: str | None, *, strict: Literal[False] = False) -> bool | None: ...
@overload
def parse_bool(text: str | None, *, strict: Literal[True], field: str | None = None) -> bool: ...
def parse_bool(text: str | None, *, strict: bool = False, field: str | None = None) -> bool | None:
    """``true``/``false`` in any case; anything else (or nothing) is None.

    ``strict`` (``/v1`` forms): ``1``/``0`` too, and anything else is ParamError.
    """
    t = text.strip().lower() if text is not None else None
    if t == "true" or (strict and t == "1"):
        return True
    if t == "false" or (strict and t == "0"):
        return False
    if strict:
        raise ParamError(f"{_subject(text, field)} must be true or false", field=field)
    return None


def _number(
    text: str | None,
    convert: Callable[[str], N],
    default: N | None,
    strict: bool,
    field: str | None,
    what: str,
) -> N:
    """``convert(text)``; empty or missing is ``default``; garbage is ParamError, or ``default`` when
    not ``strict``. A ``default`` of None makes empty an error too."""
    t = text.strip() if text is not None else ""
    if t:
        try:
            return convert(t)
        except ValueError:
            if strict or default is None:
                raise ParamError(f"{_subject(text, field)} must be {what}", field=field) from None
            return default
    if default is None:
        raise ParamError(f"{_subject(text, field)} must be {what}", field=field)
    return default


# qBittorrent's ``toInt`` range: a number outside it does not parse (nor would the engine take it).
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1


def _int32(text: str) -> int:
    if len(text) > 12:  # longer than any 32-bit number: not worth converting
        raise ValueError(text)
    v = int(text)
    if not INT_MIN <= v <= INT_MAX:
        raise ValueError(text)
    return v


def parse_int(
    text: str | None, *, default: int | None = 0, strict: bool = True, field: str | None = None
) -> int:
    """A decimal 32-bit integer. Empty or missing is ``default`` (an error when None); garbage or a
    number out of range is ParamError, or ``default`` when not ``strict`` (qBittorrent's ``toInt``)."""
    return _number(text, _int32, default, strict, field, f"an integer from {INT_MIN} to {INT_MAX}")


def _finite(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def parse_float(
    text: str | None, *, default: float | None = 0.0, strict: bool = True, field: str | None = None
) -> float:
    """A finite decimal number. Empty or missing is ``default`` (an error when None); anything else
    is ParamError, or ``default`` when not ``strict``."""
    return _number(text, _finite, default, strict, field, "a finite number")


def split_hashes(text: str, sep: str = "|") -> list[str]:
    """The info-hashes of a ``sep``-separated list (any case), lower-cased, without repeats and
    without the parts that are not info-hashes."""
    out: list[str] = []
    for part in text.split(sep):
        h = part.strip().lower()
        if is_info_hash(h) and h not in out:
            out.append(h)
    return out


def parse_hashes(text: str) -> list[str] | None:
    """qBittorrent's ``hashes``: ``|``-separated info-hashes as ``split_hashes``; None for ``all``
    (every torrent)."""
    if text.strip() == ALL:
        return None
    return split_hashes(text)
