"""A torrent's labels (category and tags) and the one rule for each of their names.

The rules are shared by everything that takes a category or a tag from a user:
``/v1`` adds, the qBittorrent façade's category and tag routes, the category
store, and the category names of ``paths.rules`` in the configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

MAX_CATEGORY_LENGTH: Final = 100
MAX_TAG_LENGTH: Final = 100
MAX_NAME_LENGTH: Final = 1000  # a torrent's display name
MAX_PATH_LENGTH: Final = 4096  # Linux's PATH_MAX
MAX_MAGNET_LENGTH: Final = 64 * 1024

# What a category name is, in words (error messages of both APIs and the config say this).
CATEGORY_RULE: Final = (
    f"1-{MAX_CATEGORY_LENGTH} characters without control characters, backslashes or surrounding spaces;"
    " '/' separates subcategories, which must not be empty, '.' or '..'"
)
TAG_RULE: Final = f"1-{MAX_TAG_LENGTH} characters without commas, control characters or surrounding spaces"
NAME_RULE: Final = f"1-{MAX_NAME_LENGTH} characters without control characters"
PATH_RULE: Final = f"at most {MAX_PATH_LENGTH} characters without control characters"
MAGNET_RULE: Final = f"at most {MAX_MAGNET_LENGTH} characters without control characters"

# Control characters (C0, DEL, C1) and lone surrogates: PostgreSQL refuses NUL and a surrogate
# (not valid UTF-8), and the others have no business in a name. Python strings from JSON
# ("\ud800") and from forms decoded with surrogateescape can hold either.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str, max_length: int) -> bool:
    """Whether ``text`` is at most ``max_length`` characters of storable, printable text.

    Storable: valid UTF-8 (no lone surrogate) without NUL, which PostgreSQL refuses; a value it
    refused would stop the registry's batched writes for every torrent.
    """
    return len(text) <= max_length and _CONTROL.search(text) is None


def valid_name(name: str) -> bool:
    """A torrent's display name by ``NAME_RULE`` (a ``rename``)."""
    return bool(name) and clean_text(name, MAX_NAME_LENGTH)


def valid_path(path: str) -> bool:
    """A save path's text by ``PATH_RULE`` (where it may lie is ``revaer.paths``'s business)."""
    return clean_text(path, MAX_PATH_LENGTH)


# A magnet link as /v1 takes it: only parameters libtorrent reads, percent-escaped where they must
# be (``MAGNET_PATTERN``), at least one of them an exact topic it takes: a v1 info-hash in hex or
# base32, or a v2 one as a multihash (``MAGNET_TOPIC``, searched). The OpenAPI document holds the
# same two patterns: what it admits, the engine takes. Each parameter ends at the next "&", so
# matching is linear in the link's length.


def _not_zero(digits: int, zero: str, other: str, every: str) -> str:
    """``digits`` characters of ``every`` that are not all ``zero`` (libtorrent reads a hash of
    zeros as no hash): the first other character after ``i`` zeros, for each ``i``."""
    return "|".join(f"{zero}{{{i}}}{other}{every}{{{digits - 1 - i}}}" for i in range(digits))


_HEX40 = _not_zero(40, "0", "[1-9a-fA-F]", "[0-9a-fA-F]")
_BASE32 = _not_zero(32, "A", "[B-Z2-7]", "[A-Z2-7]")  # "A" is base32's zero
_HEX64 = _not_zero(64, "0", "[1-9a-fA-F]", "[0-9a-fA-F]")
_XT = f"xt=urn:(btih:({_HEX40}|{_BASE32})|btmh:1220({_HEX64}))"
_PLAIN = "[^&%#\\x00-\\x20\\x7f-\\x9f]*"
_PARAM = f"({_XT}|(dn|tr|ws|as|xs|kt|mt|xl|so|x\\.pe)={_PLAIN}(%[0-9A-Fa-f]{{2}}{_PLAIN})*)"
MAGNET_PATTERN: Final = f"^magnet:\\?{_PARAM}(&{_PARAM})*$"
MAGNET_TOPIC: Final = f"(\\?|&){_XT}(&|$)"
_MAGNET = re.compile(MAGNET_PATTERN)
_TOPIC = re.compile(MAGNET_TOPIC)


def magnet_link(link: str) -> bool:
    """A magnet link by ``MAGNET_PATTERN``, ``MAGNET_TOPIC`` and ``MAGNET_RULE``: one the engine takes."""
    return (
        clean_text(link, MAX_MAGNET_LENGTH)
        and _MAGNET.match(link) is not None
        and _TOPIC.search(link) is not None
    )


def valid_magnet(link: str) -> bool:
    """A magnet link's text by ``MAGNET_RULE`` (what it says is the engine's business)."""
    return clean_text(link, MAX_MAGNET_LENGTH)


@dataclass(slots=True)
class Labels:
    """A torrent's category ("" for none) and tags."""

    category: str = ""
    tags: tuple[str, ...] = ()
    # Bumped from TorrentService.label_clock on every change: with the engine row's version it tells a
    # cache (serialized items, sync deltas) whether a torrent changed, without comparing contents.
    version: int = 0


def valid_category(name: str) -> bool:
    """A category name by ``CATEGORY_RULE``: qBittorrent's (subcategories joined by ``/``), bounded.

    A valid name is also safe as a path below a root: no part of it can climb out.
    """
    if not name or len(name) > MAX_CATEGORY_LENGTH or name != name.strip():
        return False
    if "\\" in name or not clean_text(name, MAX_CATEGORY_LENGTH):
        return False
    return all(part and part not in (".", "..") for part in name.split("/"))


def valid_tag(name: str) -> bool:
    """A tag by ``TAG_RULE`` (qBittorrent joins tags with commas, so a tag cannot hold one)."""
    return bool(name) and name == name.strip() and "," not in name and clean_text(name, MAX_TAG_LENGTH)


def split_tags(text: str) -> list[str]:
    """The tags of a comma-separated list, stripped, without empty ones (invalid ones are kept)."""
    return [t for t in (part.strip() for part in text.split(",")) if t]


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """``tags`` stripped, without empty ones and repeats, in their first order."""
    out: list[str] = []
    for t in tags:
        t = t.strip()
        if t and t not in out:
            out.append(t)
    return tuple(out)
