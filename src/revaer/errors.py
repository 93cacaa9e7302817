"""Revaer's exception roots.

Every exception Revaer raises on purpose sits under ``RevaerError``, in one of three branches
(as asyncpg does): the other side refused (``RefusedError``: libtorrent, a peer, the filesystem),
the caller misused the API (``UsageError``, also a ``ValueError``), or Revaer itself is wrong
(``InternalError``: a bug; report it). Catch the branch that says what you can do about it.
"""

from __future__ import annotations

__all__ = ["InternalError", "RefusedError", "RevaerError", "UsageError"]


class RevaerError(Exception):
    """The root of every exception Revaer raises on purpose."""


class RefusedError(RevaerError):
    """The other side (libtorrent, the operating system, a remote service) refused a valid request."""


class UsageError(RevaerError, ValueError):
    """The caller misused the API: bad input, an unknown name, a call in the wrong state."""


class InternalError(RevaerError):
    """Revaer broke one of its own invariants: a bug."""
