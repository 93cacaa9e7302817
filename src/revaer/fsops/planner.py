"""Where a completed torrent's payload goes: a category's rule rendered into one confined path.

A rule is an absolute template (``paths.rules.categories``) with the
placeholders ``{name}``, ``{category}`` and ``{hash}``. The rendered path is
where the payload (the torrent's top-level file or folder) lands: when its last
component is the torrent's name, the payload takes that place; otherwise the
rendered path is a folder and the payload goes inside it. So
``/library/tv/{name}``, ``/library/tv`` and ``/library/tv/{hash}`` put
``Show S01`` at ``/library/tv/Show S01``, ``/library/tv/Show S01`` and
``/library/tv/<hash>/Show S01``.

The category's root is the template's directory part before the first
placeholder (``/library/tv`` for ``/library/tv/{name}``; the one rule is
``revaer.paths.category_root``, which the download roots use too). Every rendered
destination is normalized lexically and must lie strictly inside that root:
a name or category carrying ``..``, a slash or NUL is refused, and the job is
recorded as skipped with the reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from revaer.paths import category_root

__all__ = ["PLACEHOLDERS", "Plan", "category_root", "plan", "render"]

PLACEHOLDERS = ("name", "category", "hash")
_PLACEHOLDER_RE = re.compile(r"\{(name|category|hash)\}")


@dataclass(frozen=True, slots=True)
class Plan:
    """A destination, or the reason none can be used (``skip``)."""

    category: str
    destination: str  # final path of the payload (for a skip: the rendered, refused text)
    save_path: str  # the directory libtorrent will point at (parent of ``destination``)
    root: str
    skip: str | None = None

    @property
    def skipped(self) -> bool:
        return self.skip is not None


def _bad_component(value: str) -> bool:
    return not value or "/" in value or "\x00" in value or value in (".", "..")


def render(template: str, *, name: str, category: str, info_hash: str) -> str:
    """Substitute the placeholders (unknown ones are left as they are; the config refuses them)."""
    # One pass: a name that itself contains "{hash}" stays literal.
    values = {"name": name, "category": category, "hash": info_hash}
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


def plan(
    rules: Mapping[str, str], *, category: str, name: str, info_hash: str, payload: str | None = None
) -> Plan | None:
    """The move for a torrent, ``None`` when its category has no rule.

    ``payload`` is the top-level entry of the torrent's files (normally its
    name); it is what gets moved.
    """
    if not category:
        return None
    template = rules.get(category)
    if template is None:
        return None
    payload = name if payload is None else payload
    root = category_root(template)
    rendered = render(template, name=name, category=category, info_hash=info_hash)

    def skip(reason: str) -> Plan:
        return Plan(category, rendered, "", root, reason)

    if not os.path.isabs(template):
        return skip(f"template {template!r} of category {category!r} is not absolute")
    if ".." in template.split("/"):
        return skip(f"template {template!r} of category {category!r} contains '..'")
    for label, value in (("torrent name", name), ("category", category), ("payload", payload)):
        if _bad_component(value):
            return skip(f"{label} {value!r} cannot be used as a path component (empty, '.', '..', / or NUL)")
    if "\x00" in rendered:
        return skip("destination contains NUL")
    target = os.path.normpath(rendered)
    # Last component equal to the payload's name: that is the payload's place; else a folder for it.
    destination = target if os.path.basename(target) == payload else os.path.join(target, payload)
    save_path = os.path.dirname(destination)
    if os.path.commonpath([root, destination]) != root or destination == root:
        return skip(f"destination {destination!r} escapes the category root {root!r}")
    return Plan(category, destination, save_path, root)
