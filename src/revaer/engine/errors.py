"""The engine's exceptions, shared by every engine (the compiled one raises these too).

This module imports nothing compiled, so the FakeEngine and the unit tests need no build.
"""

from __future__ import annotations

from revaer.errors import InternalError, RefusedError, RevaerError, UsageError

__all__ = [
    "DuplicateTorrentError",
    "EngineClosedError",
    "EngineError",
    "EngineInternalError",
    "EngineRefusedError",
    "InvalidSettingError",
    "InvalidTorrentError",
    "TorrentNotFoundError",
]


class EngineError(RevaerError):
    """Any failure of an engine operation."""


class EngineRefusedError(EngineError, RefusedError):
    """libtorrent refused a valid operation; the message is libtorrent's."""


class EngineInternalError(EngineError, InternalError):
    """The engine reported an error code Revaer does not know: a bug."""


class InvalidTorrentError(EngineError, UsageError):
    """A magnet link, .torrent file, resume data or argument that cannot be used."""


class InvalidSettingError(EngineError, UsageError):
    """An unknown engine setting or a value of the wrong type."""


class TorrentNotFoundError(EngineError, UsageError, LookupError):
    """No torrent with that info-hash in this engine."""


class DuplicateTorrentError(EngineError, RefusedError):
    """The engine refused the add: it already holds this torrent (as a unique index refuses a row)."""


class EngineClosedError(EngineError, RefusedError):
    """The engine refused the call: it has been shut down."""
