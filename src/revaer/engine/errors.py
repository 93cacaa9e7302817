"""The engine's exceptions (defined by the extension, shared by every engine)."""

from revaer._engine import (
    DuplicateTorrentError,
    EngineClosedError,
    EngineError,
    InvalidSettingError,
    InvalidTorrentError,
    TorrentNotFoundError,
)

__all__ = [
    "DuplicateTorrentError",
    "EngineClosedError",
    "EngineError",
    "InvalidSettingError",
    "InvalidTorrentError",
    "TorrentNotFoundError",
]
