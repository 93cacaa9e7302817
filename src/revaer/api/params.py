"""Request parsing shared by both APIs: one parser per kind of value.

The parsers raise ``ParamError`` (a ``ValueError``); each API turns it into its own dialect
(problem+json on ``/v1``, qBittorrent's plain-text 400 on ``/api/v2``). The lenient forms mirror
qBittorrent's own conversions (``QString::toInt``, ``Utils::String::parseBool``), where a value that
does not parse means "not given" rather than an error.
"""

from __future__ import annotations

import math
import re
from typing import Final

INFO_HASH_RE: Final = re.compile(r"[0-9a-fA-F]{40}")
ALL: Final = "all"


class ParamError(ValueError):
    """A request parameter that does not parse."""


def is_info_hash(text: str) -> bool:
    """40 hex characters, any case (the v1 hash, or a v2 hash truncated: qBittorrent's torrent id)."""
    return INFO_HASH_RE.fullmatch(text) is not None


def info_hash(text: str) -> str:
    """``text`` as a lower-case info-hash, else ParamError."""
    t = text.strip()
    if not is_info_hash(t):
        raise ParamError(f"'{text}' is not an info-hash (40 hex characters)")
    return t.lower()


def parse_bool(text: str | None) -> bool | None:
    """``true``/``false`` in any case; anything else (or nothing) is None."""
    if text is None:
        return None
    t = text.strip().lower()
    return True if t == "true" else False if t == "false" else None


def parse_int(text: str | None, *, default: int = 0, strict: bool = True) -> int:
    """A decimal integer. Empty or missing is ``default``; garbage is ParamError, or ``default``
    when not ``strict`` (qBittorrent's ``toInt``)."""
    if text is None:
        return default
    t = text.strip()
    if not t:
        return default
    try:
        return int(t)
    except ValueError:
        if strict:
            raise ParamError(f"'{text}' is not an integer") from None
        return default


def parse_float(text: str | None, *, default: float = 0.0) -> float:
    """A finite decimal number; empty or missing is ``default``; else ParamError."""
    if text is None:
        return default
    t = text.strip()
    if not t:
        return default
    try:
        v = float(t)
    except ValueError:
        raise ParamError(f"'{text}' is not a number") from None
    if not math.isfinite(v):
        raise ParamError(f"'{text}' is not a finite number")
    return v


def parse_hashes(text: str) -> list[str] | None:
    """``|``-separated info-hashes (any case), lower-cased, without repeats and without the parts that
    are not info-hashes; None for ``all`` (every torrent)."""
    if text.strip() == ALL:
        return None
    out: list[str] = []
    for part in text.split("|"):
        h = part.strip().lower()
        if is_info_hash(h) and h not in out:
            out.append(h)
    return out
