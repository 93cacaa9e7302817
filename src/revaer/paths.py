"""Path policy: where users may put data, and which directory a category's rule owns.

Paths from users (save paths, category save paths, locations) are normalized
lexically and confined to the configured roots: the download root and the
roots of the category rules. Normalization never touches the filesystem, so
the answer does not depend on what exists (or which symlinks) at the time of
the check; a path is inside a root only if the root is one of its parents
component by component (``/database`` is not inside ``/data``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from revaer.errors import UsageError


class PathNotAllowedError(UsageError):
    """A path outside the configured roots (or not a usable absolute path at all)."""


def normalize(path: str) -> str:
    """``path`` with ``.``, ``..`` and repeated slashes resolved lexically (``//x`` is ``/x`` too)."""
    norm = os.path.normpath(path)
    # POSIX keeps exactly two leading slashes as implementation-defined; Linux treats them as one.
    return "/" + norm.lstrip("/") if norm.startswith("//") else norm


def confine(path: str, roots: Sequence[Path]) -> str:
    """``path`` normalized, if it is one of ``roots`` or lies below one; else PathNotAllowedError."""
    if not path or "\x00" in path:
        raise PathNotAllowedError("save path is empty or invalid")
    if not os.path.isabs(path):
        raise PathNotAllowedError(f"save path must be absolute: {path}")
    norm = Path(normalize(path))
    for root in roots:
        r = Path(normalize(str(root)))
        if norm == r or r in norm.parents:
            return str(norm)
    allowed = ", ".join(str(r) for r in roots) or "none configured"
    raise PathNotAllowedError(f"save path {path} is outside the allowed roots ({allowed})")


def category_root(template: str) -> str:
    """The directory a category rule owns: ``template``'s components before the first one with a
    placeholder, normalized (``/library/tv`` for ``/library/tv/{name}`` and ``/library/tv/x-{name}``)."""
    kept: list[str] = []
    for part in template.split("/"):
        if "{" in part:
            break
        kept.append(part)
    return os.path.normpath("/".join(kept) or "/")


def category_roots(templates: Iterable[str]) -> list[Path]:
    """The roots of the category rules' ``templates``, each once, in order."""
    out: list[Path] = []
    for t in templates:
        root = Path(category_root(t))
        if root not in out:
            out.append(root)
    return out


# A category rule owns its root: whatever a user then adds may go anywhere below it. These are never
# a rule's root unless the rules say so explicitly (``paths.rules.allow_system_roots``).
_SYSTEM_EXACT = frozenset({"/", "/home", "/root", "/var", "/mnt", "/media", "/opt", "/srv"})
_SYSTEM_TREES = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
    "/sys", "/usr",
)  # fmt: skip


def is_system_dir(path: str) -> bool:
    """Whether ``path`` is ``/``, a directory of system files or below one, or a directory that holds
    everybody's data (``/home``, ``/var``, ...) itself."""
    norm = normalize(path)
    return norm in _SYSTEM_EXACT or any(norm == t or norm.startswith(t + "/") for t in _SYSTEM_TREES)
