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

# What a category name is, in words (error messages of both APIs and the config say this).
CATEGORY_RULE: Final = (
    f"1-{MAX_CATEGORY_LENGTH} characters without control characters, backslashes or surrounding spaces;"
    " '/' separates subcategories, which must not be empty, '.' or '..'"
)
TAG_RULE: Final = "not empty, without commas or surrounding spaces"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    if "\\" in name or _CONTROL.search(name) is not None:
        return False
    return all(part and part not in (".", "..") for part in name.split("/"))


def valid_tag(name: str) -> bool:
    """A tag by ``TAG_RULE`` (qBittorrent joins tags with commas, so a tag cannot hold one)."""
    return bool(name) and name == name.strip() and "," not in name


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
